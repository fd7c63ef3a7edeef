/** The little the watchers log through: pino's child loggers fit, and tests pass a recording object. */
export interface WatcherLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/**
 * The one logger shape every room logs through: pino's loggers and child loggers fit it, and tests pass a
 * recording object (docs/architecture.md, "Logs"). Messages say what happened; the object carries the fields.
 */
export interface Logger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** A logger that drops everything, for callers that have nothing to say to anyone. */
export const silentLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

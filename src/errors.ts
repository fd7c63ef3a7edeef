/**
 * Errors with stable codes (the undici model): one subclass per failure, each with a `code` that scripts and
 * tests can rely on, and a message that says what was expected and what was found.
 */
export class TandemError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

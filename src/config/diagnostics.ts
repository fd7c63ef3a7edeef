/**
 * Diagnostics of the configuration loader: every problem found in a configuration is one of these, with the
 * position of the token it is about. The loader collects them all instead of stopping at the first.
 */
import { TandemError } from '../errors.js';

export type Severity = 'error' | 'warning';

/** A place in a configuration file; line and column are 1-based. */
export interface Position {
  file: string;
  line: number;
  column: number;
}

export interface Diagnostic extends Position {
  severity: Severity;
  message: string;
  code: DiagnosticCode;
  /** The keyword a refusal is about, so that `check --lenient` can list what it dropped, each once. */
  keyword?: string;
}

/** Stable codes, one per class of problem. Tests and scripts rely on them. */
export const DiagnosticCodes = {
  /** enable_script_security: a script others could change, or one that would run as the wrong user. */
  scriptSecurity: 'TANDEM_ECONFIG_SCRIPT_SECURITY',
  /** The main file or an included file cannot be read. */
  io: 'TANDEM_ECONFIG_IO',
  /** Lexical or block structure problem: unterminated quote, unbalanced braces. */
  syntax: 'TANDEM_ECONFIG_SYNTAX',
  /**
   * A bound that keeps reading from blocking or exhausting the agent was passed: total size, number of files,
   * words, generated text, block nesting. Reading stops there.
   */
  limit: 'TANDEM_ECONFIG_LIMIT',
  /** A keyword no section of keepalived or tandem knows. */
  unknownKeyword: 'TANDEM_ECONFIG_UNKNOWN_KEYWORD',
  /** A keepalived keyword, section or option that tandem does not implement (`--lenient` makes it a warning). */
  unsupported: 'TANDEM_ECONFIG_UNSUPPORTED',
  /**
   * A keyword tandem parses but does not act on yet ("refused: not implemented yet"): `check` and `run` refuse
   * it, `--lenient` runs without it.
   */
  notImplemented: 'TANDEM_ECONFIG_NOT_IMPLEMENTED',
  /** An entry that keepalived itself logs and skips; tandem refuses it unless `--lenient` (then skips it too). */
  keepalivedSkips: 'TANDEM_ECONFIG_KEEPALIVED_SKIPS',
  /** A value that does not parse or is out of range, or a wrong number of values. */
  value: 'TANDEM_ECONFIG_VALUE',
  /** A required keyword is absent. */
  missing: 'TANDEM_ECONFIG_MISSING',
  /** A name that refers to nothing (tracked script, sync group member, ...). */
  reference: 'TANDEM_ECONFIG_REFERENCE',
  /** Two settings that cannot hold together (duplicate VRID, mixed families, peer equal to source). */
  conflict: 'TANDEM_ECONFIG_CONFLICT',
  /** Warning: deprecated keepalived spelling, accepted. */
  deprecated: 'TANDEM_WCONFIG_DEPRECATED',
  /** Warning: accepted but has no effect in tandem (SMTP alerts), or overridden by a later line. */
  noEffect: 'TANDEM_WCONFIG_NO_EFFECT',
  /** Warning: a value adjusted the way keepalived adjusts it (truncated password, forced version). */
  adjusted: 'TANDEM_WCONFIG_ADJUSTED',
} as const;

export type DiagnosticCode = (typeof DiagnosticCodes)[keyof typeof DiagnosticCodes];

/** Codes that `--lenient` turns from errors into warnings, and only these. */
export const LENIENT_CODES: ReadonlySet<DiagnosticCode> = new Set([
  DiagnosticCodes.unsupported,
  DiagnosticCodes.keepalivedSkips,
  DiagnosticCodes.notImplemented,
]);

/** `FILE:LINE:COL: error: MESSAGE`, the format of compilers, which editors and CI annotate. */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  return `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}: ${diagnostic.severity}: ${diagnostic.message}`;
}

/** Collects diagnostics in the order found; `lenient` applies to the codes in LENIENT_CODES. */
export class DiagnosticSink {
  readonly diagnostics: Diagnostic[] = [];

  constructor(private readonly lenient: boolean) {}

  error(at: Position, code: DiagnosticCode, message: string, keyword?: string): void {
    const severity: Severity = this.lenient && LENIENT_CODES.has(code) ? 'warning' : 'error';
    const diagnostic: Diagnostic = {
      severity,
      file: at.file,
      line: at.line,
      column: at.column,
      message,
      code,
    };
    if (keyword !== undefined) diagnostic.keyword = keyword;
    this.diagnostics.push(diagnostic);
  }

  warning(at: Position, code: DiagnosticCode, message: string): void {
    this.diagnostics.push({
      severity: 'warning',
      file: at.file,
      line: at.line,
      column: at.column,
      message,
      code,
    });
  }

  /** Whether the error just reported with this code was let through as a warning. */
  tolerates(code: DiagnosticCode): boolean {
    return this.lenient && LENIENT_CODES.has(code);
  }

  get errorCount(): number {
    return this.diagnostics.filter((d) => d.severity === 'error').length;
  }
}

/** Thrown by `loadConfigOrThrow` for callers (the agent) that want an exception instead of a list. */
export class TandemConfigError extends TandemError {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0];
    super(
      'TANDEM_ECONFIG',
      first === undefined
        ? 'configuration is invalid'
        : `configuration is invalid (${errors.length} error${errors.length === 1 ? '' : 's'}); first: ${formatDiagnostic(first)}`,
    );
    this.diagnostics = diagnostics;
  }
}

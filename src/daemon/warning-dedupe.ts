/**
 * Configuration warnings said once: a reload re-reads the file and finds the same warnings again; printing them
 * on every SIGHUP buries the one that is new. A warning is printed when it was not in the previous load's
 * warnings; one that goes away and comes back is printed again. Errors are always printed (they refuse the
 * load, and the operator needs them each time).
 *
 * A warning is the same one when its file, code and message are: the line and column are left out, so an edit
 * above it does not make it new.
 */
import type { Diagnostic } from '../config/diagnostics.js';

export class WarningDedupe<T> {
  private shown = new Set<string>();

  constructor(private readonly keyOf: (item: T) => string) {}

  /** The items whose key was not in the previous call's; this call's keys are remembered instead. */
  fresh(items: readonly T[]): T[] {
    const current = new Set<string>();
    const fresh: T[] = [];
    for (const item of items) {
      const key = this.keyOf(item);
      if (!this.shown.has(key) && !current.has(key)) fresh.push(item);
      current.add(key);
    }
    this.shown = current;
    return fresh;
  }
}

export function diagnosticKey(diagnostic: Diagnostic): string {
  return `${diagnostic.file}\u0000${diagnostic.code}\u0000${diagnostic.message}`;
}

/** Dedupes a load's diagnostics for printing: every error, and the warnings the previous load did not have. */
export class DiagnosticPrinter {
  private readonly warnings = new WarningDedupe<Diagnostic>(diagnosticKey);

  toPrint(diagnostics: readonly Diagnostic[]): Diagnostic[] {
    const fresh = new Set(
      this.warnings.fresh(diagnostics.filter((diagnostic) => diagnostic.severity === 'warning')),
    );
    return diagnostics.filter((diagnostic) => diagnostic.severity === 'error' || fresh.has(diagnostic));
  }
}

/**
 * Support levels: what tandem does with each keyword, as the keyword table (keywords.ts) states it. The one
 * source of truth for docs/config.md's tables (generated from it), for `tandem check`, and for `tandem run`'s
 * refusal of what it does not implement yet (src/daemon/not-yet-enforced.ts reads the same uses), so that no
 * configuration passes `check` that `run` refuses.
 *
 * - "implemented": tandem acts on it; the schema fields it fills are read outside src/config (a test checks).
 * - "accepted, no effect: WHY": read and checked, then nothing is done with it; a warning says so where useful.
 * - "refused: WHY": an error (a warning with --lenient), the value is not read.
 * - "refused: not implemented yet": parsed and checked into the schema, so that a later version only has to act
 *   on it; until then every use that would change behaviour is recorded in `TandemConfig.unimplemented` and is
 *   an error in `check` and `run` (a warning with --lenient, and tandem runs as if it were not written).
 */
import { DiagnosticCodes, type Diagnostic } from './diagnostics.js';
import type { TandemConfig, UnimplementedUse } from './schema.js';

export type Support = 'implemented' | `accepted, no effect: ${string}` | `refused: ${string}`;

/** The level of keywords parsed into the schema whose runtime does not exist yet. */
export const NOT_IMPLEMENTED_YET = 'refused: not implemented yet';

export function isNotImplementedYet(support: Support): boolean {
  return support === NOT_IMPLEMENTED_YET;
}

/** A keyword tandem refuses without reading it (not "not implemented yet"): its block or value is skipped. */
export function isRefused(support: Support): boolean {
  return support.startsWith('refused: ') && !isNotImplementedYet(support);
}

export function isNoEffect(support: Support): boolean {
  return support.startsWith('accepted, no effect: ');
}

/**
 * The diagnostics of the uses a configuration makes of what is not implemented yet: errors, or warnings with
 * --lenient. `tandem check` and `tandem run` both print these, from the same list.
 */
export function unimplementedDiagnostics(
  uses: readonly UnimplementedUse[] | TandemConfig,
  lenient: boolean,
): Diagnostic[] {
  const list = 'unimplemented' in uses ? uses.unimplemented : uses;
  return list.map((use) => ({
    ...use.source,
    severity: lenient ? 'warning' : 'error',
    code: DiagnosticCodes.notImplemented,
    keyword: use.keyword,
    message: `${use.keyword} in ${use.where} is not implemented yet (${use.what}); ${
      lenient ? 'tandem runs without it (--lenient)' : 'tandem refuses to run it (--lenient runs without it)'
    }`,
  }));
}

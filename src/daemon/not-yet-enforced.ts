/**
 * What the configuration asks for that this version of the agent does not act on yet: every keyword whose level
 * in the keyword table (src/config/keywords.ts) is "refused: not implemented yet", where its use would change
 * behaviour (a VMAC, lvs_sync_daemon without an instance, ...). Running with it would be a silent
 * misconfiguration: a VMAC interface that is never created is worse than an error. `tandem run` refuses such a
 * configuration, naming each place; `--lenient` runs anyway with a warning for each.
 *
 * The list is the loader's (`TandemConfig.unimplemented`), built from the keyword table, and `tandem check`
 * prints the same diagnostics from it: no configuration passes `check` that `run` refuses. When a later version
 * implements a keyword, it changes the keyword's level in the table, and both stop refusing it.
 */
import type { Diagnostic } from '../config/diagnostics.js';
import type { TandemConfig } from '../config/schema.js';
import { unimplementedDiagnostics } from '../config/support.js';

export const NOT_YET_ENFORCED_CODE = 'TANDEM_ECONFIG_NOT_IMPLEMENTED';

/** The refusals (warnings with `lenient`) for what `config` uses that is not implemented yet. */
export function notYetEnforced(config: TandemConfig, lenient: boolean, _file?: string): Diagnostic[] {
  return unimplementedDiagnostics(config, lenient);
}

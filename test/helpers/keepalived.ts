/**
 * A real keepalived (Debian's 2.2 package) as the other box in a lab namespace, for interop tests: its config
 * goes to a private temporary directory (removed at the lab's cleanup), it runs in the foreground with its log
 * on stderr, and its VRRP state is read from the "(VI_1) Entering MASTER STATE" lines it logs, each stamped
 * with the time this process read it. The process class lives in `netns-lab/daemons.ts`, shared with the
 * drills.
 *
 *   const peer = await startKeepalived(lab, ns, configText, 'k');
 *   await peer.waitForState('VI_1', 'BACKUP');
 *   peer.state('VI_1');                                 // the last state it logged entering, or undefined
 *   const at = peer.transitionTime('VI_1', 'MASTER', since);
 *   await peer.stop();                                  // SIGTERM (priority-0 advert), resolves with the exit code
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeepalivedProcess, startKeepalived as startKeepalivedIn } from '../../netns-lab/daemons.js';
import type { Lab } from './netns.js';

export {
  type KeepalivedLine,
  type Transition as KeepalivedTransition,
  KeepalivedProcess,
  keepalivedVersion,
} from '../../netns-lab/daemons.js';
export { addressesOn } from '../../netns-lab/netns.js';

/**
 * Writes `config` and starts keepalived in `ns`; resolves once it logged its first state (its VRRP child is
 * up and the instances are running), rejects with its log if it exits first.
 */
export async function startKeepalived(
  lab: Lab,
  ns: string,
  config: string,
  name: string,
): Promise<KeepalivedProcess> {
  const directory = mkdtempSync(join(tmpdir(), `tandem-keepalived-${name}-`));
  try {
    return await startKeepalivedIn(lab, ns, config, name, { directory });
  } finally {
    // Registered after the VRRP child's kill (which reads its pid file from this directory).
    lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
  }
}

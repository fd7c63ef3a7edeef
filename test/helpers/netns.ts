/**
 * Network-namespace lab for integration tests. The lab itself lives in `netns-lab/netns.ts` (the drills of
 * `tandem lab` use it too); this file re-exports it and adds what only tests need.
 *
 *   import { requireRoot, withLab, waitFor } from '../helpers/netns.js';
 *
 *   test('two hosts on one segment', async () => {
 *     requireRoot();                                   // fails loudly (assert) when not root
 *     await withLab(async (lab) => {
 *       const sw = await lab.bridge('sw');
 *       const a = await lab.namespace('a');
 *       await lab.connect(a, sw, { ifname: 'eth0', addresses: ['192.0.2.1/24'] });
 *     });                                             // namespaces deleted, processes killed, even on failure
 *   });
 *
 * See netns-lab/netns.ts for the rules it enforces (unique names, nothing in the caller's namespace, cleanup
 * always, no fixed sleeps).
 */
import assert from 'node:assert/strict';
import { isRoot } from '../../netns-lab/netns.js';

export {
  type Bridge,
  type Capture,
  type ConnectOptions,
  type ExecOptions,
  type ExecResult,
  type ExitInfo,
  type Port,
  type WaitOptions,
  Lab,
  PROCESS_START_DEADLINE_MS,
  REPO_ROOT,
  exitOf,
  parsePcap,
  readLines,
  run,
  waitFor,
  withLab,
} from '../../netns-lab/netns.js';

/** Asserts that the test runs as root (namespaces, raw sockets and netlink writes need it). */
export function requireRoot(): void {
  assert.ok(
    isRoot(),
    'this test needs root (network namespaces, raw sockets, netlink); run it as root, as CI does',
  );
}

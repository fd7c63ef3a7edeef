/**
 * Real `tandem run` processes inside lab namespaces, for integration tests: each agent gets its own config
 * file and private runtime directory (removed at the lab's cleanup), its JSON log lines are collected, and
 * its status is read through the control socket. The process class lives in `netns-lab/daemons.ts`, shared
 * with the drills.
 *
 *   const agent = await startAgent(lab, ns, configText, 'a');
 *   await agent.waitForState('VI_1', 'MASTER');
 *   const time = await agent.transitionTime('VI_1', 'MASTER', since);   // from the agent's own log timestamps
 *   await agent.stop();                                                  // SIGTERM, resolves with the exit code
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentProcess, startTandem, startTandemCarp } from '../../netns-lab/daemons.js';
import { PROCESS_START_DEADLINE_MS } from '../../netns-lab/netns.js';
import type { Lab } from './netns.js';

export { AgentProcess, type LogLine } from '../../netns-lab/daemons.js';

/** Writes `config` and starts `tandem run` in `ns`; waits until its control socket answers. */
export async function startAgent(
  lab: Lab,
  ns: string,
  config: string,
  name: string,
  extraArgs: string[] = [],
): Promise<AgentProcess> {
  const directory = mkdtempSync(join(tmpdir(), `tandem-test-${name}-`));
  lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
  return startTandem(lab, ns, config, name, { directory, extraArgs, timeoutMs: PROCESS_START_DEADLINE_MS });
}

/** Starts `tandem carp ARGS` (ucarp's command line) in `ns` with a private runtime directory. */
export async function startCarpAgent(
  lab: Lab,
  ns: string,
  args: readonly string[],
  name: string,
): Promise<AgentProcess> {
  const directory = mkdtempSync(join(tmpdir(), `tandem-test-${name}-`));
  lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
  return startTandemCarp(lab, ns, args, name, { directory, timeoutMs: PROCESS_START_DEADLINE_MS });
}

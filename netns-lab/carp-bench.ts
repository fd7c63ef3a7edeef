/**
 * `tandem lab bench-carp`: tandem carp and ucarp side by side, with the same ucarp command lines, on two
 * namespaces joined by a bridge (docs/carp.md, "Measured"). A master (advskew 0) and a backup (advskew 100)
 * of the same implementation; for each scenario the time from the event to the backup's switch to MASTER:
 *   - graceful-stop: SIGTERM to the master (tandem bows out; ucarp sends nothing and waits to be timed out);
 *   - cable-pull: the master's bridge port set down.
 * tandem's switch time is its own log timestamp; ucarp's is when this process read "Switching to state: MASTER"
 * on its stderr (ucarp logs seconds only). What is measured is the takeover, not a client's outage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startTandemCarp } from './daemons.js';
import { type Lab, readLines, waitFor, withLab, PROCESS_START_DEADLINE_MS } from './netns.js';

export const UCARP_PROGRAM = '/usr/sbin/ucarp';
const VHID = 9;
const VIP = '192.0.2.90';
const PASSPHRASE = 'bench';
const MASTER_ADDRESS = '192.0.2.1';
const BACKUP_ADDRESS = '192.0.2.2';
const BACKUP_ADVSKEW = 100;
/** Deadlines, not measures: tsx start-up on a loaded machine, then a ucarp master down at advbase 255 at most. */
const TAKEOVER_DEADLINE_MS = 60_000;

export type CarpImplementation = 'tandem' | 'ucarp';
export type CarpScenario = 'graceful-stop' | 'cable-pull';
export const CARP_SCENARIOS: readonly CarpScenario[] = ['graceful-stop', 'cable-pull'];

export interface CarpBenchOptions {
  advbase: number;
  repeat: number;
  /** The parent of each run's private directory (removed afterwards). */
  stateDirectory: string;
  onResult?: (result: CarpBenchResult) => void;
}

export interface CarpBenchResult {
  implementation: CarpImplementation;
  scenario: CarpScenario;
  repeat: number;
  takeoverMs: number;
}

/** One running CARP node: when it was seen switching to MASTER (epoch ms), and how to stop it. */
interface CarpNode {
  child: ChildProcess;
  masterSince(since: number): number | undefined;
  waitBackup(): Promise<void>;
}

function ucarpArgs(source: string, advbase: number, advskew: number): string[] {
  return [
    ...['-i', 'eth0', '-s', source, '-v', String(VHID), '-p', PASSPHRASE, '-a', VIP],
    ...['-b', String(advbase), '-k', String(advskew), '-f', 'none'],
  ];
}

async function startNode(
  lab: Lab,
  implementation: CarpImplementation,
  ns: string,
  args: string[],
  directory: string,
): Promise<CarpNode> {
  if (implementation === 'tandem') {
    const agent = await startTandemCarp(lab, ns, args, `${ns}-tandem`, {
      directory,
      timeoutMs: PROCESS_START_DEADLINE_MS,
    });
    const name = `carp${VHID}`;
    return {
      child: agent.child,
      masterSince: (since) => agent.transitionTime(name, 'MASTER', since),
      waitBackup: async () => void (await agent.waitForState(name, 'BACKUP', PROCESS_START_DEADLINE_MS)),
    };
  }
  const child = lab.spawn(ns, [UCARP_PROGRAM, ...args]);
  const lines: { at: number; text: string }[] = [];
  readLines(child.stderr, (text) => lines.push({ at: Date.now(), text }));
  return {
    child,
    masterSince: (since) =>
      lines.find((line) => line.at >= since && /Switching to state: MASTER/.test(line.text))?.at,
    waitBackup: async () =>
      void (await waitFor(() => lines.some((line) => /Switching to state: BACKUP/.test(line.text)), {
        timeoutMs: PROCESS_START_DEADLINE_MS,
        message: 'ucarp to go BACKUP',
      })),
  };
}

async function runOnce(
  implementation: CarpImplementation,
  scenario: CarpScenario,
  repeat: number,
  options: CarpBenchOptions,
): Promise<CarpBenchResult> {
  return withLab(async (lab) => {
    const directory = mkdtempSync(join(options.stateDirectory, 'carp-bench-'));
    lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
    const sw = await lab.bridge('sw');
    const a = await lab.namespace('ca');
    const b = await lab.namespace('cb');
    const portA = await lab.connect(a, sw, { addresses: [`${MASTER_ADDRESS}/24`] });
    await lab.connect(b, sw, { addresses: [`${BACKUP_ADDRESS}/24`] });
    const master = await startNode(
      lab,
      implementation,
      a,
      ucarpArgs(MASTER_ADDRESS, options.advbase, 0),
      join(directory, 'a'),
    );
    await waitFor(() => master.masterSince(0), {
      timeoutMs: PROCESS_START_DEADLINE_MS,
      message: 'the master to become MASTER',
    });
    const backup = await startNode(
      lab,
      implementation,
      b,
      ucarpArgs(BACKUP_ADDRESS, options.advbase, BACKUP_ADVSKEW),
      join(directory, 'b'),
    );
    await backup.waitBackup();
    // Let the backup hear a few adverts, so that its master-down timer runs from a heard advert.
    await new Promise((resolve) => setTimeout(resolve, 3 * options.advbase * 1000));
    const eventAt = Date.now();
    if (scenario === 'graceful-stop') master.child.kill('SIGTERM');
    else await lab.exec(sw.ns, ['ip', 'link', 'set', portA.bridgePort, 'down']);
    const switched = await waitFor(() => backup.masterSince(eventAt), {
      timeoutMs: TAKEOVER_DEADLINE_MS,
      message: `the ${implementation} backup to take over (${scenario})`,
    });
    const result = { implementation, scenario, repeat, takeoverMs: switched - eventAt };
    options.onResult?.(result);
    return result;
  });
}

export async function runCarpBench(options: CarpBenchOptions): Promise<CarpBenchResult[]> {
  const results: CarpBenchResult[] = [];
  for (let repeat = 1; repeat <= options.repeat; repeat++)
    for (const scenario of CARP_SCENARIOS)
      for (const implementation of ['tandem', 'ucarp'] as const)
        results.push(await runOnce(implementation, scenario, repeat, options));
  return results;
}

/** One line per scenario: the median takeover of each implementation. */
export function carpBenchTable(results: readonly CarpBenchResult[], advbase: number): string {
  const median = (values: number[]) => {
    const sorted = [...values].sort((x, y) => x - y);
    return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
  };
  const rows = CARP_SCENARIOS.map((scenario) => {
    const of = (implementation: CarpImplementation) =>
      median(
        results
          .filter((result) => result.scenario === scenario && result.implementation === implementation)
          .map((result) => result.takeoverMs),
      );
    return `${scenario.padEnd(14)}${String(of('tandem')).padStart(12)}${String(of('ucarp')).padStart(12)}`;
  });
  return [
    `takeover after the event, ms (median; advbase ${advbase}, backup advskew ${BACKUP_ADVSKEW})`,
    `${'scenario'.padEnd(14)}${'tandem carp'.padStart(12)}${'ucarp'.padStart(12)}`,
    ...rows,
  ].join('\n');
}

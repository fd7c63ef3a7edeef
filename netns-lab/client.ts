/**
 * What the client sees, recorded from outside its namespace: the probe's answers (who answered which request,
 * when) and its neighbour table entries for the VIPs (`ip monitor neigh`: which MAC the client sends to, when
 * it changed).
 */
import type { ChildProcess } from 'node:child_process';
import { now } from './clock.js';
import { programArgv } from './entry.js';
import { type Lab, readLines, waitFor } from './netns.js';
import { type Family, ECHO_PORT } from './topology.js';

export interface Answer {
  family: Family;
  seq: number;
  /** Epoch ms (client clock). */
  at: number;
  /** The balancer that answered. */
  balancer: string;
}

export interface NeighbourChange {
  at: number;
  address: string;
  /** The MAC the entry now names; undefined when it has none (INCOMPLETE, FAILED, deleted). */
  mac: string | undefined;
}

/** The probe process in the client namespace, sending every `intervalMs` to each target. */
export class ProbeRun {
  readonly answers: Answer[] = [];
  readonly errors: string[] = [];
  #ready = false;

  private constructor(readonly child: ChildProcess) {
    readLines(child.stdout, (line) => {
      if (line === 'ready') {
        this.#ready = true;
        return;
      }
      const [family, seq, at, balancer] = line.split(' ');
      if (balancer === undefined) return;
      this.answers.push({ family: Number(family) as Family, seq: Number(seq), at: Number(at), balancer });
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.errors.push(chunk));
  }

  static async start(lab: Lab, ns: string, targets: string[], intervalMs: number): Promise<ProbeRun> {
    const probe = new ProbeRun(
      lab.spawn(ns, programArgv('netns-lab/probe', String(intervalMs), String(ECHO_PORT), ...targets)),
    );
    await waitFor(
      () => {
        if (probe.child.exitCode !== null) throw new Error(`probe exited: ${probe.errors.join('')}`);
        return probe.#ready;
      },
      { timeoutMs: 15_000, message: 'the client probe is ready' },
    );
    return probe;
  }

  /** Answers received in [from, to] (epoch ms). */
  between(from: number, to: number, family?: Family): Answer[] {
    return this.answers.filter(
      (answer) => answer.at >= from && answer.at <= to && (family === undefined || answer.family === family),
    );
  }

  /** Forgets answers older than `before`, so a long drill does not grow without bound. */
  forget(before: number): void {
    const keep = this.answers.findIndex((answer) => answer.at >= before);
    this.answers.splice(0, keep === -1 ? this.answers.length : keep);
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }
}

/** "192.0.2.100 dev eth0 lladdr 02:00:00:00:00:01 STALE" and "Deleted 192.0.2.100 dev eth0 ...". */
function parseNeighbourLine(line: string): Omit<NeighbourChange, 'at'> | undefined {
  const words = line.trim().split(/\s+/);
  const deleted = words[0] === 'Deleted';
  const address = deleted ? words[1] : words[0];
  if (address === undefined || !words.includes('dev')) return undefined;
  const lladdr = words.indexOf('lladdr');
  const failed = words.includes('FAILED') || words.includes('INCOMPLETE');
  const mac = !deleted && !failed && lladdr !== -1 ? words[lladdr + 1] : undefined;
  return { address, mac };
}

/** The client's neighbour entries for the watched addresses, from `ip monitor neigh`. */
export class NeighbourWatch {
  readonly changes: NeighbourChange[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly addresses: readonly string[],
  ) {
    readLines(child.stdout, (line) => this.#record(line, now()));
  }

  #record(line: string, at: number): void {
    const change = parseNeighbourLine(line);
    if (!change || !this.addresses.includes(change.address)) return;
    const last = this.current(change.address);
    if (last !== change.mac) this.changes.push({ at, ...change });
  }

  static async start(lab: Lab, ns: string, addresses: string[]): Promise<NeighbourWatch> {
    const watch = new NeighbourWatch(lab.spawn(ns, ['ip', 'monitor', 'neigh']), addresses);
    // The entries as they are now, in case they were made before the monitor started.
    const { stdout } = await lab.exec(ns, ['ip', 'neigh', 'show']);
    for (const line of stdout.split('\n')) watch.#record(line, now());
    return watch;
  }

  /** The MAC the client's entry for `address` names now (as last reported). */
  current(address: string): string | undefined {
    return this.changes.findLast((change) => change.address === address)?.mac;
  }

  /** When, at or after `since`, the entry for `address` first named `mac`. */
  firstNaming(address: string, mac: string, since: number): number | undefined {
    return this.changes.find(
      (change) => change.address === address && change.mac === mac && change.at >= since,
    )?.at;
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }
}

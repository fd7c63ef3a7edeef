/**
 * vrrp_track_process: how many processes match a name (and parameters), against quorum..quorum_max, with
 * fork_delay before a gained quorum counts and terminate_delay before a lost one does.
 *
 * keepalived learns about processes from the kernel's proc connector (netlink PROC_EVENTs). That needs
 * CAP_NET_ADMIN in the initial user namespace and a native socket Node.js does not offer, so tandem re-reads
 * /proc on an interval instead: one shared ProcessScanner reads /proc once per interval for every tracker, and
 * reads cmdline only when some tracker needs it (keepalived avoids cmdline for the same reason: it can page a
 * swapped-out process in).
 *
 * Matching (keepalived.conf(5) and track_process.c, facts only):
 * - a name alone is compared, exactly, with the process name (/proc/PID/stat's comm, at most 15 characters);
 * - with `full_command` or with parameters, the name is compared with argv[0] of /proc/PID/cmdline;
 * - parameters: `exact` (the default) wants exactly those; `partial` wants the first n to be those (more may
 *   follow); `initial` is partial except that the last one given may be the start of a longer one;
 * - zombies do not count.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Track, TrackProcessConfig } from '../config/schema.js';
import { binaryContribution } from './contribution.js';
import type { TrackerKind } from './kinds.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';

/** How often /proc is re-read (see the file comment for why tandem polls). */
export const PROCESS_SCAN_INTERVAL_MICROSECONDS = 1_000_000;
const MICROSECONDS_PER_SECOND = 1_000_000;

export interface ProcessEntry {
  pid: number;
  /** The process name (comm). */
  comm: string;
  /** The command line, when some tracker asked for it; empty for kernel threads. */
  argv?: string[];
}

/** Whether `entry` is one of the processes `config` counts. */
export function processMatches(config: TrackProcessConfig, entry: ProcessEntry): boolean {
  const [name, ...params] = config.process;
  if (name === undefined) return false;
  if (!config.fullCommand && params.length === 0) return entry.comm === name;
  const argv = entry.argv ?? [];
  if (argv[0] !== name) return false;
  if (params.length === 0) return true;
  const actual = argv.slice(1);
  const same = (count: number) => params.slice(0, count).every((param, i) => actual[i] === param);
  switch (config.paramMatch) {
    case 'exact':
      return actual.length === params.length && same(params.length);
    case 'partial':
      return actual.length >= params.length && same(params.length);
    case 'initial': {
      const last = params.length - 1;
      return (
        actual.length >= params.length && same(last) && (actual[last] ?? '').startsWith(params[last] ?? '')
      );
    }
  }
}

/** Reads /proc: the live (non-zombie) processes, with their command lines when `withArgv`. */
export async function readProcesses(procRoot: string, withArgv: boolean): Promise<ProcessEntry[]> {
  const names = await readdir(procRoot);
  const entries = await Promise.all(
    names
      .filter((name) => /^[1-9][0-9]*$/.test(name))
      .map(async (name): Promise<ProcessEntry | undefined> => {
        try {
          const stat = await readFile(join(procRoot, name, 'stat'), 'utf8');
          // "PID (COMM) STATE ...": the name may itself contain parentheses, so take the last ')'.
          const open = stat.indexOf('(');
          const close = stat.lastIndexOf(')');
          if (open === -1 || close < open) return undefined;
          if (stat[close + 2] === 'Z') return undefined;
          const entry: ProcessEntry = { pid: Number(name), comm: stat.slice(open + 1, close) };
          if (withArgv) {
            const cmdline = await readFile(join(procRoot, name, 'cmdline'), 'utf8');
            const argv = cmdline.split('\0');
            if (argv[argv.length - 1] === '') argv.pop();
            entry.argv = argv;
          }
          return entry;
        } catch {
          // The process exited while we looked.
          return undefined;
        }
      }),
  );
  return entries.filter((entry): entry is ProcessEntry => entry !== undefined);
}

export interface ProcessScannerOptions {
  clock?: Clock;
  intervalMicroseconds?: number;
  procRoot?: string;
  log?: Logger;
}

type ScanListener = (entries: readonly ProcessEntry[]) => void;

/** Reads /proc once per interval for every subscribed tracker. */
export class ProcessScanner {
  private readonly clock: Clock;
  private readonly listeners = new Map<ScanListener, boolean>();
  private timer: unknown;
  private scanning: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly options: ProcessScannerOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /** `needsArgv`: the listener matches on command lines, so cmdline must be read. */
  subscribe(needsArgv: boolean, listener: ScanListener): () => void {
    this.listeners.set(listener, needsArgv);
    return () => this.listeners.delete(listener);
  }

  /** Scans once (resolving when the listeners have the result), then every interval. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.scan();
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Scans now (sharing a scan already running). */
  scan(): Promise<void> {
    this.scanning ??= (async () => {
      try {
        const withArgv = [...this.listeners.values()].some(Boolean);
        const entries = await readProcesses(this.options.procRoot ?? '/proc', withArgv);
        for (const listener of [...this.listeners.keys()]) listener(entries);
      } catch (error) {
        this.options.log?.warn({ err: error }, 'could not read the process table');
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(() => {
      void this.scan().then(() => this.arm());
    }, this.options.intervalMicroseconds ?? PROCESS_SCAN_INTERVAL_MICROSECONDS);
  }
}

export type ProcessListener = (running: boolean) => void;

export class ProcessTracker {
  readonly name: string;
  private countNow = 0;
  private runningNow = false;
  private scanned = false;
  private pending: { target: boolean; timer: unknown } | undefined;
  private readonly listeners = new Set<ProcessListener>();
  private readonly clock: Clock;
  private unsubscribe: (() => void) | undefined;

  constructor(
    readonly config: TrackProcessConfig,
    private readonly scanner: ProcessScanner,
    private readonly options: { clock?: Clock; log?: Logger } = {},
  ) {
    this.name = config.name;
    this.clock = options.clock ?? systemClock;
  }

  /** Matching processes in the last scan. */
  get count(): number {
    return this.countNow;
  }

  /** Quorum held, after the fork and terminate delays. */
  get running(): boolean {
    return this.runningNow;
  }

  onChange(listener: ProcessListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Subscribes to the scanner; the first scan sets the state without delay (as keepalived's start-up read). */
  start(): void {
    if (this.unsubscribe !== undefined) return;
    const needsArgv = this.config.fullCommand || this.config.process.length > 1;
    this.unsubscribe = this.scanner.subscribe(needsArgv, (entries) => this.observe(entries));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.cancelPending();
  }

  /** Feeds one scan of the process table. */
  observe(entries: readonly ProcessEntry[]): void {
    this.countNow = entries.filter((entry) => processMatches(this.config, entry)).length;
    const quorum = this.inQuorum();
    if (!this.scanned) {
      this.scanned = true;
      this.set(quorum);
      return;
    }
    if (quorum === this.runningNow) {
      // Back where it was before the delay ran out: nothing changed (keepalived cancels the timer too).
      this.cancelPending();
      return;
    }
    if (this.pending?.target === quorum) return;
    this.cancelPending();
    const delaySeconds = quorum ? this.config.forkDelaySeconds : this.config.terminateDelaySeconds;
    if (delaySeconds <= 0) {
      this.set(quorum);
      return;
    }
    const timer = this.clock.setTimer(() => {
      this.pending = undefined;
      this.set(this.inQuorum());
    }, delaySeconds * MICROSECONDS_PER_SECOND);
    this.pending = { target: quorum, timer };
  }

  private inQuorum(): boolean {
    const max = this.config.quorumMax ?? Number.POSITIVE_INFINITY;
    return this.countNow >= this.config.quorum && this.countNow <= max;
  }

  private cancelPending(): void {
    if (this.pending !== undefined) this.clock.clearTimer(this.pending.timer);
    this.pending = undefined;
  }

  private set(running: boolean): void {
    if (running === this.runningNow) return;
    this.runningNow = running;
    this.options.log?.info(
      { trackProcess: this.name, count: this.countNow },
      running ? 'process quorum gained' : 'process quorum lost',
    );
    for (const listener of [...this.listeners]) listener(running);
  }
}

/** vrrp_track_process as a tracker kind: running within quorum or not; every tracker reads one /proc scan. */
export const processKind: TrackerKind<TrackProcessConfig, ProcessTracker> = {
  block: 'vrrp_track_process',
  list: 'trackProcesses',
  faultCause: (name) => `process ${name}`,
  entries: (config) => config.trackProcesses,
  create: (entry, context) => {
    const common = {
      ...(context.clock ? { clock: context.clock } : {}),
      ...(context.log ? { log: context.log } : {}),
    };
    const scanner = context.shared(
      'process-scanner',
      () =>
        new ProcessScanner({
          ...common,
          ...(context.processScanIntervalMicroseconds !== undefined
            ? { intervalMicroseconds: context.processScanIntervalMicroseconds }
            : {}),
          ...(context.procRoot !== undefined ? { procRoot: context.procRoot } : {}),
        }),
    );
    return new ProcessTracker(entry, scanner, common);
  },
  contribution: (track: Track, tracker) => binaryContribution(track, tracker.running),
};

/**
 * `tandem lab bench-scale` (`npm run bench:scale`): tandem and keepalived side by side at N VRRP instances,
 * each daemon on a master and a backup namespace, and what they cost.
 *
 * Topology: namespaces m (priority 150) and b (priority 100), joined by one bridge per segment of
 * SEGMENT_INSTANCES instances (a VRID is 8 bits, so 1000 instances need several segments; each segment has its
 * own bridge so the same VRID on two segments is two virtual routers). Interface k carries 192.0.2.(4k+1)/30 on m
 * and 192.0.2.(4k+2)/30 on b. Every instance is VRRPv3 with one /32 VIP, taken in order from 198.51.100.0/24,
 * 203.0.113.0/24 and 192.0.2.16-255 (752 addresses); past those, instances are IPv6 with a /128 VIP from
 * 2001:db8:1::/64 (so N = 1000 runs 752 IPv4 and 248 IPv6 instances).
 *
 * Per run (daemon, N, advert_int): both daemons start at once; `settle` is the time from the start until all N
 * VIPs sit on m; after a pause, one window of fixed length measures the CPU of each daemon (utime + stime from
 * /proc over the window, in % of one core), and at its end its resident set and open file descriptors (for
 * keepalived the parent and its VRRP child together), and counts the transitions logged during the window (must
 * be 0: nothing changed). The start-up section times exec -> first advert: a one-instance daemon with priority
 * 255 goes MASTER at once (RFC 5798 §6.4.1), and the first advert's capture time on the peer is compared with
 * the time of the exec.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { median } from './bench.js';
import { now } from './clock.js';
import { AgentProcess, type Daemon, type DaemonKind, keepalivedVersion, startDaemon } from './daemons.js';
import { type Lab, waitFor, withLab } from './netns.js';
import { formatTable } from './report.js';
import { sampleProcesses, type ProcessSample } from './usage.js';

/** Instances per segment (interface pair and bridge): VRIDs 1-250. */
export const SEGMENT_INSTANCES = 250;
/** How many IPv4 /32 VIPs the documentation ranges give after the interfaces' own /30s. */
export const IPV4_VIPS = 256 + 256 + 240;
export const MASTER_PRIORITY = 150;
export const BACKUP_PRIORITY = 100;

export interface ScaleOptions {
  counts: readonly number[];
  advertIntervals: readonly number[];
  daemons: readonly DaemonKind[];
  /** Longest wait for all VIPs on the master. */
  settleTimeoutMs: number;
  /** Pause after the VIPs are up, before the window (the GARP rounds after a takeover end meanwhile). */
  pauseMs: number;
  /** The measuring window. */
  windowMs: number;
  /** exec -> first advert runs per daemon. */
  startupRuns: number;
  /** A root-owned directory for the daemons' files. */
  stateDirectory: string;
  onProgress?: (line: string) => void;
}

export interface DaemonSample extends ProcessSample {
  /** CPU over the window, % of one core. */
  cpuPercent: number;
  /**
   * tandem: the smallest V8 heap in use among the samples taken during the window (`memory` in its status),
   * the closest to the live heap without forcing a collection; undefined for keepalived.
   */
  heapUsedBytes?: number;
}

/** How often the window asks tandem for its status (heap in use). */
const HEAP_SAMPLE_MS = 2000;

export interface ScaleRun {
  daemon: DaemonKind;
  count: number;
  advertInterval: number;
  /** ms from the start until all VIPs were on the master; undefined when they never were. */
  settleMs: number | undefined;
  master: DaemonSample;
  backup: DaemonSample;
  /** Transitions logged by either daemon during the window. */
  transitions: number;
  /** The first of them (side, instance, state entered, reason when the daemon logs one), to see who flapped. */
  transitionSample: { side: 'm' | 'b'; instance: string; state: string; reason?: string }[];
  /** VIPs on the master and on the backup at the end of the window. */
  vipsOnMaster: number;
  vipsOnBackup: number;
  windowMs: number;
}

export interface StartupResult {
  daemon: DaemonKind;
  /** exec -> first advert on the wire, ms, one per run. */
  runsMs: number[];
  medianMs: number;
}

export interface ScaleReport {
  machine: { cores: number; kernel: string; node: string; keepalived: string };
  options: Omit<ScaleOptions, 'onProgress' | 'stateDirectory'>;
  runs: ScaleRun[];
  startup: StartupResult[];
}

export interface Vip {
  family: 4 | 6;
  address: string;
}

/** The VIP of instance `index` (0-based). */
export function vipOf(index: number): Vip {
  if (index < 256) return { family: 4, address: `198.51.100.${index}` };
  if (index < 512) return { family: 4, address: `203.0.113.${index - 256}` };
  if (index < IPV4_VIPS) return { family: 4, address: `192.0.2.${index - 512 + 16}` };
  return { family: 6, address: `2001:db8:1::${(index - IPV4_VIPS + 1).toString(16)}` };
}

export function segmentsFor(count: number): number {
  return Math.ceil(count / SEGMENT_INSTANCES);
}

/** The same keepalived.conf text drives both daemons; only the name and priority differ per side. */
export function scaleConfig(name: string, priority: number, count: number, advertInterval: number): string {
  const instances = Array.from({ length: count }, (_, index) => {
    const vip = vipOf(index);
    return `vrrp_instance S_${index + 1} {
  state BACKUP
  interface eth${Math.floor(index / SEGMENT_INSTANCES)}
  virtual_router_id ${(index % SEGMENT_INSTANCES) + 1}
  priority ${priority}
  advert_int ${advertInterval}
  virtual_ipaddress {
    ${vip.address}/${vip.family === 4 ? 32 : 128}
  }
}
`;
  });
  return `# generated by tandem lab bench-scale for ${name}
global_defs {
  router_id ${name}
  vrrp_version 3
}

${instances.join('')}`;
}

async function vipCount(lab: Lab, ns: string, vips: ReadonlySet<string>): Promise<number> {
  const links = (await lab.execJson(ns, ['ip', '-j', 'addr', 'show'])) as {
    addr_info?: { local: string }[];
  }[];
  let count = 0;
  for (const link of links) for (const address of link.addr_info ?? []) if (vips.has(address.local)) count++;
  return count;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A namespace pair joined by `segments` bridges; DAD off so IPv6 link-locals are usable at once. */
async function pair(lab: Lab, segments: number): Promise<{ master: string; backup: string }> {
  const master = await lab.namespace('m');
  const backup = await lab.namespace('b');
  for (const ns of [master, backup]) {
    await lab.sysctl(ns, 'net.ipv6.conf.default.accept_dad', '0');
    await lab.sysctl(ns, 'net.ipv6.conf.all.accept_dad', '0');
  }
  for (let segment = 0; segment < segments; segment++) {
    const bridge = await lab.bridge(`sw${segment}`);
    const ifname = `eth${segment}`;
    await lab.connect(master, bridge, { ifname, addresses: [`192.0.2.${4 * segment + 1}/30`] });
    await lab.connect(backup, bridge, { ifname, addresses: [`192.0.2.${4 * segment + 2}/30`] });
  }
  return { master, backup };
}

function privateDirectory(lab: Lab, root: string, name: string): string {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const directory = mkdtempSync(join(root, `scale-${name}-`));
  lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

function daemonSample(start: ProcessSample, end: ProcessSample, windowMs: number): DaemonSample {
  return { ...end, cpuPercent: ((end.cpuMs - start.cpuMs) / windowMs) * 100 };
}

async function scaleRun(
  options: ScaleOptions,
  daemon: DaemonKind,
  count: number,
  advertInterval: number,
): Promise<ScaleRun> {
  return withLab(async (lab) => {
    const { master, backup } = await pair(lab, segmentsFor(count));
    const vips = new Set(Array.from({ length: count }, (_, index) => vipOf(index).address));
    const start = (ns: string, name: string, priority: number) =>
      startDaemon(daemon, lab, ns, scaleConfig(name, priority, count, advertInterval), name, {
        directory: privateDirectory(lab, options.stateDirectory, name),
        timeoutMs: options.settleTimeoutMs,
      });
    const startedAt = now();
    const [m, b] = (await Promise.all([
      start(master, 'm', MASTER_PRIORITY),
      start(backup, 'b', BACKUP_PRIORITY),
    ])) as [Daemon, Daemon];
    let settleMs: number | undefined;
    try {
      settleMs = await waitFor(
        async () => ((await vipCount(lab, master, vips)) === count ? now() - startedAt : undefined),
        { timeoutMs: options.settleTimeoutMs, intervalMs: 100, message: `${count} VIPs on the master` },
      );
    } catch {
      settleMs = undefined;
    }
    await sleep(options.pauseMs);
    const before = { m: sampleProcesses(m.workerPids()), b: sampleProcesses(b.workerPids()) };
    const windowStart = now();
    const heaps = await sampleHeaps([m, b], windowStart + options.windowMs);
    const windowEnd = now();
    const windowMs = windowEnd - windowStart;
    const after = { m: sampleProcesses(m.workerPids()), b: sampleProcesses(b.workerPids()) };
    const inWindow = (candidate: Daemon) =>
      candidate.transitions.filter(
        (transition) => transition.at >= windowStart && transition.at <= windowEnd,
      );
    const sample = (side: 'm' | 'b', candidate: Daemon) =>
      inWindow(candidate).map(({ instance, state, reason }) => ({
        side,
        instance,
        state,
        ...(reason !== undefined ? { reason } : {}),
      }));
    const run: ScaleRun = {
      daemon,
      count,
      advertInterval,
      settleMs,
      master: { ...daemonSample(before.m, after.m, windowMs), ...heapOf(heaps[0]) },
      backup: { ...daemonSample(before.b, after.b, windowMs), ...heapOf(heaps[1]) },
      transitions: inWindow(m).length + inWindow(b).length,
      transitionSample: [...sample('m', m), ...sample('b', b)].slice(0, 20),
      vipsOnMaster: await vipCount(lab, master, vips),
      vipsOnBackup: await vipCount(lab, backup, vips),
      windowMs,
    };
    await Promise.all([m.crash(), b.crash()]);
    return run;
  });
}

/** Sleeps until `until`, meanwhile the smallest heap in use each tandem reports (undefined for keepalived). */
async function sampleHeaps(daemons: Daemon[], until: number): Promise<(number | undefined)[]> {
  const smallest: (number | undefined)[] = daemons.map(() => undefined);
  for (;;) {
    await Promise.all(
      daemons.map(async (daemon, index) => {
        if (!(daemon instanceof AgentProcess)) return;
        const used = (await daemon.status().catch(() => undefined))?.memory.heapUsedBytes;
        if (used !== undefined) smallest[index] = Math.min(smallest[index] ?? Infinity, used);
      }),
    );
    const left = until - now();
    if (left <= 0) return smallest;
    await sleep(Math.min(HEAP_SAMPLE_MS, left));
  }
}

const heapOf = (bytes: number | undefined) => (bytes === undefined ? {} : { heapUsedBytes: bytes });

/** exec -> the first advert the peer captures, for a one-instance address owner (MASTER at once). */
async function startupRuns(options: ScaleOptions, daemon: DaemonKind): Promise<StartupResult> {
  return withLab(async (lab) => {
    const { master, backup } = await pair(lab, 1);
    const config = `global_defs {
  router_id m
  vrrp_version 3
}
vrrp_instance S_1 {
  state MASTER
  interface eth0
  virtual_router_id 1
  priority 255
  advert_int 1
  virtual_ipaddress {
    198.51.100.1/32
  }
}
`;
    const runsMs: number[] = [];
    for (let run = 0; run < options.startupRuns; run++) {
      const capture = lab.capture(backup, 'eth0', 'ip proto 112', 1, 30_000);
      await capture.ready;
      const execAt = now();
      const started = await startDaemon(daemon, lab, master, config, 'm', {
        directory: privateDirectory(lab, options.stateDirectory, 'm'),
        timeoutMs: 30_000,
      });
      const [first] = await capture.records;
      if (first) runsMs.push(first.at - execAt);
      await started.stop();
    }
    return { daemon, runsMs, medianMs: median(runsMs) };
  });
}

function machine(): ScaleReport['machine'] {
  return {
    cores: availableParallelism(),
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    node: process.version,
    keepalived: keepalivedVersion(),
  };
}

export async function runScaleBench(options: ScaleOptions): Promise<ScaleReport> {
  const say = options.onProgress ?? (() => undefined);
  const runs: ScaleRun[] = [];
  for (const count of options.counts) {
    for (const advertInterval of options.advertIntervals) {
      for (const daemon of options.daemons) {
        say(`${daemon}: N=${count} advert_int ${advertInterval} s ...`);
        const run = await scaleRun(options, daemon, count, advertInterval);
        runs.push(run);
        say(`  ${scaleLine(run).join('  ')}`);
      }
    }
  }
  const startup: StartupResult[] = [];
  for (const daemon of options.daemons) {
    say(`${daemon}: exec -> first advert x${options.startupRuns} ...`);
    startup.push(await startupRuns(options, daemon));
  }
  const { onProgress: _progress, stateDirectory: _directory, ...shown } = options;
  return { machine: machine(), options: shown, runs, startup };
}

const percent = (value: number) => value.toFixed(1);
const mib = (kb: number) => (kb / 1024).toFixed(1);

export const SCALE_HEADER = [
  'daemon',
  'N',
  'advert_int',
  'settle s',
  'CPU m %',
  'CPU b %',
  'RSS m MiB',
  'RSS b MiB',
  'heap m MiB',
  'heap b MiB',
  'fds m',
  'fds b',
  'transitions',
  'VIPs m/b',
];

function scaleLine(run: ScaleRun): string[] {
  return [
    run.daemon,
    String(run.count),
    String(run.advertInterval),
    run.settleMs === undefined ? 'never' : (run.settleMs / 1000).toFixed(1),
    percent(run.master.cpuPercent),
    percent(run.backup.cpuPercent),
    mib(run.master.rssKb),
    mib(run.backup.rssKb),
    run.master.heapUsedBytes === undefined ? '-' : mib(run.master.heapUsedBytes / 1024),
    run.backup.heapUsedBytes === undefined ? '-' : mib(run.backup.heapUsedBytes / 1024),
    String(run.master.fds),
    String(run.backup.fds),
    String(run.transitions),
    `${run.vipsOnMaster}/${run.vipsOnBackup}`,
  ];
}

/**
 * tandem's heap growth per added instance, for each advert_int run at more than one N: the difference of the
 * smallest heaps in use (master and backup, averaged) between the largest and the smallest N, per instance.
 */
function heapPerInstance(report: ScaleReport): string[] {
  const lines: string[] = [];
  const runs = report.runs.filter((run) => run.daemon === 'tandem');
  for (const interval of new Set(runs.map((run) => run.advertInterval))) {
    const sorted = runs.filter((run) => run.advertInterval === interval).sort((a, b) => a.count - b.count);
    const heap = (run: ScaleRun) =>
      run.master.heapUsedBytes === undefined || run.backup.heapUsedBytes === undefined
        ? undefined
        : (run.master.heapUsedBytes + run.backup.heapUsedBytes) / 2;
    for (const larger of sorted.slice(1)) {
      const smaller = sorted[0] as ScaleRun;
      const [from, to] = [heap(smaller), heap(larger)];
      if (from === undefined || to === undefined) continue;
      lines.push(
        `tandem heap per added instance, N ${smaller.count} -> ${larger.count} at advert_int ${interval}: ` +
          `${((to - from) / (larger.count - smaller.count) / 1024).toFixed(1)} KiB`,
      );
    }
  }
  return lines.length > 0 ? ['', ...lines] : [];
}

/** tandem / keepalived of one measure; '-' when keepalived's is 0 or either is missing. */
function ratio(ours: number | undefined, theirs: number | undefined): string {
  if (ours === undefined || theirs === undefined || theirs === 0) return '-';
  return (ours / theirs).toFixed(2);
}

export function scaleTable(report: ScaleReport): string {
  const lines = [
    formatTable([SCALE_HEADER, ...report.runs.map(scaleLine)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    ...heapPerInstance(report),
  ];
  const ratios = [['N', 'advert_int', 'settle', 'CPU m', 'CPU b', 'RSS m', 'RSS b', 'fds m', 'fds b']];
  for (const run of report.runs.filter((candidate) => candidate.daemon === 'tandem')) {
    const theirs = report.runs.find(
      (candidate) =>
        candidate.daemon === 'keepalived' &&
        candidate.count === run.count &&
        candidate.advertInterval === run.advertInterval,
    );
    if (!theirs) continue;
    ratios.push([
      String(run.count),
      String(run.advertInterval),
      ratio(run.settleMs, theirs.settleMs),
      ratio(run.master.cpuPercent, theirs.master.cpuPercent),
      ratio(run.backup.cpuPercent, theirs.backup.cpuPercent),
      ratio(run.master.rssKb, theirs.master.rssKb),
      ratio(run.backup.rssKb, theirs.backup.rssKb),
      ratio(run.master.fds, theirs.master.fds),
      ratio(run.backup.fds, theirs.backup.fds),
    ]);
  }
  if (ratios.length > 1)
    lines.push('', 'tandem / keepalived', formatTable(ratios, [0, 1, 2, 3, 4, 5, 6, 7, 8]));
  lines.push(
    '',
    ...report.startup.map(
      (result) =>
        `${result.daemon}: exec -> first advert, median ${Math.round(result.medianMs)} ms ` +
        `(${result.runsMs.map((value) => Math.round(value)).join(', ')})`,
    ),
    '',
    `window ${Math.round(report.options.windowMs / 1000)} s after a ${Math.round(report.options.pauseMs / 1000)} s pause; ` +
      `CPU in % of one core; keepalived's RSS and fds are its parent and VRRP child together`,
    `${report.machine.cores} cores, Linux ${report.machine.kernel}, Node.js ${report.machine.node}, ${report.machine.keepalived}`,
  );
  return lines.join('\n');
}

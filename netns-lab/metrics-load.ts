/**
 * Does scraping /metrics delay adverts? A stand-in measurement until the agent serves metrics itself: a 10 ms
 * setInterval plays the advert timer (VRRPv3's shortest interval), the metrics endpoint serves a synthetic
 * snapshot of many instances in the same process, and a separate process scrapes it 100 times a second.
 * The spacing of the timer's ticks is measured without and with the scraping; the report gives both, with
 * the render cost and the CPU the scraping took.
 *
 *   node --import tsx netns-lab/metrics-load.ts [--instances 16] [--seconds 10] [--rate 100] [--json]
 *
 * The lead repeats it with the real agent (its advert spacing on the wire) once metrics are wired in.
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { TandemMetrics } from '../src/daemon/metrics.js';
import { MetricsServer } from '../src/daemon/metrics-server.js';
import {
  type InstanceTelemetry,
  KEEPALIVED_DISCARD_FAMILIES,
  type TelemetrySnapshot,
} from '../src/daemon/metrics-snapshot.js';

/** The advert interval the timer plays: VRRPv3's minimum (RFC 5798 §5.2.7: centiseconds, at least 1). */
export const ADVERT_INTERVAL_MS = 10;

export interface LoadOptions {
  instances: number;
  seconds: number;
  /** Scrapes per second from the other process. */
  rate: number;
  /** The endpoint's render interval (0: render on every scrape, the worst case). */
  minRenderIntervalMs: number;
}

export interface SpacingStats {
  ticks: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Ticks more than half an interval late. */
  lateTicks: number;
  /** CPU this process used per second of the phase (user + system), in milliseconds. */
  cpuMsPerSecond: number;
}

export interface LoadReport {
  options: LoadOptions;
  renderMs: { mean: number; max: number; bytes: number };
  idle: SpacingStats;
  scraped: SpacingStats & { scrapes: number; failures: number; renders: number };
}

/** Discard reasons as many as the real table has (about 20), the keepalived-mapped ones among them. */
function syntheticReasons(): string[] {
  const mapped = new Set<string>(Object.values(KEEPALIVED_DISCARD_FAMILIES).flat());
  return [...mapped, ...Array.from({ length: 20 - mapped.size }, (_, index) => `other-${index}`)];
}

/** A snapshot of `count` busy instances (two VIPs, transitions, hooks each), trackers and scripts. */
export function syntheticSnapshot(count: number, reasons: readonly string[]): TelemetrySnapshot {
  const instances: InstanceTelemetry[] = Array.from({ length: count }, (_, index) => {
    const counters: Record<string, number> = {
      advertsSent: 100_000 + index,
      advertsReceived: 90_000 + index,
      priorityZeroSent: index,
      priorityZeroReceived: index,
    };
    for (const [position, reason] of reasons.entries()) counters[reason] = (index * 7 + position) % 13;
    return {
      name: `VI_${index + 1}`,
      protocol: index % 4 === 3 ? 'carp' : 'vrrp',
      interface: `eth${index % 4}`,
      vrid: (index % 255) + 1,
      family: index % 2 === 0 ? 4 : 6,
      version: 3,
      state: index % 2 === 0 ? 'MASTER' : 'BACKUP',
      priority: 100,
      effectivePriority: 100 - (index % 3),
      vips: [
        {
          address: `192.0.2.${(index % 250) + 1}`,
          prefixLength: 24,
          interface: `eth${index % 4}`,
          excluded: false,
        },
        {
          address: `198.51.100.${(index % 250) + 1}`,
          prefixLength: 32,
          interface: `eth${index % 4}`,
          excluded: true,
        },
      ],
      garpMasterDelaySeconds: 5,
      counters: counters as InstanceTelemetry['counters'],
      transitions: [
        { from: 'INIT', to: 'BACKUP', reason: 'startup', count: 1 },
        { from: 'BACKUP', to: 'MASTER', reason: 'master-down-expired', count: index % 5 },
        { from: 'MASTER', to: 'BACKUP', reason: 'higher-priority-advert', count: index % 3 },
      ],
      splitBrainEvents: index % 2,
      hooks: ['notify_master', 'notify_backup', 'notify'],
      secondsSinceMasterAdvert: index % 2 === 0 ? undefined : 0.004,
    };
  });
  return {
    instances,
    groupHooks: [],
    scripts: Array.from({ length: 4 }, (_, index) => ({
      name: `chk_${index}`,
      status: 'GOOD',
      state: 'idle',
    })),
    trackers: Array.from({ length: 8 }, (_, index) => ({
      kind: 'interface',
      name: `eth${index}`,
      state: 'up',
    })),
    fifos: [{ path: '/run/tandem/notify.fifo', dropped: 0 }],
    agent: { reloads: 0, controlBadRequests: 0, eventSubscribersDropped: 0 },
  };
}

export function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0;
}

/** Runs the 10 ms timer for `seconds` and returns how evenly it ticked, and the CPU this process used. */
async function timerSpacing(seconds: number): Promise<SpacingStats> {
  const gaps: number[] = [];
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
      if (now - started >= seconds * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, ADVERT_INTERVAL_MS);
  });
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const sorted = [...gaps].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    ticks: gaps.length,
    meanMs: round(gaps.reduce((sum, gap) => sum + gap, 0) / Math.max(1, gaps.length)),
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    maxMs: round(sorted.at(-1) ?? 0),
    lateTicks: gaps.filter((gap) => gap > ADVERT_INTERVAL_MS * 1.5).length,
    cpuMsPerSecond: round((cpu.user + cpu.system) / 1000 / elapsed),
  };
}

/** The scraper: another Node process, so its work is not on the measured event loop. */
export const SCRAPER = `
const http = require('node:http');
const [url, rate, seconds] = process.argv.slice(1);
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
let ok = 0, failures = 0;
const timer = setInterval(() => {
  http.get(url, { agent }, (response) => {
    response.resume();
    response.on('end', () => (response.statusCode === 200 ? ok++ : failures++));
  }).on('error', () => failures++);
}, 1000 / Number(rate));
setTimeout(() => {
  clearInterval(timer);
  setTimeout(() => { process.stdout.write(JSON.stringify({ ok, failures })); process.exit(0); }, 500);
}, Number(seconds) * 1000);
`;

/** Scrapes `url` `rate` times a second for `seconds` from another process (run through `prefix`, e.g. `ip netns exec NS`). */
export function scrape(
  url: string,
  rate: number,
  seconds: number,
  prefix: readonly string[] = [],
): Promise<{ ok: number; failures: number }> {
  return new Promise((resolve, reject) => {
    const [command, ...args] = [
      ...prefix,
      process.execPath,
      '-e',
      SCRAPER,
      url,
      String(rate),
      String(seconds),
    ];
    const child = spawn(command as string, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(output) as { ok: number; failures: number });
      } catch {
        reject(new Error(`the scraper printed no result: ${output}`));
      }
    });
  });
}

export async function measureScrapeLoad(options: LoadOptions): Promise<LoadReport> {
  const reasons = syntheticReasons();
  const snapshot = syntheticSnapshot(options.instances, reasons);
  const metrics = new TandemMetrics({ snapshot: () => snapshot, discardReasons: reasons, version: 'load' });
  // The render cost alone, warmed up first.
  for (let warm = 0; warm < 20; warm++) await metrics.render();
  const renderTimes: number[] = [];
  let bytes = 0;
  for (let run = 0; run < 200; run++) {
    const started = performance.now();
    bytes = (await metrics.render()).length;
    renderTimes.push(performance.now() - started);
  }
  const server = new MetricsServer(metrics, { minRenderIntervalMs: options.minRenderIntervalMs });
  const bound = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const idle = await timerSpacing(options.seconds);
    const rendersBefore = server.renders;
    const [spacing, scrapes] = await Promise.all([
      timerSpacing(options.seconds),
      scrape(`http://127.0.0.1:${bound.port}/metrics`, options.rate, options.seconds),
    ]);
    const round = (value: number) => Math.round(value * 1000) / 1000;
    return {
      options,
      renderMs: {
        mean: round(renderTimes.reduce((sum, time) => sum + time, 0) / renderTimes.length),
        max: round(Math.max(...renderTimes)),
        bytes,
      },
      idle,
      scraped: {
        ...spacing,
        scrapes: scrapes.ok,
        failures: scrapes.failures,
        renders: server.renders - rendersBefore,
      },
    };
  } finally {
    await server.close();
  }
}

function formatReport(report: LoadReport): string {
  const { options, renderMs, idle, scraped } = report;
  const row = (name: string, stats: SpacingStats) =>
    `${name.padEnd(22)} ${String(stats.ticks).padStart(6)} ${stats.meanMs.toFixed(3).padStart(8)} ` +
    `${stats.p50Ms.toFixed(3).padStart(8)} ${stats.p99Ms.toFixed(3).padStart(8)} ${stats.maxMs.toFixed(3).padStart(8)} ` +
    `${String(stats.lateTicks).padStart(5)} ${stats.cpuMsPerSecond.toFixed(1).padStart(8)}`;
  return [
    `${options.instances} instances, ${options.seconds} s per phase, ${options.rate} scrapes/s, ` +
      `render interval ${options.minRenderIntervalMs} ms`,
    `render: ${renderMs.mean} ms mean, ${renderMs.max} ms max, ${renderMs.bytes} bytes`,
    `${'10 ms timer'.padEnd(22)} ${'ticks'.padStart(6)} ${'mean'.padStart(8)} ${'p50'.padStart(8)} ` +
      `${'p99'.padStart(8)} ${'max'.padStart(8)} ${'late'.padStart(5)} ${'cpu ms/s'.padStart(8)}`,
    row('idle', idle),
    row('scraped', scraped),
    `scrapes answered ${scraped.scrapes}, failed ${scraped.failures}, renders ${scraped.renders}`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '16' },
      seconds: { type: 'string', default: '10' },
      rate: { type: 'string', default: '100' },
      'render-interval': { type: 'string', default: '1000' },
      json: { type: 'boolean', default: false },
    },
  });
  const report = await measureScrapeLoad({
    instances: Number(values.instances),
    seconds: Number(values.seconds),
    rate: Number(values.rate),
    minRenderIntervalMs: Number(values['render-interval']),
  });
  process.stdout.write((values.json ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n');
}

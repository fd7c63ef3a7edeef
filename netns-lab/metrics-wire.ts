/**
 * Does scraping /metrics delay a real agent's adverts? A `tandem run` in a namespace runs `--instances`
 * VRRPv3 instances as MASTER at `--advert-int` seconds with `tandem_metrics_listen 127.0.0.1:9650`; an observer
 * namespace on the same bridge captures the adverts with tcpdump (kernel timestamps on the wire) for `--seconds`
 * without scraping, then as long again while a process in the agent's namespace scrapes /metrics `--rate` times
 * a second. The report gives, per phase, the spacing of each VRID's consecutive adverts (mean, p50, p99, max,
 * late = more than 1.5 intervals) and the agent's CPU.
 *
 *   node --import tsx netns-lab/metrics-wire.ts [--instances 16] [--advert-int 0.1] [--seconds 15] [--rate 100] [--json]
 *
 * Root only (namespaces). The machine's load average is printed with the result: on a shared machine the tails
 * say as much about the neighbours as about tandem.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startTandem } from './daemons.js';
import { percentile, scrape } from './metrics-load.js';
import { type Lab, type PcapRecord, waitFor, withLab } from './netns.js';

export interface WireOptions {
  instances: number;
  /** Seconds (VRRPv3: down to 0.01). */
  advertInt: number;
  seconds: number;
  rate: number;
}

export interface WireSpacing {
  adverts: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Gaps longer than 1.5 advert intervals. */
  late: number;
  /** The agent's CPU (user + system) per second of the phase, in ms. */
  agentCpuMsPerSecond: number;
}

export interface WireReport {
  options: WireOptions;
  loadAverage: number[];
  idle: WireSpacing;
  scraped: WireSpacing & { scrapes: number; failures: number };
}

const METRICS_LISTEN = '127.0.0.1:9650';
const FIRST_VRID = 1;

function config(options: WireOptions): string {
  const instances = Array.from(
    { length: options.instances },
    (_, index) => `
vrrp_instance VI_${index + 1} {
  interface eth0
  virtual_router_id ${FIRST_VRID + index}
  priority 200
  version 3
  advert_int ${options.advertInt}
  virtual_ipaddress {
    198.51.100.${index + 1}/32
  }
}`,
  );
  return `global_defs {\n  tandem_metrics_listen ${METRICS_LISTEN}\n}\n${instances.join('\n')}\n`;
}

/** The VRID of a captured VRRP frame (Ethernet, IPv4, VRRP), or undefined for anything else. */
function vridOf(frame: Buffer): number | undefined {
  const ETHERNET = 14;
  if (frame.length < ETHERNET + 20 || frame.readUInt16BE(12) !== 0x0800) return undefined;
  const headerLength = ((frame[ETHERNET] as number) & 0x0f) * 4;
  if (frame[ETHERNET + 9] !== 112) return undefined;
  return frame[ETHERNET + headerLength + 1];
}

/** CPU time (ms) a process used so far, from /proc/PID/stat (utime + stime, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const TICK_MS = 10;
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

function spacing(
  records: readonly PcapRecord[],
  intervalMs: number,
): Omit<WireSpacing, 'agentCpuMsPerSecond'> {
  const last = new Map<number, number>();
  const gaps: number[] = [];
  for (const { at, frame } of records) {
    const vrid = vridOf(frame);
    if (vrid === undefined) continue;
    const previous = last.get(vrid);
    if (previous !== undefined) gaps.push(at - previous);
    last.set(vrid, at);
  }
  const sorted = [...gaps].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    adverts: records.length,
    meanMs: round(gaps.reduce((sum, gap) => sum + gap, 0) / Math.max(1, gaps.length)),
    p50Ms: round(percentile(sorted, 0.5)),
    p99Ms: round(percentile(sorted, 0.99)),
    maxMs: round(sorted.at(-1) ?? 0),
    late: gaps.filter((gap) => gap > intervalMs * 1.5).length,
  };
}

/** Captures one phase's adverts on the observer's eth0 while `during` runs; returns them and the agent's CPU. */
async function phase<T>(
  lab: Lab,
  observer: string,
  options: WireOptions,
  pid: number,
  during: () => Promise<T>,
): Promise<{ records: PcapRecord[]; cpuMsPerSecond: number; result: T }> {
  const count = Math.round((options.instances * options.seconds) / options.advertInt);
  const capture = lab.capture(observer, 'eth0', 'ip proto 112', count, options.seconds * 1000 * 4 + 30_000);
  await capture.ready;
  const cpuBefore = cpuMs(pid);
  const started = performance.now();
  const [records, result] = await Promise.all([capture.records, during()]);
  const elapsed = (performance.now() - started) / 1000;
  return { records, cpuMsPerSecond: Math.round((cpuMs(pid) - cpuBefore) / elapsed), result };
}

export async function measureWire(options: WireOptions): Promise<WireReport> {
  return withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const agentNs = await lab.namespace('agent');
    const observer = await lab.namespace('observer');
    await lab.connect(agentNs, sw, { addresses: ['192.0.2.1/24'] });
    await lab.connect(observer, sw, { addresses: ['192.0.2.10/24'] });
    const directory = mkdtempSync(join(tmpdir(), 'tandem-metrics-wire-'));
    lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
    const agent = await startTandem(lab, agentNs, config(options), 'wire', { directory, timeoutMs: 60_000 });
    try {
      await waitFor(
        async () => (await agent.status()).instances.every((instance) => instance.state === 'MASTER'),
        { timeoutMs: 30_000, message: 'every instance MASTER' },
      );
      const intervalMs = options.advertInt * 1000;
      const idle = await phase(lab, observer, options, agent.pid, async () => undefined);
      const scraped = await phase(lab, observer, options, agent.pid, () =>
        scrape(`http://${METRICS_LISTEN}/metrics`, options.rate, options.seconds, [
          'ip',
          'netns',
          'exec',
          agentNs,
        ]),
      );
      return {
        options,
        loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
        idle: { ...spacing(idle.records, intervalMs), agentCpuMsPerSecond: idle.cpuMsPerSecond },
        scraped: {
          ...spacing(scraped.records, intervalMs),
          agentCpuMsPerSecond: scraped.cpuMsPerSecond,
          scrapes: scraped.result.ok,
          failures: scraped.result.failures,
        },
      };
    } finally {
      await agent.stop();
    }
  });
}

function formatReport(report: WireReport): string {
  const { options } = report;
  const row = (name: string, stats: WireSpacing) =>
    `| ${name} | ${stats.adverts} | ${stats.meanMs.toFixed(2)} | ${stats.p50Ms.toFixed(2)} | ` +
    `${stats.p99Ms.toFixed(2)} | ${stats.maxMs.toFixed(2)} | ${stats.late} | ${stats.agentCpuMsPerSecond} |`;
  return [
    `${options.instances} instances at advert_int ${options.advertInt} s, ${options.seconds} s per phase, ` +
      `${options.rate} scrapes/s; load average ${report.loadAverage.join(' ')}`,
    '| phase | adverts | mean ms | p50 ms | p99 ms | max ms | late | agent CPU ms/s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    row('idle', report.idle),
    row(`${options.rate} scrapes/s`, report.scraped),
    `scrapes answered ${report.scraped.scrapes}, failed ${report.scraped.failures}`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string', default: '16' },
      'advert-int': { type: 'string', default: '0.1' },
      seconds: { type: 'string', default: '15' },
      rate: { type: 'string', default: '100' },
      json: { type: 'boolean', default: false },
    },
  });
  const report = await measureWire({
    instances: Number(values.instances),
    advertInt: Number(values['advert-int']),
    seconds: Number(values.seconds),
    rate: Number(values.rate),
  });
  process.stdout.write((values.json ? JSON.stringify(report, null, 2) : formatReport(report)) + '\n');
}

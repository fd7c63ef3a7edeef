/**
 * `tandem lab bench`: the same scenarios run with tandem and with keepalived, compared per scenario (median
 * and worst client-visible outage of each, and the ratio tandem / keepalived of the medians), with each
 * daemon's CPU time over its drill and its largest peak RSS.
 */
import type { DrillReport } from './drill.js';
import { formatTable } from './report.js';
import type { Usage } from './usage.js';

interface BenchSummary {
  medianMs: number;
  worstMs: number;
  /** Requests the client never got an answer to, summed over the runs. */
  lost: number;
  failed: number;
  runs: number;
}

export interface BenchRow {
  scenario: string;
  tandem: BenchSummary;
  keepalived: BenchSummary;
  /** tandem median / keepalived median (below 1: tandem's outage is shorter). */
  ratio: number | undefined;
}

export interface BenchReport {
  version: 2 | 3;
  advertInterval: number;
  repeat: number;
  rows: BenchRow[];
  usage: { tandem: Usage; keepalived: Usage };
  tandem: DrillReport;
  keepalived: DrillReport;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function summary(report: DrillReport, scenario: string): BenchSummary {
  const runs = report.results.filter((result) => result.scenario === scenario);
  const outages = runs.map((result) => result.outageMs);
  return {
    medianMs: median(outages),
    worstMs: runs.length > 0 ? Math.max(...outages) : Number.NaN,
    lost: runs.reduce((sum, result) => sum + result.lost, 0),
    failed: runs.filter((result) => !result.passed).length,
    runs: runs.length,
  };
}

export function benchReport(tandem: DrillReport, keepalived: DrillReport): BenchReport {
  const scenarios = [...new Set(tandem.results.map((result) => result.scenario))];
  const rows = scenarios.map((scenario) => {
    const ours = summary(tandem, scenario);
    const theirs = summary(keepalived, scenario);
    return {
      scenario,
      tandem: ours,
      keepalived: theirs,
      ratio: theirs.medianMs > 0 ? ours.medianMs / theirs.medianMs : undefined,
    };
  });
  return {
    version: tandem.version,
    advertInterval: tandem.advertInterval,
    repeat: Math.max(0, ...tandem.results.map((result) => result.repeat)),
    rows,
    usage: { tandem: tandem.daemonUsage, keepalived: keepalived.daemonUsage },
    tandem,
    keepalived,
  };
}

export function benchTable(bench: BenchReport): string {
  const ms = (value: number) => (Number.isNaN(value) ? '-' : String(Math.round(value)));
  // A scenario keepalived cannot act out (a tandem command) has no keepalived runs: shown as '-'.
  const lost = (summary: BenchSummary) => (summary.runs === 0 ? '-' : String(summary.lost));
  const rows = [
    [
      'scenario',
      'tandem median',
      'worst',
      'lost',
      'keepalived median',
      'worst',
      'lost',
      'ratio',
      'failed t/k',
    ],
    ...bench.rows.map((row) => [
      row.scenario,
      ms(row.tandem.medianMs),
      ms(row.tandem.worstMs),
      lost(row.tandem),
      ms(row.keepalived.medianMs),
      ms(row.keepalived.worstMs),
      lost(row.keepalived),
      row.ratio === undefined ? '-' : row.ratio.toFixed(2),
      `${row.tandem.failed}/${row.keepalived.failed}`,
    ]),
  ];
  const usage = (name: string, value: Usage) =>
    `${name}: CPU ${ms(value.cpuMs)} ms over the drill, peak RSS ${Math.round(value.peakRssKb / 1024)} MiB per process`;
  return [
    formatTable(rows, [1, 2, 3, 4, 5, 6, 7]),
    `outages in ms, lost = requests never answered (all runs), VRRPv${bench.version}, advert_int ${bench.advertInterval} s, ${bench.repeat} run(s) per scenario`,
    usage('tandem', bench.usage.tandem),
    usage('keepalived', bench.usage.keepalived),
  ].join('\n');
}

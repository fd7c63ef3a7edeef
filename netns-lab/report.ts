/**
 * A drill's report as text: a terminal table (also printed live, one row per run as it ends), JSON (the report
 * object as is) and JUnit XML for CI dashboards (one testcase per scenario run, a failure element naming what
 * was exceeded). The SVG timeline is in timeline.ts.
 */
import { XMLBuilder } from 'fast-xml-parser';
import type { DrillReport, ScenarioResult } from './drill.js';

const round = (value: number | undefined) => (value === undefined ? '-' : String(Math.round(value)));

export function resultLine(result: ScenarioResult): string[] {
  return [
    result.scenario,
    String(result.repeat),
    result.passed ? 'pass' : 'FAIL',
    round(result.outageMs),
    round(result.limitMs),
    String(result.duplicates),
    round(result.lost),
    round(result.neighbourMs),
    result.finalMaster ?? '-',
    Object.entries(result.answeredBy)
      .map(([balancer, count]) => `${balancer}:${count}`)
      .join(' '),
  ];
}

export const TABLE_HEADER = [
  'scenario',
  'run',
  'result',
  'outage ms',
  'bound ms',
  'dup',
  'lost',
  'arp ms',
  'master',
  'answers',
];

/** Columns padded to line up (at least `minimumWidths` wide); `numeric` ones are right-aligned. */
export function formatTable(
  rows: string[][],
  numeric: readonly number[] = [3, 4, 5, 6, 7],
  minimumWidths: readonly number[] = [],
): string {
  const widths =
    rows[0]?.map((_, column) =>
      Math.max(minimumWidths[column] ?? 0, ...rows.map((row) => (row[column] ?? '').length)),
    ) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          numeric.includes(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * The table printed live as runs end: widths fixed in advance (the titles, the longest scenario name), so the
 * header printed before the first run lines up with every row after it.
 */
export function liveTable(scenarios: readonly string[]): {
  header: string;
  row: (result: ScenarioResult) => string;
} {
  const widths = TABLE_HEADER.map((title, column) =>
    Math.max(title.length, ...(column === 0 ? scenarios.map((name) => name.length) : [])),
  );
  return {
    header: formatTable([TABLE_HEADER], undefined, widths),
    row: (result) => formatTable([resultLine(result)], undefined, widths),
  };
}

export function drillTable(report: DrillReport): string {
  const lines = [formatTable([TABLE_HEADER, ...report.results.map(resultLine)])];
  for (const result of report.results.filter((candidate) => !candidate.passed))
    lines.push(`${result.scenario} #${result.repeat}: ${result.failures.join('; ')}`);
  const failed = report.results.filter((result) => !result.passed).length;
  lines.push(
    `${report.peer}, VRRPv${report.version}, advert_int ${report.advertInterval} s, margin ${report.marginMs} ms: ` +
      `${report.results.length - failed} passed, ${failed} failed`,
  );
  return lines.join('\n');
}

export function drillJunit(report: DrillReport): string {
  const failures = report.results.filter((result) => !result.passed).length;
  const testcases = report.results.map((result) => ({
    '@_name': `${result.scenario} #${result.repeat}`,
    '@_classname': `tandem.lab.${report.peer}`,
    '@_time': ((result.windowEnd - result.windowStart) / 1000).toFixed(3),
    'system-out':
      `outage ${round(result.outageMs)} ms, bound ${round(result.limitMs)} ms (${result.bound.formula} + margin ` +
      `${result.bound.marginMs} ms), duplicates ${result.duplicates}, arp ${round(result.neighbourMs)} ms, ` +
      `master ${result.finalMaster ?? 'none'}`,
    ...(result.passed
      ? {}
      : {
          failure: {
            '@_message': result.failures[0] ?? 'failed',
            '@_type': 'bound',
            '#text': result.failures.join('\n'),
          },
        }),
  }));
  const builder = new XMLBuilder({ ignoreAttributes: false, format: true, suppressEmptyNode: true });
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    builder.build({
      testsuites: {
        '@_name': 'tandem lab drill',
        '@_tests': report.results.length,
        '@_failures': failures,
        testsuite: {
          '@_name': `${report.peer} VRRPv${report.version} advert_int ${report.advertInterval}s`,
          '@_tests': report.results.length,
          '@_failures': failures,
          '@_errors': 0,
          '@_timestamp': report.startedAt,
          '@_time': (report.durationMs / 1000).toFixed(3),
          testcase: testcases,
        },
      },
    })
  );
}

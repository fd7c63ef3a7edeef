/**
 * A drill's report in four forms: a terminal table, JSON (the report object as is), JUnit XML for CI
 * dashboards (one testcase per scenario run, a failure element naming what was exceeded), and an SVG timeline
 * picturing who answered the client over time, one row per scenario run.
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
  'arp ms',
  'master',
  'answers',
];

/** Columns padded to line up; `numeric` ones are right-aligned. */
export function formatTable(rows: string[][], numeric: readonly number[] = [3, 4, 5, 6]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
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

const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd'];
const ROW_HEIGHT = 34;
const LABEL_WIDTH = 190;
const PLOT_WIDTH = 760;

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/**
 * One row per scenario run: a bar per stretch of answers coloured by the balancer that answered, the gaps
 * left blank, the event and the scenario's other moments as vertical marks, all on the run's own time axis
 * (ms from the event).
 */
export function drillTimeline(report: DrillReport): string {
  const balancers = [
    ...new Set(report.results.flatMap((result) => result.segments.map((segment) => segment.balancer))),
  ].sort();
  const colour = (balancer: string) => COLOURS[balancers.indexOf(balancer) % COLOURS.length] ?? '#777';
  const height = 40 + ROW_HEIGHT * report.results.length + 30;
  const width = LABEL_WIDTH + PLOT_WIDTH + 20;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>tandem lab drill: who answered the client (${escapeXml(report.peer)}, VRRPv${report.version}, advert_int ${report.advertInterval} s)</title>`,
    `<text x="8" y="18" font-size="13">who answered the client, ms from the event (${escapeXml(report.peer)}, VRRPv${report.version}, advert_int ${report.advertInterval} s)</text>`,
  ];
  report.results.forEach((result, row) => {
    const top = 30 + row * ROW_HEIGHT;
    const span = Math.max(1, result.windowEnd - result.windowStart);
    const x = (at: number) => LABEL_WIDTH + ((at - result.windowStart) / span) * PLOT_WIDTH;
    parts.push(
      `<g class="scenario" data-scenario="${escapeXml(result.scenario)}" data-passed="${result.passed}">`,
      `<text x="8" y="${top + 14}" fill="${result.passed ? '#222' : '#c00'}">${escapeXml(result.scenario)} #${result.repeat} ${result.passed ? '' : 'FAIL '}(${Math.round(result.outageMs)} ms)</text>`,
      `<rect class="lane" x="${LABEL_WIDTH}" y="${top}" width="${PLOT_WIDTH}" height="20" fill="#f3f3f3"/>`,
    );
    for (const segment of result.segments) {
      const left = x(segment.from);
      parts.push(
        `<rect class="answers" data-balancer="${escapeXml(segment.balancer)}" x="${left.toFixed(1)}" y="${top + (segment.family === 6 ? 10 : 0)}" width="${Math.max(1, x(segment.to) - left).toFixed(1)}" height="${report.families.length > 1 ? 10 : 20}" fill="${colour(segment.balancer)}"><title>${escapeXml(segment.balancer)} IPv${segment.family}: ${Math.round(segment.from - result.eventAt)} to ${Math.round(segment.to - result.eventAt)} ms</title></rect>`,
      );
    }
    for (const event of result.events) {
      const at = x(event.at).toFixed(1);
      parts.push(
        `<line class="event" x1="${at}" y1="${top - 2}" x2="${at}" y2="${top + 22}" stroke="#000" stroke-dasharray="2,2"><title>${escapeXml(event.label)} at ${Math.round(event.at - result.eventAt)} ms</title></line>`,
      );
    }
    parts.push(
      `<text x="${LABEL_WIDTH + PLOT_WIDTH + 4}" y="${top + 14}" fill="#555">${Math.round(result.windowEnd - result.eventAt)}</text>`,
      `</g>`,
    );
  });
  const legendTop = 40 + ROW_HEIGHT * report.results.length;
  balancers.forEach((balancer, index) => {
    const left = LABEL_WIDTH + index * 90;
    parts.push(
      `<rect class="legend" x="${left}" y="${legendTop}" width="12" height="12" fill="${colour(balancer)}"/>`,
      `<text x="${left + 16}" y="${legendTop + 10}">${escapeXml(balancer)}</text>`,
    );
  });
  parts.push(
    `<text x="${LABEL_WIDTH + balancers.length * 90 + 10}" y="${legendTop + 10}" fill="#555">dashed: event; blank: no answer</text>`,
  );
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

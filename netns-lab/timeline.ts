/**
 * The drill's SVG timeline: one row per scenario run, all on one shared time axis (ms from each run's event),
 * showing who answered the client when, the client's largest gap against the scenario's bound, and the verdict.
 * Everything the picture uses is explained in a legend drawn into it (not only in tooltips), and the layout is
 * computed from generous text widths so no label runs off the edge.
 */
import type { DrillReport, ScenarioResult } from './drill.js';

const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd'];
const PASS = '#1a7f37';
const FAIL = '#c62828';
const FONT_SIZE = 12;
const SMALL_FONT_SIZE = 10;
const MARGIN = 12;
const PLOT_WIDTH = 720;
const ROW_HEIGHT = 50;
/** Within a row: moment labels, then the answer lane, then the outage bar. */
const LANE_TOP = 14;
const LANE_HEIGHT = 18;
const BAR_TOP = 36;
const BAR_HEIGHT = 6;
const ROWS_TOP = 58;
/** Roughly how many ticks the axis gets. */
const TICKS = 10;

/**
 * A width that sans-serif text of `size` px does not exceed in practice: 0.64 em a character is DejaVu Sans's
 * digits (the widest of the renderers' defaults on Linux, whose lower case averages under 0.6 em and spaces 0.32),
 * so the layout never relies on a narrow font.
 */
export function textWidth(text: string, size = FONT_SIZE): number {
  return [...text].length * size * 0.64;
}

const ENTITIES: Record<string, string> = {
  '<': '&lt;',
  '>': '&gt;',
  '&': '&amp;',
  '"': '&quot;',
  "'": '&apos;',
};

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (character) => ENTITIES[character] ?? character);
}

const fixed = (value: number) => value.toFixed(1);

/** 1, 2 or 5 times a power of ten: the tick step that gives about `count` ticks over `span`. */
export function tickStep(span: number, count = TICKS): number {
  const raw = Math.max(span, 1) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((multiple) => multiple * power >= raw) ?? 10) * power;
}

function label(result: ScenarioResult): string {
  return `${result.scenario} #${result.repeat}`;
}

function verdict(result: ScenarioResult): string {
  const outage = Math.round(result.outageMs);
  const bound = Math.round(result.limitMs);
  return result.passed
    ? `pass: ${outage} ms \u2264 ${bound} ms`
    : `FAIL: ${outage} ms ${outage > bound ? '>' : '\u2264'} ${bound} ms`;
}

interface Layout {
  plotLeft: number;
  plotRight: number;
  width: number;
  from: number;
  to: number;
  /** x of a time in ms from the event. */
  x: (ms: number) => number;
}

function layoutOf(report: DrillReport): Layout {
  const labelWidth = Math.max(
    textWidth('scenario'),
    ...report.results.map((result) => textWidth(label(result))),
  );
  const verdictWidth = Math.max(...report.results.map((result) => textWidth(verdict(result))), 0);
  const plotLeft = MARGIN + labelWidth + MARGIN;
  const plotRight = plotLeft + PLOT_WIDTH;
  const from = Math.min(0, ...report.results.map((result) => result.windowStart - result.eventAt));
  // Wide enough for every window and every bound drawn from its gap, so no bound is cut short.
  const to = Math.max(
    1,
    ...report.results.map(
      (result) =>
        Math.max(result.windowEnd, result.outageTo, result.outageFrom + result.limitMs) - result.eventAt,
    ),
  );
  return {
    plotLeft,
    plotRight,
    width: Math.ceil(plotRight + MARGIN + verdictWidth + MARGIN),
    from,
    to,
    x: (ms) => plotLeft + ((Math.min(Math.max(ms, from), to) - from) / (to - from)) * PLOT_WIDTH,
  };
}

/** A text element; the anchor decides which way it extends from x. */
function text(
  x: number,
  y: number,
  content: string,
  options: { anchor?: 'start' | 'middle' | 'end'; size?: number; fill?: string; className?: string } = {},
): string {
  const attributes = [
    options.className ? `class="${options.className}"` : '',
    `x="${fixed(x)}"`,
    `y="${fixed(y)}"`,
    options.anchor && options.anchor !== 'start' ? `text-anchor="${options.anchor}"` : '',
    options.size && options.size !== FONT_SIZE ? `font-size="${options.size}"` : '',
    options.fill ? `fill="${options.fill}"` : '',
  ].filter(Boolean);
  return `<text ${attributes.join(' ')}>${escapeXml(content)}</text>`;
}

function row(
  result: ScenarioResult,
  index: number,
  layout: Layout,
  colour: (b: string) => string,
  families: number,
): string[] {
  const top = ROWS_TOP + index * ROW_HEIGHT;
  const at = (time: number) => layout.x(time - result.eventAt);
  const parts = [
    `<g class="scenario" data-scenario="${escapeXml(result.scenario)}" data-passed="${result.passed}">`,
    text(MARGIN, top + LANE_TOP + 13, label(result), { className: 'label' }),
    `<rect class="lane" x="${fixed(layout.x(result.windowStart - result.eventAt))}" y="${top + LANE_TOP}" width="${fixed(at(result.windowEnd) - at(result.windowStart))}" height="${LANE_HEIGHT}" fill="#eeeeee"/>`,
  ];
  const laneHeight = families > 1 ? LANE_HEIGHT / 2 : LANE_HEIGHT;
  for (const segment of result.segments) {
    const left = at(segment.from);
    const y = top + LANE_TOP + (families > 1 && segment.family === 6 ? laneHeight : 0);
    parts.push(
      `<rect class="answers" data-balancer="${escapeXml(segment.balancer)}" x="${fixed(left)}" y="${y}" width="${fixed(Math.max(1, at(segment.to) - left))}" height="${laneHeight}" fill="${colour(segment.balancer)}"><title>${escapeXml(segment.balancer)} answered (IPv${segment.family}) from ${Math.round(segment.from - result.eventAt)} to ${Math.round(segment.to - result.eventAt)} ms</title></rect>`,
    );
  }
  // The event itself (t = 0) in black; the scenario's other moments in grey, named above the lane where the
  // name fits without running into the previous one.
  let labelEnd = -Infinity;
  result.events.forEach((event, position) => {
    const x = at(event.at);
    const main = position === 0;
    parts.push(
      `<line class="${main ? 'event' : 'moment'}" x1="${fixed(x)}" y1="${top + LANE_TOP - 3}" x2="${fixed(x)}" y2="${top + LANE_TOP + LANE_HEIGHT + 3}" stroke="${main ? '#000000' : '#777777'}" stroke-width="1.5" stroke-dasharray="4,3"><title>${escapeXml(event.label)} at ${Math.round(event.at - result.eventAt)} ms</title></line>`,
    );
    if (main) return;
    const width = textWidth(event.label, SMALL_FONT_SIZE);
    const centre = Math.min(Math.max(x, layout.plotLeft + width / 2), layout.plotRight - width / 2);
    if (centre - width / 2 < labelEnd + 4) return;
    labelEnd = centre + width / 2;
    parts.push(
      text(centre, top + LANE_TOP - 5, event.label, {
        anchor: 'middle',
        size: SMALL_FONT_SIZE,
        fill: '#555555',
        className: 'moment-label',
      }),
    );
  });
  // The largest gap as a bar (red when the run failed), the bound as an outline over it from the same start.
  const gapLeft = at(result.outageFrom);
  parts.push(
    `<rect class="outage" x="${fixed(gapLeft)}" y="${top + BAR_TOP}" width="${fixed(Math.max(1, at(result.outageTo) - gapLeft))}" height="${BAR_HEIGHT}" fill="${result.passed ? '#444444' : FAIL}"><title>largest gap ${Math.round(result.outageMs)} ms</title></rect>`,
    `<rect class="bound" x="${fixed(gapLeft)}" y="${top + BAR_TOP}" width="${fixed(Math.max(1, at(result.outageFrom + result.limitMs) - gapLeft))}" height="${BAR_HEIGHT}" fill="none" stroke="${PASS}" stroke-width="1.5"><title>bound ${Math.round(result.limitMs)} ms (${escapeXml(result.bound.formula)} + margin ${result.bound.marginMs} ms)</title></rect>`,
    text(layout.plotRight + MARGIN, top + LANE_TOP + 13, verdict(result), {
      fill: result.passed ? PASS : FAIL,
      className: 'verdict',
    }),
    '</g>',
  );
  return parts;
}

function axis(layout: Layout, top: number, bottom: number): string[] {
  const step = tickStep(layout.to - layout.from);
  const parts = ['<g class="axis">'];
  parts.push(
    `<line x1="${fixed(layout.plotLeft)}" y1="${bottom}" x2="${fixed(layout.plotRight)}" y2="${bottom}" stroke="#000000"/>`,
  );
  for (let index = Math.ceil(layout.from / step); index * step <= layout.to; index++) {
    const tick = index * step;
    const x = layout.x(tick);
    const tickText = `${Math.round(tick)}`;
    const width = textWidth(tickText);
    const anchor = x - width / 2 < 0 ? 'start' : x + width / 2 > layout.width ? 'end' : 'middle';
    parts.push(
      `<line class="grid" x1="${fixed(x)}" y1="${top}" x2="${fixed(x)}" y2="${bottom}" stroke="${tick === 0 ? '#999999' : '#dddddd'}"/>`,
      `<line class="tick" x1="${fixed(x)}" y1="${bottom}" x2="${fixed(x)}" y2="${bottom + 5}" stroke="#000000"/>`,
      text(x, bottom + 18, tickText, { anchor, className: 'tick-label' }),
    );
  }
  parts.push(
    text(layout.plotRight, bottom + 34, 'ms from the event (t = 0); every row on the same scale', {
      anchor: 'end',
      fill: '#555555',
      className: 'axis-title',
    }),
    '</g>',
  );
  return parts;
}

type LegendIcon = (x: number, y: number) => string;

function legend(
  report: DrillReport,
  colour: (b: string) => string,
  balancers: string[],
  layout: Layout,
  top: number,
): { parts: string[]; height: number } {
  const swatch =
    (fill: string, stroke = 'none'): LegendIcon =>
    (x, y) =>
      `<rect x="${x}" y="${y - 9}" width="22" height="10" fill="${fill}" stroke="${stroke}"/>`;
  const dashed =
    (stroke: string): LegendIcon =>
    (x, y) =>
      `<line x1="${x + 11}" y1="${y - 12}" x2="${x + 11}" y2="${y + 3}" stroke="${stroke}" stroke-width="1.5" stroke-dasharray="4,3"/>`;
  const items: [LegendIcon, string][] = [
    ...balancers.map((balancer): [LegendIcon, string] => [
      swatch(colour(balancer)),
      `${balancer} answered the client`,
    ]),
    [swatch('#eeeeee'), 'no answer'],
    [dashed('#000000'), 'dashed black: the event the drill caused (t = 0)'],
    [dashed('#777777'), 'dashed grey: other moments of the scenario, named above'],
    [swatch('#444444'), 'largest gap between two answers (the outage)'],
    [swatch(FAIL), 'the same, in a failed run'],
    [swatch('none', PASS), 'the bound, drawn from where the gap starts'],
  ];
  if (report.families.length > 1) items.push([swatch('#bbbbbb'), 'upper half IPv4, lower half IPv6']);
  const parts = ['<g class="legend">', text(MARGIN, top, 'legend', { className: 'legend-title' })];
  let x = MARGIN;
  let y = top + 20;
  for (const [icon, caption] of items) {
    const width = 22 + 6 + textWidth(caption) + 18;
    if (x + width > layout.width - MARGIN && x > MARGIN) {
      x = MARGIN;
      y += 20;
    }
    parts.push(icon(x, y), text(x + 28, y, caption));
    x += width;
  }
  parts.push('</g>');
  return { parts, height: y - top + 12 };
}

export function drillTimeline(report: DrillReport): string {
  const balancers = [
    ...new Set(report.results.flatMap((result) => result.segments.map((segment) => segment.balancer))),
  ].sort();
  const colour = (balancer: string) => COLOURS[balancers.indexOf(balancer) % COLOURS.length] ?? '#777777';
  const layout = layoutOf(report);
  const rowsBottom = ROWS_TOP + ROW_HEIGHT * report.results.length;
  const axisParts = axis(layout, ROWS_TOP, rowsBottom);
  const legendParts = legend(report, colour, balancers, layout, rowsBottom + 62);
  const height = Math.ceil(rowsBottom + 62 + legendParts.height + MARGIN);
  const title = `tandem lab drill: who answered the client (${report.peer}, VRRPv${report.version}, advert_int ${report.advertInterval} s, margin ${report.marginMs} ms)`;
  const passed = report.results.filter((result) => result.passed).length;
  const subtitle = `${passed} of ${report.results.length} runs within their bound; outage = the client's largest gap between two answers`;
  const width = Math.ceil(
    Math.max(layout.width, MARGIN * 2 + textWidth(title, 14), MARGIN * 2 + textWidth(subtitle)),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif" font-size="${FONT_SIZE}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    text(MARGIN, 22, title, { size: 14, className: 'title' }),
    text(MARGIN, 42, subtitle, { fill: '#555555', className: 'subtitle' }),
    ...axisParts,
    ...report.results.flatMap((result, index) => row(result, index, layout, colour, report.families.length)),
    ...legendParts.parts,
    '</svg>',
    '',
  ].join('\n');
}

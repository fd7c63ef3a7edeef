/**
 * What a person running the demo sees, without running a lab: the SVG timeline of a real drill report (a
 * fixture from `tandem lab drill --json`, advert_int 1 s), rendered by a real SVG renderer; the live table; the
 * progress lines in a pipe and on a terminal; and the one-line refusal when not root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { progress } from '../../netns-lab/command.js';
import type { DrillOptions, DrillReport, ScenarioResult } from '../../netns-lab/drill.js';
import { liveTable } from '../../netns-lab/report.js';
import { SCENARIO_NAMES } from '../../netns-lab/scenarios.js';
import { drillTimeline, textWidth } from '../../netns-lab/timeline.js';
import { REPO_ROOT } from '../helpers/netns.js';

const sample = JSON.parse(
  readFileSync(join(REPO_ROOT, 'test/fixtures/lab/drill-report.json'), 'utf8'),
) as DrillReport;

interface Element {
  name: string;
  attributes: Record<string, string>;
  text: string;
  children: Element[];
}

type Ordered = Record<string, unknown> & { ':@'?: Record<string, string> };

/** The SVG as a tree of elements (fast-xml-parser's ordered form, flattened into something to walk). */
function parseSvg(svg: string): Element {
  const convert = (node: Ordered): Element | undefined => {
    const name = Object.keys(node).find((key) => key !== ':@');
    if (name === undefined || name === '#text') return undefined;
    const children = (node[name] as Ordered[]) ?? [];
    const attributes = Object.fromEntries(
      Object.entries(node[':@'] ?? {}).map(([key, value]) => [key.replace(/^@_/, ''), String(value)]),
    );
    return {
      name,
      attributes,
      text: children
        .filter((child) => '#text' in child)
        .map((child) => String(child['#text']))
        .join(''),
      children: children.map(convert).filter((child): child is Element => child !== undefined),
    };
  };
  const parsed = new XMLParser({
    ignoreAttributes: false,
    preserveOrder: true,
    parseAttributeValue: false,
  }).parse(svg) as Ordered[];
  const root = parsed.map(convert).find((element) => element?.name === 'svg');
  assert.ok(root, 'an <svg> root element');
  return root;
}

function all(element: Element, predicate: (element: Element) => boolean): Element[] {
  return [
    ...(predicate(element) ? [element] : []),
    ...element.children.flatMap((child) => all(child, predicate)),
  ];
}

const byClass = (root: Element, name: string, className: string) =>
  all(root, (element) => element.name === name && element.attributes.class === className);

function checkTimeline(report: DrillReport): Element {
  const svg = drillTimeline(report);
  assert.equal(XMLValidator.validate(svg), true, 'the SVG is well-formed XML');
  const root = parseSvg(svg);
  const [x0, y0, width, height] = (root.attributes.viewBox ?? '').split(' ').map(Number);
  assert.deepEqual([x0, y0], [0, 0]);
  assert.ok(width && height);

  // Every label inside the picture: its extent (by the anchor) within the viewBox, with a margin.
  for (const text of all(root, (element) => element.name === 'text')) {
    const x = Number(text.attributes.x);
    const y = Number(text.attributes.y);
    const size = Number(text.attributes['font-size'] ?? 12);
    const extent = textWidth(text.text, size);
    const anchor = text.attributes['text-anchor'] ?? 'start';
    const left = anchor === 'start' ? x : anchor === 'middle' ? x - extent / 2 : x - extent;
    assert.ok(
      left >= 2 && left + extent <= width - 2,
      `'${text.text}' (${left}..${left + extent}) inside 0..${width}`,
    );
    assert.ok(y - size >= 0 && y + 4 <= height, `'${text.text}' at y ${y} inside 0..${height}`);
  }

  // One shared time axis: ticks in order with 0 among them, and every run's event (t = 0) at the 0 tick.
  const [axis] = all(root, (element) => element.name === 'g' && element.attributes.class === 'axis');
  assert.ok(axis, 'an axis');
  const ticks = byClass(axis, 'text', 'tick-label').map((tick) => ({
    ms: Number(tick.text),
    x: Number(tick.attributes.x),
  }));
  assert.ok(ticks.length >= 5, `at least 5 ticks, found ${ticks.length}`);
  assert.deepEqual(
    [...ticks].sort((a, b) => a.ms - b.ms),
    ticks,
    'ticks in time order',
  );
  assert.ok(
    ticks.every((tick, index) => index === 0 || tick.x > (ticks[index - 1]?.x ?? 0)),
    'left to right',
  );
  const zero = ticks.find((tick) => tick.ms === 0);
  assert.ok(zero, 'a tick at the event (0 ms)');
  const events = byClass(root, 'line', 'event');
  assert.equal(events.length, report.results.length, 'one event line per run');
  for (const line of events)
    assert.equal(Number(line.attributes.x1), zero.x, 'the event lines up with 0 on the axis');
  assert.ok(byClass(axis, 'text', 'axis-title')[0]?.text.includes('ms from the event'));

  // Per run: the label, the bound and the outage, and the verdict with both numbers.
  const rows = all(root, (element) => element.name === 'g' && element.attributes.class === 'scenario');
  assert.equal(rows.length, report.results.length, 'one row per run');
  rows.forEach((row, index) => {
    const result = report.results[index] as ScenarioResult;
    assert.equal(row.attributes['data-scenario'], result.scenario);
    assert.equal(byClass(row, 'text', 'label')[0]?.text, `${result.scenario} #${result.repeat}`);
    const verdict = byClass(row, 'text', 'verdict')[0]?.text ?? '';
    assert.match(verdict, result.passed ? /^pass: \d+ ms ≤ \d+ ms$/ : /^FAIL: \d+ ms [>≤] \d+ ms$/);
    assert.ok(verdict.includes(`${Math.round(result.limitMs)} ms`), `${verdict} names the bound`);
    assert.equal(byClass(row, 'rect', 'bound').length, 1);
    assert.equal(byClass(row, 'rect', 'outage').length, 1);
  });

  // A visible legend that explains the dashed lines, the bars and every balancer's colour.
  const [legend] = all(root, (element) => element.name === 'g' && element.attributes.class === 'legend');
  assert.ok(legend, 'a legend');
  const captions = all(legend, (element) => element.name === 'text').map((text) => text.text);
  for (const needle of ['dashed black', 'dashed grey', 'no answer', 'largest gap', 'bound'])
    assert.ok(
      captions.some((caption) => caption.includes(needle)),
      `legend explains '${needle}'`,
    );
  const balancers = new Set(
    report.results.flatMap((result) => result.segments.map((segment) => segment.balancer)),
  );
  for (const balancer of balancers)
    assert.ok(
      captions.some((caption) => caption.startsWith(`${balancer} answered`)),
      `legend names ${balancer}`,
    );
  return root;
}

test('the timeline of a real drill: labels inside, one shared axis with ticks, bound and verdict per row, a legend', () => {
  checkTimeline(sample);
});

test('a failed run shows as FAIL in red; an outage past its bound says so', () => {
  const results = sample.results.map((result, index) =>
    index === 1
      ? {
          ...result,
          passed: false,
          outageMs: result.limitMs + 500,
          outageTo: result.outageFrom + result.limitMs + 500,
        }
      : result,
  );
  const root = checkTimeline({ ...sample, results, passed: false });
  const failed = all(
    root,
    (element) => element.name === 'g' && element.attributes['data-passed'] === 'false',
  );
  assert.equal(failed.length, 1);
  const verdict = byClass(failed[0] as Element, 'text', 'verdict')[0];
  assert.match(verdict?.text ?? '', /^FAIL: \d+ ms > \d+ ms$/);
  assert.equal(verdict?.attributes.fill, '#c62828');
});

test('rsvg-convert renders the timeline at its own size', () => {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-timeline-'));
  try {
    const svg = join(directory, 'timeline.svg');
    const png = join(directory, 'timeline.png');
    writeFileSync(svg, drillTimeline(sample));
    const result = spawnSync('rsvg-convert', ['-o', png, svg], { encoding: 'utf8' });
    assert.equal(result.error, undefined, 'rsvg-convert (Debian librsvg2-bin) is installed');
    assert.equal(result.status, 0, result.stderr);
    const header = readFileSync(png);
    assert.equal(header.subarray(1, 4).toString('latin1'), 'PNG');
    const [, , width, height] = (/viewBox="([^"]+)"/.exec(readFileSync(svg, 'utf8'))?.[1] ?? '')
      .split(' ')
      .map(Number);
    assert.deepEqual([header.readUInt32BE(16), header.readUInt32BE(20)], [width, height]);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('the live table: the header printed first lines up with every row', () => {
  const table = liveTable(SCENARIO_NAMES);
  for (const result of sample.results) {
    const row = table.row(result);
    for (const title of ['run', 'result', 'master', 'answers']) {
      const column = table.header.indexOf(title);
      assert.notEqual(row[column - 1], undefined);
      assert.equal(row[column - 1], ' ', `a column starts at '${title}' in: ${row}`);
      assert.notEqual(row[column], ' ', `'${title}' column filled in: ${row}`);
    }
    assert.ok(
      row.indexOf(String(Math.round(result.limitMs))) < table.header.indexOf('bound ms') + 'bound ms'.length,
    );
  }
});

function drillProgress(isTTY: boolean): string {
  let written = '';
  const options = progress({ scenarios: SCENARIO_NAMES, peer: 'tandem' } as DrillOptions, {
    isTTY,
    write: (text: string) => (written += text),
  });
  for (const result of sample.results.slice(0, 3)) {
    options.onStart?.(result.scenario, result.repeat);
    options.onResult?.(result);
  }
  return written;
}

test('progress into a pipe: a header, then whole lines, no carriage return', () => {
  const lines = drillProgress(false).split('\n');
  assert.match(lines[0] ?? '', /^tandem, one row per run/);
  assert.match(lines[1] ?? '', /^scenario +run +result +outage ms +bound ms/);
  assert.match(lines[2] ?? '', /^graceful-stop +1 +pass/);
  assert.doesNotMatch(drillProgress(false), /\r/);
});

test('progress on a terminal: the run in progress is overwritten by its row', () => {
  const written = drillProgress(true);
  assert.ok(written.includes('graceful-stop #1 running ...\r\x1b[Kgraceful-stop '), JSON.stringify(written));
  assert.equal((written.match(/\r/g) ?? []).length, 3);
});

test('not root: one line that says what is needed and how, exit status 1, nothing else', () => {
  const asNobody =
    process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  for (const [script, how] of [
    [undefined, 'sudo tandem lab drill'],
    ['demo', 'sudo npm run demo'],
  ] as const) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.npm_lifecycle_event;
    if (script !== undefined) env.npm_lifecycle_event = script;
    const [command = '', ...args] = [
      ...asNobody,
      process.execPath,
      '--import',
      'tsx',
      'src/cli.ts',
      'lab',
      'drill',
    ];
    const result = spawnSync(command, args, { cwd: REPO_ROOT, encoding: 'utf8', env, timeout: 60_000 });
    assert.equal(result.status, 1, result.stderr);
    assert.equal(result.stdout, '');
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    assert.equal(lines.length, 1, `one line: ${result.stderr}`);
    assert.match(lines[0] ?? '', /needs root/);
    assert.ok(lines[0]?.includes(how), `says how: ${lines[0]}`);
  }
});

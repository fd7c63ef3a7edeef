import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TandemMetrics } from '../../src/daemon/metrics.js';
import { DISCARD_REASONS, fakeSnapshot, parseExposition } from '../helpers/telemetry.js';

const CONTRIB = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'contrib', 'prometheus');

function promtool(args: string[], cwd = CONTRIB) {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  assert.equal(result.error, undefined, 'promtool runs (Debian package prometheus; .ci/run installs it)');
  return result;
}

/** Every metric a scrape of tandem exposes (histograms by their series names). */
async function exposedNames(): Promise<Set<string>> {
  const metrics = new TandemMetrics({
    snapshot: fakeSnapshot,
    discardReasons: DISCARD_REASONS,
    version: '0',
  });
  const families = parseExposition(await metrics.render());
  const names = new Set<string>();
  for (const [name, family] of families) {
    names.add(name);
    // A histogram's series exist once it has an observation; its family is declared from the start.
    if (family.type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

const PROMQL_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
]);

/**
 * The metric names a PromQL expression reads: what is left once strings, label matchers, ranges, grouping
 * clauses, Grafana variables, numbers, function names (followed by "(") and keywords are taken out.
 */
function metricNamesIn(expression: string): string[] {
  const bare = expression
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?[a-zA-Z_]+\}?/g, ' ');
  const names: string[] = [];
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0];
    const after = bare.slice((match.index ?? 0) + name.length).trimStart();
    if (after.startsWith('(') || PROMQL_KEYWORDS.has(name)) continue;
    names.push(name);
  }
  return names;
}

test('metricNamesIn finds metric names and nothing else', () => {
  assert.deepEqual(
    metricNamesIn(
      'histogram_quantile(0.95, sum by (le, iname) (rate(tandem_hook_duration_seconds_bucket{instance=~"$instance",x="a{b}"}[$__rate_interval]))) > 0 and on (iname) up',
    ),
    ['tandem_hook_duration_seconds_bucket', 'up'],
  );
  assert.deepEqual(metricNamesIn('absent(up{job="tandem"})'), ['up']);
  assert.deepEqual(metricNamesIn('node_load1 / 2'), ['node_load1']);
});

test('the alert rules pass promtool check rules and their unit tests (promtool test rules)', () => {
  const check = promtool(['check', 'rules', 'tandem-alerts.yml']);
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /SUCCESS: 8 rules found/);
  const tests = promtool(['test', 'rules', 'tandem-alerts.test.yml']);
  assert.equal(tests.status, 0, tests.stdout + tests.stderr);
  assert.match(tests.stdout, /SUCCESS/);
});

test("every alert is unit-tested, and reads only metrics tandem exposes (and the scrape's own up)", async () => {
  const rules = readFileSync(join(CONTRIB, 'tandem-alerts.yml'), 'utf8');
  const tests = readFileSync(join(CONTRIB, 'tandem-alerts.test.yml'), 'utf8');
  const alerts = [...rules.matchAll(/^\s+- alert: (\S+)$/gm)].map((match) => match[1] as string);
  assert.deepEqual(alerts, [
    'TandemNoMaster',
    'TandemTwoMasters',
    'TandemSplitBrainHeard',
    'TandemFlapping',
    'TandemHookFailing',
    'TandemTrackerDown',
    'TandemMetricsDown',
    'TandemMetricsAbsent',
  ]);
  for (const alert of alerts) {
    const cases = [...tests.matchAll(new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:(.*)`, 'g'))];
    assert.ok(
      cases.some((match) => (match[1] as string).trim() === '[]'),
      `${alert}: a case where it stays quiet`,
    );
    assert.ok(
      cases.some((match) => (match[1] as string).trim() === ''),
      `${alert}: a case where it fires`,
    );
  }
  const exposed = await exposedNames();
  const expressions = [...rules.matchAll(/^\s+expr: (.+)$/gm)].map((match) => match[1] as string);
  assert.equal(expressions.length, alerts.length);
  for (const expression of expressions) {
    const names = metricNamesIn(expression);
    assert.ok(names.length > 0, expression);
    for (const name of names)
      assert.ok(name === 'up' || exposed.has(name), `${name} (in ${expression}) is exposed`);
  }
});

interface DashboardPanel {
  title?: string;
  type: string;
  targets?: { expr: string }[];
}

test('the Grafana dashboard reads only metrics tandem exposes, in valid PromQL', async () => {
  const dashboard = JSON.parse(readFileSync(join(CONTRIB, 'tandem-dashboard.json'), 'utf8')) as {
    panels: DashboardPanel[];
    templating: { list: { query?: string | { query: string } }[] };
  };
  const expressions = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  assert.ok(expressions.length >= 20, 'the dashboard has its panels');
  for (const panel of dashboard.panels)
    if (panel.type !== 'row') assert.ok((panel.targets ?? []).length > 0, `${panel.title}: a query`);
  const exposed = await exposedNames();
  for (const expression of expressions) {
    const names = metricNamesIn(expression);
    assert.ok(names.length > 0, expression);
    for (const name of names) assert.ok(exposed.has(name), `${name} (in ${expression}) is exposed`);
  }
  // Template variables: label_values(METRIC, label).
  for (const variable of dashboard.templating.list) {
    const query = typeof variable.query === 'object' ? variable.query.query : variable.query;
    const metric = /^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*),/.exec(query ?? '');
    if (metric) assert.ok(exposed.has(metric[1] as string), query);
  }
  // promtool parses each expression as a recording rule, with Grafana's variables given plain values.
  const directory = mkdtempSync(join(tmpdir(), 'tandem-dashboard-'));
  try {
    const rules = expressions.map((expression, index) => {
      const promql = expression
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$__range', '1h')
        .replaceAll('$instance', '.*');
      return `      - record: dashboard:query_${index}\n        expr: ${JSON.stringify(promql)}\n`;
    });
    writeFileSync(
      join(directory, 'dashboard.yml'),
      `groups:\n  - name: dashboard\n    rules:\n${rules.join('')}`,
    );
    const check = promtool(['check', 'rules', 'dashboard.yml'], directory);
    assert.equal(check.status, 0, check.stdout + check.stderr);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

/**
 * The drills themselves, run on a real lab (tandem on two balancers, VRRPv3 at advert_int 0.1 s so the whole
 * file stays well under two minutes): every scenario must pass its protocol bound and end with one MASTER
 * holding the VIP; the JUnit report must parse and the SVG timeline must picture every run. Plus the
 * measurement helpers on hand-made answers, and `tandem lab up` / `down` leaving nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { masterDownIntervalMs, skewTimeMs } from '../../netns-lab/bounds.js';
import { type Answer } from '../../netns-lab/client.js';
import { type DrillReport, largestGap, lostOf, runDrill, segmentsOf } from '../../netns-lab/drill.js';
import { drillJunit, drillTable } from '../../netns-lab/report.js';
import { drillTimeline } from '../../netns-lab/timeline.js';
import { SCENARIO_NAMES } from '../../netns-lab/scenarios.js';
import { labDown, labUp, listLabs } from '../../netns-lab/updown.js';
import { requireRoot } from '../helpers/netns.js';

const answer = (at: number, balancer = 'b1', seq = at): Answer => ({ family: 4, seq, at, balancer });

test('bounds: Skew_Time and Master_Down_Interval as RFC 3768 and RFC 5798 define them', () => {
  const close = (actual: number, expected: number) =>
    assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} is ${expected}`);
  close(skewTimeMs(100, { version: 2, advertInterval: 1 }), 609.375);
  close(skewTimeMs(100, { version: 2, advertInterval: 3 }), 609.375);
  close(skewTimeMs(100, { version: 3, advertInterval: 0.1 }), 60.9375);
  close(masterDownIntervalMs(100, { version: 3, advertInterval: 1 }), 3609.375);
  close(masterDownIntervalMs(150, { version: 3, advertInterval: 0.1 }), 341.40625);
});

test('lostOf counts the probes of the window nobody answered, not a late answer to an earlier probe', () => {
  const answer = (seq: number, at: number): Answer => ({ family: 4, seq, at, balancer: 'b1' });
  // Probes 100-109 answered every millisecond, 104 and 105 lost.
  const window = [100, 101, 102, 103, 106, 107, 108, 109].map((seq) => answer(seq, 1000 + seq));
  assert.equal(lostOf(window), 2);
  // Probe 3, held by the kernel while the client resolved the VIP, answered inside the window: late, not 96 losses.
  assert.equal(lostOf([...window, answer(3, 1105)]), 2);
  assert.equal(lostOf([]), 0);
});

test('largestGap counts the edges of the window; segmentsOf merges close answers per balancer', () => {
  const answers = [answer(10), answer(12), answer(40, 'b2'), answer(41, 'b2')];
  assert.equal(largestGap(answers, 0, 50), 28);
  assert.equal(largestGap(answers, 0, 100), 59, 'no answer since 41: the gap runs to the end');
  assert.equal(largestGap([], 0, 100), 100);
  assert.deepEqual(
    segmentsOf(answers, 5).map((segment) => [segment.balancer, segment.from, segment.to]),
    [
      ['b1', 10, 12],
      ['b2', 40, 41],
    ],
  );
});

function checkReports(report: DrillReport): void {
  const xml = drillJunit(report);
  assert.equal(XMLValidator.validate(xml), true, 'JUnit XML is well-formed');
  const parsed = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testcase' }).parse(
    xml,
  ) as {
    testsuites: { testsuite: { '@_tests': string; testcase: { '@_name': string; failure?: unknown }[] } };
  };
  const suite = parsed.testsuites.testsuite;
  assert.equal(Number(suite['@_tests']), report.results.length);
  assert.deepEqual(
    suite.testcase.map((testcase) => testcase['@_name']),
    report.results.map((result) => `${result.scenario} #${result.repeat}`),
  );
  assert.equal(
    suite.testcase.filter((testcase) => testcase.failure !== undefined).length,
    report.results.filter((result) => !result.passed).length,
  );

  const svg = drillTimeline(report);
  assert.equal(XMLValidator.validate(svg), true, 'the SVG is well-formed XML');
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/<g class="scenario"/g) ?? []).length, report.results.length, 'one row per run');
  for (const result of report.results) {
    assert.ok(svg.includes(`data-scenario="${result.scenario}"`));
    assert.ok(result.segments.length > 0, `${result.scenario}: answers pictured`);
  }
  assert.ok(
    svg.includes('data-balancer="b1"') && svg.includes('data-balancer="b2"'),
    'both balancers pictured',
  );
  assert.ok((svg.match(/<line class="event"/g) ?? []).length >= report.results.length, 'event marks');

  const table = drillTable(report);
  for (const name of new Set(report.results.map((result) => result.scenario)))
    assert.ok(table.includes(name));
}

test('drills: every scenario passes its bound with tandem and ends with one MASTER holding the VIP', async (t) => {
  requireRoot();
  const stateDirectory = mkdtempSync(join(tmpdir(), 'tandem-lab-test-'));
  try {
    const report = await drill(stateDirectory);
    for (const line of drillTable(report).split('\n')) t.diagnostic(line);
    assert.deepEqual(
      report.results.map((result) => result.scenario),
      SCENARIO_NAMES,
    );
    for (const result of report.results) {
      assert.ok(result.passed, `${result.scenario}: ${result.failures.join('; ')}`);
      if (result.bound.formula.startsWith('make-before-break'))
        assert.equal(result.lost, 0, `${result.scenario}: make-before-break loses no request`);
      else assert.ok(result.outageMs <= result.limitMs, `${result.scenario} outage within its bound`);
      assert.equal(result.duplicates, 0, `${result.scenario}: no request answered twice`);
      const expected = [
        'graceful-stop',
        'planned-switchover',
        'crash',
        'master-link-down',
        'health-script-fails',
      ].includes(result.scenario)
        ? 'b2'
        : 'b1';
      assert.equal(result.finalMaster, expected, `${result.scenario}: final MASTER`);
    }
    // A failover really happened where one was expected: both balancers answered the client.
    const crash = report.results.find((result) => result.scenario === 'crash');
    assert.ok(crash && (crash.answeredBy.b1 ?? 0) > 0 && (crash.answeredBy.b2 ?? 0) > 0);
    assert.ok(report.daemonUsage.cpuMs > 0 && report.daemonUsage.peakRssKb > 0, 'daemon usage measured');
    checkReports(report);
  } finally {
    rmSync(stateDirectory, { recursive: true, force: true });
  }
});

/** A drill at VRRPv3 0.1 s with two balancers, the way this file runs them. */
function drill(stateDirectory: string, overrides: Partial<Parameters<typeof runDrill>[0]> = {}) {
  return runDrill({
    scenarios: SCENARIO_NAMES,
    repeat: 1,
    balancers: 2,
    families: [4],
    version: 3,
    advertInterval: 0.1,
    peer: 'tandem',
    marginMs: 150,
    probeIntervalMs: 2,
    stateDirectory,
    ...overrides,
  });
}

test('drills over IPv6 (VRRPv3, link-local adverts): a graceful stop and a crash fail over within their bounds', async () => {
  requireRoot();
  const stateDirectory = mkdtempSync(join(tmpdir(), 'tandem-lab-test6-'));
  try {
    const report = await drill(stateDirectory, { scenarios: ['graceful-stop', 'crash'], families: [6] });
    for (const result of report.results) {
      assert.ok(result.passed, `IPv6 ${result.scenario}: ${result.failures.join('; ')}`);
      assert.equal(result.finalMaster, 'b2');
      assert.ok(
        (result.answeredBy.b1 ?? 0) > 0 && (result.answeredBy.b2 ?? 0) > 0,
        'both balancers answered',
      );
    }
  } finally {
    rmSync(stateDirectory, { recursive: true, force: true });
  }
});

test('lab up leaves a working lab; lab down removes every namespace, process and file', async () => {
  requireRoot();
  const stateDirectory = mkdtempSync(join(tmpdir(), 'tandem-lab-up-'));
  try {
    const record = await labUp({
      balancers: 2,
      families: [4],
      version: 3,
      advertInterval: 0.1,
      peer: 'tandem',
      stateDirectory,
    });
    try {
      assert.deepEqual(
        listLabs(stateDirectory).map((lab) => lab.id),
        [record.id],
      );
      const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      for (const ns of record.namespaces) assert.ok(namespaces.includes(ns), `${ns} exists`);
      // The client reaches the VIP: b1 answers through its echo responder.
      const reply = execFileSync(
        'ip',
        ['netns', 'exec', record.client.ns, 'ping', '-c', '1', '-W', '2', record.vips[0] as string],
        { encoding: 'utf8' },
      );
      assert.match(reply, /1 received/);
    } finally {
      await labDown(record);
    }
    const after = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const ns of record.namespaces) assert.ok(!after.includes(ns), `${ns} deleted`);
    for (const pid of record.pids) assert.throws(() => process.kill(pid, 0), `process ${pid} gone`);
    assert.deepEqual(listLabs(stateDirectory), []);
  } finally {
    rmSync(stateDirectory, { recursive: true, force: true });
  }
});

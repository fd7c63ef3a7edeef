/**
 * keepalived's weight rules, case by case. Each row cites the keepalived.conf(5) passage it checks:
 * - [IF] vrrp_instance track_interface: "go to FAULT state if any of these go down if unweighted ... its
 *   priority will be increased by the weight when the interface is up (for positive weights), or decreased by
 *   the weight's absolute value when the interface is down (for negative weights), unless reverse is
 *   specified, in which case the direction of adjustment of the priority is reversed."
 * - [SC] vrrp_script: "A positive weight means that <rise> successes will add <weight> to the priority ... a
 *   negative weight will be subtracted from the initial priority in case of <fall> failures"; "'weight 0
 *   reverse' will cause the vrrp instance to be down when the script is up, and vice versa".
 * - [TF] Track files: "If the weight configured against the track_file is 0, a non-zero value in the file
 *   will be treated as a failure status ... otherwise the value will be multiplied by the weight"; "if the
 *   result is less than -253 anything monitoring the script will transition to the fault state".
 * - [TP] track_process: "Positive weights are added/subtracted when the process is running, negative
 *   weights are subtracted/added when the not running. If reverse is specified, the addition/subtraction is
 *   reversed."
 * - [PR] "the effective priority will be limited to the range [1,254]"; priority: "if an instance has
 *   priority 255 configured, the priority cannot be reduced by track_scripts, track_process etc, and likewise
 *   track_scripts etc cannot increase the priority to 255".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FileTracker, fileKind } from '../../src/watchers/file.js';
import type { AnyTrackerKind, Tracker } from '../../src/watchers/kinds.js';
import { type ProcessTracker, processKind } from '../../src/watchers/process.js';
import { type ScriptTracker, scriptKind } from '../../src/watchers/script.js';
import {
  type CheckState,
  InstanceTracking,
  type TrackedInterface,
  type TrackerSource,
  type TrackingInputs,
  trackingOutcome,
} from '../../src/watchers/tracking.js';

/** The rows' shorthand: each kind's tracks with the state its tracker would report. */
interface Rows {
  interfaces: TrackedInterface[];
  scripts: { name: string; weight: number; reverse: boolean; state: CheckState }[];
  files: { name: string; weight: number; reverse: boolean; value: number }[];
  processes: { name: string; weight: number; reverse: boolean; running: boolean }[];
}

const none: Rows = { interfaces: [], scripts: [], files: [], processes: [] };

/** The rows as the tracking sees them: each object's contribution by its kind's rule. */
function inputsOf(rows: Rows): TrackingInputs {
  return {
    interfaces: rows.interfaces,
    objects: [
      ...rows.scripts.map((t) => ({
        name: t.name,
        cause: scriptKind.faultCause(t.name),
        contribution: scriptKind.contribution(t, { state: t.state } as ScriptTracker),
      })),
      ...rows.files.map((t) => ({
        name: t.name,
        cause: fileKind.faultCause(t.name),
        contribution: fileKind.contribution(t, { value: t.value } as FileTracker),
      })),
      ...rows.processes.map((t) => ({
        name: t.name,
        cause: processKind.faultCause(t.name),
        contribution: processKind.contribution(t, { running: t.running } as ProcessTracker),
      })),
    ],
  };
}
const iface = (up: boolean, weight = 0, reverse = false) => ({ name: 'eth1', weight, reverse, up });
const script = (state: CheckState, weight = 0, reverse = false) => ({ name: 'chk', weight, reverse, state });
const file = (value: number, weight = 1, reverse = false) => ({ name: 'f1', weight, reverse, value });
const proc = (running: boolean, weight = 1, reverse = false) => ({
  name: 'haproxy',
  weight,
  reverse,
  running,
});

const cases: {
  why: string;
  base: number;
  inputs: Partial<Rows>;
  priority: number;
  faults: string[];
}[] = [
  { why: '[IF] unweighted, up', base: 100, inputs: { interfaces: [iface(true)] }, priority: 100, faults: [] },
  {
    why: '[IF] unweighted, down: FAULT',
    base: 100,
    inputs: { interfaces: [iface(false)] },
    priority: 100,
    faults: ['link eth1'],
  },
  {
    why: '[IF] unweighted reverse, up: FAULT',
    base: 100,
    inputs: { interfaces: [iface(true, 0, true)] },
    priority: 100,
    faults: ['link eth1'],
  },
  {
    why: '[IF] unweighted reverse, down',
    base: 100,
    inputs: { interfaces: [iface(false, 0, true)] },
    priority: 100,
    faults: [],
  },
  { why: '[IF] +10, up', base: 100, inputs: { interfaces: [iface(true, 10)] }, priority: 110, faults: [] },
  { why: '[IF] +10, down', base: 100, inputs: { interfaces: [iface(false, 10)] }, priority: 100, faults: [] },
  { why: '[IF] -10, up', base: 100, inputs: { interfaces: [iface(true, -10)] }, priority: 100, faults: [] },
  { why: '[IF] -10, down', base: 100, inputs: { interfaces: [iface(false, -10)] }, priority: 90, faults: [] },
  {
    why: '[IF] +10 reverse, up',
    base: 100,
    inputs: { interfaces: [iface(true, 10, true)] },
    priority: 90,
    faults: [],
  },
  {
    why: '[IF] -10 reverse, down',
    base: 100,
    inputs: { interfaces: [iface(false, -10, true)] },
    priority: 110,
    faults: [],
  },
  { why: '[SC] weight 0, ok', base: 100, inputs: { scripts: [script('ok')] }, priority: 100, faults: [] },
  {
    why: '[SC] weight 0, fail: FAULT',
    base: 100,
    inputs: { scripts: [script('fail')] },
    priority: 100,
    faults: ['script chk'],
  },
  {
    why: '[SC] weight 0 reverse, ok: FAULT',
    base: 100,
    inputs: { scripts: [script('ok', 0, true)] },
    priority: 100,
    faults: ['script chk'],
  },
  {
    why: '[SC] weight 0 reverse, fail',
    base: 100,
    inputs: { scripts: [script('fail', 0, true)] },
    priority: 100,
    faults: [],
  },
  { why: '[SC] +20, ok', base: 100, inputs: { scripts: [script('ok', 20)] }, priority: 120, faults: [] },
  { why: '[SC] +20, fail', base: 100, inputs: { scripts: [script('fail', 20)] }, priority: 100, faults: [] },
  { why: '[SC] -20, ok', base: 100, inputs: { scripts: [script('ok', -20)] }, priority: 100, faults: [] },
  { why: '[SC] -20, fail', base: 100, inputs: { scripts: [script('fail', -20)] }, priority: 80, faults: [] },
  {
    why: '[SC] +20 reverse, ok',
    base: 100,
    inputs: { scripts: [script('ok', 20, true)] },
    priority: 80,
    faults: [],
  },
  {
    why: '[SC] -20 reverse, fail',
    base: 100,
    inputs: { scripts: [script('fail', -20, true)] },
    priority: 120,
    faults: [],
  },
  {
    why: '[SC] not run yet, weighted: no change',
    base: 100,
    inputs: { scripts: [script('unknown', -20)] },
    priority: 100,
    faults: [],
  },
  {
    why: '[SC] not run yet, unweighted: held back',
    base: 100,
    inputs: { scripts: [script('unknown')] },
    priority: 100,
    faults: ['script chk'],
  },
  { why: '[TF] value 5 x weight 2', base: 100, inputs: { files: [file(5, 2)] }, priority: 110, faults: [] },
  { why: '[TF] value -5 x weight 2', base: 100, inputs: { files: [file(-5, 2)] }, priority: 90, faults: [] },
  {
    why: '[TF] reverse negates',
    base: 100,
    inputs: { files: [file(5, 2, true)] },
    priority: 90,
    faults: [],
  },
  {
    why: '[TF] weight 0, non-zero: FAULT',
    base: 100,
    inputs: { files: [file(3, 0)] },
    priority: 100,
    faults: ['file f1'],
  },
  { why: '[TF] weight 0, zero', base: 100, inputs: { files: [file(0, 0)] }, priority: 100, faults: [] },
  {
    why: '[TF] weight 0 reverse, zero: FAULT',
    base: 100,
    inputs: { files: [file(0, 0, true)] },
    priority: 100,
    faults: ['file f1'],
  },
  {
    why: '[TF] result -254: FAULT',
    base: 100,
    inputs: { files: [file(-254, 1)] },
    priority: 100,
    faults: ['file f1'],
  },
  {
    why: '[TF] result -253: no FAULT',
    base: 254,
    inputs: { files: [file(-253, 1)] },
    priority: 1,
    faults: [],
  },
  {
    why: '[TF] result above 253 counts as 253',
    base: 1,
    inputs: { files: [file(254, 254), file(-1, 253)].map((f, i) => ({ ...f, name: `f${i}` })) },
    priority: 1,
    faults: [],
  },
  { why: '[TP] +5, running', base: 100, inputs: { processes: [proc(true, 5)] }, priority: 105, faults: [] },
  {
    why: '[TP] +5, not running',
    base: 100,
    inputs: { processes: [proc(false, 5)] },
    priority: 100,
    faults: [],
  },
  {
    why: '[TP] -5, not running',
    base: 100,
    inputs: { processes: [proc(false, -5)] },
    priority: 95,
    faults: [],
  },
  {
    why: '[TP] -5 reverse, not running',
    base: 100,
    inputs: { processes: [proc(false, -5, true)] },
    priority: 105,
    faults: [],
  },
  {
    why: '[TP] weight 0, not running: FAULT',
    base: 100,
    inputs: { processes: [proc(false, 0)] },
    priority: 100,
    faults: ['process haproxy'],
  },
  {
    why: '[TP] weight 0 reverse, running: FAULT',
    base: 100,
    inputs: { processes: [proc(true, 0, true)] },
    priority: 100,
    faults: ['process haproxy'],
  },
  {
    why: '[PR] clamped to 254',
    base: 250,
    inputs: { scripts: [script('ok', 50)] },
    priority: 254,
    faults: [],
  },
  {
    why: '[PR] clamped to 1',
    base: 10,
    inputs: { scripts: [script('fail', -50)] },
    priority: 1,
    faults: [],
  },
  {
    why: '[PR] owner stays 255 when weights subtract',
    base: 255,
    inputs: { scripts: [script('fail', -50)] },
    priority: 255,
    faults: [],
  },
  {
    why: '[PR] owner still faults on an unweighted failure',
    base: 255,
    inputs: { interfaces: [iface(false)] },
    priority: 255,
    faults: ['link eth1'],
  },
  {
    why: 'weights add up across kinds',
    base: 100,
    inputs: {
      interfaces: [iface(false, -10)],
      scripts: [script('ok', 20)],
      files: [file(3, 1)],
      processes: [proc(false, -5)],
    },
    priority: 108,
    faults: [],
  },
];

for (const row of cases) {
  test(`tracking: ${row.why}`, () => {
    const outcome = trackingOutcome(row.base, inputsOf({ ...none, ...row.inputs }));
    assert.equal(outcome.effectivePriority, row.priority);
    assert.deepEqual(outcome.faults, row.faults);
  });
}

test('tracking: unknown scripts are listed as pending', () => {
  const outcome = trackingOutcome(
    100,
    inputsOf({ ...none, scripts: [script('unknown', 5), { ...script('ok'), name: 'b' }] }),
  );
  assert.deepEqual(outcome.pending, ['chk']);
});

/** A hand-driven TrackerSource: set a value, then fire the listeners of that object. */
class FakeSource implements TrackerSource {
  links = new Map<string, boolean>();
  scripts = new Map<string, CheckState>();
  files = new Map<string, number>();
  processes = new Map<string, boolean>();
  listeners = new Map<string, Set<() => void>>();
  private on(key: string, listener: () => void) {
    const set = this.listeners.get(key) ?? new Set();
    this.listeners.set(key, set);
    set.add(listener);
    return () => set.delete(listener);
  }
  fire(key: string) {
    for (const listener of this.listeners.get(key) ?? []) listener();
  }
  linkUp = (name: string) => this.links.get(name) ?? false;
  onLink = (name: string, listener: () => void) => this.on(`link ${name}`, listener);
  /** A tracker of any kind whose state is read from the maps above; fired by its fault cause. */
  tracker = (kind: AnyTrackerKind, name: string): Tracker => {
    const { scripts, files, processes } = this;
    return {
      get state() {
        return scripts.get(name) ?? 'unknown';
      },
      get value() {
        return files.get(name) ?? 0;
      },
      get running() {
        return processes.get(name) ?? false;
      },
      start: () => undefined,
      stop: () => undefined,
      onChange: (listener: () => void) => this.on(kind.faultCause(name), listener),
    } as Tracker;
  };
}

function recorder() {
  const events: string[] = [];
  return {
    events,
    listener: {
      onPriority: (p: number) => events.push(`priority ${p}`),
      onFault: (cause: string) => events.push(`fault ${cause}`),
      onFaultCleared: (cause: string) => events.push(`clear ${cause}`),
    },
  };
}

const instance = {
  priority: 100,
  interface: 'eth0',
  dontTrackPrimary: false,
  trackInterfaces: [{ name: 'eth1', weight: -20, reverse: false }],
  trackScripts: [{ name: 'chk', weight: 0, reverse: false }],
  trackFiles: [{ name: 'f1', weight: 3, reverse: false }],
  trackProcesses: [],
};

test('InstanceTracking reports the initial outcome and then only changes', async () => {
  const source = new FakeSource();
  source.links.set('eth0', true).set('eth1', true);
  const { events, listener } = recorder();
  const tracking = new InstanceTracking(instance, source, listener);
  const initial = tracking.start();
  assert.deepEqual(
    initial.faults,
    ['script chk'],
    'the unweighted script holds the instance until it reports',
  );
  assert.deepEqual(events, ['fault script chk']);
  let settled = false;
  void tracking.settled().then(() => (settled = true));

  source.scripts.set('chk', 'ok');
  source.fire('script chk');
  await Promise.resolve();
  assert.ok(settled, 'settled once the script reported');
  source.fire('script chk'); // no change: nothing reported
  source.links.set('eth1', false);
  source.fire('link eth1');
  source.files.set('f1', 2);
  source.fire('file f1');
  source.links.set('eth0', false);
  source.fire('link eth0');
  source.links.set('eth0', true);
  source.fire('link eth0');
  assert.deepEqual(events, [
    'fault script chk',
    'clear script chk',
    'priority 80',
    'priority 86',
    'fault link eth0',
    'clear link eth0',
  ]);

  tracking.stop();
  source.links.set('eth0', false);
  source.fire('link eth0');
  assert.equal(events.length, 6, 'nothing after stop');
});

test('InstanceTracking: dont_track_primary ignores the own interface; a sync group adds its tracks', () => {
  const source = new FakeSource();
  source.scripts.set('chk', 'ok');
  source.links.set('eth1', true);
  source.processes.set('grp', false);
  const { events, listener } = recorder();
  const tracking = new InstanceTracking({ ...instance, dontTrackPrimary: true }, source, listener, {
    group: {
      trackInterfaces: [],
      trackScripts: [],
      trackFiles: [],
      trackProcesses: [{ name: 'grp', weight: 0, reverse: false }],
    },
  });
  tracking.start();
  assert.deepEqual(events, ['fault process grp'], 'eth0 is down but not tracked; the group process is');
});

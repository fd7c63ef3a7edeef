/**
 * The driver's side of the tandem extensions (docs/operations.md "Planned maintenance"): a planned stop waits
 * for the new master (make-before-break) within its bound, a split brain is counted and logged once, and the
 * control inputs (switchover, maintenance) reach the state machine. The rules themselves are the conformance
 * cases (test/conformance/cases/handover-*, switchover*, maintenance*, split-brain-*).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type InstanceActions, VrrpInstance } from '../../src/vrrp/instance.js';
import { type InstanceParameters, RELEASE_GRACE_MICROSECONDS, handoverBound } from '../../src/vrrp/fsm.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { DEFAULT_PARAMETERS, decodedAdvert } from '../helpers/parameters.js';

const PARAMS: InstanceParameters = {
  ...DEFAULT_PARAMETERS,
  vrid: 9,
  priority: 200,
  handover: 'make-before-break',
};

function recorder() {
  const calls: string[] = [];
  const actions: InstanceActions = {
    sendAdvert: async (priority) => void calls.push(`advert ${priority}`),
    claimVips: async () => void calls.push('claim'),
    releaseVips: async () => void calls.push('release'),
    announce: async () => void calls.push('garp'),
    notify: (event) => void calls.push(`notify ${event.state} ${event.reason}`),
  };
  return { calls, actions };
}

function logSink() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void =>
      void lines.push({ level, fields, message });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error') } };
}

const advert = (priority: number) => decodedAdvert(9, priority);

async function settle(clock: ManualClock, instance: VrrpInstance, microseconds = 0): Promise<void> {
  clock.advance(microseconds);
  clock.runDeferred();
  await instance.idle();
}

async function master(params: InstanceParameters = PARAMS) {
  const clock = new ManualClock();
  const { calls, actions } = recorder();
  const { lines, log } = logSink();
  const instance = new VrrpInstance('VI_1', params, clock, actions, log);
  instance.start();
  await settle(clock, instance);
  await settle(clock, instance, 4_000_000);
  assert.equal(instance.state, 'MASTER');
  calls.length = 0;
  return { clock, calls, lines, instance };
}

test('a planned stop keeps the VIPs until the new master is heard, then releases and runs STOP after', async () => {
  const { clock, calls, instance } = await master();
  let stopped = false;
  const stopping = instance.stop({ planned: true }).then(() => (stopped = true));
  await settle(clock, instance);
  assert.equal(stopped, false, 'the stop waits for the new master');
  assert.deepEqual(calls, ['advert 0']);
  assert.equal(instance.snapshot().handover, 'STOPPED');
  await settle(clock, instance, 1_000_000);
  assert.deepEqual(calls, ['advert 0', 'advert 0'], 'priority 0 again while nobody took over');
  instance.receive(advert(100), '192.0.2.3');
  await settle(clock, instance, RELEASE_GRACE_MICROSECONDS - 1);
  assert.ok(!calls.includes('release'), 'the VIPs stay for the release grace, while the new GARP spreads');
  await settle(clock, instance, 1);
  await stopping;
  assert.deepEqual(calls, ['advert 0', 'advert 0', 'release', 'advert 0', 'notify STOPPED shutdown']);
  assert.equal(instance.state, 'STOPPED');
});

test('a planned stop with nobody taking over ends at the bound, not later', async () => {
  const { clock, calls, instance } = await master();
  let stopped = false;
  const stopping = instance.stop({ planned: true }).then(() => (stopped = true));
  const bound = handoverBound({ params: PARAMS });
  await settle(clock, instance);
  await settle(clock, instance, bound - 1);
  assert.equal(stopped, false);
  assert.ok(!calls.includes('release'), 'the VIPs stay before the bound');
  await settle(clock, instance, 1);
  await stopping;
  assert.equal(calls.filter((call) => call === 'release').length, 1);
  assert.equal(calls.at(-1), 'notify STOPPED shutdown');
});

test('break-before-make (tandem_handover) releases at once, as keepalived', async () => {
  const { calls, instance } = await master({ ...PARAMS, handover: 'break-before-make' });
  await instance.stop({ planned: true });
  assert.deepEqual(calls, ['advert 0', 'release', 'notify STOPPED shutdown']);
});

test('switchover: priority 0, release on the new master, BACKUP that follows it until resumed', async () => {
  const { clock, calls, instance } = await master();
  instance.switchover();
  await settle(clock, instance);
  instance.receive(advert(100), '192.0.2.3');
  await settle(clock, instance);
  await settle(clock, instance, RELEASE_GRACE_MICROSECONDS);
  assert.equal(instance.state, 'BACKUP');
  assert.equal(instance.snapshot().yielded, true);
  assert.deepEqual(calls, ['advert 0', 'release', 'advert 0', 'notify BACKUP switchover']);
  // The lower-priority master keeps advertising: followed, so no preemption back.
  for (let round = 0; round < 5; round++) {
    await settle(clock, instance, 1_000_000);
    instance.receive(advert(100), '192.0.2.3');
  }
  await settle(clock, instance);
  assert.equal(instance.state, 'BACKUP');
  instance.resume();
  instance.receive(advert(100), '192.0.2.3');
  await settle(clock, instance, 4_000_000);
  assert.equal(instance.state, 'MASTER', 'resumed: preempts the lower priority again');
});

test('a split brain is counted and logged once, with both sides, and shows until the rival falls silent', async () => {
  const { clock, lines, instance } = await master();
  instance.receive(advert(100), '192.0.2.3');
  await settle(clock, instance);
  instance.receive(advert(100), '192.0.2.3');
  await settle(clock, instance);
  const events = lines.filter((line) => line.fields['event'] === 'split-brain');
  assert.equal(events.length, 1);
  assert.deepEqual(events[0]?.fields['remote'], { address: '192.0.2.3', priority: 100 });
  assert.deepEqual(events[0]?.fields['local'], { address: PARAMS.primaryAddress, priority: 200 });
  assert.equal(instance.snapshot().counters.splitBrains, 1);
  assert.equal(instance.snapshot().splitBrain?.address, '192.0.2.3');
  await settle(clock, instance, 2_000_000);
  assert.equal(instance.snapshot().splitBrain, undefined, 'resolved once the rival is silent');
  assert.ok(lines.some((line) => line.fields['event'] === 'split-brain-resolved'));
});

test('maintenance as MASTER hands over, then holds FAULT; off leaves it', async () => {
  const { clock, calls, instance } = await master();
  instance.maintenance(true);
  await settle(clock, instance);
  assert.equal(instance.state, 'MASTER', 'the VIPs stay until the new master is heard');
  instance.receive(advert(100), '192.0.2.3');
  await settle(clock, instance);
  await settle(clock, instance, RELEASE_GRACE_MICROSECONDS);
  assert.equal(instance.state, 'FAULT');
  assert.deepEqual(instance.faults, ['maintenance']);
  assert.deepEqual(calls, ['advert 0', 'release', 'advert 0', 'notify FAULT maintenance']);
  instance.maintenance(false);
  await settle(clock, instance);
  assert.equal(instance.state, 'BACKUP');
  assert.equal(instance.peer?.address, '192.0.2.3');
});

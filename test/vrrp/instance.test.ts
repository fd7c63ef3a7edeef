import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type InstanceActions, VrrpInstance } from '../../src/vrrp/instance.js';
import { ManualClock } from '../helpers/manual-clock.js';
import type { InstanceParameters } from '../../src/vrrp/fsm.js';
import { DEFAULT_PARAMETERS, decodedAdvert } from '../helpers/parameters.js';

const PARAMS: InstanceParameters = { ...DEFAULT_PARAMETERS, vrid: 9 };

function recorder(overrides: Partial<InstanceActions> = {}) {
  const calls: string[] = [];
  const actions: InstanceActions = {
    sendAdvert: async (priority) => void calls.push(`advert ${priority}`),
    claimVips: async (acceptMode) => void calls.push(`claim ${acceptMode}`),
    releaseVips: async () => void calls.push('release'),
    announce: async () => void calls.push('garp'),
    notify: (event) => void calls.push(`notify ${event.state} ${event.reason}`),
    ...overrides,
  };
  return { calls, actions };
}

const silent = { info() {}, warn() {}, error() {} };

const masterAdvert = (priority = 200) => decodedAdvert(9, priority);

test('a backup with no master takes over after Master_Down_Interval and runs the effects in order', async () => {
  const clock = new ManualClock();
  const { calls, actions } = recorder();
  const instance = new VrrpInstance('VI_1', PARAMS, clock, actions, silent);
  instance.start();
  await instance.idle();
  assert.equal(instance.state, 'BACKUP');
  clock.advance(3_609_374);
  clock.runDeferred();
  await instance.idle();
  assert.equal(instance.state, 'BACKUP', 'one microsecond early');
  clock.advance(1);
  clock.runDeferred();
  await instance.idle();
  assert.equal(instance.state, 'MASTER');
  assert.deepEqual(calls, [
    'notify BACKUP startup',
    'claim false',
    'advert 100',
    'garp',
    'notify MASTER master-down-expired',
  ]);
  assert.equal(instance.snapshot().counters.advertsSent, 1);
  clock.advance(1_000_000);
  clock.runDeferred();
  await instance.idle();
  assert.equal(instance.snapshot().counters.advertsSent, 2, 'Adver_Timer re-armed');
});

/**
 * A started backup whose process was stopped for far longer than Master_Down_Interval: the Master_Down_Timer
 * has fired but its expiry waits as a deferral (runDeferred), and nothing the master sent meanwhile is read yet.
 */
async function stalledBackup(): Promise<{ clock: ManualClock; instance: VrrpInstance }> {
  const clock = new ManualClock();
  const { actions } = recorder();
  const instance = new VrrpInstance('VI_1', PARAMS, clock, actions, silent);
  instance.start();
  await instance.idle();
  clock.advance(10_000_000);
  return { clock, instance };
}

test('stall safety: an advert read before the deferred expiry keeps the backup a backup', async () => {
  const { clock, instance } = await stalledBackup();
  // The master kept advertising while the process was stopped; the adverts wait in the socket. On resume the
  // timer fires first, then the poll phase reads an advert.
  instance.receive(masterAdvert(), '192.0.2.3');
  clock.runDeferred();
  await instance.idle();
  assert.equal(instance.state, 'BACKUP');
  assert.equal(instance.snapshot().counters.staleTimerExpiries, 1);
  assert.equal(instance.snapshot().masterAddress, '192.0.2.3');
  // Without further adverts the re-armed timer still expires normally.
  clock.advance(3_609_375);
  clock.runDeferred();
  await instance.idle();
  assert.equal(instance.state, 'MASTER');
});

test('without the stall rule the same sequence would have taken over: the expiry alone promotes', async () => {
  const { clock, instance } = await stalledBackup();
  clock.runDeferred();
  instance.receive(masterAdvert(), '192.0.2.3');
  await instance.idle();
  assert.equal(instance.state, 'BACKUP', 'it yielded again to the higher priority');
  assert.equal(instance.snapshot().counters.transitions, 3, 'but it went through MASTER first');
});

test('a hook never delays the critical path, and a failed critical action is counted, not thrown', async () => {
  const clock = new ManualClock();
  const { calls, actions } = recorder({
    notify: (event) => {
      calls.push(`notify ${event.state}`);
      // A hook that would never finish: the instance must not wait for it.
      void new Promise(() => {});
    },
    claimVips: async () => {
      throw new Error('netlink said no');
    },
  });
  const errors: object[] = [];
  const instance = new VrrpInstance('VI_1', { ...PARAMS, priority: 255 }, clock, actions, {
    ...silent,
    error: (object) => void errors.push(object),
  });
  instance.start();
  await instance.idle();
  assert.equal(instance.state, 'MASTER');
  assert.deepEqual(calls, ['advert 255', 'garp', 'notify MASTER']);
  assert.equal(instance.snapshot().counters.actionErrors, 1);
  assert.equal(errors.length, 1);
});

test('stop as MASTER sends priority 0, releases the VIPs and leaves no timer behind', async () => {
  const clock = new ManualClock();
  const { calls, actions } = recorder();
  const instance = new VrrpInstance('VI_1', { ...PARAMS, priority: 255 }, clock, actions, silent);
  instance.start();
  await instance.idle();
  calls.length = 0;
  await instance.stop();
  assert.equal(instance.state, 'STOPPED');
  assert.deepEqual(calls, ['advert 0', 'release', 'notify STOPPED shutdown']);
  assert.equal(clock.pendingTimers(), 0);
  assert.equal(instance.snapshot().counters.priorityZeroSent, 1);
});

test('inputs are processed one at a time in arrival order even while an action is pending', async () => {
  const clock = new ManualClock();
  let release: () => void = () => {};
  const order: string[] = [];
  const { actions } = recorder({
    claimVips: () =>
      new Promise<void>((resolve) => {
        order.push('claim started');
        release = () => {
          order.push('claim done');
          resolve();
        };
      }),
    sendAdvert: async (priority) => void order.push(`advert ${priority}`),
  });
  const instance = new VrrpInstance('VI_1', { ...PARAMS, priority: 255 }, clock, actions, silent);
  instance.start();
  instance.setEffectivePriority(200); // owner: ignored, but must wait its turn
  instance.raiseFault('link eth0');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['claim started']);
  release();
  await instance.idle();
  assert.deepEqual(order, ['claim started', 'claim done', 'advert 255', 'advert 0']);
  assert.equal(instance.state, 'FAULT');
});

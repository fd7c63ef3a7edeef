import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type InstanceActions, VrrpInstance } from '../../src/vrrp/instance.js';
import { type GroupState, SyncGroup, groupFaultCause } from '../../src/vrrp/sync-group.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { DEFAULT_PARAMETERS, decodedAdvert } from '../helpers/parameters.js';

const silent = { info() {}, warn() {}, error() {} };
const actions: InstanceActions = {
  sendAdvert: async () => {},
  claimVips: async () => {},
  releaseVips: async () => {},
  announce: async () => {},
  notify: () => {},
};

const advert = decodedAdvert;

async function settle(clock: ManualClock, members: VrrpInstance[]) {
  for (let round = 0; round < 5; round++) {
    clock.runDeferred();
    await Promise.all(members.map((member) => member.idle()));
  }
}

function group() {
  const clock = new ManualClock();
  const outside = new VrrpInstance('outside', { ...DEFAULT_PARAMETERS, vrid: 1 }, clock, actions, silent);
  const inside = new VrrpInstance('inside', { ...DEFAULT_PARAMETERS, vrid: 2 }, clock, actions, silent);
  const states: GroupState[] = [];
  const sync = new SyncGroup('G1', [outside, inside], (state) => states.push(state));
  return { clock, outside, inside, members: [outside, inside], states, sync };
}

test('a member waits while a group-mate hears a master, then the group goes MASTER together', async () => {
  const { clock, outside, inside, members, states } = group();
  for (const member of members) member.start();
  await settle(clock, members);
  assert.deepEqual(states, ['BACKUP']);
  // inside hears a master every second; outside hears nobody, and its expiry at 3.6 s is held.
  for (let second = 1; second <= 4; second++) {
    clock.advance(1_000_000);
    inside.receive(advert(2, 200), '192.0.2.9');
    await settle(clock, members);
  }
  assert.equal(outside.state, 'BACKUP', 'held: inside still hears a live master');
  assert.equal(inside.state, 'BACKUP');
  assert.ok(outside.snapshot().counters.transitions === 1, 'outside never left BACKUP');
  // The master of inside goes silent: inside takes over, and outside follows at once.
  clock.advance(3_609_375);
  await settle(clock, members);
  assert.equal(inside.state, 'MASTER');
  assert.equal(outside.state, 'MASTER');
  assert.deepEqual(states, ['BACKUP', 'MASTER']);
});

test('a member yielding to a higher priority takes the group to BACKUP', async () => {
  const { clock, outside, inside, members, states } = group();
  for (const member of members) member.start();
  clock.advance(3_609_375);
  await settle(clock, members);
  assert.deepEqual([outside.state, inside.state], ['MASTER', 'MASTER']);
  outside.receive(advert(1, 250), '192.0.2.9');
  await settle(clock, members);
  assert.deepEqual([outside.state, inside.state], ['BACKUP', 'BACKUP']);
  assert.equal(inside.snapshot().lastTransition?.reason, 'sync-group');
  assert.deepEqual(states, ['BACKUP', 'MASTER', 'BACKUP']);
});

test('a fault of one member puts the group in FAULT; it leaves FAULT when no member has a fault of its own', async () => {
  const { clock, outside, inside, members, states } = group();
  for (const member of members) member.start();
  clock.advance(3_609_375);
  await settle(clock, members);
  outside.raiseFault('link eth0');
  await settle(clock, members);
  assert.deepEqual([outside.state, inside.state], ['FAULT', 'FAULT']);
  assert.deepEqual(inside.faults, [groupFaultCause('G1', 'outside')]);
  // Both get faults of their own; clearing one is not enough.
  inside.raiseFault('link eth1');
  await settle(clock, members);
  outside.clearFault('link eth0');
  await settle(clock, members);
  assert.deepEqual([outside.state, inside.state], ['FAULT', 'FAULT']);
  assert.deepEqual(outside.faults, [groupFaultCause('G1', 'inside')]);
  inside.clearFault('link eth1');
  await settle(clock, members);
  assert.deepEqual([outside.state, inside.state], ['BACKUP', 'BACKUP']);
  assert.deepEqual([outside.faults, inside.faults], [[], []]);
  assert.deepEqual(states, ['BACKUP', 'MASTER', 'FAULT', 'BACKUP']);
});

test('a member that is the address owner takes the group to MASTER at startup', async () => {
  const clock = new ManualClock();
  const owner = new VrrpInstance(
    'owner',
    { ...DEFAULT_PARAMETERS, vrid: 1, priority: 255 },
    clock,
    actions,
    silent,
  );
  const mate = new VrrpInstance('mate', { ...DEFAULT_PARAMETERS, vrid: 2 }, clock, actions, silent);
  const states: GroupState[] = [];
  new SyncGroup('G2', [owner, mate], (state) => states.push(state));
  mate.start();
  owner.start();
  await settle(clock, [owner, mate]);
  assert.deepEqual([owner.state, mate.state], ['MASTER', 'MASTER']);
  assert.equal(mate.snapshot().lastTransition?.reason, 'sync-group');
  assert.deepEqual(states, ['MASTER']);
});

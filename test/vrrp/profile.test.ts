/**
 * Protocol profiles (src/vrrp/profile.ts). The VRRP profile must decide exactly what fsm.ts decides today: its
 * timers are compared with fsm.ts's exported skewTime / masterDownInterval, and its elections with what `step`
 * does (fsm.ts keeps senderWins private) over a sweep of priorities, addresses, versions and flags. The CARP
 * profile is checked rule by rule against ip_carp.c and ucarp's carp.c (docs/carp.md quotes them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  type Effect,
  type FsmState,
  type InstanceParameters,
  initialState,
  masterDownInterval,
  skewTime,
  step,
} from '../../src/vrrp/fsm.js';
import {
  type CarpElectionView,
  carpInterval,
  carpProfile,
  ucarpAddressOrder,
  vrrpProfile,
  vrrpSkewTime,
} from '../../src/vrrp/profile.js';
import { DEFAULT_PARAMETERS } from '../helpers/parameters.js';

// VRRP: the profile against fsm.ts.

const PRIORITIES = [1, 2, 50, 99, 100, 101, 200, 253, 254];
const INTERVALS: Record<2 | 3, number[]> = { 2: [100, 200, 1000, 25500], 3: [1, 10, 50, 100, 255, 4095] };

function parameters(change: Partial<InstanceParameters>): InstanceParameters {
  return { ...DEFAULT_PARAMETERS, ...change };
}

/** A router that started and became MASTER or stayed BACKUP through `step` itself. */
function started(params: InstanceParameters, state: 'BACKUP' | 'MASTER'): FsmState {
  let current = step(initialState(params), { type: 'startup' }).state;
  if (state === 'MASTER' && current.state === 'BACKUP')
    current = step(current, { type: 'master-down-expired' }).state;
  assert.equal(current.state, state);
  return current;
}

test('VRRP timers: Skew_Time and Master_Down_Interval equal fsm.ts over versions, priorities, intervals', () => {
  let compared = 0;
  for (const version of [2, 3] as const) {
    for (const advertIntervalCentiseconds of INTERVALS[version]) {
      for (const masterAdverIntervalCentiseconds of INTERVALS[version]) {
        for (let effectivePriority = 1; effectivePriority <= 255; effectivePriority++) {
          const state: FsmState = {
            ...initialState(parameters({ version, advertIntervalCentiseconds })),
            effectivePriority,
            masterAdverIntervalCentiseconds,
          };
          assert.equal(vrrpSkewTime(state), skewTime(state));
          assert.equal(vrrpProfile.masterDownInterval(state), masterDownInterval(state));
          compared++;
        }
      }
    }
  }
  assert.equal(compared, 255 * (4 * 4 + 6 * 6));
});

test('VRRP advert interval and address owner start are what step does', () => {
  for (const version of [2, 3] as const) {
    for (const advertIntervalCentiseconds of INTERVALS[version]) {
      const master = started(parameters({ version, advertIntervalCentiseconds }), 'MASTER');
      const { effects } = step(master, { type: 'advert-due' });
      const armed = effects.find((effect) => effect.type === 'arm-timer' && effect.timer === 'advert');
      assert.deepEqual(armed, {
        type: 'arm-timer',
        timer: 'advert',
        microseconds: vrrpProfile.advertInterval(master),
      });
    }
  }
  for (const priority of [1, 100, 254, 255]) {
    const params = parameters({ priority });
    const after = step(initialState(params), { type: 'startup' }).state;
    assert.equal(
      vrrpProfile.startsAsMaster(initialState(params)),
      after.state === 'MASTER',
      String(priority),
    );
  }
});

const LOWER = '192.0.2.1';
const HIGHER = '192.0.2.3';

function advertFrom(params: InstanceParameters, priority: number) {
  return {
    version: params.version,
    family: params.family,
    vrid: params.vrid,
    priority,
    advertIntervalCentiseconds: params.advertIntervalCentiseconds,
    addresses: ['192.0.2.100'],
    auth: { type: 'none' as const },
  };
}

const hasEffect = (effects: Effect[], type: Effect['type']) => effects.some((effect) => effect.type === type);

test('VRRP as MASTER: the profile yields, holds, reasserts and answers exactly where step does', () => {
  let compared = 0;
  for (const version of [2, 3] as const) {
    for (const lowerPriorityNoAdvert of [false, true]) {
      for (const higherPrioritySendAdvert of [false, true]) {
        for (const priority of PRIORITIES) {
          const params = parameters({ version, priority, lowerPriorityNoAdvert, higherPrioritySendAdvert });
          const master = started(params, 'MASTER');
          for (let remote = 0; remote <= 255; remote++) {
            for (const source of [LOWER, HIGHER]) {
              const advert = advertFrom(params, remote);
              const result = step(master, { type: 'advert-received', advert, source });
              const response = vrrpProfile.asMaster(master, advert, source);
              const label = JSON.stringify({ version, priority, remote, source, response });
              if (response.action === 'yield') {
                assert.equal(result.transition?.to, 'BACKUP', label);
                assert.equal(result.effects[0]?.type === 'send-advert', response.announceFirst, label);
              } else if (response.action === 'hold') {
                assert.equal(result.transition, undefined, label);
                assert.equal(hasEffect(result.effects, 'send-advert'), response.reassert, label);
                // keepalived re-announces and notifies on every lower-priority advert, answered or not.
                assert.ok(hasEffect(result.effects, 'master-rx-lower-priority'), label);
              } else {
                assert.equal(result.transition, undefined, label);
                // tandem extension: the VIPs are announced again after the RFC's answer (fsm.ts receiveAsMaster).
                assert.deepEqual(result.effects.slice(0, 2), [
                  { type: 'send-advert', priority: master.effectivePriority },
                  { type: 'arm-timer', timer: 'advert', microseconds: vrrpProfile.advertInterval(master) },
                ]);
              }
              compared++;
            }
          }
        }
      }
    }
  }
  assert.equal(compared, 2 * 2 * 2 * PRIORITIES.length * 256 * 2);
});

test('VRRP as BACKUP: the profile follows, ignores and takes over exactly where step does', () => {
  let compared = 0;
  for (const version of [2, 3] as const) {
    for (const preempt of [true, false]) {
      for (const priority of PRIORITIES) {
        const params = parameters({ version, priority, preempt });
        const backup = started(params, 'BACKUP');
        for (let remote = 0; remote <= 255; remote++) {
          const advert = advertFrom(params, remote);
          const result = step(backup, { type: 'advert-received', advert, source: HIGHER });
          const response = vrrpProfile.asBackup(backup, advert, HIGHER);
          const label = JSON.stringify({ version, preempt, priority, remote, response });
          const armed = result.effects.find((effect) => effect.type === 'arm-timer');
          if (response.action === 'take-over') {
            assert.deepEqual(armed, {
              type: 'arm-timer',
              timer: 'master-down',
              microseconds: response.afterMicroseconds,
            });
            assert.equal(response.afterMicroseconds, skewTime(backup), label);
          } else if (response.action === 'follow') {
            assert.deepEqual(
              armed,
              {
                type: 'arm-timer',
                timer: 'master-down',
                microseconds: vrrpProfile.masterDownInterval(result.state),
              },
              label,
            );
          } else {
            assert.deepEqual(result.effects, [{ type: 'discard', reason: 'lower-priority' }], label);
          }
          assert.equal(vrrpProfile.isStopNotice(advert), remote === 0);
          compared++;
        }
      }
    }
  }
  assert.equal(compared, 2 * 2 * PRIORITIES.length * 256);
});

// CARP.

const UCARP: CarpElectionView = {
  flavour: 'ucarp',
  advbase: 1,
  advskew: 0,
  demote: 0,
  preempt: false,
  deadRatio: 3,
  primaryAddress: '192.0.2.1',
};
const OPENBSD: CarpElectionView = { ...UCARP, flavour: 'openbsd' };

test('CARP interval: advbase seconds plus advskew * 1000000 / 256 microseconds, in integers', () => {
  assert.equal(carpInterval({ advbase: 1, advskew: 0 }), 1_000_000);
  assert.equal(carpInterval({ advbase: 2, advskew: 100 }), 2_390_625);
  assert.equal(carpInterval({ advbase: 1, advskew: 255 }), 1_996_093, '255e6 / 256 = 996093.75, truncated');
  assert.equal(carpInterval({ advbase: 0, advskew: 1 }), 3_906);
});

test('CARP timers: adverts every interval; master down per flavour (ucarp: advbase x deadratio + skew)', () => {
  // carp.c carp_setrun / carp_send_ad.
  assert.equal(carpProfile.advertInterval(UCARP), 1_000_000);
  assert.equal(carpProfile.masterDownInterval(UCARP), 3_000_000);
  assert.equal(carpProfile.masterDownInterval({ ...UCARP, advbase: 2, advskew: 100 }), 6_390_625);
  assert.equal(
    carpProfile.masterDownInterval({ ...UCARP, advbase: 2, advskew: 100, deadRatio: 1 }),
    2_390_625,
  );
  assert.equal(carpProfile.advertInterval({ ...UCARP, advbase: 2, advskew: 100 }), 2_390_625);
  // ip_carp.c 1.370 carp_setrun: 3 x (advbase + advskew/256), 1/256 s when both are 0.
  assert.equal(carpProfile.masterDownInterval({ ...OPENBSD, advbase: 2, advskew: 100 }), 7_171_875);
  assert.equal(carpProfile.advertInterval({ ...OPENBSD, advbase: 0, advskew: 0 }), 3_906);
  assert.equal(carpProfile.masterDownInterval({ ...OPENBSD, advbase: 0, advskew: 0 }), 11_718);
  assert.equal(carpProfile.startsAsMaster(UCARP), false, 'carp_setrun: INIT always goes to BACKUP');
});

const advert = (advbase: number, advskew: number, demote = 0) => ({ advbase, advskew, demote });

test('CARP as MASTER: lower demotion first, then the more frequent master wins', () => {
  for (const local of [UCARP, OPENBSD]) {
    const ucarp = local.flavour === 'ucarp';
    const yields = (response: ReturnType<typeof carpProfile.asMaster>) => response.action === 'yield';
    assert.equal(yields(carpProfile.asMaster(local, advert(1, 0, 0), '192.0.2.2')), ucarp ? false : true);
    assert.deepEqual(carpProfile.asMaster({ ...local, advskew: 10 }, advert(1, 0), '192.0.2.2'), {
      action: 'yield',
      announceFirst: ucarp,
      reason: 'more-frequent-master',
    });
    assert.deepEqual(carpProfile.asMaster(local, advert(1, 10), '192.0.2.2'), {
      action: 'hold',
      reassert: ucarp,
      reason: 'less-frequent-master',
    });
    // ip_carp.c: a lower demote count wins whatever the interval; a higher one loses.
    assert.equal(
      carpProfile.asMaster({ ...local, demote: 1 }, advert(200, 0, 0), '192.0.2.2').reason,
      'lower-demotion',
    );
    assert.equal(carpProfile.asMaster(local, advert(0, 1, 1), '192.0.2.2').reason, 'higher-demotion');
    assert.equal(
      carpProfile.asMaster(local, advert(255, 255), '192.0.2.2').action,
      'hold',
      'a bow-out never wins',
    );
  }
});

test('CARP equal intervals: OpenBSD yields; ucarp keeps the lower in_addr_t as a little-endian host reads it', () => {
  assert.equal(carpProfile.asMaster(OPENBSD, advert(1, 0), '192.0.2.200').reason, 'equal-interval');
  assert.equal(
    carpProfile.asMaster(UCARP, advert(1, 0), '192.0.2.2').reason,
    'equal-interval-higher-address',
  );
  assert.equal(
    carpProfile.asMaster({ ...UCARP, primaryAddress: '192.0.2.2' }, advert(1, 0), '192.0.2.1').reason,
    'equal-interval-lower-address',
  );
  // The last octet weighs most: 11.0.0.1 is "lower" than 10.0.0.2 to ucarp.
  assert.ok(ucarpAddressOrder('11.0.0.1')! < ucarpAddressOrder('10.0.0.2')!);
  assert.equal(
    carpProfile.asMaster({ ...UCARP, primaryAddress: '10.0.0.2' }, advert(1, 0), '11.0.0.1').action,
    'yield',
  );
});

test('CARP as BACKUP: bow-out, preemption, demotion, a master bound to time out, else follow', () => {
  const take = (local: CarpElectionView, remote: ReturnType<typeof advert>) =>
    carpProfile.asBackup(local, remote, '192.0.2.2');
  assert.deepEqual(take({ ...UCARP, advbase: 200 }, advert(255, 255)), {
    action: 'take-over',
    afterMicroseconds: 0,
    reason: 'bow-out',
  });
  assert.equal(carpProfile.isStopNotice(advert(255, 255)), true);
  assert.equal(carpProfile.isStopNotice(advert(255, 254)), false);
  for (const local of [UCARP, OPENBSD]) {
    // Without -P / net.inet.carp.preempt a slower master is followed.
    assert.equal(take(local, advert(1, 100)).reason, 'master-alive');
    assert.equal(take({ ...local, preempt: true }, advert(1, 100)).reason, 'preempt-slower-master');
    assert.equal(
      take({ ...local, preempt: true }, advert(1, 0)).reason,
      'master-alive',
      'equal is not slower',
    );
    assert.equal(
      take({ ...local, preempt: true, demote: 1 }, advert(1, 100)).reason,
      'master-alive',
      'a demoted backup does not preempt a healthier master',
    );
    assert.equal(take(local, advert(1, 0, 1)).reason, 'demoted-master');
    // 3 x advbase + own skew < the master's interval: it will time out anyway.
    assert.equal(take(local, advert(4, 0)).reason, 'master-will-time-out');
    assert.equal(take(local, advert(3, 0)).reason, 'master-alive');
    assert.equal(take({ ...local, advskew: 1 }, advert(3, 1)).reason, 'master-alive');
  }
  assert.equal(take({ ...UCARP, deadRatio: 1 }, advert(1, 1)).reason, 'master-will-time-out', 'ucarp -r 1');
  assert.equal(
    take({ ...OPENBSD, advbase: 0, advskew: 10 }, advert(5, 0)).reason,
    'master-alive',
    'advbase 0',
  );
  assert.equal(take({ ...UCARP, advbase: 0, advskew: 10 }, advert(5, 0)).reason, 'master-will-time-out');
});

const carpRouter = fc.record({
  advbase: fc.integer({ min: 1, max: 254 }),
  advskew: fc.integer({ min: 0, max: 254 }),
  demote: fc.integer({ min: 0, max: 3 }),
  address: fc.integer({ min: 1, max: 254 }).map((host) => `192.0.2.${host}`),
});

test('CARP: of two ucarp-flavour masters that hear each other exactly one yields; OpenBSD both may on a tie', () => {
  fc.assert(
    fc.property(
      carpRouter,
      carpRouter,
      fc.constantFrom('ucarp' as const, 'openbsd' as const),
      (a, b, flavour) => {
        fc.pre(a.address !== b.address);
        const view = (router: typeof a): CarpElectionView => ({
          ...UCARP,
          flavour,
          advbase: router.advbase,
          advskew: router.advskew,
          demote: router.demote,
          primaryAddress: router.address,
        });
        const aYields = carpProfile.asMaster(view(a), b, b.address).action === 'yield';
        const bYields = carpProfile.asMaster(view(b), a, a.address).action === 'yield';
        const tie = a.demote === b.demote && carpInterval(a) === carpInterval(b);
        if (flavour === 'openbsd' && tie) assert.ok(aYields && bYields, 'ip_carp.c: equal goes to BACKUP');
        else assert.notEqual(aYields, bYields);
      },
    ),
    { numRuns: 3000 },
  );
});

// CARP through `step`: the instance parameters' `carp` makes step ask the CARP profile.

function carpParameters(view: Partial<CarpElectionView>): InstanceParameters {
  return parameters({
    priority: 100,
    preempt: view.preempt ?? false,
    primaryAddress: view.primaryAddress ?? '192.0.2.2',
    carp: {
      flavour: view.flavour ?? 'openbsd',
      advbase: view.advbase ?? 1,
      advskew: view.advskew ?? 0,
      deadRatio: view.deadRatio ?? 3,
    },
  });
}

test('CARP step: timers, elections as MASTER and as BACKUP are exactly the profile’s, over flavours and adverts', () => {
  let compared = 0;
  for (const flavour of ['openbsd', 'ucarp'] as const) {
    for (const preempt of [false, true]) {
      for (const advskew of [0, 100, 254]) {
        for (const demote of [0, 2]) {
          const params = carpParameters({ flavour, preempt, advskew });
          const view: CarpElectionView = {
            flavour,
            preempt,
            advbase: 1,
            advskew,
            demote,
            deadRatio: 3,
            primaryAddress: '192.0.2.2',
          };
          const demoted = (state: FsmState): FsmState =>
            step(state, { type: 'demote-changed', demote }).state;
          const backup = demoted(started(params, 'BACKUP'));
          const master = demoted(started(params, 'MASTER'));
          assert.equal(masterDownInterval(backup), carpProfile.masterDownInterval(view));
          const due = step(master, { type: 'advert-due' }).effects;
          assert.deepEqual(due, [
            { type: 'send-advert', priority: 100, demote },
            { type: 'arm-timer', timer: 'advert', microseconds: carpProfile.advertInterval(view) },
          ]);
          for (const advbase of [1, 2, 4, 255]) {
            for (const theirSkew of [0, 50, 100, 255]) {
              for (const theirDemote of [0, 1, 2, 3]) {
                for (const source of [LOWER, HIGHER, '203.0.113.1']) {
                  const carp = { advbase, advskew: theirSkew, demote: theirDemote };
                  const input = {
                    type: 'advert-received' as const,
                    source,
                    advert: { priority: 1, advertIntervalCentiseconds: 100, carp },
                  };
                  const asMaster = carpProfile.asMaster(view, carp, source);
                  const fromMaster = step(master, input);
                  assert.equal(fromMaster.state.state, asMaster.action === 'yield' ? 'BACKUP' : 'MASTER');
                  if (asMaster.action === 'yield')
                    assert.equal(fromMaster.transition?.reason, asMaster.reason);
                  const asBackup = carpProfile.asBackup(view, carp, source);
                  const fromBackup = step(backup, input);
                  assert.equal(fromBackup.state.state, asBackup.action === 'take-over' ? 'MASTER' : 'BACKUP');
                  compared++;
                }
              }
            }
          }
        }
      }
    }
  }
  assert.equal(compared, 2 * 2 * 3 * 2 * 4 * 4 * 4 * 3);
});

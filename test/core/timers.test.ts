/**
 * The shared timer heap (`src/core/timers.ts`): many timers on one host timer, in deadline order, never before
 * their deadline, cancellation (also of a due timer by another's callback), re-arming, FIFO at equal deadlines,
 * one immediate for all deferred callbacks, and one throwing callback not starving the rest. A manual host plays
 * Node's timers, including one that fires early as libuv's cached loop time allows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type TimerHost, createTimerHeap } from '../../src/core/timers.js';
import { VrrpInstance } from '../../src/vrrp/instance.js';
import type { DecodedAdvertisement } from '../../src/vrrp/packet.js';
import { DEFAULT_PARAMETERS } from '../helpers/parameters.js';

class ManualHost implements TimerHost {
  now = 0;
  timers = new Map<number, { at: number; callback: () => void }>();
  immediates: (() => void)[] = [];
  timersSet = 0;
  private nextId = 0;
  nowMicroseconds() {
    return this.now;
  }
  setTimeout(callback: () => void, milliseconds: number) {
    const id = ++this.nextId;
    this.timersSet++;
    this.timers.set(id, { at: this.now + milliseconds * 1000, callback });
    return id;
  }
  clearTimeout(handle: unknown) {
    this.timers.delete(handle as number);
  }
  setImmediate(callback: () => void) {
    this.immediates.push(callback);
  }
  /** Moves time to `until`, firing host timers as they come due (each at its own time). */
  advanceTo(until: number) {
    for (;;) {
      const next = [...this.timers.entries()].sort((a, b) => a[1].at - b[1].at)[0];
      if (!next || next[1].at > until) break;
      this.timers.delete(next[0]);
      this.now = Math.max(this.now, next[1].at);
      next[1].callback();
    }
    this.now = until;
  }
  /** Fires every host timer now, whatever its time: libuv firing early. */
  fireEarly() {
    const timers = [...this.timers.values()];
    this.timers.clear();
    for (const timer of timers) timer.callback();
  }
  runImmediates() {
    const callbacks = this.immediates;
    this.immediates = [];
    for (const callback of callbacks) callback();
  }
}

function setup() {
  const host = new ManualHost();
  const heap = createTimerHeap(host);
  const fired: { name: string; at: number }[] = [];
  const set = (name: string, microseconds: number) =>
    heap.setTimer(() => fired.push({ name, at: host.now }), microseconds);
  return { host, heap, fired, set };
}

test('many timers: each fires once, in deadline order, never before its deadline, on one host timer', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 5_000_000 }), { minLength: 1, maxLength: 1000 }),
      (delays) => {
        const { host, heap, fired, set } = setup();
        delays.forEach((delay, index) => set(String(index), delay));
        assert.ok(host.timers.size <= 1, 'at most one host timer armed');
        host.advanceTo(6_000_000);
        assert.equal(fired.length, delays.length);
        assert.equal(heap.size, 0);
        const order = fired.map(({ name }) => Number(name));
        const expected = delays
          .map((delay, index) => ({ delay, index }))
          .sort((a, b) => a.delay - b.delay || a.index - b.index)
          .map(({ index }) => index);
        assert.deepEqual(order, expected, 'deadline order, FIFO at equal deadlines');
        for (const { name, at } of fired)
          assert.ok(at >= (delays[Number(name)] as number), `${name} not early`);
        assert.equal(host.timers.size, 0, 'no host timer left once empty');
      },
    ),
    { numRuns: 50 },
  );
});

test('deadlines are microsecond-exact: a host timer firing early runs nothing due later, and re-arms', () => {
  const { host, fired, set } = setup();
  set('a', 1_500);
  assert.equal([...host.timers.values()][0]?.at, 2_000, 'armed for the whole milliseconds up to 1.5 ms');
  host.now = 1_499;
  host.fireEarly();
  assert.deepEqual(fired, [], 'one microsecond early: not yet');
  assert.equal(host.timers.size, 1, 're-armed');
  host.now = 1_500;
  host.fireEarly();
  assert.deepEqual(fired, [{ name: 'a', at: 1_500 }]);
});

test('a deadline past what setTimeout takes (2^31 - 1 ms) is reached in steps, not fired at once', () => {
  const { host, fired, set } = setup();
  const days40 = 40 * 24 * 3600 * 1e6;
  set('far', days40);
  assert.equal([...host.timers.values()][0]?.at, (2 ** 31 - 1) * 1000);
  host.advanceTo(days40 - 1);
  assert.deepEqual(fired, []);
  host.advanceTo(days40);
  assert.deepEqual(fired, [{ name: 'far', at: days40 }]);
});

test('same deadline: timers fire in the order they were set', () => {
  const { host, fired, set } = setup();
  for (const name of ['first', 'second', 'third', 'fourth']) set(name, 100_000);
  host.advanceTo(100_000);
  assert.deepEqual(
    fired.map(({ name }) => name),
    ['first', 'second', 'third', 'fourth'],
  );
});

test('cancellation: cleared timers never fire; clearing twice, after firing or a foreign handle does nothing', () => {
  const { host, heap, fired, set } = setup();
  const handles = Array.from({ length: 200 }, (_, index) => set(String(index), (index % 50) * 1_000 + 10));
  for (let index = 0; index < 200; index += 2) heap.clearTimer(handles[index]);
  heap.clearTimer(handles[0]);
  heap.clearTimer({});
  heap.clearTimer(undefined);
  heap.clearTimer(createTimerHeap(host).setTimer(() => undefined, 5));
  assert.equal(heap.size, 100);
  host.advanceTo(1_000_000);
  assert.deepEqual(
    fired.map(({ name }) => Number(name)).sort((a, b) => a - b),
    Array.from({ length: 100 }, (_, index) => index * 2 + 1),
  );
  heap.clearTimer(handles[1]);
  assert.equal(heap.size, 0);
});

test('clearing the earliest timer: the next one still fires at its own deadline; clearing all disarms', () => {
  const { host, heap, fired, set } = setup();
  const early = set('early', 1_000);
  set('late', 50_000);
  heap.clearTimer(early);
  host.advanceTo(49_999);
  assert.deepEqual(fired, []);
  host.advanceTo(50_000);
  assert.deepEqual(fired, [{ name: 'late', at: 50_000 }]);
  const again = set('again', 10_000);
  heap.clearTimer(again);
  assert.equal(host.timers.size, 0, 'nothing left: the host timer is cleared, the process may exit');
});

test('a callback clearing another timer due in the same firing stops it', () => {
  const { host, heap, fired } = setup();
  const victim: { handle?: unknown } = {};
  heap.setTimer(() => {
    fired.push({ name: 'killer', at: host.now });
    heap.clearTimer(victim.handle);
  }, 1_000);
  victim.handle = heap.setTimer(() => fired.push({ name: 'victim', at: host.now }), 1_000);
  host.advanceTo(2_000);
  assert.deepEqual(
    fired.map(({ name }) => name),
    ['killer'],
  );
});

test('re-arm: a periodic timer fires at exact multiples; a zero timer set while firing waits for the next firing', () => {
  const { host, heap, fired } = setup();
  let count = 0;
  const tick = () => {
    fired.push({ name: 'tick', at: heap.nowMicroseconds() });
    if (++count < 5) heap.setTimer(tick, 100_000);
  };
  heap.setTimer(tick, 100_000);
  host.advanceTo(1_000_000);
  assert.deepEqual(
    fired.map(({ at }) => at),
    [100_000, 200_000, 300_000, 400_000, 500_000],
  );

  let zeroes = 0;
  const zero = () => {
    zeroes++;
    heap.setTimer(zero, 0);
  };
  heap.setTimer(zero, 0);
  host.fireEarly();
  assert.equal(zeroes, 1, 'one per firing, not an endless loop');
  host.fireEarly();
  assert.equal(zeroes, 2);
});

test('an earlier timer set later re-arms the host timer earlier', () => {
  const { host, fired, set } = setup();
  set('late', 900_000);
  set('early', 5_000);
  host.advanceTo(5_000);
  assert.deepEqual(fired, [{ name: 'early', at: 5_000 }]);
});

test('defer: every deferred callback runs in ONE immediate, in order; one deferred meanwhile goes to the next', () => {
  const { host, heap } = setup();
  const ran: string[] = [];
  heap.defer(() => ran.push('a'));
  heap.defer(() => {
    ran.push('b');
    heap.defer(() => ran.push('later'));
  });
  heap.defer(() => ran.push('c'));
  assert.equal(host.immediates.length, 1);
  host.runImmediates();
  assert.deepEqual(ran, ['a', 'b', 'c']);
  assert.equal(host.immediates.length, 1);
  host.runImmediates();
  assert.deepEqual(ran, ['a', 'b', 'c', 'later']);
});

test('a throwing callback does not starve the others; its error is thrown after they ran', () => {
  const { host, heap, fired, set } = setup();
  set('before', 1_000);
  heap.setTimer(() => {
    throw new Error('bug in one instance');
  }, 1_000);
  set('after', 1_000);
  set('next-firing', 2_000);
  assert.throws(() => host.advanceTo(1_000), /bug in one instance/);
  assert.deepEqual(
    fired.map(({ name }) => name),
    ['before', 'after'],
  );
  host.advanceTo(2_000);
  assert.deepEqual(
    fired.map(({ name }) => name),
    ['before', 'after', 'next-firing'],
    'still armed after the throw',
  );

  heap.defer(() => {
    throw new Error('deferred bug');
  });
  heap.defer(() => fired.push({ name: 'deferred', at: host.now }));
  assert.throws(() => host.runImmediates(), /deferred bug/);
  assert.equal(fired.at(-1)?.name, 'deferred');
});

test('on the real clock: timers fire in order and never before their deadline', async () => {
  const heap = createTimerHeap();
  const results: { name: string; late: number }[] = [];
  // The deadlines as scheduled: on a loaded machine the calls below may be milliseconds apart, so the order
  // the contract fixes is that of the deadlines (ties in scheduling order), not of the delays.
  const scheduled: { name: string; deadline: number; index: number }[] = [];
  await new Promise<void>((resolve) => {
    const delays = [30_000, 2_500, 15_000, 2_500, 7_000];
    delays.forEach((delay, index) => {
      const deadline = heap.nowMicroseconds() + delay;
      scheduled.push({ name: `${delay}/${index}`, deadline, index });
      heap.setTimer(() => {
        results.push({ name: `${delay}/${index}`, late: heap.nowMicroseconds() - deadline });
        if (results.length === delays.length) resolve();
      }, delay);
    });
  });
  assert.deepEqual(
    results.map(({ name }) => name),
    [...scheduled].sort((a, b) => a.deadline - b.deadline || a.index - b.index).map(({ name }) => name),
  );
  for (const { name, late } of results) assert.ok(late >= 0, `${name} fired ${-late} µs early`);
});

test('100 instances on the heap keep the stall rule: adverts read before the one deferral leave every backup BACKUP', async () => {
  const host = new ManualHost();
  const heap = createTimerHeap(host);
  const silent = { info() {}, warn() {}, error() {} };
  const actions = {
    sendAdvert: async () => undefined,
    claimVips: async () => undefined,
    releaseVips: async () => undefined,
    announce: async () => undefined,
    notify: () => undefined,
  };
  const instances = Array.from(
    { length: 100 },
    (_, index) =>
      new VrrpInstance(`VI_${index + 1}`, { ...DEFAULT_PARAMETERS, vrid: index + 1 }, heap, actions, silent),
  );
  for (const instance of instances) instance.start();
  await Promise.all(instances.map((instance) => instance.idle()));
  assert.equal(heap.size, 100, 'one Master_Down_Timer each, all in the heap');
  assert.ok(host.timers.size <= 1, 'on one host timer');
  // The process stood still for 10 s: every Master_Down_Timer fires in the timers phase; each expiry is deferred.
  host.advanceTo(10_000_000);
  assert.equal(host.immediates.length, 1, 'one immediate carries all 100 expiries');
  // The poll phase: the batch of queued adverts, one per VRID, reaches every instance first.
  for (const [index, instance] of instances.entries()) {
    const advert: DecodedAdvertisement = {
      version: 3,
      family: 4,
      vrid: index + 1,
      priority: 200,
      advertIntervalCentiseconds: 100,
      addresses: ['192.0.2.100'],
      auth: { type: 'none' },
      checksum: 0,
      checksumMode: 'pseudo-header',
    };
    instance.receive(advert, '192.0.2.1');
  }
  host.runImmediates();
  await Promise.all(instances.map((instance) => instance.idle()));
  for (const instance of instances) {
    assert.equal(instance.state, 'BACKUP', instance.name);
    assert.equal(
      instance.snapshot().counters.staleTimerExpiries,
      1,
      `${instance.name} dropped its late expiry`,
    );
  }
});

test('reschedule: a pending timer moves to its new deadline, as if set now; a fired, cleared or foreign one does not', () => {
  const { host, heap, fired, set } = setup();
  const moved = set('moved', 1000);
  set('other', 3000);
  host.advanceTo(500);
  assert.equal(heap.reschedule?.(moved, 2500), true, 'later: 500 + 2500 = 3000, after "other" set earlier');
  host.advanceTo(2999);
  assert.deepEqual(fired, []);
  host.advanceTo(3000);
  assert.deepEqual(fired, [
    { name: 'other', at: 3000 },
    { name: 'moved', at: 3000 },
  ]);
  const early = set('early', 10_000);
  assert.equal(heap.reschedule?.(early, 2000), true, 'earlier: the host timer is armed earlier');
  host.advanceTo(5000);
  assert.deepEqual(fired.at(-1), { name: 'early', at: 5000 });
  assert.equal(heap.reschedule?.(early, 100), false, 'fired');
  const cleared = set('cleared', 100);
  heap.clearTimer(cleared);
  assert.equal(heap.reschedule?.(cleared, 100), false, 'cleared');
  assert.equal(heap.reschedule?.({}, 100), false, 'not a handle of this heap');
  host.advanceTo(10_000);
  assert.equal(fired.length, 3);
  assert.equal(heap.size, 0);
});

test('a backup hearing the same advert re-arms Master_Down_Timer in place, exactly, and keeps the stall rule', async () => {
  const host = new ManualHost();
  const heap = createTimerHeap(host);
  const silent = { info() {}, warn() {}, error() {} };
  const actions = {
    sendAdvert: async () => undefined,
    claimVips: async () => undefined,
    releaseVips: async () => undefined,
    announce: async () => undefined,
    notify: () => undefined,
  };
  const instance = new VrrpInstance('VI_1', DEFAULT_PARAMETERS, heap, actions, silent);
  instance.start();
  await instance.idle();
  // The advert channel hands the same summary object for every byte-identical repeat (advert-channel.ts).
  const advert = { priority: 200, advertIntervalCentiseconds: 100 };
  // RFC 5798 §6.1: Master_Down_Interval = 3 * 1 s + (256 - 100) * 1 s / 256.
  const masterDown = 3_000_000 + Math.floor((156 * 1_000_000) / 256);
  const hostTimers: number[] = [];
  for (let second = 1; second <= 10; second++) {
    host.advanceTo(second * 1_000_000);
    instance.receive(advert, '192.0.2.1');
    await instance.idle();
    hostTimers.push(host.timersSet);
  }
  assert.equal(instance.state, 'BACKUP');
  assert.equal(heap.size, 1, 'one Master_Down_Timer');
  // The full path clears and sets the timer, and with it the host timer, once per advert. In place, the timer
  // only moves later: the host timer armed for the earlier deadline fires early, runs nothing and re-arms,
  // about once per Master_Down_Interval.
  const repeats = hostTimers.length - 3;
  assert.ok(
    (hostTimers.at(-1) as number) - (hostTimers[2] as number) < repeats / 2,
    `fewer host timers than adverts: ${hostTimers.join(' ')}`,
  );
  assert.equal(
    heap.nextDeadline(),
    10_000_000 + masterDown,
    'armed from the last advert, to the microsecond',
  );
  host.advanceTo(10_000_000 + masterDown - 1);
  host.runImmediates();
  await instance.idle();
  assert.equal(instance.state, 'BACKUP');

  // A stall: the timer fires and its expiry is deferred; the same advert, read first, arms a new generation.
  host.advanceTo(30_000_000);
  assert.equal(host.immediates.length, 1, 'the expiry waits for the I/O already pending');
  instance.receive(advert, '192.0.2.1');
  host.runImmediates();
  await instance.idle();
  assert.equal(instance.state, 'BACKUP', 'the stall rule holds on the in-place path');
  assert.equal(instance.snapshot().counters.staleTimerExpiries, 1);
  assert.equal(heap.nextDeadline(), 30_000_000 + masterDown);
  // And without adverts the master-down timer expires: BACKUP -> MASTER.
  // (The host timer counts whole milliseconds, up to the deadline.)
  host.advanceTo(30_000_000 + masterDown + 1000);
  host.runImmediates();
  await instance.idle();
  assert.equal(instance.state, 'MASTER');
  await instance.stop();
});

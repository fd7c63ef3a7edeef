/**
 * Randomized elections: two or three routers run `step` against each other through a simulated wire (every
 * advert encoded and decoded by the real codec, delivered after a random delay) and a simulated clock. The
 * scenarios are seeded, so a failure prints the seed that reproduces it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Effect,
  type FsmState,
  type Input,
  type InstanceParameters,
  type TimerName,
  initialState,
  masterDownInterval,
  skewTime,
  step,
} from '../../src/vrrp/fsm.js';
import { decode, encode } from '../../src/vrrp/packet.js';
import { compareAddresses } from '../../src/vrrp/address.js';

/** mulberry32: a small seeded generator so a failing scenario can be replayed from its seed. */
function generator(seed: number) {
  let value = seed >>> 0;
  const next = () => {
    value = (value + 0x6d2b79f5) >>> 0;
    let t = value;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, integer: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)) };
}

interface Router {
  name: string;
  fsm: FsmState;
  alive: boolean;
  timers: Map<TimerName, number>;
  /** Time of the last advert this router sent, for the failover bound. */
  lastAdvertAt: number;
  becameMasterAt: number[];
}

interface Packet {
  from: Router;
  at: number;
  bytes: Uint8Array;
}

class Simulation {
  now = 0;
  readonly routers: Router[];
  private wire: Packet[] = [];

  constructor(
    params: InstanceParameters[],
    private readonly random: ReturnType<typeof generator>,
    private readonly maximumDelay: number,
  ) {
    this.routers = params.map((p, index) => ({
      name: `r${index}`,
      fsm: initialState(p),
      alive: true,
      timers: new Map(),
      lastAdvertAt: -Infinity,
      becameMasterAt: [],
    }));
  }

  feed(router: Router, input: Input): void {
    const result = step(router.fsm, input);
    router.fsm = result.state;
    if (result.transition?.to === 'MASTER') router.becameMasterAt.push(this.now);
    for (const effect of result.effects) this.execute(router, effect);
  }

  private execute(router: Router, effect: Effect): void {
    const { params } = router.fsm;
    switch (effect.type) {
      case 'arm-timer':
        router.timers.set(effect.timer, this.now + effect.microseconds);
        return;
      case 'cancel-timer':
        router.timers.delete(effect.timer);
        return;
      case 'send-advert': {
        const bytes = encode(
          {
            version: params.version,
            family: params.family,
            vrid: params.vrid,
            priority: effect.priority,
            advertIntervalCentiseconds: params.advertIntervalCentiseconds,
            addresses: ['192.0.2.100'],
            auth: { type: 'none' },
          },
          { pseudoHeader: { source: params.primaryAddress, destination: '224.0.0.18' } },
        );
        router.lastAdvertAt = this.now;
        this.wire.push({ from: router, at: this.now + this.random.integer(0, this.maximumDelay), bytes });
        return;
      }
      default:
        return;
    }
  }

  /** Runs events until `until`; packets due at the same instant as a timer are delivered first. */
  runUntil(until: number): void {
    for (;;) {
      let nextPacket: Packet | undefined;
      for (const packet of this.wire) if (!nextPacket || packet.at < nextPacket.at) nextPacket = packet;
      let nextTimer: { router: Router; timer: TimerName; at: number } | undefined;
      for (const router of this.routers) {
        if (!router.alive) continue;
        for (const [timer, at] of router.timers)
          if (!nextTimer || at < nextTimer.at) nextTimer = { router, timer, at };
      }
      const packetAt = nextPacket?.at ?? Infinity;
      const timerAt = nextTimer?.at ?? Infinity;
      if (Math.min(packetAt, timerAt) > until) break;
      if (nextPacket && packetAt <= timerAt) {
        this.now = packetAt;
        this.wire = this.wire.filter((packet) => packet !== nextPacket);
        this.deliver(nextPacket);
      } else if (nextTimer) {
        this.now = timerAt;
        nextTimer.router.timers.delete(nextTimer.timer);
        const input: Input =
          nextTimer.timer === 'advert'
            ? { type: 'advert-due' }
            : nextTimer.timer === 'master-down'
              ? { type: 'master-down-expired' }
              : { type: 'preempt-delay-expired' };
        this.feed(nextTimer.router, input);
      }
    }
    this.now = until;
  }

  private deliver(packet: Packet): void {
    const source = packet.from.fsm.params.primaryAddress;
    for (const router of this.routers) {
      if (router === packet.from || !router.alive) continue;
      const decoded = decode(packet.bytes, {
        family: 4,
        pseudoHeader: { source, destination: '224.0.0.18' },
      });
      assert.ok(decoded.ok, 'the simulated wire carries only valid adverts');
      this.feed(router, { type: 'advert-received', advert: decoded.value, source });
    }
  }

  crash(router: Router): void {
    router.alive = false;
    router.timers.clear();
  }

  masters(): Router[] {
    return this.routers.filter((router) => router.alive && router.fsm.state === 'MASTER');
  }
}

/**
 * A router of the highest effective priority, the higher primary address first. Between equal priorities the
 * address decides only when both are MASTER at once (RFC 5798 §6.4.3); a BACKUP follows a master of equal
 * priority (RFC 9568 §6.4.2), so whichever of them got there first stays.
 */
function bestRouter(routers: Router[]): Router {
  return [...routers].sort(
    (a, b) =>
      b.fsm.effectivePriority - a.fsm.effectivePriority ||
      compareAddresses(b.fsm.params.primaryAddress, a.fsm.params.primaryAddress),
  )[0]!;
}

function assertBestIsMaster(simulation: Simulation, context: string): Router {
  const masters = simulation.masters();
  assert.equal(masters.length, 1, `${context}: masters: ${masters.map((router) => router.name).join(', ')}`);
  const best = bestRouter(simulation.routers.filter((router) => router.alive));
  assert.equal(
    masters[0]!.fsm.effectivePriority,
    best.fsm.effectivePriority,
    `${context}: the best priority wins`,
  );
  return masters[0]!;
}

function randomParameters(random: ReturnType<typeof generator>, count: number): InstanceParameters[] {
  const version = random.next() < 0.5 ? 2 : 3;
  const advertIntervalCentiseconds = version === 2 ? random.integer(1, 3) * 100 : random.integer(1, 200);
  const sharedPriority = random.integer(1, 254);
  return Array.from({ length: count }, (_, index) => ({
    version,
    family: 4,
    vrid: 7,
    // One scenario in five has equal priorities so the address tie-break decides.
    priority: random.next() < 0.2 ? sharedPriority : random.integer(1, 254),
    advertIntervalCentiseconds,
    preempt: true,
    preemptDelayMicroseconds: 0,
    primaryAddress: `192.0.2.${10 + index * 10 + random.integer(0, 9)}`,
    acceptMode: false,
    lowerPriorityNoAdvert: false,
    higherPrioritySendAdvert: false,
  }));
}

test('randomized elections: one MASTER, the best one, and failover within Master_Down_Interval', () => {
  const scenarios = 400;
  for (let seed = 1; seed <= scenarios; seed++) {
    const random = generator(seed);
    const count = random.integer(2, 3);
    const params = randomParameters(random, count);
    // Delays stay below the smallest Skew_Time difference that the bound relies on (1/256 of an interval).
    const interval = params[0]!.advertIntervalCentiseconds * 10_000;
    const maximumDelay = Math.floor(interval / 512);
    const simulation = new Simulation(params, random, maximumDelay);
    const context = `seed ${seed}: ${JSON.stringify(params.map((p) => [p.version, p.priority, p.advertIntervalCentiseconds, p.primaryAddress]))}`;

    // Routers start at random moments within one interval.
    const starts = simulation.routers.map((router) => ({ router, at: random.integer(0, interval) }));
    starts.sort((a, b) => a.at - b.at);
    for (const { router, at } of starts) {
      simulation.runUntil(at);
      simulation.feed(router, { type: 'startup' });
    }
    const settle = () =>
      10 * interval + 2 * Math.max(...simulation.routers.map((r) => masterDownInterval(r.fsm)));
    simulation.runUntil(simulation.now + settle());
    const first = assertBestIsMaster(simulation, `${context}: after convergence`);

    // The master dies without a word (a crash): the best survivor takes over within Master_Down_Interval
    // (computed by that survivor) of the dead master's last advert, plus the wire delay.
    const dead = first;
    simulation.runUntil(simulation.now + random.integer(0, interval));
    simulation.crash(dead);
    const survivors = simulation.routers.filter((router) => router.alive);
    const successor = bestRouter(survivors);
    const bound = dead.lastAdvertAt + maximumDelay + masterDownInterval(successor.fsm);
    simulation.runUntil(bound);
    const takeover = survivors
      .flatMap((router) => router.becameMasterAt)
      .filter((at) => at > dead.lastAdvertAt);
    assert.ok(
      takeover.length > 0,
      `${context}: no takeover by ${bound - dead.lastAdvertAt} us after the last advert`,
    );
    simulation.runUntil(simulation.now + settle());
    const incumbent = assertBestIsMaster(simulation, `${context}: after the crash`);

    // The dead router comes back: it preempts only with a strictly higher priority; still one MASTER.
    dead.alive = true;
    dead.fsm = initialState(dead.fsm.params);
    simulation.feed(dead, { type: 'startup' });
    simulation.runUntil(simulation.now + settle());
    const leaving = assertBestIsMaster(simulation, `${context}: after the return`);
    const preempts = dead.fsm.effectivePriority > incumbent.fsm.effectivePriority;
    assert.equal(leaving, preempts ? dead : incumbent, `${context}: preemption only by a higher priority`);

    // A graceful stop (priority 0) hands over within Skew_Time of the successor, plus the wire delay.
    const stoppedAt = simulation.now;
    simulation.feed(leaving, { type: 'shutdown' });
    leaving.alive = false;
    const heir = bestRouter(simulation.routers.filter((router) => router.alive));
    simulation.runUntil(stoppedAt + maximumDelay + skewTime(heir.fsm));
    const handedOver = simulation.routers.some(
      (router) =>
        router.alive &&
        router.fsm.effectivePriority === heir.fsm.effectivePriority &&
        router.becameMasterAt.some((at) => at > stoppedAt),
    );
    assert.ok(
      handedOver,
      `${context}: no handover within Skew_Time ${skewTime(heir.fsm)} us of a priority-0 advert`,
    );
  }
});

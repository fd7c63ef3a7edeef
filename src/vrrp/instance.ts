/**
 * The driver of one virtual router: feeds inputs to the pure `step`, executes its effects in order, owns the
 * timers. The clock, the advert sender and the action runners are injected, so tests drive time by hand.
 *
 * Ordering rules (docs/architecture.md, "Time" and "Hooks"):
 * - inputs are processed one at a time, in arrival order; critical effects (adverts, VIPs, GARP) are awaited
 *   before the next input is looked at; hooks (notify) are handed to a queue and never awaited here;
 * - stall safety: an expired timer does not act at once. Its expiry is deferred (`clock.defer`, setImmediate in
 *   production) so that adverts already waiting in the socket are read first; the expiry carries the generation
 *   of the timer it belongs to and is dropped if an advert re-armed that timer meanwhile. A backup whose own
 *   process was late therefore does not take over from a master that kept advertising.
 */
import { type DiscardReason, type InstanceCounters, newInstanceCounters } from './counters.js';
import {
  type AdvertSummary,
  type Effect,
  type FsmState,
  type Input,
  type InstanceParameters,
  type Rival,
  type StepResult,
  type TimerName,
  type Transition,
  type TransitionReason,
  type VrrpState,
  handoverBound,
  initialState,
  masterDownInterval,
  skewTime,
  step,
} from './fsm.js';
import type { Clock } from '../core/clock.js';
import { MICROSECONDS_PER_CENTISECOND } from '../core/time.js';
import type { Logger } from '../core/logger.js';

// The clock moved to src/core (docs/architecture.md, "Core"); modules that imported it from the driver keep
// working while they move.
export { type Clock, systemClock } from '../core/clock.js';

/** What the instance asks of the world. Critical operations are awaited; `notify` only queues a hook. */
export interface InstanceActions {
  /** CARP: `demote` is the counter the advert carries; priority 0 is the bow-out. */
  sendAdvert(priority: number, demote?: number): Promise<void>;
  claimVips(acceptMode: boolean): Promise<void>;
  releaseVips(): Promise<void>;
  announce(): Promise<void>;
  notify(event: { state: VrrpState; priority: number; reason: TransitionReason }): void;
  /**
   * As MASTER, a lower-priority master was heard (keepalived: lower-priority GARP bursts and
   * notify_master_rx_lower_pri); without it, the VIPs are announced again as one `announce`.
   */
  masterRxLowerPriority?(event: { source: string; priority: number }): Promise<void>;
  /** The effective priority changed (tracking), told with the state it changed in, before any transition. */
  priorityChanged?(event: { state: VrrpState; priority: number }): void;
}

export interface InstanceSnapshot {
  state: VrrpState;
  priority: number;
  effectivePriority: number;
  masterAddress: string | undefined;
  enteredStateAtMicroseconds: number;
  lastTransition: Transition | undefined;
  faults: readonly string[];
  counters: InstanceCounters;
  /** RFC 5798 §6.1 timers as they stand, in microseconds (FRR's `show vrrp` fields). */
  masterAdverIntervalMicroseconds: number;
  skewTimeMicroseconds: number;
  masterDownIntervalMicroseconds: number;
  /** When an advert of the current master was last accepted (BACKUP only). */
  lastMasterAdvertAtMicroseconds: number | undefined;
  /** Transitions since the instance started, by from, to and reason. */
  transitionCounts: readonly TransitionCount[];
  /** A split brain in progress: the other master, as heard (tandem extension). */
  splitBrain: (Rival & { sinceMicroseconds: number }) | undefined;
  /** A make-before-break handover in progress, with where it goes. */
  handover: 'STOPPED' | 'BACKUP' | 'FAULT' | undefined;
  /** After a switchover: BACKUP that does not preempt until resumed. */
  yielded: boolean;
  /** CARP: the demotion counter this router advertises. */
  demote?: number;
}

export interface TransitionCount extends Transition {
  count: number;
}

/** Told of every transition, synchronously, after it is logged and before its effects run. */
export type TransitionListener = (transition: Transition, state: FsmState) => void;

interface ArmedTimer {
  handle: unknown;
  generation: number;
  deadline: number;
}

interface RearmOnly {
  state: FsmState;
  advert: AdvertSummary;
  source: string;
  microseconds: number;
}

/**
 * The advert input whose result only re-armed Master_Down_Timer and kept the state, if `input` is one. Not
 * priority 0: the master leaving is not a live master heard (`noteMasterAdvert`).
 */
function rearmOnly(input: Input, previous: FsmState, result: StepResult): RearmOnly | undefined {
  if (input.type !== 'advert-received' || input.advert.priority === 0) return undefined;
  if (result.state !== previous || result.transition) return undefined;
  const [effect, ...others] = result.effects;
  if (others.length > 0 || effect?.type !== 'arm-timer' || effect.timer !== 'master-down') return undefined;
  return { state: previous, advert: input.advert, source: input.source, microseconds: effect.microseconds };
}

const EXPIRY_INPUT: Record<TimerName, Input['type']> = {
  advert: 'advert-due',
  'master-down': 'master-down-expired',
  'preempt-delay': 'preempt-delay-expired',
  handover: 'handover-expired',
  reannounce: 'reannounce-due',
  rival: 'rival-silent',
};

export class VrrpInstance {
  private fsm: FsmState;
  private readonly timers = new Map<TimerName, ArmedTimer>();
  private generation = 0;
  private readonly queue: { input: Input; generation?: number; timer?: TimerName }[] = [];
  private running = false;
  private idleWaiters: (() => void)[] = [];
  private enteredStateAt: number;
  private lastTransition: Transition | undefined;
  /** When an advert of a live master was last accepted in BACKUP; cleared by priority 0 and by leaving BACKUP. */
  private lastMasterAdvertAt: number | undefined;
  /** The last other router heard on this VRID, whatever its state: who could take over at a switchover. */
  /** The last other router heard (switchover's "peer heard" check); updated in place, nothing per advert. */
  private lastPeerAddress: string | undefined;
  private lastPeerAt = 0;
  private splitBrainSince = 0;
  private stoppedWaiters: (() => void)[] = [];
  /**
   * The last advert whose `step` left the state as it was and only re-armed Master_Down_Timer (a backup hearing
   * its master), with the state it was taken in; see `repeatsLastAdvert`.
   */
  private rearmOnly: RearmOnly | undefined;
  /**
   * Told after an input changed the state or the fault causes, with the transition if there was one, once its
   * effects ran (a sync group follows its members through this).
   */
  onChange: ((transition: Transition | undefined) => void) | undefined;
  /** Told when a switchover or maintenance was called off because nobody took over within the bound. */
  onHandoverAborted: ((goal: 'STOPPED' | 'BACKUP' | 'FAULT') => void) | undefined;
  /** Asked when Master_Down_Timer expires: true keeps this member BACKUP (a sync group's hold rule). */
  masterDownHeld: (() => boolean) | undefined;
  private readonly transitionListeners = new Set<TransitionListener>();
  /** Transition counts by `from to reason` (a handful of keys: the metrics and status read them). */
  private readonly transitionCounts = new Map<string, TransitionCount>();
  constructor(
    readonly name: string,
    params: InstanceParameters,
    private readonly clock: Clock,
    private readonly actions: InstanceActions,
    private readonly log: Logger,
    /** The instance's one counter table (`vrrp/counters.ts`), shared with its advert channel. */
    readonly counters: InstanceCounters = newInstanceCounters(),
  ) {
    this.fsm = initialState(params);
    this.enteredStateAt = clock.nowMicroseconds();
  }

  get state(): VrrpState {
    return this.fsm.state;
  }

  get params(): InstanceParameters {
    return this.fsm.params;
  }

  get faults(): readonly string[] {
    return this.fsm.faults;
  }

  /**
   * BACKUP and a master's advert accepted within the last Master_Down_Interval: a live master exists. A held
   * expiry re-arms the timer without hearing anything, so the timer alone would let two held members of a
   * sync group hold each other for ever; the time of the last accepted advert does not.
   */
  hearsMaster(): boolean {
    if (this.fsm.state !== 'BACKUP' || this.lastMasterAdvertAt === undefined) return false;
    return this.clock.nowMicroseconds() - this.lastMasterAdvertAt < masterDownInterval(this.fsm);
  }

  /** Master_Down_Interval (CARP: master down) as the instance computes it now. */
  masterDownMicroseconds(): number {
    return masterDownInterval(this.fsm);
  }

  /** Inputs from a sync group: follow another member to MASTER or BACKUP. */
  follow(direction: 'group-master' | 'group-backup'): void {
    this.enqueue({ input: { type: direction } });
  }

  snapshot(): InstanceSnapshot {
    return {
      state: this.fsm.state,
      priority: this.fsm.params.priority,
      effectivePriority: this.fsm.effectivePriority,
      masterAddress: this.fsm.masterAddress,
      enteredStateAtMicroseconds: this.enteredStateAt,
      lastTransition: this.lastTransition,
      faults: this.fsm.faults,
      counters: this.counters,
      masterAdverIntervalMicroseconds:
        this.fsm.masterAdverIntervalCentiseconds * MICROSECONDS_PER_CENTISECOND,
      skewTimeMicroseconds: skewTime(this.fsm),
      masterDownIntervalMicroseconds: masterDownInterval(this.fsm),
      lastMasterAdvertAtMicroseconds: this.lastMasterAdvertAt,
      transitionCounts: [...this.transitionCounts.values()].map((count) => ({ ...count })),
      splitBrain: this.fsm.rival ? { ...this.fsm.rival, sinceMicroseconds: this.splitBrainSince } : undefined,
      handover: this.fsm.handover?.goal,
      yielded: this.fsm.yielded === true,
      ...(this.fsm.demote === undefined ? {} : { demote: this.fsm.demote }),
    };
  }

  /** The last other router heard on this VRID (any priority), or `undefined` if none since start. */
  get peer(): { address: string; atMicroseconds: number } | undefined {
    return this.lastPeerAddress === undefined
      ? undefined
      : { address: this.lastPeerAddress, atMicroseconds: this.lastPeerAt };
  }

  /**
   * `tandem switchover`: hand over to a backup (make-before-break when configured) and stay BACKUP; called off
   * at the handover bound if nobody took over, unless `force`.
   */
  switchover(force = false): void {
    this.enqueue({ input: { type: 'switchover', force } });
  }

  /** `tandem maintenance on|off`: hand over and hold FAULT (cause `maintenance`), or leave it. */
  maintenance(on: boolean, force = false): void {
    this.enqueue({ input: { type: 'maintenance', on, force } });
  }

  /** Lets a switched-over instance preempt again. */
  resume(): void {
    this.enqueue({ input: { type: 'resume' } });
  }

  /**
   * Adds a listener of transitions (events, metrics); returns the function that removes it. A listener that
   * throws is logged and changes nothing.
   */
  onTransition(listener: TransitionListener): () => void {
    this.transitionListeners.add(listener);
    return () => this.transitionListeners.delete(listener);
  }

  start(): void {
    this.enqueue({ input: { type: 'startup' } });
  }

  /**
   * Graceful stop: priority-0 advert and VIP release when MASTER; resolves when the instance is STOPPED and every
   * effect has run. `planned` (SIGTERM) hands over make-before-break when configured: the VIPs go when the new
   * master is heard, or after the handover bound (`handoverBound`).
   */
  async stop(options: { planned?: boolean } = {}): Promise<void> {
    this.enqueue({ input: options.planned ? { type: 'shutdown', planned: true } : { type: 'shutdown' } });
    await this.idle();
    if (this.fsm.state !== 'STOPPED') {
      await new Promise<void>((resolve) => this.stoppedWaiters.push(resolve));
    }
    for (const timer of this.timers.values()) this.clock.clearTimer(timer.handle);
    this.timers.clear();
  }

  /** An advert that passed the receive ladder (`vrrp/receive.ts`). */
  receive(advert: AdvertSummary, source: string): void {
    this.counters.advertsReceived++;
    if (advert.priority === 0) this.counters.priorityZeroReceived++;
    this.lastPeerAddress = source;
    this.lastPeerAt = this.clock.nowMicroseconds();
    if (this.repeatsLastAdvert(advert, source)) return;
    this.enqueue({ input: { type: 'advert-received', advert, source } });
  }

  /**
   * RFC 5798 §6.4.2 for the advert a backup hears at every interval: the same master's same advert (the advert
   * channel hands the same summary object for a byte-identical repeat) in the same state as last time, when that
   * `step` changed nothing but re-arming Master_Down_Timer. `step` is pure, so the same state and input give the
   * same result: it is executed again without being built again, the timer moved in place (issue 11,
   * docs/performance.md). Only with nothing queued or running, so the order of inputs is kept, and only when the
   * timer has not fired: a fired one may have an expiry waiting, which needs a new generation (`arm`).
   */
  private repeatsLastAdvert(advert: AdvertSummary, source: string): boolean {
    const last = this.rearmOnly;
    if (last === undefined || this.running || this.queue.length > 0) return false;
    if (last.state !== this.fsm || last.advert !== advert || last.source !== source) return false;
    const armed = this.timers.get('master-down');
    if (armed === undefined || !this.clock.reschedule?.(armed.handle, last.microseconds)) return false;
    const now = this.clock.nowMicroseconds();
    armed.deadline = now + last.microseconds;
    this.lastMasterAdvertAt = now;
    return true;
  }

  /** The interface's primary address was chosen or changed (the interface appeared or was re-created). */
  setPrimaryAddress(address: string): void {
    this.enqueue({ input: { type: 'primary-address', address } });
  }

  private countDiscard(reason: DiscardReason): void {
    this.counters.discarded[reason]++;
  }

  setEffectivePriority(priority: number): void {
    this.enqueue({ input: { type: 'priority-changed', priority } });
  }

  /** CARP: tracking moved the demotion counter carried in the adverts. */
  setDemote(demote: number): void {
    this.enqueue({ input: { type: 'demote-changed', demote } });
  }

  raiseFault(cause: string): void {
    this.enqueue({ input: { type: 'fault-raised', cause } });
  }

  clearFault(cause: string): void {
    this.enqueue({ input: { type: 'fault-cleared', cause } });
  }

  /** Resolves when no input is waiting or being processed. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(item: { input: Input; generation?: number; timer?: TimerName }): void {
    this.queue.push(item);
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let item = this.queue.shift(); item; item = this.queue.shift()) {
        if (item.timer !== undefined && this.timers.get(item.timer)?.generation !== item.generation) {
          // An advert re-armed (or a transition cancelled) this timer after it fired: the expiry is stale.
          this.counters.staleTimerExpiries++;
          continue;
        }
        if (item.timer !== undefined) this.timers.delete(item.timer);
        try {
          const input: Input =
            item.input.type === 'master-down-expired' && this.masterDownHeld?.()
              ? { ...item.input, held: true }
              : item.input;
          await this.process(input);
        } catch (error) {
          // A bug or a hook that could not be queued must not kill the agent (its VIPs would stay up with no
          // priority-0 advert): log, count, and go on with the next input.
          this.counters.actionErrors++;
          this.log.error({ input: item.input.type, err: error }, 'processing an input failed');
        }
      }
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async process(input: Input): Promise<void> {
    const result = step(this.fsm, input);
    const previous = this.fsm;
    this.fsm = result.state;
    this.rearmOnly = rearmOnly(input, previous, result);
    if (result.transition) {
      this.counters.transitions++;
      this.lastTransition = result.transition;
      this.enteredStateAt = this.clock.nowMicroseconds();
      const { from, to, reason } = result.transition;
      this.log.info(
        { from, to, reason, priority: this.fsm.effectivePriority, master: this.fsm.masterAddress },
        `${from} -> ${to}`,
      );
      this.countTransition(result.transition);
    } else if (!previous.handover && this.fsm.handover) {
      this.log.info(
        {
          goal: this.fsm.handover.goal,
          reason: this.fsm.handover.reason,
          boundMs: handoverBound(this.fsm) / 1000,
        },
        'planned handover: priority 0 sent, the VIPs stay until the new master is heard',
      );
    } else if (previous.effectivePriority !== this.fsm.effectivePriority) {
      this.log.info(
        { from: previous.effectivePriority, to: this.fsm.effectivePriority },
        'effective priority changed',
      );
    } else if (previous.demote !== this.fsm.demote) {
      this.log.info({ from: previous.demote, to: this.fsm.demote }, 'demotion changed');
    }
    if (previous.effectivePriority !== this.fsm.effectivePriority)
      this.actions.priorityChanged?.({ state: previous.state, priority: this.fsm.effectivePriority });
    this.noteMasterAdvert(input, result.effects);
    for (const effect of result.effects) await this.execute(effect);
    if (result.transition || previous.faults !== this.fsm.faults) this.onChange?.(result.transition);
    if (this.fsm.state === 'STOPPED' && this.stoppedWaiters.length > 0) {
      const waiters = this.stoppedWaiters;
      this.stoppedWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private countTransition(transition: Transition): void {
    const key = `${transition.from} ${transition.to} ${transition.reason}`;
    const counted = this.transitionCounts.get(key);
    if (counted) counted.count++;
    else this.transitionCounts.set(key, { ...transition, count: 1 });
    for (const listener of this.transitionListeners) {
      try {
        listener(transition, this.fsm);
      } catch (error) {
        this.log.error({ err: error }, 'a transition listener failed');
      }
    }
  }

  private noteMasterAdvert(input: Input, effects: readonly Effect[]): void {
    if (this.fsm.state !== 'BACKUP') {
      this.lastMasterAdvertAt = undefined;
      return;
    }
    if (input.type !== 'advert-received') return;
    // RFC 5798 §6.4.2: priority 0 is the master leaving; an accepted advert re-arms Master_Down_Timer.
    if (input.advert.priority === 0) this.lastMasterAdvertAt = undefined;
    else if (effects.some((effect) => effect.type === 'arm-timer' && effect.timer === 'master-down')) {
      this.lastMasterAdvertAt = this.clock.nowMicroseconds();
    }
  }

  private async execute(effect: Effect): Promise<void> {
    switch (effect.type) {
      case 'arm-timer':
        return this.arm(effect.timer, effect.microseconds);
      case 'cancel-timer':
        return this.cancel(effect.timer);
      case 'discard':
        return this.countDiscard(effect.reason);
      case 'notify':
        try {
          return this.actions.notify({
            state: effect.state,
            priority: effect.priority,
            reason: effect.reason,
          });
        } catch (error) {
          this.counters.actionErrors++;
          this.log.error({ action: 'notify', err: error }, 'queueing the hooks failed');
          return;
        }
      case 'send-advert':
        this.counters.advertsSent++;
        if (effect.priority === 0) this.counters.priorityZeroSent++;
        return this.critical('send-advert', () => this.actions.sendAdvert(effect.priority, effect.demote));
      case 'claim-vips':
        return this.critical('claim-vips', () => this.actions.claimVips(effect.acceptMode));
      case 'release-vips':
        return this.critical('release-vips', () => this.actions.releaseVips());
      case 'garp':
        return this.critical('garp', () => this.actions.announce());
      case 'split-brain':
        this.counters.splitBrains++;
        this.splitBrainSince = this.clock.nowMicroseconds();
        this.log.warn(
          {
            event: 'split-brain',
            local: { address: this.fsm.params.primaryAddress, priority: this.fsm.effectivePriority },
            remote: { address: effect.source, priority: effect.priority },
          },
          `split brain: another MASTER (${effect.source}, priority ${effect.priority}) advertises this VRID`,
        );
        return;
      case 'handover-aborted':
        this.log.warn(
          { goal: effect.goal, boundMs: handoverBound(this.fsm) / 1000 },
          'planned handover called off: no router took over within the bound; staying MASTER',
        );
        this.onHandoverAborted?.(effect.goal);
        return;
      case 'split-brain-resolved':
        this.log.info(
          { event: 'split-brain-resolved', remote: { address: effect.source }, how: effect.how },
          `split brain with ${effect.source} resolved (${effect.how})`,
        );
        return;
      case 'master-rx-lower-priority': {
        const { masterRxLowerPriority } = this.actions;
        return this.critical('garp', () =>
          masterRxLowerPriority
            ? masterRxLowerPriority.call(this.actions, { source: effect.source, priority: effect.priority })
            : this.actions.announce(),
        );
      }
    }
  }

  /** A failed critical action is logged and counted; the state machine goes on (a retry comes with the next
   * advert or the VIP watcher), since stopping the instance would take the VIP down for sure. */
  private async critical(name: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.counters.actionErrors++;
      this.log.error({ action: name, err: error }, `${name} failed`);
    }
  }

  private arm(timer: TimerName, microseconds: number): void {
    this.cancel(timer);
    const generation = ++this.generation;
    const handle = this.clock.setTimer(() => {
      // Stall safety: let the I/O already pending (adverts read during a stall) run before the expiry acts.
      this.clock.defer(() =>
        this.enqueue({ input: { type: EXPIRY_INPUT[timer] } as Input, generation, timer }),
      );
    }, microseconds);
    this.timers.set(timer, { handle, generation, deadline: this.clock.nowMicroseconds() + microseconds });
  }

  private cancel(timer: TimerName): void {
    const armed = this.timers.get(timer);
    if (!armed) return;
    this.clock.clearTimer(armed.handle);
    this.timers.delete(timer);
  }
}

/**
 * The VRRP state machine as one pure function: `step(state, input) -> { state, effects }`.
 *
 * No I/O, no clock, no Node import: timers arrive as inputs (`master-down-expired`, `advert-due`,
 * `preempt-delay-expired`) and leave as `arm-timer` / `cancel-timer` effects with a duration in microseconds.
 * The driver (`instance.ts`) executes the effects in order. Rules follow RFC 5798 §6 with the RFC 9568
 * clarifications for VRRPv3 and RFC 3768 §6 for VRRPv2; each branch cites its section.
 */
import type { Family } from './address.js';
import { compareAddresses } from './address.js';
import type { ElectionDiscardReason } from './counters.js';
import type { VrrpVersion } from './packet.js';
import { PRIORITY_OWNER, PRIORITY_STOPPED } from '../core/protocol.js';
import { MICROSECONDS_PER_CENTISECOND, MICROSECONDS_PER_SECOND } from '../core/time.js';

export { MICROSECONDS_PER_CENTISECOND, MICROSECONDS_PER_SECOND } from '../core/time.js';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOPPED';

export type TimerName = 'advert' | 'master-down' | 'preempt-delay';

/** RFC 3768 §6.1 / RFC 5798 §6.1: Skew_Time divides by 256. */
const SKEW_DIVISOR = 256;
/** RFC 5798 §6.1: Master_Down_Interval is three advertisement intervals plus Skew_Time. */
const MASTER_DOWN_ADVERTS = 3;

/** What the configuration decides for one virtual router; fixed for the life of an instance. */
export interface InstanceParameters {
  version: VrrpVersion;
  family: Family;
  vrid: number;
  /** Configured base priority, 1-255; 255 makes this router the address owner (RFC 5798 §5.2.4). */
  priority: number;
  /** Advertisement_Interval: v2 a whole number of seconds x 100, v3 centiseconds 1-4095. */
  advertIntervalCentiseconds: number;
  /** Preempt_Mode (RFC 5798 §6.1), true unless `nopreempt`. */
  preempt: boolean;
  /** keepalived `preempt_delay`: how long a lower-priority master is tolerated before preemption. */
  preemptDelayMicroseconds: number;
  /** The primary address of this router on the link: the source of its adverts, compared on priority ties. */
  primaryAddress: string;
  /** Accept_Mode (RFC 5798 §6.1): whether the master accepts packets to the VIPs it does not own. */
  acceptMode: boolean;
  /** keepalived `lower_prio_no_advert`: the RFC 3768 behaviour of ignoring a lower-priority advert as MASTER. */
  lowerPriorityNoAdvert: boolean;
  /** keepalived `higher_prio_send_advert`: send one advert before yielding to a higher-priority master. */
  higherPrioritySendAdvert: boolean;
  /**
   * keepalived `down_timer_adverts`: adverts in Master_Down_Interval instead of RFC 5798 §6.1's 3 (a deviation
   * the operator asks for; absent means 3).
   */
  masterDownAdverts?: number;
}

/** The whole state of one virtual router, in host values; a new object after every step. */
export interface FsmState {
  readonly params: InstanceParameters;
  readonly state: VrrpState;
  /** Priority after tracking weights (kept by the watchers, clamped there); 255 for the owner. */
  readonly effectivePriority: number;
  /** Master_Adver_Interval (RFC 5798 §6.1): learned from the master's adverts in v3. */
  readonly masterAdverIntervalCentiseconds: number;
  /** Source address of the current master as last heard, or this router's own when MASTER. */
  readonly masterAddress: string | undefined;
  /** Active fault causes (link down, tracked script in FAULT mode, ...); FAULT while any is present. */
  readonly faults: readonly string[];
  /** keepalived preempt_delay window: 'running' tolerates a lower-priority master, 'elapsed' preempts it. */
  readonly preemptDelay: 'idle' | 'running' | 'elapsed';
}

export type TransitionReason =
  | 'startup'
  | 'startup-address-owner'
  | 'master-down-expired'
  | 'higher-priority-advert'
  | 'fault-raised'
  | 'fault-cleared'
  | 'sync-group'
  | 'shutdown';

/** Why the election discards an advert that passed the receive ladder (`vrrp/receive.ts`). */
export type DiscardReason = ElectionDiscardReason;

/**
 * What the election reads of an advert. The receive ladder (`vrrp/receive.ts`, RFC 5798 §7.1) has already
 * checked everything else: version, VRID, family, authentication, addresses, the v2 interval, and that the
 * packet is not this router's own.
 */
export interface AdvertSummary {
  priority: number;
  /** v2: Adver Int in seconds x 100; v3: Max Adver Int as sent (centiseconds). */
  advertIntervalCentiseconds: number;
}

export type Input =
  | { type: 'startup' }
  | { type: 'shutdown' }
  | { type: 'advert-received'; advert: AdvertSummary; source: string }
  /** `held`: a sync group keeps this member BACKUP because another member still hears a master. */
  | { type: 'master-down-expired'; held?: boolean }
  /** keepalived vrrp_sync_group: another member became MASTER, this one follows. */
  | { type: 'group-master' }
  /** keepalived vrrp_sync_group: another member yielded to a higher priority, this one follows. */
  | { type: 'group-backup' }
  | { type: 'advert-due' }
  | { type: 'preempt-delay-expired' }
  | { type: 'priority-changed'; priority: number }
  | { type: 'fault-raised'; cause: string }
  | { type: 'fault-cleared'; cause: string }
  /** The interface's primary address (the advert source) was chosen or changed. */
  | { type: 'primary-address'; address: string };

export type Effect =
  | { type: 'send-advert'; priority: number }
  | { type: 'arm-timer'; timer: TimerName; microseconds: number }
  | { type: 'cancel-timer'; timer: TimerName }
  | { type: 'claim-vips'; acceptMode: boolean }
  | { type: 'release-vips' }
  | { type: 'garp' }
  /**
   * keepalived: a MASTER heard a lower-priority master (a split brain healing): re-announce the VIPs
   * (garp_lower_prio_repeat / _delay) and run notify_master_rx_lower_pri. The driver decides what it runs.
   */
  | { type: 'master-rx-lower-priority'; source: string; priority: number }
  | { type: 'notify'; state: VrrpState; priority: number; reason: TransitionReason }
  | { type: 'discard'; reason: DiscardReason };

export interface Transition {
  from: VrrpState;
  to: VrrpState;
  reason: TransitionReason;
}

export interface StepResult {
  state: FsmState;
  effects: Effect[];
  transition?: Transition;
}

export function initialState(params: InstanceParameters): FsmState {
  return {
    params,
    state: 'INIT',
    effectivePriority: params.priority,
    masterAdverIntervalCentiseconds: params.advertIntervalCentiseconds,
    masterAddress: undefined,
    faults: [],
    preemptDelay: 'idle',
  };
}

/**
 * Skew_Time in microseconds. RFC 3768 §6.1: (256 - Priority) / 256 seconds. RFC 5798 §6.1 and RFC 9568 §6.1:
 * ((256 - Priority) * Master_Adver_Interval) / 256. Computed in microseconds so that a 10 ms interval with a
 * high priority never truncates to zero.
 */
export function skewTime(
  state: Pick<FsmState, 'params' | 'effectivePriority' | 'masterAdverIntervalCentiseconds'>,
): number {
  const weight = SKEW_DIVISOR - state.effectivePriority;
  if (state.params.version === 2) return Math.floor((weight * MICROSECONDS_PER_SECOND) / SKEW_DIVISOR);
  return Math.floor(
    (weight * state.masterAdverIntervalCentiseconds * MICROSECONDS_PER_CENTISECOND) / SKEW_DIVISOR,
  );
}

/**
 * Master_Down_Interval in microseconds: (3 * Master_Adver_Interval) + Skew_Time (RFC 5798 §6.1); in v2 the
 * router's own Advertisement_Interval, which must equal the master's (RFC 3768 §6.1, §7.1).
 */
export function masterDownInterval(
  state: Pick<FsmState, 'params' | 'effectivePriority' | 'masterAdverIntervalCentiseconds'>,
): number {
  const interval =
    state.params.version === 2
      ? state.params.advertIntervalCentiseconds
      : state.masterAdverIntervalCentiseconds;
  const adverts = state.params.masterDownAdverts ?? MASTER_DOWN_ADVERTS;
  return adverts * interval * MICROSECONDS_PER_CENTISECOND + skewTime(state);
}

function advertInterval(state: FsmState): number {
  return state.params.advertIntervalCentiseconds * MICROSECONDS_PER_CENTISECOND;
}

function hasPreemptDelay(state: FsmState): boolean {
  return state.params.preempt && state.params.preemptDelayMicroseconds > 0;
}

function isAddressOwner(state: FsmState): boolean {
  return state.params.priority === PRIORITY_OWNER;
}

/** The timers each state runs; leaving a state cancels the ones the next state does not run (carp_setrun). */
const TIMERS_OF: Record<VrrpState, readonly TimerName[]> = {
  INIT: [],
  BACKUP: ['master-down', 'preempt-delay'],
  MASTER: ['advert'],
  FAULT: [],
  STOPPED: [],
};

function cancelTimersLeaving(from: VrrpState, to: VrrpState): Effect[] {
  return TIMERS_OF[from]
    .filter((timer) => !TIMERS_OF[to].includes(timer))
    .map((timer) => ({ type: 'cancel-timer', timer }) as const);
}

/**
 * What entering each state does (FRR's vrrp_change_state_handlers): critical work first, hooks (the notify
 * effect) after, added by `transition`.
 */
const ENTER: Record<VrrpState, (state: FsmState) => Effect[]> = {
  INIT: () => [],
  // RFC 5798 §6.4.1 / §6.4.2 "Transition to the {Backup} state": Master_Down_Timer set to Master_Down_Interval.
  BACKUP: (state) => {
    const effects: Effect[] = [
      { type: 'arm-timer', timer: 'master-down', microseconds: masterDownInterval(state) },
    ];
    if (hasPreemptDelay(state)) {
      effects.push({
        type: 'arm-timer',
        timer: 'preempt-delay',
        microseconds: state.params.preemptDelayMicroseconds,
      });
    }
    return effects;
  },
  // RFC 5798 §6.4.1 / §6.4.2 (Master_Down_Timer fires): send an ADVERTISEMENT, broadcast gratuitous ARP /
  // unsolicited NA, set Adver_Timer. The VIPs are claimed first so that traffic drawn by the GARP is accepted.
  MASTER: (state) => [
    { type: 'claim-vips', acceptMode: state.params.acceptMode || isAddressOwner(state) },
    { type: 'send-advert', priority: state.effectivePriority },
    { type: 'garp' },
    { type: 'arm-timer', timer: 'advert', microseconds: advertInterval(state) },
  ],
  FAULT: () => [],
  STOPPED: () => [],
};

/** Moves to `to`, running exit work (timers, VIP release, farewell advert), entry work, then the notify hook. */
function transition(
  state: FsmState,
  to: VrrpState,
  reason: TransitionReason,
  options: { before?: Effect[]; farewell?: boolean; update?: Partial<FsmState> } = {},
): StepResult {
  const from = state.state;
  const next: FsmState = {
    ...state,
    ...options.update,
    state: to,
    masterAddress:
      to === 'MASTER' ? state.params.primaryAddress : (options.update?.masterAddress ?? undefined),
    preemptDelay: to === 'BACKUP' && hasPreemptDelay(state) ? 'running' : 'idle',
  };
  const effects: Effect[] = [...(options.before ?? []), ...cancelTimersLeaving(from, to)];
  if (from === 'MASTER') {
    // RFC 5798 §6.4.3 Shutdown: "Send an ADVERTISEMENT with Priority = 0" so a backup takes over after Skew_Time.
    if (options.farewell) effects.push({ type: 'send-advert', priority: PRIORITY_STOPPED });
    effects.push({ type: 'release-vips' });
  }
  effects.push(...ENTER[to](next));
  // An instance stopped before it started has nothing to report.
  if (!(from === 'INIT' && to === 'STOPPED'))
    effects.push({ type: 'notify', state: to, priority: next.effectivePriority, reason });
  return { state: next, effects, transition: { from, to, reason } };
}

function stay(state: FsmState, effects: Effect[] = []): StepResult {
  return { state, effects };
}

/** RFC 5798 §6.4.1: the owner becomes MASTER at once, every other router BACKUP. */
function start(state: FsmState, reason: 'startup' | 'fault-cleared'): StepResult {
  if (state.faults.length > 0) return transition(state, 'FAULT', 'fault-raised');
  const reset = { ...state, masterAdverIntervalCentiseconds: state.params.advertIntervalCentiseconds };
  if (isAddressOwner(state)) {
    return transition(reset, 'MASTER', reason === 'startup' ? 'startup-address-owner' : reason);
  }
  // RFC 5798 §6.4.1: "Set Master_Adver_Interval to Advertisement_Interval ... Set the Master_Down_Timer to
  // Master_Down_Interval ... Transition to the {Backup} state".
  return transition(reset, 'BACKUP', reason);
}

/** The sender wins over this router: a higher priority, or an equal one from a greater primary address. */
function senderWins(state: FsmState, priority: number, source: string): boolean {
  if (priority !== state.effectivePriority) return priority > state.effectivePriority;
  // RFC 5798 §6.4.3: "equal to the local Priority and the primary IPvX Address of the sender is greater than
  // the local primary IPvX Address (based on an unsigned integer comparison ... in network byte order)".
  return compareAddresses(source, state.params.primaryAddress) > 0;
}

/** An advert that passed the receive ladder (RFC 5798 §7.1 in `vrrp/receive.ts`) goes to the election. */
function receiveAdvert(state: FsmState, advert: AdvertSummary, source: string): StepResult {
  if (state.state === 'BACKUP') return receiveAsBackup(state, advert, source);
  if (state.state === 'MASTER') return receiveAsMaster(state, advert, source);
  // INIT, FAULT and STOPPED do not take part in the election.
  return stay(state);
}

function learnedInterval(state: FsmState, advert: AdvertSummary): number {
  return state.params.version === 3
    ? advert.advertIntervalCentiseconds
    : state.params.advertIntervalCentiseconds;
}

function receiveAsBackup(state: FsmState, advert: AdvertSummary, source: string): StepResult {
  if (advert.priority === PRIORITY_STOPPED) {
    // RFC 5798 §6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the Master_Down_Timer to
    // Skew_Time". The departing master hands over without the three-interval wait.
    return stay(state, [{ type: 'arm-timer', timer: 'master-down', microseconds: skewTime(state) }]);
  }
  const tolerated = state.preemptDelay === 'running';
  if (!state.params.preempt || advert.priority >= state.effectivePriority || tolerated) {
    // RFC 9568 §6.4.2: "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT is greater than or
    // equal to the local Priority, then: Set Master_Adver_Interval to Max Adver Interval contained in the
    // ADVERTISEMENT, Recompute the Skew_Time, Recompute the Master_Down_Interval, Set the Master_Down_Timer".
    // keepalived preempt_delay: a lower-priority master is also followed while the delay window runs.
    const next: FsmState = {
      ...state,
      masterAdverIntervalCentiseconds: learnedInterval(state, advert),
      masterAddress: source,
      // A master at least as good as this router ends a spent preempt_delay window: the next lower-priority
      // master gets a fresh delay.
      preemptDelay:
        state.preemptDelay === 'elapsed' && advert.priority >= state.effectivePriority
          ? 'idle'
          : state.preemptDelay,
    };
    return stay(next, [{ type: 'arm-timer', timer: 'master-down', microseconds: masterDownInterval(next) }]);
  }
  if (state.preemptDelay === 'idle' && hasPreemptDelay(state)) {
    // keepalived preempt_delay: the first sight of a lower-priority master opens the window instead of preempting.
    const next: FsmState = {
      ...state,
      masterAdverIntervalCentiseconds: learnedInterval(state, advert),
      masterAddress: source,
      preemptDelay: 'running',
    };
    return stay(next, [
      { type: 'arm-timer', timer: 'preempt-delay', microseconds: state.params.preemptDelayMicroseconds },
      { type: 'arm-timer', timer: 'master-down', microseconds: masterDownInterval(next) },
    ]);
  }
  // RFC 9568 §6.4.2: "else // preempt was true and priority was less than the local priority: Discard the
  // ADVERTISEMENT". The Master_Down_Timer then expires and this router preempts.
  return stay(state, [{ type: 'discard', reason: 'lower-priority' }]);
}

function receiveAsMaster(state: FsmState, advert: AdvertSummary, source: string): StepResult {
  if (advert.priority === PRIORITY_STOPPED) {
    // RFC 5798 §6.4.3: "If the Priority in the ADVERTISEMENT is zero, then: Send an ADVERTISEMENT, Reset the
    // Adver_Timer to Advertisement_Interval".
    return stay(state, [
      { type: 'send-advert', priority: state.effectivePriority },
      { type: 'arm-timer', timer: 'advert', microseconds: advertInterval(state) },
    ]);
  }
  if (senderWins(state, advert.priority, source)) {
    // RFC 5798 §6.4.3: "Cancel Adver_Timer, Set Master_Adver_Interval to Adver Interval contained in the
    // ADVERTISEMENT, Recompute the Skew_Time, Recompute the Master_Down_Interval, Set Master_Down_Timer to
    // Master_Down_Interval, Transition to the {Backup} state".
    const before: Effect[] = state.params.higherPrioritySendAdvert
      ? [{ type: 'send-advert', priority: state.effectivePriority }]
      : [];
    return transition(state, 'BACKUP', 'higher-priority-advert', {
      before,
      update: { masterAdverIntervalCentiseconds: learnedInterval(state, advert), masterAddress: source },
    });
  }
  // Two masters mean a healed split brain: keepalived announces the VIPs again and tells the scripts, with or
  // without lower_prio_no_advert.
  const healed: Effect = { type: 'master-rx-lower-priority', source, priority: advert.priority };
  if (state.params.lowerPriorityNoAdvert) {
    // RFC 3768 §6.4.3 (keepalived lower_prio_no_advert): "else: Discard the ADVERTISEMENT".
    return stay(state, [{ type: 'discard', reason: 'lower-priority' }, healed]);
  }
  // RFC 9568 §6.4.3: "Discard the ADVERTISEMENT, Send an ADVERTISEMENT immediately to assert the {Active} state
  // to the sending VRRP Router and to update any learning bridges with the correct Active VRRP Router path."
  return stay(state, [
    { type: 'discard', reason: 'lower-priority' },
    { type: 'send-advert', priority: state.effectivePriority },
    healed,
  ]);
}

function changePriority(state: FsmState, priority: number): StepResult {
  // The owner's priority is 255 whatever its tracking says (RFC 5798 §5.2.4: reserved for the owner).
  const effectivePriority = isAddressOwner(state) ? PRIORITY_OWNER : priority;
  if (effectivePriority === state.effectivePriority) return stay(state);
  const next: FsmState = { ...state, effectivePriority };
  // A master tells its peers at once, so a backup that now outranks it can preempt without waiting for the
  // next Adver_Timer; a backup's new Skew_Time applies from the next advert it hears.
  if (state.state === 'MASTER') return stay(next, [{ type: 'send-advert', priority: effectivePriority }]);
  return stay(next);
}

function raiseFault(state: FsmState, cause: string): StepResult {
  if (state.faults.includes(cause)) return stay(state);
  const next: FsmState = { ...state, faults: [...state.faults, cause] };
  if (state.state === 'BACKUP' || state.state === 'MASTER') {
    // keepalived leaves MASTER for FAULT with a priority-0 advert, so the backup does not wait for
    // Master_Down_Interval (RFC 5798 §6.4.3 Shutdown rule applied to a fault).
    return transition(next, 'FAULT', 'fault-raised', { farewell: true });
  }
  return stay(next);
}

function clearFault(state: FsmState, cause: string): StepResult {
  if (!state.faults.includes(cause)) return stay(state);
  const next: FsmState = { ...state, faults: state.faults.filter((fault) => fault !== cause) };
  if (state.state === 'FAULT' && next.faults.length === 0) return start(next, 'fault-cleared');
  return stay(next);
}

/**
 * RFC 5798 §1.6, Primary IP Address: "In IPv4, an IPv4 address selected from the set of real interface
 * addresses ... In IPv6, the link-local address of the interface": the interface appeared, or came back with
 * other addresses. It is this router's advert source and its tie-break (§6.4.3); as MASTER, the master's.
 */
function changePrimaryAddress(state: FsmState, address: string): StepResult {
  if (address === state.params.primaryAddress) return stay(state);
  return stay({
    ...state,
    params: { ...state.params, primaryAddress: address },
    masterAddress: state.state === 'MASTER' ? address : state.masterAddress,
  });
}

export function step(state: FsmState, input: Input): StepResult {
  if (state.state === 'STOPPED') return stay(state);
  switch (input.type) {
    case 'startup':
      return state.state === 'INIT' ? start(state, 'startup') : stay(state);
    case 'shutdown':
      // RFC 5798 §6.4.2 / §6.4.3 Shutdown: cancel the timers; a master sends an advert with priority 0.
      return transition(state, 'STOPPED', 'shutdown', { farewell: true });
    case 'advert-received':
      return receiveAdvert(state, input.advert, input.source);
    case 'master-down-expired':
      // RFC 5798 §6.4.2: "If the Master_Down_Timer fires, then: Send an ADVERTISEMENT, broadcast gratuitous
      // ARP / send unsolicited ND NA, Set the Adver_Timer, Transition to the {Master} state". A stale expiry
      // in another state changes nothing.
      if (state.state !== 'BACKUP') return stay(state);
      // keepalived vrrp_sync_group: members change together, so a member whose group-mate still hears a
      // master waits another Master_Down_Interval instead of splitting the group across two boxes.
      if (input.held) {
        return stay(state, [
          { type: 'arm-timer', timer: 'master-down', microseconds: masterDownInterval(state) },
        ]);
      }
      return transition(state, 'MASTER', 'master-down-expired');
    case 'group-master':
      // keepalived vrrp_sync_group: the group goes MASTER together, with the RFC 5798 §6.4.2 entry actions.
      return state.state === 'BACKUP' ? transition(state, 'MASTER', 'sync-group') : stay(state);
    case 'group-backup':
      // keepalived vrrp_sync_group: the group leaves MASTER together, as on a higher-priority advert
      // (RFC 5798 §6.4.3), with Master_Down_Timer armed from this member's own view.
      return state.state === 'MASTER' ? transition(state, 'BACKUP', 'sync-group') : stay(state);
    case 'advert-due':
      // RFC 5798 §6.4.3: "If the Adver_Timer fires, then: Send an ADVERTISEMENT, Reset the Adver_Timer".
      return state.state === 'MASTER'
        ? stay(state, [
            { type: 'send-advert', priority: state.effectivePriority },
            { type: 'arm-timer', timer: 'advert', microseconds: advertInterval(state) },
          ])
        : stay(state);
    case 'preempt-delay-expired':
      return state.state === 'BACKUP' && state.preemptDelay === 'running'
        ? stay({ ...state, preemptDelay: 'elapsed' })
        : stay(state);
    case 'priority-changed':
      return changePriority(state, input.priority);
    case 'fault-raised':
      return raiseFault(state, input.cause);
    case 'fault-cleared':
      return clearFault(state, input.cause);
    case 'primary-address':
      return changePrimaryAddress(state, input.address);
  }
}

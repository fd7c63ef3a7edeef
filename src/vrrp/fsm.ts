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
import {
  type BackupResponse,
  type CarpAdvertView,
  type CarpElectionView,
  type CarpFlavour,
  type MasterResponse,
  carpProfile,
} from './profile.js';
import { MICROSECONDS_PER_CENTISECOND, MICROSECONDS_PER_SECOND } from '../core/time.js';

export { MICROSECONDS_PER_CENTISECOND, MICROSECONDS_PER_SECOND } from '../core/time.js';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOPPED';

export type TimerName =
  | 'advert'
  | 'master-down'
  | 'preempt-delay'
  /** A planned handover's bound: the VIPs are released when it fires even if no new master was heard. */
  | 'handover'
  /** One more GARP / NA round a short while after a departing or rival master let go. */
  | 'reannounce'
  /** A lower-priority master (split brain) counts as gone when it has been silent this long. */
  | 'rival';

/** How a planned handover moves the VIPs (`tandem_handover`): keep them until the new master is heard, or not. */
export type HandoverMode = 'make-before-break' | 'break-before-make';

/** The fault cause of maintenance mode (`tandem maintenance on`): FAULT until the operator turns it off. */
export const MAINTENANCE_FAULT = 'maintenance';

/**
 * tandem extension: how long after a departing master let go (its release notice, or a rival's silence) the
 * new master announces the VIPs once more. Long enough for the old box's ARP replies given during the overlap
 * to have been answered, short enough that a client that missed the first round is not left on the old MAC.
 */
export const REANNOUNCE_DELAY_MICROSECONDS = 200_000;
/**
 * tandem extension: how long the old master keeps the VIPs after it heard the new master's first advert. The
 * new master sends its gratuitous ARP / NA just after that advert (RFC 5798 §6.4.2 lists them in that order);
 * the grace lets them reach the clients before the old box stops answering, even when the new master's process
 * is descheduled between the two packets.
 */
export const RELEASE_GRACE_MICROSECONDS = 100_000;
/** tandem extension: a lower-priority master silent for this many of its advert intervals has yielded. */
const RIVAL_SILENT_ADVERTS = 2;
/** The lowest backup priority (RFC 5798 §5.2.4): its Master_Down_Interval is the longest any backup waits. */
const LOWEST_BACKUP_PRIORITY = 1;

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
  /**
   * `tandem_handover`: a planned handover keeps the VIPs until the new master is heard (make-before-break,
   * tandem's default, set by the configuration) or releases them at once as RFC 5798 §6.4.3 and keepalived do
   * (break-before-make, also when absent).
   */
  handover?: HandoverMode;
  /**
   * Present when the instance speaks CARP (docs/carp.md): the CARP profile (`profile.ts`) then decides the
   * elections and the timers, `step` keeps everything else. `priority` is not compared (set it below 255).
   */
  carp?: CarpParameters;
}

/** A planned handover in progress: priority 0 sent, the VIPs still held until the new master is heard. */
export interface Handover {
  /** Where the instance goes once it has let go: STOPPED (stop), BACKUP (switchover), FAULT (maintenance). */
  readonly goal: 'STOPPED' | 'BACKUP' | 'FAULT';
  readonly reason: TransitionReason;
  /**
   * Release at the bound even if nobody took over. A stop always does; a switchover or maintenance only when
   * forced: otherwise it is called off at the bound and the instance stays MASTER (nobody lost anything).
   */
  readonly force: boolean;
  /** The new master, once heard: the VIPs go when the release grace (`RELEASE_GRACE_MICROSECONDS`) has passed. */
  readonly heard?: { masterAddress: string; masterAdverIntervalCentiseconds: number };
}

/** Another master heard while MASTER with a lower priority: a split brain, until it yields. */
export interface Rival {
  readonly address: string;
  readonly priority: number;
}

/** What a CARP virtual host adds to the parameters (carp(4), ucarp(8)). */
export interface CarpParameters {
  /** Whose rules apply where OpenBSD and ucarp differ (ties, the master-down formula, reasserting). */
  flavour: CarpFlavour;
  /** Seconds, 0-255. */
  advbase: number;
  /** 1/256 s, 0-254. */
  advskew: number;
  /** ucarp `--deadratio`; 3 for carp(4). */
  deadRatio: number;
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
  /**
   * BACKUP heard the master's priority-0 advert and runs Master_Down_Timer at Skew_Time (RFC 5798 §6.4.2): its
   * expiry is a handover (`priority-zero-received`), not a master that went silent (`master-down-expired`).
   */
  readonly masterLeft?: boolean;
  /** tandem extension: a make-before-break handover in progress (still MASTER). */
  readonly handover?: Handover | undefined;
  /** tandem extension: after a switchover, lower-priority masters are followed until the operator resumes. */
  readonly yielded?: boolean;
  /** tandem extension: the other master of a split brain, while it lasts. */
  readonly rival?: Rival | undefined;
  /** CARP: the demotion counter carried in this router's adverts (tracking raises it); absent for VRRP. */
  readonly demote?: number;
}

export type TransitionReason =
  | 'startup'
  | 'startup-address-owner'
  | 'master-down-expired'
  /** Master_Down_Timer expired after the master's priority-0 advert (a handover, not a crash). */
  | 'priority-zero-received'
  | 'higher-priority-advert'
  | 'fault-raised'
  | 'fault-cleared'
  | 'sync-group'
  | 'shutdown'
  /** tandem extension: the operator handed over (`tandem switchover`). */
  | 'switchover'
  /** tandem extension: the operator put the instance in maintenance (`tandem maintenance on`). */
  | 'maintenance'
  | CarpTransitionReason;

/** CARP's reasons (`profile.ts`): a BACKUP taking over at once, a MASTER yielding to a better master. */
export type CarpTransitionReason =
  | Exclude<Extract<BackupResponse, { action: 'take-over' }>['reason'], 'stop-notice'>
  | Extract<MasterResponse, { action: 'yield' }>['reason'];

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
  /**
   * CARP: the advert's advbase, advskew and demote, which the CARP profile compares. `priority` is then only
   * what the driver counts: 0 for a bow-out, non-zero otherwise.
   */
  carp?: CarpAdvertView;
}

export type Input =
  | { type: 'startup' }
  /** `planned`: a stop the operator asked for (SIGTERM), which hands over make-before-break when configured. */
  | { type: 'shutdown'; planned?: boolean }
  /** tandem extension: hand over to a backup now and stay BACKUP (`tandem switchover`). */
  | { type: 'switchover'; force?: boolean }
  /** tandem extension: enter (hand over, then FAULT) or leave maintenance (`tandem maintenance on|off`). */
  | { type: 'maintenance'; on: boolean; force?: boolean }
  /** tandem extension: the operator lets a switched-over instance preempt again. */
  | { type: 'resume' }
  | { type: 'handover-expired' }
  | { type: 'reannounce-due' }
  | { type: 'rival-silent' }
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
  /** CARP: the demotion counter changed (tracking). */
  | { type: 'demote-changed'; demote: number }
  | { type: 'fault-raised'; cause: string }
  | { type: 'fault-cleared'; cause: string }
  /** The interface's primary address (the advert source) was chosen or changed. */
  | { type: 'primary-address'; address: string };

export type Effect =
  /** CARP: priority 0 is the bow-out; `demote` is the counter the advert carries. */
  | { type: 'send-advert'; priority: number; demote?: number }
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
  | { type: 'discard'; reason: DiscardReason }
  /** tandem extension: another master heard while MASTER (a split brain), or its end. */
  | { type: 'split-brain'; source: string; priority: number }
  | { type: 'split-brain-resolved'; source: string; how: 'yielded' | 'silent' | 'left-master' }
  /** tandem extension: nobody took over within the bound; the switchover or maintenance was called off. */
  | { type: 'handover-aborted'; goal: Handover['goal'] };

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
    ...(params.carp ? { demote: 0 } : {}),
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
  if (state.params.carp) return carpProfile.masterDownInterval(carpView(state));
  const interval =
    state.params.version === 2
      ? state.params.advertIntervalCentiseconds
      : state.masterAdverIntervalCentiseconds;
  const adverts = state.params.masterDownAdverts ?? MASTER_DOWN_ADVERTS;
  return adverts * interval * MICROSECONDS_PER_CENTISECOND + skewTime(state);
}

function advertInterval(state: FsmState): number {
  if (state.params.carp) return carpProfile.advertInterval(carpView(state));
  return state.params.advertIntervalCentiseconds * MICROSECONDS_PER_CENTISECOND;
}

function hasPreemptDelay(state: FsmState): boolean {
  return state.params.preempt && state.params.preemptDelayMicroseconds > 0;
}

function isAddressOwner(state: FsmState): boolean {
  // CARP has no address owner (ip_carp.c carp_setrun: INIT always goes to BACKUP).
  return state.params.priority === PRIORITY_OWNER && !state.params.carp;
}

function makesBeforeBreak(state: FsmState): boolean {
  return state.params.handover === 'make-before-break';
}

/**
 * tandem extension: the bound of a make-before-break handover, the Master_Down_Interval (RFC 5798 §6.1) of the
 * lowest possible backup priority: the longest any backup waits before it takes over, even when every priority-0
 * advert was lost.
 */
export function handoverBound(state: Pick<FsmState, 'params'>): number {
  return masterDownInterval({
    params: state.params,
    effectivePriority: LOWEST_BACKUP_PRIORITY,
    masterAdverIntervalCentiseconds: state.params.advertIntervalCentiseconds,
  });
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
  options: {
    before?: Effect[];
    farewell?: boolean;
    releaseNotice?: boolean;
    update?: Partial<FsmState>;
  } = {},
): StepResult {
  const from = state.state;
  const next: FsmState = {
    ...state,
    ...options.update,
    state: to,
    masterAddress:
      to === 'MASTER' ? state.params.primaryAddress : (options.update?.masterAddress ?? undefined),
    preemptDelay: to === 'BACKUP' && hasPreemptDelay(state) ? 'running' : 'idle',
    masterLeft: false,
    handover: undefined,
    rival: undefined,
    yielded: to === 'MASTER' ? false : (options.update?.yielded ?? state.yielded ?? false),
  };
  const effects: Effect[] = [...(options.before ?? []), ...cancelTimersLeaving(from, to)];
  // The tandem extension timers of a master run only while their state does (a late `reannounce-due` outside
  // MASTER does nothing).
  if (state.handover) effects.push({ type: 'cancel-timer', timer: 'handover' });
  if (state.rival) effects.push({ type: 'cancel-timer', timer: 'rival' });
  if (from === 'MASTER') {
    // RFC 5798 §6.4.3 Shutdown: "Send an ADVERTISEMENT with Priority = 0" so a backup takes over after Skew_Time.
    // A make-before-break handover sent it already, when it began.
    if (options.farewell && !state.handover)
      effects.push({ type: 'send-advert', priority: PRIORITY_STOPPED });
    effects.push({ type: 'release-vips' });
    // tandem extension (make-before-break): once released, one more priority 0 tells the master that took over
    // that this box let go, so it announces the VIPs once more (`receiveAsMaster`).
    if (options.releaseNotice) effects.push({ type: 'send-advert', priority: PRIORITY_STOPPED });
    if (state.rival) {
      effects.push({ type: 'split-brain-resolved', source: state.rival.address, how: 'left-master' });
    }
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

/**
 * tandem extension (make-before-break, docs/operations.md "Planned maintenance"): a planned handover sends the
 * priority-0 advert of RFC 5798 §6.4.3 but keeps the VIPs, so clients that have not yet followed the new
 * master's GARP are still served; `completeHandover` lets go when the new master is heard or the bound passes.
 */
function beginHandover(state: FsmState, handover: Handover): StepResult {
  if (state.handover) return stay({ ...state, handover });
  return stay({ ...state, handover }, [
    { type: 'send-advert', priority: PRIORITY_STOPPED },
    { type: 'arm-timer', timer: 'advert', microseconds: advertInterval(state) },
    { type: 'arm-timer', timer: 'handover', microseconds: handoverBound(state) },
  ]);
}

/**
 * tandem extension: the end of a planned handover, when the new master's first advert is heard (`heard`) or the
 * bound passed: release the VIPs, then (when heard) one more priority 0 as the release notice, then the state
 * the handover was for, with its hooks after the release.
 */
function completeHandover(state: FsmState, heard: Partial<FsmState> | undefined): StepResult {
  const handover = state.handover ?? { goal: 'STOPPED', reason: 'shutdown', force: true };
  const options = { farewell: true, releaseNotice: heard !== undefined, update: heard ?? {} };
  if (handover.goal === 'FAULT') {
    const next = { ...state, faults: [...state.faults, MAINTENANCE_FAULT] };
    return transition(next, 'FAULT', handover.reason, options);
  }
  if (handover.goal === 'BACKUP') {
    // Back as BACKUP, without preempting the new master until preempt_delay allows or the operator resumes.
    const update = { ...options.update, yielded: !hasPreemptDelay(state) };
    return transition(state, 'BACKUP', handover.reason, { ...options, update });
  }
  return transition(state, 'STOPPED', handover.reason, options);
}

/** Back to a plain MASTER after a handover was called off: its own priority again, and the VIPs announced. */
function resumeMaster(state: FsmState): Effect[] {
  return [
    { type: 'send-advert', priority: state.effectivePriority },
    { type: 'arm-timer', timer: 'advert', microseconds: advertInterval(state) },
    { type: 'garp' },
  ];
}

/** A planned move away from MASTER: make-before-break when configured, else at once (RFC 5798 §6.4.3). */
function handOver(
  state: FsmState,
  goal: Handover['goal'],
  reason: TransitionReason,
  force: boolean,
): StepResult {
  if (state.state === 'MASTER' && makesBeforeBreak(state))
    return beginHandover(state, { goal, reason, force });
  if (goal === 'STOPPED') return transition(state, 'STOPPED', reason, { farewell: true });
  if (goal === 'BACKUP') {
    return state.state === 'MASTER'
      ? transition(state, 'BACKUP', reason, { farewell: true, update: { yielded: !hasPreemptDelay(state) } })
      : stay(state);
  }
  const next = { ...state, faults: [...state.faults, MAINTENANCE_FAULT] };
  if (state.state === 'MASTER' || state.state === 'BACKUP') {
    return transition(next, 'FAULT', reason, { farewell: true });
  }
  return stay(next);
}

/** `tandem maintenance on|off` (tandem extension): FAULT with the cause `maintenance` until turned off. */
function maintenance(state: FsmState, on: boolean, force: boolean): StepResult {
  if (!on) {
    if (state.handover?.goal === 'FAULT') {
      // Turned off before the handover ended: stay MASTER and say so at the own priority again.
      return stay({ ...state, handover: undefined }, [
        { type: 'cancel-timer', timer: 'handover' },
        ...resumeMaster(state),
      ]);
    }
    return clearFault(state, MAINTENANCE_FAULT);
  }
  if (state.faults.includes(MAINTENANCE_FAULT) || state.handover?.goal === 'FAULT') return stay(state);
  return handOver(state, 'FAULT', 'maintenance', force);
}

/**
 * tandem extension: the bound passed and no new master was heard. A stop (or a forced move) lets go anyway; a
 * switchover or maintenance is called off instead, since releasing would leave the VIPs with nobody: the
 * instance stays MASTER, advertises its priority again and re-announces (VRRP backups are silent, so this is
 * the first moment anyone can know that none is there).
 */
function handoverExpired(state: FsmState): StepResult {
  if (state.state !== 'MASTER' || !state.handover) return stay(state);
  if (state.handover.heard) return completeHandover(state, state.handover.heard);
  if (state.handover.force) return completeHandover(state, undefined);
  return stay({ ...state, handover: undefined }, [
    { type: 'handover-aborted', goal: state.handover.goal },
    ...resumeMaster(state),
  ]);
}

/** tandem extension: announce the VIPs now and once more after a short delay. */
function reannounce(): Effect[] {
  return [
    { type: 'garp' },
    { type: 'arm-timer', timer: 'reannounce', microseconds: REANNOUNCE_DELAY_MICROSECONDS },
  ];
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
    // tandem extension: a priority 0 from a router other than the master this backup follows is not that master
    // leaving (it is the release notice of a make-before-break handover, sent after a new master took over).
    if (state.masterAddress !== undefined && source !== state.masterAddress) return stay(state);
    // RFC 5798 §6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the Master_Down_Timer to
    // Skew_Time". The departing master hands over without the three-interval wait.
    return stay({ ...state, masterLeft: true }, [
      { type: 'arm-timer', timer: 'master-down', microseconds: skewTime(state) },
    ]);
  }
  // tandem extension: after `tandem switchover` a lower-priority master is followed until the operator resumes.
  const tolerated = state.preemptDelay === 'running' || state.yielded === true;
  if (!state.params.preempt || advert.priority >= state.effectivePriority || tolerated) {
    // RFC 9568 §6.4.2: "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT is greater than or
    // equal to the local Priority, then: Set Master_Adver_Interval to Max Adver Interval contained in the
    // ADVERTISEMENT, Recompute the Skew_Time, Recompute the Master_Down_Interval, Set the Master_Down_Timer".
    // keepalived preempt_delay: a lower-priority master is also followed while the delay window runs.
    const masterAdverIntervalCentiseconds = learnedInterval(state, advert);
    // A master at least as good as this router ends a spent preempt_delay window: the next lower-priority
    // master gets a fresh delay.
    const preemptDelay =
      state.preemptDelay === 'elapsed' && advert.priority >= state.effectivePriority
        ? 'idle'
        : state.preemptDelay;
    // The same master again (every interval): the state itself, unchanged, so the driver can tell (instance.ts).
    const next: FsmState =
      state.masterAdverIntervalCentiseconds === masterAdverIntervalCentiseconds &&
      state.masterAddress === source &&
      state.preemptDelay === preemptDelay &&
      state.masterLeft !== true
        ? state
        : {
            ...state,
            masterAdverIntervalCentiseconds,
            masterAddress: source,
            preemptDelay,
            masterLeft: false,
          };
    return stay(next, [{ type: 'arm-timer', timer: 'master-down', microseconds: masterDownInterval(next) }]);
  }
  if (state.preemptDelay === 'idle' && hasPreemptDelay(state)) {
    // keepalived preempt_delay: the first sight of a lower-priority master opens the window instead of preempting.
    const next: FsmState = {
      ...state,
      masterAdverIntervalCentiseconds: learnedInterval(state, advert),
      masterAddress: source,
      masterLeft: false,
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
  if (state.handover) {
    // tandem extension (make-before-break): after this router's priority 0, the first advert of another router
    // is the new master's: let go after the release grace. Another router's priority 0 (it leaves too), or a
    // later advert, changes nothing.
    if (advert.priority === PRIORITY_STOPPED || state.handover.heard) return stay(state);
    const heard = { masterAdverIntervalCentiseconds: learnedInterval(state, advert), masterAddress: source };
    return stay({ ...state, handover: { ...state.handover, heard } }, [
      { type: 'arm-timer', timer: 'handover', microseconds: RELEASE_GRACE_MICROSECONDS },
    ]);
  }
  if (advert.priority === PRIORITY_STOPPED) {
    // RFC 5798 §6.4.3: "If the Priority in the ADVERTISEMENT is zero, then: Send an ADVERTISEMENT, Reset the
    // Adver_Timer to Advertisement_Interval". tandem extension: the sender let go of the VIPs (a make-before-break
    // release notice, or a split-brain loser yielding): announce them again, now and a short while later, so no
    // client stays on the sender's MAC.
    const resolved: Effect[] =
      state.rival?.address === source
        ? [
            { type: 'split-brain-resolved', source, how: 'yielded' },
            { type: 'cancel-timer', timer: 'rival' },
          ]
        : [];
    return stay(state.rival?.address === source ? { ...state, rival: undefined } : state, [
      ...resolved,
      { type: 'send-advert', priority: state.effectivePriority },
      { type: 'arm-timer', timer: 'advert', microseconds: advertInterval(state) },
      ...reannounce(),
    ]);
  }
  if (senderWins(state, advert.priority, source)) {
    // RFC 5798 §6.4.3: "Cancel Adver_Timer, Set Master_Adver_Interval to Adver Interval contained in the
    // ADVERTISEMENT, Recompute the Skew_Time, Recompute the Master_Down_Interval, Set Master_Down_Timer to
    // Master_Down_Interval, Transition to the {Backup} state".
    const before: Effect[] = state.params.higherPrioritySendAdvert
      ? [{ type: 'send-advert', priority: state.effectivePriority }]
      : [];
    // tandem extension (make-before-break): the release notice tells the winner to announce once more.
    return transition(state, 'BACKUP', 'higher-priority-advert', {
      before,
      releaseNotice: makesBeforeBreak(state),
      update: { masterAdverIntervalCentiseconds: learnedInterval(state, advert), masterAddress: source },
    });
  }
  // tandem extension: a lower-priority advert heard as MASTER comes from another master, a split brain: said once
  // per rival, and watched until the rival yields (its priority 0) or falls silent (`rival-silent`).
  const rival: Rival = { address: source, priority: advert.priority };
  const noticed: Effect[] =
    state.rival?.address === source ? [] : [{ type: 'split-brain', source, priority: advert.priority }];
  const watch: Effect = {
    type: 'arm-timer',
    timer: 'rival',
    microseconds: RIVAL_SILENT_ADVERTS * learnedInterval(state, advert) * MICROSECONDS_PER_CENTISECOND,
  };
  const next: FsmState = { ...state, rival };
  // Two masters mean a healed split brain: keepalived announces the VIPs again and tells the scripts
  // (notify_master_rx_lower_pri), with or without lower_prio_no_advert.
  const healed: Effect = { type: 'master-rx-lower-priority', source, priority: advert.priority };
  if (state.params.lowerPriorityNoAdvert) {
    // RFC 3768 §6.4.3 (keepalived lower_prio_no_advert): "else: Discard the ADVERTISEMENT".
    return stay(next, [{ type: 'discard', reason: 'lower-priority' }, ...noticed, healed, watch]);
  }
  // RFC 9568 §6.4.3: "Discard the ADVERTISEMENT, Send an ADVERTISEMENT immediately to assert the {Active} state
  // to the sending VRRP Router and to update any learning bridges with the correct Active VRRP Router path."
  return stay(next, [
    { type: 'discard', reason: 'lower-priority' },
    ...noticed,
    { type: 'send-advert', priority: state.effectivePriority },
    healed,
    watch,
  ]);
}

function changePriority(state: FsmState, priority: number): StepResult {
  // The owner's priority is 255 whatever its tracking says (RFC 5798 §5.2.4: reserved for the owner).
  const effectivePriority = isAddressOwner(state) ? PRIORITY_OWNER : priority;
  if (effectivePriority === state.effectivePriority) return stay(state);
  const next: FsmState = { ...state, effectivePriority };
  // A master tells its peers at once, so a backup that now outranks it can preempt without waiting for the
  // next Adver_Timer; a backup's new Skew_Time applies from the next advert it hears. A master handing over
  // keeps saying priority 0.
  if (state.state === 'MASTER' && !state.handover)
    return stay(next, [{ type: 'send-advert', priority: effectivePriority }]);
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
  if (state.params.carp) return carpStep(state, input);
  return commonStep(state, input);
}

/** The rules VRRP and CARP share (states, faults, timers as inputs); elections and timers ask the profile. */
function commonStep(state: FsmState, input: Input): StepResult {
  if (state.state === 'STOPPED') return stay(state);
  switch (input.type) {
    case 'startup':
      return state.state === 'INIT' ? start(state, 'startup') : stay(state);
    case 'shutdown':
      // RFC 5798 §6.4.2 / §6.4.3 Shutdown: cancel the timers; a master sends an advert with priority 0. A planned
      // stop with make-before-break keeps the VIPs until the new master is heard (tandem extension).
      if (input.planned) return handOver(state, 'STOPPED', 'shutdown', true);
      return transition(state, 'STOPPED', 'shutdown', { farewell: true });
    case 'switchover':
      return handOver(state, 'BACKUP', 'switchover', input.force === true);
    case 'maintenance':
      return maintenance(state, input.on, input.force === true);
    case 'resume':
      return state.yielded ? stay({ ...state, yielded: false }) : stay(state);
    case 'handover-expired':
      return handoverExpired(state);
    case 'reannounce-due':
      return state.state === 'MASTER' && !state.handover ? stay(state, [{ type: 'garp' }]) : stay(state);
    case 'rival-silent':
      // tandem extension: the lower-priority master stopped advertising: it yielded; announce the VIPs again.
      if (state.state !== 'MASTER' || !state.rival) return stay(state);
      return stay({ ...state, rival: undefined }, [
        { type: 'split-brain-resolved', source: state.rival.address, how: 'silent' },
        ...reannounce(),
      ]);
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
      // The reason tells a handover (the master's priority-0 advert shortened the timer) from a silent master.
      return transition(state, 'MASTER', state.masterLeft ? 'priority-zero-received' : 'master-down-expired');
    case 'group-master':
      // keepalived vrrp_sync_group: the group goes MASTER together, with the RFC 5798 §6.4.2 entry actions.
      return state.state === 'BACKUP' ? transition(state, 'MASTER', 'sync-group') : stay(state);
    case 'group-backup':
      // keepalived vrrp_sync_group: the group leaves MASTER together, as on a higher-priority advert
      // (RFC 5798 §6.4.3), with Master_Down_Timer armed from this member's own view.
      return state.state === 'MASTER' ? transition(state, 'BACKUP', 'sync-group') : stay(state);
    case 'advert-due':
      // RFC 5798 §6.4.3: "If the Adver_Timer fires, then: Send an ADVERTISEMENT, Reset the Adver_Timer". During a
      // make-before-break handover the advert says priority 0 again, in case the first was lost (tandem extension).
      return state.state === 'MASTER'
        ? stay(state, [
            { type: 'send-advert', priority: state.handover ? PRIORITY_STOPPED : state.effectivePriority },
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
    case 'demote-changed':
      // Demotion is CARP's (carpStep); a VRRP router's tracking moves its priority instead.
      return stay(state);
  }
}

// CARP (docs/carp.md): the same states, effects and timers as inputs; the CARP profile (`profile.ts`) decides
// who wins and how long each timer runs, citing ip_carp.c and ucarp's carp.c.

/** ip_carp.h: the demotion counter is one octet; a bow-out carries the highest (docs/carp.md, "Bow-out"). */
export const CARP_DEMOTE_MAX = 255;

function carpView(
  state: Pick<FsmState, 'params'> & { readonly demote?: number | undefined },
): CarpElectionView {
  const carp = state.params.carp as CarpParameters;
  return {
    flavour: carp.flavour,
    advbase: carp.advbase,
    advskew: carp.advskew,
    deadRatio: carp.deadRatio,
    demote: state.demote ?? 0,
    preempt: state.params.preempt,
    primaryAddress: state.params.primaryAddress,
  };
}

function carpStep(state: FsmState, input: Input): StepResult {
  if (state.state === 'STOPPED') return stay(state);
  switch (input.type) {
    case 'advert-received':
      return carpAdverts(carpReceive(state, input.advert, input.source));
    case 'demote-changed':
      return carpAdverts(changeDemote(state, input.demote));
    case 'priority-changed':
      // CARP carries no priority: tracking moves the demotion counter (`demote-changed`).
      return stay(state);
    default:
      return carpAdverts(commonStep(state, input));
  }
}

/**
 * Every CARP advert carries the demotion counter (ip_carp.c carp_send_ad: `ch.carp_demote = carp_demote`). The
 * leaving master's advert (priority 0 in the shared effects: shutdown, FAULT) is the bow-out, sent with the
 * highest demotion as well as advbase/advskew 255, so that an OpenBSD backup takes over through its demotion
 * rule and ucarp through "going to time out", each at once and with or without preemption.
 */
function carpAdverts(result: StepResult): StepResult {
  if (!result.effects.some((effect) => effect.type === 'send-advert')) return result;
  const demote = result.state.demote ?? 0;
  return {
    ...result,
    effects: result.effects.map((effect) =>
      effect.type === 'send-advert'
        ? { ...effect, demote: effect.priority === PRIORITY_STOPPED ? CARP_DEMOTE_MAX : demote }
        : effect,
    ),
  };
}

function carpReceive(state: FsmState, advert: AdvertSummary, source: string): StepResult {
  // A CARP instance is only ever handed CARP adverts (the socket demultiplexes by header, protocol112.ts).
  if (!advert.carp) return stay(state);
  if (state.state === 'BACKUP') return carpAsBackup(state, advert.carp, source);
  if (state.state === 'MASTER') return carpAsMaster(state, advert.carp, source);
  // INIT, FAULT and STOPPED do not take part in the election (ip_carp.c carp_proto_input_c: INIT ignores).
  return stay(state);
}

function carpAsBackup(state: FsmState, advert: CarpAdvertView, source: string): StepResult {
  const response = carpProfile.asBackup(carpView(state), advert, source);
  switch (response.action) {
    case 'take-over':
      // ip_carp.c carp_proto_input_c, BACKUP: preempting a slower master, a demoted one, one that will time out,
      // or a bow-out: carp_master_down() at once (afterMicroseconds 0), else after the given delay.
      if (response.afterMicroseconds > 0)
        return stay(state, [
          { type: 'arm-timer', timer: 'master-down', microseconds: response.afterMicroseconds },
        ]);
      return transition(state, 'MASTER', response.reason === 'stop-notice' ? 'bow-out' : response.reason);
    case 'follow': {
      // ip_carp.c / carp.c: "Otherwise, we reset the counter and wait for the next advertisement".
      const next: FsmState = { ...state, masterAddress: source };
      return stay(next, [
        { type: 'arm-timer', timer: 'master-down', microseconds: masterDownInterval(next) },
      ]);
    }
    case 'ignore':
      return stay(state, [{ type: 'discard', reason: 'lower-priority' }]);
  }
}

function carpAsMaster(state: FsmState, advert: CarpAdvertView, source: string): StepResult {
  const response = carpProfile.asMaster(carpView(state), advert, source);
  switch (response.action) {
    case 'yield': {
      // ip_carp.c carp_proto_input_c, MASTER: a more frequent master whose demotion is not higher, or one whose
      // demotion is lower: carp_set_state(BACKUP), carp_setrun (master down armed by ENTER.BACKUP). ucarp sends
      // one more advert first ("to be really sure the new master knows that it has to reassert control").
      const before: Effect[] = response.announceFirst
        ? [{ type: 'send-advert', priority: state.effectivePriority }]
        : [];
      return transition(state, 'BACKUP', response.reason, { before, update: { masterAddress: source } });
    }
    case 'hold':
      // ip_carp.c: a slower or more demoted master is ignored; ucarp's carp.c sends a gratuitous ARP to win the
      // segment back. Counted as an election discard, as VRRP's lower-priority master.
      return stay(state, [
        { type: 'discard', reason: 'lower-priority' },
        ...(response.reassert ? [{ type: 'garp' } as const] : []),
      ]);
    case 'answer-stop':
      return stay(state, [
        { type: 'send-advert', priority: state.effectivePriority },
        { type: 'arm-timer', timer: 'advert', microseconds: advertInterval(state) },
      ]);
  }
}

/**
 * Tracking moved the demotion counter (OpenBSD carp_group_demote_adj). A MASTER advertises at once, so that a
 * less demoted backup takes over ("Take over masters advertising with a higher demote count, regardless of
 * CARPCTL_PREEMPT") without waiting for the next interval.
 */
function changeDemote(state: FsmState, demote: number): StepResult {
  const clamped = Math.min(CARP_DEMOTE_MAX, Math.max(0, Math.trunc(demote)));
  if (clamped === (state.demote ?? 0)) return stay(state);
  const next: FsmState = { ...state, demote: clamped };
  if (state.state === 'MASTER')
    return stay(next, [{ type: 'send-advert', priority: state.effectivePriority }]);
  return stay(next);
}

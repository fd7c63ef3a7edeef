/**
 * Protocol profiles: what the pure state machine asks of the protocol it speaks (DESIGN.md, "CARP is a protocol
 * profile, not a second state machine"). A profile decides who wins an election and how long each timer runs;
 * `step` keeps the states, the effects and everything else. Two profiles:
 *
 *   VRRP (RFC 3768, RFC 5798 with RFC 9568): the higher priority wins, then the higher primary address;
 *     Master_Down_Interval = 3 x Master_Adver_Interval + Skew_Time. It reproduces what fsm.ts computes today
 *     (skewTime, masterDownInterval and its private senderWins), which a later step makes fsm.ts take from here.
 *   CARP (OpenBSD ip_carp.c, FreeBSD ip_carp.c, ucarp carp.c): the lower demotion wins, then the shorter
 *     advbase + advskew/256; master down after 3 intervals (OpenBSD) or deadratio x advbase + advskew/256
 *     (ucarp). Where OpenBSD and ucarp disagree (ties, and how master down counts the skew) the `flavour` picks
 *     whose rule applies, so that tandem behaves on the wire like the peer it stands in for.
 *
 * Pure: no Node import, no clock. Times are microseconds. Sources and quotes: docs/carp.md.
 */
import { compareAddresses, parseIPv4 } from './address.js';
import { type CarpAdvertisement, isBowOut } from './carp.js';
import type { VrrpAdvertisement, VrrpVersion } from './packet.js';

export type Microseconds = number;

/** What a BACKUP does with an advertisement it accepted from another router. */
export type BackupResponse =
  /** Accept the sender as master and re-arm Master_Down_Timer (RFC 5798 §6.4.2, ip_carp.c carp_setrun). */
  | { action: 'follow'; reason: 'master-at-least-as-good' | 'preempt-off' | 'master-alive' }
  /** Discard; Master_Down_Timer runs out and this router preempts then (RFC 5798 §6.4.2 "Discard"). */
  | { action: 'ignore'; reason: 'lower-priority' }
  /** Become MASTER after `afterMicroseconds` (0: now, as ip_carp.c carp_master_down). */
  | {
      action: 'take-over';
      afterMicroseconds: Microseconds;
      reason: 'stop-notice' | 'bow-out' | 'preempt-slower-master' | 'demoted-master' | 'master-will-time-out';
    };

/** What a MASTER does with an advertisement from another master. */
export type MasterResponse =
  /** Become BACKUP; `announceFirst`: send one advert before (keepalived higher_prio_send_advert, ucarp). */
  | {
      action: 'yield';
      announceFirst: boolean;
      reason:
        | 'higher-priority'
        | 'equal-priority-higher-address'
        | 'lower-demotion'
        | 'more-frequent-master'
        | 'equal-interval'
        | 'equal-interval-lower-address';
    }
  /** Stay MASTER; `reassert`: tell the other one (VRRP: advert and GARP; ucarp: GARP). */
  | {
      action: 'hold';
      reassert: boolean;
      reason:
        | 'lower-priority'
        | 'equal-priority-lower-address'
        | 'higher-demotion'
        | 'less-frequent-master'
        | 'equal-interval-higher-address';
    }
  /** The other master is leaving: answer at once (RFC 5798 §6.4.3, priority 0). */
  | { action: 'answer-stop'; reason: 'stop-notice' };

export interface ProtocolProfile<Local, Advert> {
  readonly protocol: 'vrrp' | 'carp';
  /** Whether a router starts as MASTER without an election (the VRRP address owner). */
  startsAsMaster(local: Local): boolean;
  /** How often a MASTER advertises. */
  advertInterval(local: Local): Microseconds;
  /** How long a BACKUP hears nothing before it takes over. */
  masterDownInterval(local: Local): Microseconds;
  /** A master's last advert before it leaves (VRRP priority 0, CARP bow-out). */
  isStopNotice(advert: Advert): boolean;
  asBackup(local: Local, advert: Advert, source: string): BackupResponse;
  asMaster(local: Local, advert: Advert, source: string): MasterResponse;
}

/** Microseconds in a second and in a centisecond (the unit of VRRPv3 intervals, RFC 5798 §5.2.7). */
export const MICROSECONDS_PER_SECOND = 1_000_000;
export const MICROSECONDS_PER_CENTISECOND = 10_000;

// VRRP.

/** RFC 5798 §5.2.4: the address owner's priority; 0 means "the master stopped". */
const VRRP_PRIORITY_OWNER = 255;
const VRRP_PRIORITY_STOPPED = 0;
/** RFC 3768 §6.1 / RFC 5798 §6.1: Skew_Time divides by 256. */
const VRRP_SKEW_DIVISOR = 256;
/** RFC 5798 §6.1: Master_Down_Interval is three advertisement intervals plus Skew_Time. */
const VRRP_MASTER_DOWN_ADVERTS = 3;

/** What the VRRP profile reads of a router: a subset of fsm.ts's FsmState. */
export interface VrrpElectionView {
  readonly params: {
    readonly version: VrrpVersion;
    readonly priority: number;
    readonly advertIntervalCentiseconds: number;
    readonly preempt: boolean;
    readonly primaryAddress: string;
    readonly lowerPriorityNoAdvert: boolean;
    readonly higherPrioritySendAdvert: boolean;
  };
  readonly effectivePriority: number;
  readonly masterAdverIntervalCentiseconds: number;
}

export type VrrpAdvertView = Pick<VrrpAdvertisement, 'priority'>;

/**
 * Skew_Time. RFC 3768 §6.1: (256 - Priority) / 256 seconds. RFC 5798 §6.1 and RFC 9568 §6.1:
 * ((256 - Priority) * Master_Adver_Interval) / 256, in microseconds so that a 10 ms interval never truncates to 0.
 */
export function vrrpSkewTime(
  local: Pick<VrrpElectionView, 'effectivePriority' | 'masterAdverIntervalCentiseconds'> & {
    params: Pick<VrrpElectionView['params'], 'version'>;
  },
): number {
  const weight = VRRP_SKEW_DIVISOR - local.effectivePriority;
  if (local.params.version === 2) return Math.floor((weight * MICROSECONDS_PER_SECOND) / VRRP_SKEW_DIVISOR);
  return Math.floor(
    (weight * local.masterAdverIntervalCentiseconds * MICROSECONDS_PER_CENTISECOND) / VRRP_SKEW_DIVISOR,
  );
}

/**
 * Master_Down_Interval: (3 * Master_Adver_Interval) + Skew_Time (RFC 5798 §6.1); in v2 the router's own
 * Advertisement_Interval, which must equal the master's (RFC 3768 §6.1, §7.1).
 */
function vrrpMasterDownInterval(local: VrrpElectionView): number {
  const interval =
    local.params.version === 2
      ? local.params.advertIntervalCentiseconds
      : local.masterAdverIntervalCentiseconds;
  return VRRP_MASTER_DOWN_ADVERTS * interval * MICROSECONDS_PER_CENTISECOND + vrrpSkewTime(local);
}

export const vrrpProfile: ProtocolProfile<VrrpElectionView, VrrpAdvertView> = {
  protocol: 'vrrp',
  // RFC 5798 §6.4.1: "If the Priority = 255 (i.e., the router owns the IPvX address(es) ...) ... transition to
  // the {Master} state".
  startsAsMaster: (local) => local.params.priority === VRRP_PRIORITY_OWNER,
  // RFC 5798 §6.4.3: "Reset the Adver_Timer to Advertisement_Interval".
  advertInterval: (local) => local.params.advertIntervalCentiseconds * MICROSECONDS_PER_CENTISECOND,
  masterDownInterval: vrrpMasterDownInterval,
  isStopNotice: (advert) => advert.priority === VRRP_PRIORITY_STOPPED,
  asBackup: (local, advert) => {
    // RFC 5798 §6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the Master_Down_Timer to
    // Skew_Time".
    if (advert.priority === VRRP_PRIORITY_STOPPED)
      return { action: 'take-over', afterMicroseconds: vrrpSkewTime(local), reason: 'stop-notice' };
    // RFC 9568 §6.4.2: "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT is greater than or
    // equal to the local Priority, then: ... Set the Master_Down_Timer to Master_Down_Interval".
    if (!local.params.preempt) return { action: 'follow', reason: 'preempt-off' };
    if (advert.priority >= local.effectivePriority)
      return { action: 'follow', reason: 'master-at-least-as-good' };
    // RFC 9568 §6.4.2: "else // preempt was true and priority was less than the local priority: Discard the
    // ADVERTISEMENT".
    return { action: 'ignore', reason: 'lower-priority' };
  },
  asMaster: (local, advert, source) => {
    // RFC 5798 §6.4.3: "If the Priority in the ADVERTISEMENT is zero, then: Send an ADVERTISEMENT, Reset the
    // Adver_Timer to Advertisement_Interval".
    if (advert.priority === VRRP_PRIORITY_STOPPED) return { action: 'answer-stop', reason: 'stop-notice' };
    const announceFirst = local.params.higherPrioritySendAdvert;
    const reassert = !local.params.lowerPriorityNoAdvert;
    // RFC 5798 §6.4.3: "If the Priority in the ADVERTISEMENT is greater than the local Priority, or the Priority
    // in the ADVERTISEMENT is equal to the local Priority and the primary IPvX Address of the sender is greater
    // than the local primary IPvX Address (based on an unsigned integer comparison of the IPvX addresses in
    // network byte order), then: ... Transition to the {Backup} state".
    if (advert.priority > local.effectivePriority)
      return { action: 'yield', announceFirst, reason: 'higher-priority' };
    if (advert.priority < local.effectivePriority)
      return { action: 'hold', reassert, reason: 'lower-priority' };
    return compareAddresses(source, local.params.primaryAddress) > 0
      ? { action: 'yield', announceFirst, reason: 'equal-priority-higher-address' }
      : { action: 'hold', reassert, reason: 'equal-priority-lower-address' };
  },
};

// CARP.

/** Whose CARP rules apply where the implementations differ. */
export type CarpFlavour = 'openbsd' | 'ucarp';

/** ucarp.h DEFAULT_DEAD_RATIO; OpenBSD and FreeBSD have the 3 built in. */
export const CARP_DEFAULT_DEAD_RATIO = 3;
/** advskew counts 1/256 s (carp(4)). */
const CARP_SKEW_DIVISOR = 256;
/** ip_carp.c carp_setrun / carp_send_ad: an interval of 0 becomes 1/256 s. */
const CARP_SMALLEST_INTERVAL = Math.floor(MICROSECONDS_PER_SECOND / CARP_SKEW_DIVISOR);

/** What the CARP profile reads of a router. */
export interface CarpElectionView {
  readonly flavour: CarpFlavour;
  /** Seconds, 0-255. */
  readonly advbase: number;
  /** 1/256 s, 0-254 for OpenBSD, 0-255 for ucarp. */
  readonly advskew: number;
  /** This router's demotion counter (OpenBSD carp_group_demote_count, capped at 255). */
  readonly demote: number;
  /** ucarp `-P`, OpenBSD sysctl net.inet.carp.preempt. */
  readonly preempt: boolean;
  /** ucarp `-r`; OpenBSD's is 3. */
  readonly deadRatio: number;
  /** This router's own address (ucarp `-s`), which ucarp compares on equal intervals. */
  readonly primaryAddress: string;
}

export type CarpAdvertView = Pick<CarpAdvertisement, 'advbase' | 'advskew' | 'demote'>;

/**
 * advbase + advskew/256 seconds as ip_carp.c and carp.c put it in a timeval: whole seconds plus
 * advskew * 1000000 / 256 microseconds, in integer arithmetic. This is also what elections compare.
 */
export function carpInterval(advert: Pick<CarpAdvertisement, 'advbase' | 'advskew'>): Microseconds {
  return (
    advert.advbase * MICROSECONDS_PER_SECOND +
    Math.floor((advert.advskew * MICROSECONDS_PER_SECOND) / CARP_SKEW_DIVISOR)
  );
}

/**
 * The value ucarp compares when two masters advertise equally often: `ip_src.s_addr < srcip.s_addr` on the raw
 * in_addr_t, which a little-endian host (x86-64, arm64) reads backwards, so the last octet weighs most.
 */
export function ucarpAddressOrder(address: string): number | undefined {
  const bytes = parseIPv4(address);
  if (!bytes) return undefined;
  return (
    (bytes[3] as number) * 2 ** 24 +
    (bytes[2] as number) * 2 ** 16 +
    (bytes[1] as number) * 2 ** 8 +
    (bytes[0] as number)
  );
}

/** Whether `source` wins ucarp's tie-break against `local` (the lower in_addr_t wins). */
function ucarpLowerAddress(source: string, local: string): boolean {
  const remote = ucarpAddressOrder(source);
  const own = ucarpAddressOrder(local);
  if (remote === undefined || own === undefined) return compareAddresses(source, local) < 0;
  return remote < own;
}

export const carpProfile: ProtocolProfile<CarpElectionView, CarpAdvertView> = {
  protocol: 'carp',
  // ip_carp.c / carp.c carp_setrun: INIT always moves to BACKUP; no router is master without an election.
  startsAsMaster: () => false,
  // ip_carp.c carp_setrun, MASTER: timeout_add_usec(&vhe->ad_tmo, usec), usec = advbase s + advskew/256 s, or
  // 1/256 s when both are 0. carp.c carp_send_ad schedules the same (ucarp refuses 0 and 0 at start).
  advertInterval: (local) => carpInterval(local) || CARP_SMALLEST_INTERVAL,
  masterDownInterval: (local) => {
    // carp.c carp_setrun, BACKUP: tv_sec = advbase * dead_ratio, tv_usec = advskew * 1000000 / 256.
    if (local.flavour === 'ucarp')
      return (
        local.advbase * local.deadRatio * MICROSECONDS_PER_SECOND +
        Math.floor((local.advskew * MICROSECONDS_PER_SECOND) / CARP_SKEW_DIVISOR)
      );
    // ip_carp.c (1.370) carp_setrun, BACKUP: timeout_add_usec(&vhe->md_tmo, 3 * usec).
    return local.deadRatio * (carpInterval(local) || CARP_SMALLEST_INTERVAL);
  },
  isStopNotice: isBowOut,
  asBackup: (local, advert) => {
    // ip_carp.c carp_send_ad: a master going down sends advbase 255 / advskew 255 once and stops
    // (sc_bow_out). Every peer then takes over at once through the "will time out" rule below whenever its
    // own advbase x 3 is under 255 s; tandem takes over at once whatever its advbase.
    if (isBowOut(advert)) return { action: 'take-over', afterMicroseconds: 0, reason: 'bow-out' };
    const own = carpInterval(local);
    const theirs = carpInterval(advert);
    // ip_carp.c carp_proto_input_c, BACKUP: "If we're pre-empting masters who advertise slower than us, and do
    // not have a better demote count, treat them as down" (carp.c: `preempt != 0 && sc_tv < ch_tv`).
    if (local.preempt && own < theirs && advert.demote >= local.demote)
      return { action: 'take-over', afterMicroseconds: 0, reason: 'preempt-slower-master' };
    // ip_carp.c: "Take over masters advertising with a higher demote count, regardless of CARPCTL_PREEMPT".
    if (advert.demote > local.demote)
      return { action: 'take-over', afterMicroseconds: 0, reason: 'demoted-master' };
    // ip_carp.c / carp.c: "If the master is going to advertise at such a low frequency that he's guaranteed to
    // time out, we'd might as well just treat him as timed out now": advbase x 3 (ucarp: x dead_ratio) seconds
    // plus this router's own skew, against the master's interval. OpenBSD skips it when advbase is 0.
    const timeout =
      local.advbase * local.deadRatio * MICROSECONDS_PER_SECOND +
      Math.floor((local.advskew * MICROSECONDS_PER_SECOND) / CARP_SKEW_DIVISOR);
    if ((local.flavour === 'ucarp' || local.advbase !== 0) && timeout < theirs)
      return { action: 'take-over', afterMicroseconds: 0, reason: 'master-will-time-out' };
    // ip_carp.c / carp.c: "Otherwise, we reset the counter and wait for the next advertisement".
    return { action: 'follow', reason: 'master-alive' };
  },
  asMaster: (local, advert, source) => {
    const ucarp = local.flavour === 'ucarp';
    // carp.c: before going back to BACKUP ucarp sends one advert "to be really sure the new master knows that
    // it has to reassert control of the VIP"; on holding it sends another gratuitous ARP. OpenBSD does neither.
    const announceFirst = ucarp;
    const reassert = ucarp;
    // ip_carp.c carp_proto_input_c, MASTER: go to BACKUP on "a master who's going to be more frequent than us,
    // and whose demote count is not higher than ours ... If his demote count is lower, also go into BACKUP".
    // ucarp ignores the demote byte (it always sends 0), so demotion only ever decides against a tandem or an
    // OpenBSD peer.
    if (advert.demote < local.demote) return { action: 'yield', announceFirst, reason: 'lower-demotion' };
    if (advert.demote > local.demote) return { action: 'hold', reassert, reason: 'higher-demotion' };
    const own = carpInterval(local);
    const theirs = carpInterval(advert);
    if (theirs < own) return { action: 'yield', announceFirst, reason: 'more-frequent-master' };
    if (theirs > own) return { action: 'hold', reassert, reason: 'less-frequent-master' };
    // Equal intervals. ip_carp.c (and FreeBSD): `timercmp(&sc_tv, &ch_tv, ==)` also goes to BACKUP.
    if (!ucarp) return { action: 'yield', announceFirst, reason: 'equal-interval' };
    // carp.c: "with the same frequency as us but with a lower IP address, go into BACKUP state".
    return ucarpLowerAddress(source, local.primaryAddress)
      ? { action: 'yield', announceFirst, reason: 'equal-interval-lower-address' }
      : { action: 'hold', reassert, reason: 'equal-interval-higher-address' };
  },
};

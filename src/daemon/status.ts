/**
 * What `tandem status --json` reports (docs/operations.md documents the fields): one entry per running
 * instance, built from the driver's snapshot and the instance's one counter table, plus the agent's sockets.
 */
import type { ControlCounters } from './control.js';
import { ELECTION_DISCARD_REASONS, type InstanceCounters } from '../vrrp/counters.js';
import type { SocketCounters } from '../vrrp/demux.js';
import type { VrrpState } from '../vrrp/fsm.js';

export interface InstanceStatus {
  name: string;
  interface: string;
  vrid: number;
  version: number;
  family: number;
  state: VrrpState;
  priority: number;
  effectivePriority: number;
  masterAddress: string | null;
  /** The advert source; '' while the interface (or an address on it) is missing. */
  sourceAddress: string;
  vips: string[];
  timeInStateSeconds: number;
  lastTransition: { from: string; to: string; reason: string } | null;
  faults: readonly string[];
  /** The instance's counter table: every event and every discard reason, from zero (`vrrp/counters.ts`). */
  counters: InstanceCounters;
  /** FRR `show vrrp json`: Master_Adver_Interval as learned (RFC 5798 §6.1), in milliseconds. */
  masterAdverInterval: number;
  /** FRR: Skew_Time, in milliseconds, from the effective priority. */
  skewTime: number;
  /** FRR: Master_Down_Interval = 3 x Master_Adver_Interval + Skew_Time, in milliseconds. */
  masterDownInterval: number;
  /** FRR's `stats` object. */
  stats: FrrStats;
  /**
   * What the operator should look at, newest facts first: a list, so that every room can add its kind
   * (`discarding-adverts` here; split brain from the switchover code).
   */
  warnings: StatusWarning[];
  /** Another MASTER heard on this VRID (lower priority) while this one is MASTER, until it yields; else null. */
  splitBrain?: { peer: string; peerPriority: number; sinceSeconds: number } | null;
  /** A make-before-break handover in progress: where it goes (STOPPED, BACKUP, FAULT); else null. */
  handover?: 'STOPPED' | 'BACKUP' | 'FAULT' | null;
  /** After `tandem switchover`: BACKUP that does not preempt until `tandem switchover --resume`. */
  yielded?: boolean;
  /** A carp_instance (or `tandem carp`): 'carp'; absent for VRRP. `vrid` is then the vhid. */
  protocol?: 'carp';
  carp?: { vhid: number; advbase: number; advskew: number; demote: number; flavour: 'openbsd' | 'ucarp' };
}

/** FRR `show vrrp json` stats, named as FRR names them. */
export interface FrrStats {
  adverTx: number;
  adverRx: number;
  /** Gratuitous ARPs sent (IPv4 VIPs). */
  garpTx: number;
  /** Unsolicited neighbour adverts sent (IPv6 VIPs). */
  neighborAdverTx: number;
  transitions: number;
}

export interface StatusWarning {
  /** A stable word for scripts: `discarding-adverts`, ... */
  kind: string;
  /** One line for people. */
  message: string;
  [detail: string]: unknown;
}

/**
 * A refused advert is news for this long: three Master_Down_Intervals, at least a minute, so a warning outlives
 * the scrape or the glance that should see it, and goes once the peer is fixed.
 */
export const DISCARD_WARNING_MIN_MICROSECONDS = 60_000_000;
const DISCARD_WARNING_MASTER_DOWN_INTERVALS = 3;

/**
 * Discards that are normal in an election (a lower priority heard) are not warned about; every other reason
 * means a peer whose adverts this instance refuses: a one-sided configuration edit (address list, interval,
 * authentication, version) or a stray sender. Such a peer is invisible to the election: two masters follow.
 */
const NOT_WARNED: ReadonlySet<string> = new Set<string>([...ELECTION_DISCARD_REASONS, 'own-advert']);

/** The `discarding-adverts` warnings of an instance: one per reason refused recently. */
export function discardWarnings(
  last: ReadonlyMap<string, { at: number; source: string; detail: string }>,
  counters: InstanceCounters,
  nowMicroseconds: number,
  masterDownIntervalMicroseconds: number,
): StatusWarning[] {
  const window = Math.max(
    DISCARD_WARNING_MIN_MICROSECONDS,
    DISCARD_WARNING_MASTER_DOWN_INTERVALS * masterDownIntervalMicroseconds,
  );
  const warnings: StatusWarning[] = [];
  for (const [reason, { at, source, detail }] of last) {
    if (NOT_WARNED.has(reason) || nowMicroseconds - at > window) continue;
    const count = (counters.discarded as Record<string, number>)[reason] ?? 0;
    warnings.push({
      kind: 'discarding-adverts',
      message: `discarding adverts from ${source}: ${reason} (${detail}); the election cannot see that router`,
      reason,
      source,
      count,
      secondsAgo: seconds(nowMicroseconds - at),
    });
  }
  return warnings;
}

/** FRR's timer and stats fields from a driver snapshot and the announcements sent. */
export function frrFields(
  snapshot: {
    masterAdverIntervalMicroseconds: number;
    skewTimeMicroseconds: number;
    masterDownIntervalMicroseconds: number;
    counters: InstanceCounters;
  },
  announcements: { garp: number; neighbourAdvert: number },
): Pick<InstanceStatus, 'masterAdverInterval' | 'skewTime' | 'masterDownInterval' | 'stats'> {
  const milliseconds = (microseconds: number) => Math.round(microseconds / 1000);
  return {
    masterAdverInterval: milliseconds(snapshot.masterAdverIntervalMicroseconds),
    skewTime: milliseconds(snapshot.skewTimeMicroseconds),
    masterDownInterval: milliseconds(snapshot.masterDownIntervalMicroseconds),
    stats: {
      adverTx: snapshot.counters.advertsSent,
      adverRx: snapshot.counters.advertsReceived,
      garpTx: announcements.garp,
      neighborAdverTx: announcements.neighbourAdvert,
      transitions: snapshot.counters.transitions,
    },
  };
}

export interface AgentStatus {
  pid: number;
  routerId: string | undefined;
  uptimeSeconds: number;
  reloads: number;
  instances: InstanceStatus[];
  sockets: {
    interface: string;
    family: number;
    vrids: number[];
    /** CARP instances' vhids on this socket (VRRP and CARP share protocol 112). */
    vhids?: number[];
    counters: SocketCounters;
  }[];
  control: ControlCounters;
  /** The process's memory (process.memoryUsage()), to follow the footprint (docs/performance.md). */
  memory: { rssBytes: number; heapUsedBytes: number; heapTotalBytes: number };
}

export function memoryStatus(): AgentStatus['memory'] {
  const { rss, heapUsed, heapTotal } = process.memoryUsage();
  return { rssBytes: rss, heapUsedBytes: heapUsed, heapTotalBytes: heapTotal };
}

/** Seconds with millisecond resolution, from a span in microseconds. */
export function seconds(microseconds: number): number {
  return Math.round(microseconds / 1000) / 1000;
}

/**
 * The one counter table of a virtual router (the model is OpenBSD's `struct carpstats`): every event and every
 * discard reason present from zero, so `tandem status`, the statistics dump and the metrics all read the same
 * table and list the same names whether or not a reason was ever seen (docs/architecture.md, "Counters").
 *
 * To enumerate: `EVENT_COUNTERS` and `DISCARD_REASONS` are the names, in a fixed order; `InstanceCounters` is
 * the table's type. Nothing else may add a key.
 */

/**
 * Why the receive ladder refused a packet, in the ladder's order (RFC 5798 §7.1 and RFC 3768 §7.1; see
 * `vrrp/receive.ts`): peer and TTL, version, completeness, checksum, own packet, authentication (v2), address
 * list, interval (v2). CARP's ladder (`vrrp/carp-receive.ts`) counts in the same table: its HMAC failures as
 * `auth-mismatch`, a bad auth length as `count-mismatch` (byte 3 of both headers), a replayed counter as
 * `replayed-counter`. `bad-vrid` stays at zero on an instance: a packet without a valid VRID reaches none
 * (the socket counts it as `unknownVrid`).
 */
export const RECEIVE_DISCARD_REASONS = [
  'unknown-peer',
  'bad-ttl',
  'bad-version',
  'version-mismatch',
  'bad-type',
  'truncated',
  'oversized',
  'bad-vrid',
  'count-mismatch',
  'bad-checksum',
  'bad-pseudo-header',
  'zero-interval',
  'own-advert',
  'auth-unsupported',
  'bad-auth-type',
  'auth-type-mismatch',
  'auth-mismatch',
  /** CARP: a counter this sender already used (it changes it every advert), docs/carp.md "Counter and replays". */
  'replayed-counter',
  'address-mismatch',
  'interval-mismatch',
] as const;

/** Why the election (`step`) discarded an advert that passed the ladder (RFC 5798 §6.4.2, §6.4.3). */
export const ELECTION_DISCARD_REASONS = ['lower-priority'] as const;

export const DISCARD_REASONS = [...RECEIVE_DISCARD_REASONS, ...ELECTION_DISCARD_REASONS] as const;

export type ReceiveDiscardReason = (typeof RECEIVE_DISCARD_REASONS)[number];
export type ElectionDiscardReason = (typeof ELECTION_DISCARD_REASONS)[number];
export type DiscardReason = (typeof DISCARD_REASONS)[number];

/** What happened to the instance, counted once each. */
export const EVENT_COUNTERS = [
  'advertsSent',
  'advertsReceived',
  'priorityZeroSent',
  'priorityZeroReceived',
  'transitions',
  /** Timer expiries dropped because an advert re-armed the timer first (the stall rule). */
  'staleTimerExpiries',
  /** Critical actions (advert, VIPs, GARP) or hook hand-overs that failed. */
  'actionErrors',
  /**
   * Adverts for a VRID this router owns (priority 255) from another router: a misconfiguration, logged and
   * counted, then processed (RFC 9568 §7.1 as corrected by erratum 8298).
   */
  'ownerConflicts',
  /**
   * Split brains seen: another MASTER heard advertising this VRID with a lower priority while this router was
   * MASTER (tandem extension; logged once each as `event: "split-brain"`).
   */
  'splitBrains',
] as const;

export type EventCounter = (typeof EVENT_COUNTERS)[number];

export type InstanceCounters = Record<EventCounter, number> & {
  readonly discarded: Record<DiscardReason, number>;
};

/** A table with every counter and every reason at zero. */
export function newInstanceCounters(): InstanceCounters {
  const events = Object.fromEntries(EVENT_COUNTERS.map((name) => [name, 0])) as Record<EventCounter, number>;
  const discarded = Object.fromEntries(DISCARD_REASONS.map((reason) => [reason, 0])) as Record<
    DiscardReason,
    number
  >;
  return { ...events, discarded };
}

/** A copy of the table, for status output (the live table keeps counting). */
export function snapshotCounters(counters: InstanceCounters): InstanceCounters {
  return { ...counters, discarded: { ...counters.discarded } };
}

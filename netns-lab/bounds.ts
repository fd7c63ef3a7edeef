/**
 * The protocol's time bounds, in milliseconds, for the drills' pass/fail limits.
 *
 * RFC 3768 §6.1 (VRRPv2): Skew_Time = (256 - Priority) / 256 seconds.
 * RFC 5798 §6.1 (VRRPv3): Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256.
 * Both: Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time.
 */
export interface TimingParameters {
  version: 2 | 3;
  /** Seconds (CARP: advbase). */
  advertInterval: number;
  /** `--protocol carp`: carp_instances, advskew from the priority (`carpAdvskewOf`). */
  protocol?: 'vrrp' | 'carp';
}

/**
 * The lab's CARP balancers: the higher the VRRP priority a balancer would have, the smaller its advskew (the more
 * frequent advertiser wins, carp(4)).
 */
export function carpAdvskewOf(priority: number): number {
  return Math.min(254, Math.max(0, 255 - priority));
}

export function skewTimeMs(
  priority: number,
  { version, advertInterval, protocol }: TimingParameters,
): number {
  // CARP: a leaving master bows out and the backup takes over at once (docs/carp.md); the contract is a takeover
  // within one advert interval instead of three, which leaves the claim and the announcements their time.
  if (protocol === 'carp') return advertInterval * 1000;
  const seconds = version === 2 ? (256 - priority) / 256 : ((256 - priority) * advertInterval) / 256;
  return seconds * 1000;
}

export function masterDownIntervalMs(priority: number, parameters: TimingParameters): number {
  // ip_carp.c carp_setrun (a carp_instance's OpenBSD rule): 3 x (advbase + advskew/256).
  if (parameters.protocol === 'carp')
    return 3 * (parameters.advertInterval + carpAdvskewOf(priority) / 256) * 1000;
  return 3 * parameters.advertInterval * 1000 + skewTimeMs(priority, parameters);
}

/** A scenario's limit: the protocol's part, the stated margin, and how the protocol part was computed. */
export interface Bound {
  protocolMs: number;
  marginMs: number;
  /** e.g. "Skew_Time(100) = 609 ms". */
  formula: string;
}

export function limitMs(bound: Bound): number {
  return bound.protocolMs + bound.marginMs;
}

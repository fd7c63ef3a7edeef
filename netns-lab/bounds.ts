/**
 * The protocol's time bounds, in milliseconds, for the drills' pass/fail limits.
 *
 * RFC 3768 §6.1 (VRRPv2): Skew_Time = (256 - Priority) / 256 seconds.
 * RFC 5798 §6.1 (VRRPv3): Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256.
 * Both: Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time.
 */
export interface TimingParameters {
  version: 2 | 3;
  /** Seconds. */
  advertInterval: number;
}

export function skewTimeMs(priority: number, { version, advertInterval }: TimingParameters): number {
  const seconds = version === 2 ? (256 - priority) / 256 : ((256 - priority) * advertInterval) / 256;
  return seconds * 1000;
}

export function masterDownIntervalMs(priority: number, parameters: TimingParameters): number {
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

/**
 * Time units. Every timer in tandem runs in microseconds on a monotonic clock (docs/architecture.md,
 * "Time"), so the RFC 5798 §6.1 formulas stay exact down to the 10 ms intervals of VRRPv3.
 */

/** Microseconds in one second. */
export const MICROSECONDS_PER_SECOND = 1_000_000;
/** Microseconds in one millisecond. */
export const MICROSECONDS_PER_MILLISECOND = 1000;
/** Microseconds in one centisecond, the unit of VRRPv3 intervals (RFC 5798 §5.2.7). */
export const MICROSECONDS_PER_CENTISECOND = 10_000;
/** Milliseconds in one second (Node's own timers and child-process timeouts count in milliseconds). */
export const MILLISECONDS_PER_SECOND = 1000;

/** Seconds (a configuration value, maybe fractional) as whole microseconds. */
export function secondsToMicroseconds(seconds: number): number {
  return Math.round(seconds * MICROSECONDS_PER_SECOND);
}

/** Milliseconds as whole microseconds. */
export function millisecondsToMicroseconds(milliseconds: number): number {
  return Math.round(milliseconds * MICROSECONDS_PER_MILLISECOND);
}

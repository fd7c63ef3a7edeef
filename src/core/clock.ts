/**
 * The one clock: monotonic microseconds and one-shot timers. Everything that waits (VRRP timers, GARP bursts,
 * claim retries, script intervals, DAD waits, hook deadlines) takes a `Clock`, so a test, or the daemon
 * conformance harness, drives time by hand (docs/architecture.md, "Time"). `systemClock` is the only place in
 * src/ that touches Node's timers.
 */
import { MICROSECONDS_PER_MILLISECOND } from './time.js';

/** Monotonic time in microseconds and one-shot timers, injected so tests control time. */
export interface Clock {
  nowMicroseconds(): number;
  setTimer(callback: () => void, microseconds: number): unknown;
  clearTimer(handle: unknown): void;
  /**
   * Runs `callback` after the I/O callbacks already pending (setImmediate). The stall rule rests on it: an
   * expired timer's decision is deferred so adverts read during a stall are processed first.
   */
  defer(callback: () => void): void;
  /**
   * Moves a timer that has not fired yet to `microseconds` from now, keeping its callback; false when it fired
   * or was cleared (then nothing changed, and the caller sets a new one). Optional: a clock without it is asked
   * for a new timer each time.
   */
  reschedule?(handle: unknown, microseconds: number): boolean;
}

/**
 * Monotonic microseconds. performance.now() is process.hrtime's clock as a plain number: no BigInt to allocate,
 * and the driver reads the time on every received advert (issue 11).
 */
export const monotonicMicroseconds = (): number => Math.trunc(performance.now() * 1000);

export const systemClock: Clock = {
  nowMicroseconds: monotonicMicroseconds,
  setTimer: (callback, microseconds) =>
    setTimeout(callback, Math.max(0, Math.ceil(microseconds / MICROSECONDS_PER_MILLISECOND))),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
  defer: (callback) => setImmediate(callback),
};

/** Resolves after `microseconds` on `clock`. */
export function delay(clock: Clock, microseconds: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(resolve, microseconds));
}

/**
 * Resolves with `work`'s value, or with `undefined` once `microseconds` have passed on `clock`, whichever comes
 * first; the timer is cleared either way.
 */
export async function within<T>(
  clock: Clock,
  work: Promise<T>,
  microseconds: number,
): Promise<T | undefined> {
  let handle: unknown;
  const deadline = new Promise<undefined>((resolve) => {
    handle = clock.setTimer(() => resolve(undefined), microseconds);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clock.clearTimer(handle);
  }
}

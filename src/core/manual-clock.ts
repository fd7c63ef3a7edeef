/**
 * A clock moved by hand, for unit tests and the daemon conformance harness (docs/architecture.md, "Testing"):
 * timers fire only inside `advance`, deferred callbacks only inside `runDeferred`, so a test decides the
 * order of "timer phase" and "check phase" exactly as the event loop would interleave them.
 */
import type { Clock } from './clock.js';

interface ManualTimer {
  at: number;
  callback: () => void;
  id: number;
}

export class ManualClock implements Clock {
  now = 0;
  private timers: ManualTimer[] = [];
  private deferred: (() => void)[] = [];
  private nextId = 0;

  nowMicroseconds(): number {
    return this.now;
  }

  setTimer(callback: () => void, microseconds: number): number {
    const id = ++this.nextId;
    this.timers.push({ at: this.now + Math.max(0, microseconds), callback, id });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }

  defer(callback: () => void): void {
    this.deferred.push(callback);
  }

  /** Moves time forward and fires the timers that are due (the timers phase), without running deferrals. */
  advance(microseconds: number): void {
    this.now += microseconds;
    const due = this.timers
      .filter((timer) => timer.at <= this.now)
      .sort((a, b) => a.at - b.at || a.id - b.id);
    this.timers = this.timers.filter((timer) => timer.at > this.now);
    for (const timer of due) timer.callback();
  }

  /** Runs the callbacks deferred so far (the check phase); callbacks they defer wait for the next call. */
  runDeferred(): void {
    const callbacks = this.deferred;
    this.deferred = [];
    for (const callback of callbacks) callback();
  }

  /** Timers armed and not yet fired. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** When the earliest armed timer is due, or `undefined` when none is armed. */
  nextDeadline(): number | undefined {
    let earliest: number | undefined;
    for (const timer of this.timers) if (earliest === undefined || timer.at < earliest) earliest = timer.at;
    return earliest;
  }

  /** Deferred callbacks waiting for `runDeferred`. */
  pendingDeferred(): number {
    return this.deferred.length;
  }
}

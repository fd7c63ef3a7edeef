import type { Clock } from '../../src/vrrp/instance.js';

/** A clock the test moves by hand; deferred callbacks run only when the test says so (the check phase). */
export class ManualClock implements Clock {
  now = 0;
  private timers: { at: number; callback: () => void; id: number }[] = [];
  private deferred: (() => void)[] = [];
  private nextId = 0;
  nowMicroseconds() {
    return this.now;
  }
  setTimer(callback: () => void, microseconds: number) {
    const id = ++this.nextId;
    this.timers.push({ at: this.now + microseconds, callback, id });
    return id;
  }
  clearTimer(handle: unknown) {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }
  defer(callback: () => void) {
    this.deferred.push(callback);
  }
  /** Moves time forward and fires the timers that are due (the timers phase), without running deferrals. */
  advance(microseconds: number) {
    this.now += microseconds;
    const due = this.timers.filter((timer) => timer.at <= this.now).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((timer) => timer.at > this.now);
    for (const timer of due) timer.callback();
  }
  runDeferred() {
    const callbacks = this.deferred;
    this.deferred = [];
    for (const callback of callbacks) callback();
  }
  pendingTimers() {
    return this.timers.length;
  }
}

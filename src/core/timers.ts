/**
 * One timer structure for every instance of the agent: a binary min-heap of deadlines behind ONE Node timer,
 * implementing the driver's `Clock`. Each instance used to keep its own setTimeout per timer; at 1000 VRIDs that
 * is thousands of Node timer objects re-created per advert interval. Here a timer is one small entry in an array,
 * and Node's timer is touched only when the earliest deadline moves earlier or fires.
 *
 * Time is monotonic (process.hrtime's clock, read as performance.now()) in microseconds, and deadlines are exact in microseconds: the Node timer is
 * armed for the whole milliseconds up to the earliest deadline, and when it fires (libuv computes timeouts from a
 * cached loop time, so it can fire a little early) nothing runs before its deadline: the rest is re-armed.
 * Timers due at the same microsecond fire in the order they were set.
 *
 * `defer` (the stall rule: an expiry is acted on after the I/O already pending) queues callbacks for ONE
 * setImmediate, so every expiry of one timer firing waits behind the same poll phase, and the adverts those
 * expiries send leave in the same tick (the transport turns them into one sendmmsg).
 *
 * A callback that throws does not starve the others: every due callback runs, then the first error is thrown
 * again, as a throwing setTimeout callback would be.
 */
import { type Clock, monotonicMicroseconds } from './clock.js';

/** What the heap needs from the runtime; tests pass a manual one. */
export interface TimerHost {
  nowMicroseconds(): number;
  setTimeout(callback: () => void, milliseconds: number): unknown;
  clearTimeout(handle: unknown): void;
  setImmediate(callback: () => void): void;
}

export const systemTimerHost: TimerHost = {
  nowMicroseconds: monotonicMicroseconds,
  setTimeout: (callback, milliseconds) => setTimeout(callback, milliseconds),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setImmediate: (callback) => void setImmediate(callback),
};

/**
 * Node's setTimeout takes at most 2^31 - 1 ms and turns a longer delay into 1 ms; a deadline further out is
 * reached in steps (the timer fires early, runs nothing, re-arms).
 */
const MAX_TIMEOUT_MILLISECONDS = 2 ** 31 - 1;

/** A timer handle: its place in the heap, -1 once fired or cleared. */
class TimerEntry {
  constructor(
    public deadline: number,
    public sequence: number,
    public callback: (() => void) | undefined,
    public index: number,
  ) {}
}

export interface TimerHeap extends Clock {
  /** Timers set and not yet fired or cleared. */
  readonly size: number;
  /** The earliest deadline (monotonic microseconds), if any. */
  nextDeadline(): number | undefined;
}

function earlier(left: TimerEntry, right: TimerEntry): boolean {
  return (
    left.deadline < right.deadline || (left.deadline === right.deadline && left.sequence < right.sequence)
  );
}

/** Runs callbacks so that one that throws does not stop the rest; `rethrow` throws the first error seen. */
class Failures {
  private failed = false;
  private first: unknown;
  run(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      if (!this.failed) this.first = error;
      this.failed = true;
    }
  }
  rethrow(): void {
    if (this.failed) throw this.first;
  }
}

export function createTimerHeap(host: TimerHost = systemTimerHost): TimerHeap {
  const heap: TimerEntry[] = [];
  let sequence = 0;
  /** The deadline the Node timer is armed for, and its handle. */
  let armedFor: number | undefined;
  let armed: unknown;
  let deferred: (() => void)[] = [];

  const place = (entry: TimerEntry, index: number) => {
    heap[index] = entry;
    entry.index = index;
  };
  const siftUp = (index: number) => {
    const entry = heap[index] as TimerEntry;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex] as TimerEntry;
      if (!earlier(entry, parent)) break;
      place(parent, index);
      index = parentIndex;
    }
    place(entry, index);
  };
  const siftDown = (index: number) => {
    const entry = heap[index] as TimerEntry;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && earlier(heap[right] as TimerEntry, heap[left] as TimerEntry) ? right : left;
      if (!earlier(heap[child] as TimerEntry, entry)) break;
      place(heap[child] as TimerEntry, index);
      index = child;
    }
    place(entry, index);
  };
  const remove = (entry: TimerEntry) => {
    const index = entry.index;
    entry.index = -1;
    entry.callback = undefined;
    const last = heap.pop() as TimerEntry;
    if (last === entry) return;
    place(last, index);
    if (index > 0 && earlier(last, heap[(index - 1) >> 1] as TimerEntry)) siftUp(index);
    else siftDown(index);
  };

  const disarm = () => {
    if (armedFor === undefined) return;
    host.clearTimeout(armed);
    armedFor = undefined;
    armed = undefined;
  };
  /**
   * Arms the Node timer for the earliest deadline when it is earlier than what is armed. A later one is left
   * alone: the armed timer fires early, runs nothing, and re-arms, which is cheaper than a new Node timer for
   * each cancelled earliest deadline (a backup re-arms Master_Down_Timer on every advert).
   */
  const schedule = (now: number) => {
    const first = heap[0];
    if (!first) return disarm();
    if (armedFor !== undefined && armedFor <= first.deadline) return;
    disarm();
    armedFor = first.deadline;
    const milliseconds = Math.ceil((first.deadline - now) / 1000);
    armed = host.setTimeout(fire, Math.min(MAX_TIMEOUT_MILLISECONDS, Math.max(0, milliseconds)));
  };
  const fire = () => {
    armedFor = undefined;
    armed = undefined;
    const now = host.nowMicroseconds();
    // One at a time from the top, so that a callback clearing another due timer stops it. Timers set by the
    // callbacks wait for the next firing even when already due (a new timer never sorts before an older due
    // one): a callback that sets a zero timer must not keep this loop running.
    const last = sequence;
    const failures = new Failures();
    try {
      for (let first = heap[0]; first && first.deadline <= now && first.sequence <= last; first = heap[0]) {
        const callback = first.callback as () => void;
        remove(first);
        failures.run(callback);
      }
    } finally {
      schedule(host.nowMicroseconds());
    }
    failures.rethrow();
  };
  const runDeferred = () => {
    const callbacks = deferred;
    deferred = [];
    const failures = new Failures();
    for (const callback of callbacks) failures.run(callback);
    failures.rethrow();
  };

  return {
    nowMicroseconds: () => host.nowMicroseconds(),
    setTimer(callback, microseconds) {
      const now = host.nowMicroseconds();
      const delay = Number.isFinite(microseconds) && microseconds > 0 ? microseconds : 0;
      const entry = new TimerEntry(now + delay, ++sequence, callback, heap.length);
      heap.push(entry);
      siftUp(entry.index);
      if (entry.index === 0) schedule(now);
      return entry;
    },
    reschedule(handle, microseconds) {
      if (!(handle instanceof TimerEntry) || handle.index < 0 || heap[handle.index] !== handle) return false;
      const now = host.nowMicroseconds();
      const delay = Number.isFinite(microseconds) && microseconds > 0 ? microseconds : 0;
      // As a timer set now: it sorts after every timer already due at the same microsecond.
      handle.deadline = now + delay;
      handle.sequence = ++sequence;
      const index = handle.index;
      if (index > 0 && earlier(handle, heap[(index - 1) >> 1] as TimerEntry)) siftUp(index);
      else siftDown(index);
      if (handle.index === 0) schedule(now);
      return true;
    },
    clearTimer(handle) {
      if (!(handle instanceof TimerEntry) || handle.index < 0 || heap[handle.index] !== handle) return;
      remove(handle);
      if (heap.length === 0) disarm();
    },
    defer(callback) {
      deferred.push(callback);
      if (deferred.length === 1) host.setImmediate(runDeferred);
    },
    get size() {
      return heap.length;
    },
    nextDeadline: () => heap[0]?.deadline,
  };
}

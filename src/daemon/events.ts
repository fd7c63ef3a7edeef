/**
 * The agent's event bus: what happens (transitions with their reason, hook runs, tracker changes, discards,
 * reloads, split brain) published once and read by `tandem events` subscribers and by in-process listeners
 * (the metrics' hook histogram).
 *
 * Publishing never blocks and never waits for a reader: each subscriber has a bounded queue; one that falls
 * behind by more than its bound is dropped (and counted) rather than slowing the agent or growing memory.
 * Delivery to subscribers is deferred (the clock's `defer`, setImmediate), so a transition published on the
 * advert path costs one array push per subscriber. Discards are rate-limited per instance and reason, as the log
 * line for them is.
 */
import { TandemError } from '../errors.js';
import { type Clock, systemClock } from '../vrrp/instance.js';

/** Recent events kept for `tandem events` without --follow and for the start of a followed stream. */
export const DEFAULT_BACKLOG = 256;
/** Events a subscriber may have waiting before it is dropped as too slow. */
export const DEFAULT_SUBSCRIBER_LIMIT = 1024;
/** Subscribers at once (the control socket serves at most 32 connections; status must still get through). */
export const DEFAULT_MAX_SUBSCRIBERS = 16;
/** At most one discard event per instance and reason in this window (the same bound as the discard log line). */
export const DISCARD_EVENT_INTERVAL_MICROSECONDS = 10_000_000;

export type HookOutcome = 'ok' | 'failed' | 'timeout';
export type TrackerState = 'up' | 'down' | 'unknown';

/** Who a hook ran for: an instance, or a sync group (its own notify scripts). */
export type HookOwner =
  { instance: string; syncGroup?: undefined } | { syncGroup: string; instance?: undefined };

export interface TransitionEvent {
  type: 'transition';
  instance: string;
  vrid: number;
  interface: string;
  family: 4 | 6;
  from: string;
  to: string;
  reason: string;
  priority: number;
  /** The master as last heard, when known. */
  master?: string;
}

/**
 * `hook` names the configured hook (the notify keyword such as `notify_master`, `lvs_sync_daemon`, or the
 * `tandem_service` name): a bounded set taken from the configuration, never a command line, so it can be a
 * metric label.
 */
export type HookStartEvent = HookOwner & {
  type: 'hook-start';
  hook: string;
  /** The state the hook announces (MASTER, BACKUP, FAULT, STOP). */
  state: string;
};

export type HookEndEvent = HookOwner & {
  type: 'hook-end';
  hook: string;
  state: string;
  outcome: HookOutcome;
  /** null when the process did not exit by itself (killed at its timeout, or it could not start). */
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
};

export interface TrackerEvent {
  type: 'tracker';
  /** `interface`, `script`, `file`, `process`. */
  kind: string;
  name: string;
  from: TrackerState;
  state: TrackerState;
}

export interface DiscardEvent {
  type: 'discard';
  instance: string;
  vrid: number;
  reason: string;
  source: string;
  detail: string;
  /** The instance's running count for this reason. */
  count: number;
  /** Discards of this instance and reason not published since the previous discard event (rate limit). */
  suppressed: number;
}

export interface ReloadEvent {
  type: 'reload';
  ok: boolean;
  kept: string[];
  stopped: string[];
  started: string[];
  /** Why a refused or failed reload changed nothing. */
  error?: string;
}

/** A MASTER heard another MASTER of its VRID (keepalived re-announces then; RFC 5798 §6.4.3 decides who stays). */
export interface SplitBrainEvent {
  type: 'split-brain';
  instance: string;
  vrid: number;
  interface: string;
  peer: string;
  peerPriority: number;
  priority: number;
}

export type TandemEventBody =
  | TransitionEvent
  | HookStartEvent
  | HookEndEvent
  | TrackerEvent
  | DiscardEvent
  | ReloadEvent
  | SplitBrainEvent;

export type TandemEventType = TandemEventBody['type'];

/** An event as published: numbered in publication order and stamped with the wall-clock time (ISO 8601). */
export type TandemEvent = TandemEventBody & { seq: number; time: string };

export type EventListener = (event: TandemEvent) => void;

export type SubscriptionEnd = 'slow' | 'closed';

export interface EventBusOptions {
  /** Monotonic time for the discard rate limit; `defer` schedules deliveries (setImmediate by default). */
  clock?: Pick<Clock, 'nowMicroseconds' | 'defer'>;
  /** Wall-clock milliseconds for the `time` stamp. */
  wallClock?: () => number;
  backlog?: number;
  subscriberLimit?: number;
  maxSubscribers?: number;
  discardIntervalMicroseconds?: number;
}

export interface EventBusCounters {
  published: number;
  /** Subscribers dropped because they fell behind by more than their bound. */
  subscribersDropped: number;
  /** Subscriptions refused because `maxSubscribers` were already open. */
  subscribersRefused: number;
  /** Discard events not published because of the rate limit (the discards themselves are all counted). */
  discardsSuppressed: number;
  /** In-process listeners that threw; the publisher never sees it. */
  listenerErrors: number;
}

/** One reader of the stream: a bounded queue the bus fills and the reader drains with `take()`. */
export class EventSubscription {
  private queue: TandemEvent[] = [];
  private notifyScheduled = false;
  private state: 'open' | 'dropped' | 'closed' = 'open';
  private readyCallback: (() => void) | undefined;
  private endCallback: ((why: SubscriptionEnd) => void) | undefined;

  constructor(
    private readonly bus: EventBus,
    readonly limit: number,
    private readonly defer: (callback: () => void) => void,
  ) {}

  get dropped(): boolean {
    return this.state === 'dropped';
  }

  get closed(): boolean {
    return this.state !== 'open';
  }

  /** Events waiting to be taken. */
  get pending(): number {
    return this.queue.length;
  }

  /** Called (deferred) when events are waiting after the queue was empty. */
  onReady(callback: () => void): void {
    this.readyCallback = callback;
    if (this.queue.length > 0) this.scheduleNotify();
  }

  /**
   * Called (deferred) once if the bus ends this subscription: `slow` when it fell behind by more than its bound,
   * `closed` when the bus closed (the agent is stopping).
   */
  onEnd(callback: (why: SubscriptionEnd) => void): void {
    this.endCallback = callback;
  }

  /** Everything waiting, oldest first; the queue is empty afterwards. */
  take(): TandemEvent[] {
    const events = this.queue;
    this.queue = [];
    return events;
  }

  close(): void {
    if (this.state === 'open') this.state = 'closed';
    this.queue = [];
    this.bus.unsubscribe(this);
  }

  /** @internal the bus's side: false when this subscriber had to be dropped. */
  deliver(event: TandemEvent): boolean {
    if (this.state !== 'open') return true;
    if (this.queue.length >= this.limit) {
      this.state = 'dropped';
      this.queue = [];
      this.end('slow');
      return false;
    }
    this.queue.push(event);
    if (this.queue.length === 1) this.scheduleNotify();
    return true;
  }

  /** @internal the bus closes: what is queued is still delivered, then the end. */
  finish(): void {
    if (this.state !== 'open') return;
    this.state = 'closed';
    this.end('closed');
  }

  private end(why: SubscriptionEnd): void {
    const callback = this.endCallback;
    if (callback) this.defer(() => callback(why));
  }

  private scheduleNotify(): void {
    if (this.notifyScheduled || !this.readyCallback) return;
    this.notifyScheduled = true;
    this.defer(() => {
      this.notifyScheduled = false;
      if (this.state === 'open' && this.queue.length > 0) this.readyCallback?.();
    });
  }
}

export class EventBusFullError extends TandemError {
  constructor(maxSubscribers: number) {
    super(
      'TANDEM_EEVENTS_BUSY',
      `at most ${maxSubscribers} event subscribers at once; close one (tandem events --follow) and retry`,
    );
  }
}

export class EventBus {
  readonly counters: EventBusCounters = {
    published: 0,
    subscribersDropped: 0,
    subscribersRefused: 0,
    discardsSuppressed: 0,
    listenerErrors: 0,
  };
  private seq = 0;
  private readonly ring: TandemEvent[] = [];
  private readonly subscriptions = new Set<EventSubscription>();
  private readonly listeners = new Set<EventListener>();
  private readonly lastDiscard = new Map<string, { at: number; suppressed: number }>();
  private readonly clock: Pick<Clock, 'nowMicroseconds' | 'defer'>;
  private readonly wallClock: () => number;
  private readonly backlog: number;
  private readonly subscriberLimit: number;
  private readonly maxSubscribers: number;
  private readonly discardInterval: number;

  constructor(options: EventBusOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.wallClock = options.wallClock ?? Date.now;
    this.backlog = options.backlog ?? DEFAULT_BACKLOG;
    this.subscriberLimit = options.subscriberLimit ?? DEFAULT_SUBSCRIBER_LIMIT;
    this.maxSubscribers = options.maxSubscribers ?? DEFAULT_MAX_SUBSCRIBERS;
    this.discardInterval = options.discardIntervalMicroseconds ?? DISCARD_EVENT_INTERVAL_MICROSECONDS;
  }

  /** Stamps, keeps in the backlog, tells the in-process listeners and queues for every subscriber. */
  publish(body: TandemEventBody): TandemEvent {
    const event = { ...body, seq: ++this.seq, time: new Date(this.wallClock()).toISOString() } as TandemEvent;
    this.counters.published++;
    this.ring.push(event);
    if (this.ring.length > this.backlog) this.ring.shift();
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        this.counters.listenerErrors++;
      }
    }
    for (const subscription of this.subscriptions) {
      if (!subscription.deliver(event)) {
        this.subscriptions.delete(subscription);
        this.counters.subscribersDropped++;
      }
    }
    return event;
  }

  /**
   * A discard, published at most once per instance and reason per interval; the ones in between are counted in
   * the next event's `suppressed`. Returns the event, or undefined when the rate limit held it back.
   */
  publishDiscard(body: Omit<DiscardEvent, 'type' | 'suppressed'>): TandemEvent | undefined {
    const key = `${body.instance}\u0000${body.reason}`;
    const now = this.clock.nowMicroseconds();
    const last = this.lastDiscard.get(key);
    if (last && now - last.at < this.discardInterval) {
      last.suppressed++;
      this.counters.discardsSuppressed++;
      return undefined;
    }
    this.lastDiscard.set(key, { at: now, suppressed: 0 });
    return this.publish({ type: 'discard', ...body, suppressed: last?.suppressed ?? 0 });
  }

  /**
   * An in-process listener, called synchronously for every event: it must be cheap and must not throw (a
   * throw is counted and ignored). Returns the function that removes it.
   */
  listen(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A new reader of the events published from now on; throws EventBusFullError past `maxSubscribers`. */
  subscribe(options: { limit?: number } = {}): EventSubscription {
    if (this.subscriptions.size >= this.maxSubscribers) {
      this.counters.subscribersRefused++;
      throw new EventBusFullError(this.maxSubscribers);
    }
    const subscription = new EventSubscription(this, options.limit ?? this.subscriberLimit, (callback) =>
      this.clock.defer(callback),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** @internal */
  unsubscribe(subscription: EventSubscription): void {
    this.subscriptions.delete(subscription);
  }

  /** Ends every subscription (the agent is stopping); their readers get what was queued, then the end. */
  close(): void {
    for (const subscription of this.subscriptions) subscription.finish();
    this.subscriptions.clear();
  }

  get subscriberCount(): number {
    return this.subscriptions.size;
  }

  /** The last events published, oldest first. */
  recent(): TandemEvent[] {
    return [...this.ring];
  }
}

/**
 * What tracked objects do to one vrrp_instance: the effective priority and the fault causes, computed from the
 * current state of every interface and every object of each tracker kind (`watchers/kinds.ts`) the instance
 * tracks. `trackingOutcome` is pure; `InstanceTracking` subscribes to the shared trackers and reports only
 * changes.
 *
 * The rules for each object are keepalived's, in `watchers/contribution.ts`; keepalived applies them
 * incrementally as things change, the stateless sum here gives the same totals.
 */
import type { Track, TrackLists, VrrpInstanceConfig } from '../config/schema.js';
import { type Contribution, binaryContribution, clampPriority } from './contribution.js';
import { type AnyTrackerKind, TRACKER_KINDS, type Tracker } from './kinds.js';

export type { CheckState } from './script.js';
export { clampPriority } from './contribution.js';

export interface TrackedInterface extends Track {
  up: boolean;
}

/** One tracked object of a kind, with what it adds to the instance now. */
export interface TrackedObject {
  name: string;
  /** The fault cause it raises: 'script chk', 'file f1', 'process p'. */
  cause: string;
  contribution: Contribution;
}

export interface TrackingInputs {
  interfaces: readonly TrackedInterface[];
  /** Scripts, files, processes (every tracker kind), in `TRACKER_KINDS` order. */
  objects: readonly TrackedObject[];
}

export interface TrackingOutcome {
  effectivePriority: number;
  /** Fault causes, in input order, without duplicates: 'link eth0', 'script chk', 'file f1', 'process p'. */
  faults: string[];
  /** Tracked objects that have not reported yet (keepalived keeps such instances out of the election). */
  pending: string[];
}

export const linkFaultCause = (name: string): string => `link ${name}`;

/** Adds up what every tracked interface and object does to an instance of priority `base`. */
export function trackingOutcome(base: number, inputs: TrackingInputs): TrackingOutcome {
  const faults = new Set<string>();
  const pending: string[] = [];
  let sum = 0;
  const apply = (cause: string, contribution: Contribution) => {
    if (contribution.fault) faults.add(cause);
    sum += contribution.delta;
  };
  for (const track of inputs.interfaces)
    apply(linkFaultCause(track.name), binaryContribution(track, track.up));
  for (const object of inputs.objects) {
    if (object.contribution.pending) pending.push(object.name);
    apply(object.cause, object.contribution);
  }
  return { effectivePriority: clampPriority(base, sum), faults: [...faults], pending };
}

// ---- InstanceTracking: one instance's subscriptions ----

/** What InstanceTracking needs from the shared trackers (TrackerRegistry provides it). */
export interface TrackerSource {
  linkUp(name: string): boolean;
  onLink(name: string, listener: () => void): () => void;
  /** The shared tracker of `kind` named `name`; throws UnknownTrackerError when there is none. */
  tracker(kind: AnyTrackerKind, name: string): Tracker;
}

export interface TrackingListener {
  onPriority(priority: number): void;
  onFault(cause: string): void;
  onFaultCleared(cause: string): void;
}

export interface InstanceTrackingOptions {
  /** The sync group's own track lists: they apply to every member (keepalived vrrp_sync_group). */
  group?: TrackLists;
}

/**
 * Follows what one instance tracks. Its own interface counts as an unweighted track_interface unless
 * `dont_track_primary`. `start()` reports the initial faults and priority (relative to the configured priority
 * with no fault), then every change; nothing is reported twice.
 */
export class InstanceTracking {
  private readonly interfaces: Track[];
  private readonly lists: TrackLists[];
  private readonly unsubscribers: (() => void)[] = [];
  private current: TrackingOutcome;
  private started = false;
  private settledWaiters: (() => void)[] = [];

  constructor(
    private readonly config: Pick<VrrpInstanceConfig, 'priority' | 'interface' | 'dontTrackPrimary'> &
      TrackLists,
    private readonly source: TrackerSource,
    private readonly listener: TrackingListener,
    options: InstanceTrackingOptions = {},
    private readonly kinds: readonly AnyTrackerKind[] = TRACKER_KINDS,
  ) {
    this.lists = options.group ? [config, options.group] : [config];
    this.interfaces = [];
    if (config.interface !== undefined && !config.dontTrackPrimary)
      this.interfaces.push({ name: config.interface, weight: 0, reverse: false });
    for (const list of this.lists) this.interfaces.push(...list.trackInterfaces);
    this.current = { effectivePriority: clampPriority(config.priority, 0), faults: [], pending: [] };
  }

  get outcome(): TrackingOutcome {
    return this.current;
  }

  /** The current state of every object this instance follows. */
  inputs(): TrackingInputs {
    return {
      interfaces: this.interfaces.map((t) => ({ ...t, up: this.source.linkUp(t.name) })),
      objects: this.kinds.flatMap((kind) =>
        this.lists
          .flatMap((list) => list[kind.list])
          .map((track) => ({
            name: track.name,
            cause: kind.faultCause(track.name),
            contribution: kind.contribution(track, this.source.tracker(kind, track.name)),
          })),
      ),
    };
  }

  start(): TrackingOutcome {
    if (this.started) return this.current;
    this.started = true;
    const recompute = () => this.recompute();
    for (const name of new Set(this.interfaces.map((t) => t.name)))
      this.unsubscribers.push(this.source.onLink(name, recompute));
    for (const kind of this.kinds) {
      const names = new Set(this.lists.flatMap((list) => list[kind.list].map((t) => t.name)));
      for (const name of names) this.unsubscribers.push(this.source.tracker(kind, name).onChange(recompute));
    }
    this.recompute();
    return this.current;
  }

  /** Resolves once no tracked script is still waiting for its first result. */
  settled(): Promise<void> {
    if (this.current.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    this.started = false;
  }

  private recompute(): void {
    if (!this.started) return;
    const next = trackingOutcome(this.config.priority, this.inputs());
    const previous = this.current;
    this.current = next;
    for (const cause of next.faults) if (!previous.faults.includes(cause)) this.listener.onFault(cause);
    for (const cause of previous.faults)
      if (!next.faults.includes(cause)) this.listener.onFaultCleared(cause);
    if (next.effectivePriority !== previous.effectivePriority)
      this.listener.onPriority(next.effectivePriority);
    if (next.pending.length === 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
  }
}

/**
 * The shared trackers of one configuration: one tracker per configured object of each tracker kind
 * (`watchers/kinds.ts`: vrrp_script, track_file, vrrp_track_process), plus the helpers they share (one /proc
 * scanner). Only what some instance or sync group tracks is started (keepalived runs no script nobody tracks).
 * Interfaces come from the agent's one link watcher, which outlives every registry.
 */
import type { TandemConfig, TrackLists } from '../config/schema.js';
import { TandemError } from '../errors.js';
import {
  type AnyTrackerKind,
  type SharedService,
  TRACKER_KINDS,
  type Tracker,
  type TrackerContext,
  type TrackerEnvironment,
} from './kinds.js';
import type { LinkWatcher } from './link.js';
import type { TrackerSource } from './tracking.js';

export class UnknownTrackerError extends TandemError {
  constructor(kind: string, name: string) {
    super('TANDEM_ETRACKER', `expected a ${kind} named '${name}', found none in the configuration`);
  }
}

export interface TrackerRegistryOptions extends TrackerEnvironment {
  kinds?: readonly AnyTrackerKind[];
}

export class TrackerRegistry implements TrackerSource {
  private readonly trackers = new Map<AnyTrackerKind, Map<string, Tracker>>();
  private readonly shared = new Map<string, SharedService>();
  private readonly used = new Map<AnyTrackerKind, Set<string>>();
  private readonly kinds: readonly AnyTrackerKind[];

  constructor(
    config: TandemConfig,
    readonly links: LinkWatcher,
    options: TrackerRegistryOptions = {},
  ) {
    this.kinds = options.kinds ?? TRACKER_KINDS;
    const { kinds: _kinds, ...environment } = options;
    const context: TrackerContext = {
      ...environment,
      config,
      shared: <T extends SharedService>(key: string, create: () => T): T => {
        let service = this.shared.get(key);
        if (service === undefined) {
          service = create();
          this.shared.set(key, service);
        }
        return service as T;
      },
    };
    const lists: TrackLists[] = [...config.instances, ...config.syncGroups];
    for (const kind of this.kinds) {
      const used = new Set(lists.flatMap((list) => list[kind.list].map((track) => track.name)));
      this.used.set(kind, used);
      const trackers = new Map<string, Tracker>();
      // Only what is tracked is created: an unused tracker would hold helpers (the /proc scanner) for nothing.
      for (const entry of kind.entries(config))
        if (used.has(entry.name)) trackers.set(entry.name, kind.create(entry, context));
      this.trackers.set(kind, trackers);
    }
  }

  /**
   * Starts what is tracked: resolves script users (ScriptUserError), prepares track files (FileTrackerError),
   * starts the scripts, then the shared helpers (the first /proc scan). Resolves when every initial state is
   * known, except scripts, whose first results arrive as changes.
   */
  async start(): Promise<void> {
    try {
      for (const trackers of this.trackers.values()) for (const tracker of trackers.values()) tracker.start();
      for (const service of this.shared.values()) await service.start();
    } catch (error) {
      this.stop();
      throw error;
    }
  }

  stop(): void {
    for (const trackers of this.trackers.values()) for (const tracker of trackers.values()) tracker.stop();
    for (const service of this.shared.values()) service.stop();
  }

  // ---- TrackerSource ----

  linkUp(name: string): boolean {
    return this.links.current(name).up;
  }
  onLink(name: string, listener: () => void): () => void {
    return this.links.track(name, () => listener());
  }
  tracker(kind: AnyTrackerKind, name: string): Tracker {
    const tracker = this.trackers.get(kind)?.get(name);
    if (tracker === undefined) throw new UnknownTrackerError(kind.block, name);
    return tracker;
  }

  /** Every tracker, with its kind and name (metrics, events). */
  list(): { kind: AnyTrackerKind; name: string; tracker: Tracker }[] {
    return [...this.trackers].flatMap(([kind, trackers]) =>
      [...trackers].map(([name, tracker]) => ({ kind, name, tracker })),
    );
  }

  /** The tracker of `kind` named `name`, with its own type (status output, tests). */
  get<T extends Tracker>(kind: AnyTrackerKind, name: string): T {
    return this.tracker(kind, name) as T;
  }
}

/**
 * What tracked objects do to one vrrp_instance: the effective priority and the fault causes, computed from the
 * current state of every interface, script, file and process the instance tracks. `trackingOutcome` is pure;
 * `InstanceTracking` subscribes to the shared trackers and reports only changes.
 *
 * The rules are keepalived's (keepalived.conf(5), vrrp_instance track_interface / track_script / track_file /
 * track_process, and the "Track files" and "VRRP track processes" sections). keepalived applies them
 * incrementally as things change; the stateless form here gives the same totals:
 * - weight 0: the tracked object failing puts the instance in FAULT (with `reverse`, succeeding does);
 * - weight > 0: added while the object is up / OK / running (subtracted instead with `reverse`);
 * - weight < 0: added (so subtracted) while it is down / failed / not running (added instead with `reverse`);
 * - track_file: the file's value times the weight (negated with `reverse`) is added; a result <= -254 means
 *   FAULT; with weight 0 a non-zero value means FAULT (with `reverse`, a zero value does);
 * - the sum is added to the configured priority and clamped to 1..254; an address owner (255) keeps 255.
 */
import type { Track, TrackLists, VrrpInstanceConfig } from '../config/schema.js';

/** RFC 5798 §5.2.4: 255 is the address owner's priority; backups use 1-254. */
export const OWNER_PRIORITY = 255;
export const MIN_EFFECTIVE_PRIORITY = 1;
export const MAX_EFFECTIVE_PRIORITY = 254;
/** keepalived.conf(5) "Track files": a result below -253 puts the instance in FAULT. */
export const FILE_FAULT_STATUS = -254;
/** keepalived caps one file's contribution at 253 (the largest useful priority change). */
export const FILE_MAX_STATUS = 253;

/** A health check's verdict: 'unknown' until the first run decides (keepalived's script INIT state). */
export type CheckState = 'unknown' | 'ok' | 'fail';

export interface TrackedInterface extends Track {
  up: boolean;
}
export interface TrackedScript extends Track {
  state: CheckState;
}
export interface TrackedFile extends Track {
  /** The number read from the file (0 when missing or unreadable), as FileTracker reports it. */
  value: number;
}
export interface TrackedProcess extends Track {
  /** The process count is within quorum..quorum_max (after fork/terminate delays). */
  running: boolean;
}

export interface TrackingInputs {
  interfaces: readonly TrackedInterface[];
  scripts: readonly TrackedScript[];
  files: readonly TrackedFile[];
  processes: readonly TrackedProcess[];
}

export interface TrackingOutcome {
  effectivePriority: number;
  /** Fault causes, in input order, without duplicates: 'link eth0', 'script chk', 'file f1', 'process p'. */
  faults: string[];
  /** Tracked scripts that have not reported yet (keepalived keeps such instances out of the election). */
  pending: string[];
}

export const faultCause = {
  link: (name: string) => `link ${name}`,
  script: (name: string) => `script ${name}`,
  file: (name: string) => `file ${name}`,
  process: (name: string) => `process ${name}`,
};

interface Contribution {
  fault: boolean;
  delta: number;
}

/** Interfaces, scripts and processes: an object that is either good (up / OK / running) or not. */
function binaryContribution(track: Track, good: boolean): Contribution {
  const multiplier = track.reverse ? -1 : 1;
  if (track.weight === 0) return { fault: good !== (multiplier === 1), delta: 0 };
  if (track.weight > 0) return { fault: false, delta: good ? track.weight * multiplier : 0 };
  return { fault: false, delta: good ? 0 : track.weight * multiplier };
}

function fileContribution(track: TrackedFile): Contribution {
  const multiplier = track.reverse ? -1 : 1;
  if (track.weight === 0) return { fault: (track.value !== 0) === (multiplier === 1), delta: 0 };
  const status = track.value * track.weight * multiplier;
  if (status <= FILE_FAULT_STATUS) return { fault: true, delta: 0 };
  return { fault: false, delta: Math.min(status, FILE_MAX_STATUS) };
}

export function clampPriority(base: number, sum: number): number {
  if (base === OWNER_PRIORITY) return OWNER_PRIORITY;
  return Math.min(MAX_EFFECTIVE_PRIORITY, Math.max(MIN_EFFECTIVE_PRIORITY, base + sum));
}

export function trackingOutcome(base: number, inputs: TrackingInputs): TrackingOutcome {
  const faults = new Set<string>();
  const pending: string[] = [];
  let sum = 0;
  const apply = (cause: string, contribution: Contribution) => {
    if (contribution.fault) faults.add(cause);
    sum += contribution.delta;
  };
  for (const track of inputs.interfaces)
    apply(faultCause.link(track.name), binaryContribution(track, track.up));
  for (const track of inputs.scripts) {
    if (track.state === 'unknown') {
      // keepalived: a script that has not run yet changes no priority, and an unweighted one holds the instance
      // back (INIT) until it reports; tandem holds it in FAULT, so it never becomes MASTER unchecked.
      pending.push(track.name);
      if (track.weight === 0) faults.add(faultCause.script(track.name));
      continue;
    }
    apply(faultCause.script(track.name), binaryContribution(track, track.state === 'ok'));
  }
  for (const track of inputs.files) apply(faultCause.file(track.name), fileContribution(track));
  for (const track of inputs.processes)
    apply(faultCause.process(track.name), binaryContribution(track, track.running));
  return { effectivePriority: clampPriority(base, sum), faults: [...faults], pending };
}

// ---- InstanceTracking: one instance's subscriptions ----

/** What InstanceTracking needs from the shared trackers (TrackerRegistry provides it). */
export interface TrackerSource {
  linkUp(name: string): boolean;
  onLink(name: string, listener: () => void): () => void;
  scriptState(name: string): CheckState;
  onScript(name: string, listener: () => void): () => void;
  fileValue(name: string): number;
  onFile(name: string, listener: () => void): () => void;
  processRunning(name: string): boolean;
  onProcess(name: string, listener: () => void): () => void;
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
    private readonly config: Pick<
      VrrpInstanceConfig,
      | 'priority'
      | 'interface'
      | 'dontTrackPrimary'
      | 'trackInterfaces'
      | 'trackScripts'
      | 'trackFiles'
      | 'trackProcesses'
    >,
    private readonly source: TrackerSource,
    private readonly listener: TrackingListener,
    options: InstanceTrackingOptions = {},
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

  /** The names of every object this instance follows, for status output. */
  inputs(): TrackingInputs {
    const all = <T extends keyof TrackLists>(key: T): Track[] => this.lists.flatMap((list) => list[key]);
    return {
      interfaces: this.interfaces.map((t) => ({ ...t, up: this.source.linkUp(t.name) })),
      scripts: all('trackScripts').map((t) => ({ ...t, state: this.source.scriptState(t.name) })),
      files: all('trackFiles').map((t) => ({ ...t, value: this.source.fileValue(t.name) })),
      processes: all('trackProcesses').map((t) => ({ ...t, running: this.source.processRunning(t.name) })),
    };
  }

  start(): TrackingOutcome {
    if (this.started) return this.current;
    this.started = true;
    const recompute = () => this.recompute();
    const names = (key: keyof TrackLists) =>
      new Set(this.lists.flatMap((list) => list[key].map((t) => t.name)));
    for (const name of new Set(this.interfaces.map((t) => t.name)))
      this.unsubscribers.push(this.source.onLink(name, recompute));
    for (const name of names('trackScripts')) this.unsubscribers.push(this.source.onScript(name, recompute));
    for (const name of names('trackFiles')) this.unsubscribers.push(this.source.onFile(name, recompute));
    for (const name of names('trackProcesses'))
      this.unsubscribers.push(this.source.onProcess(name, recompute));
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

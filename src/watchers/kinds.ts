/**
 * The tracker kinds: everything the registry and an instance's tracking need to know about one kind of tracked
 * object (vrrp_script, track_file, vrrp_track_process). A new kind is its watcher file, which exports a
 * `TrackerKind`, plus its keywords in the configuration; it is listed once in `TRACKER_KINDS` below and nothing
 * else changes (docs/architecture.md, "Tracker kinds"). Interfaces are not a kind: the agent's one link
 * watcher follows them.
 */
import type { TandemConfig, Track, TrackLists } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { CommandRunner } from '../core/process-group.js';
import type { Contribution } from './contribution.js';
import { fileKind } from './file.js';
import type { EntryLookup } from './identity.js';
import { processKind } from './process.js';
import { scriptKind } from './script.js';

/** One tracked object, shared by every instance and sync group that tracks it. */
export interface Tracker {
  /** Begins following the object; may throw for a configuration that cannot run (an unknown user...). */
  start(): void;
  stop(): void;
  /** Calls `listener` on each change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

/** A helper several trackers of a kind share (the /proc scanner), started after them and stopped with them. */
export interface SharedService {
  start(): void | Promise<void>;
  stop(): void;
}

/** What the agent gives every tracker: its clock and logger, how commands run and names resolve. */
export interface TrackerEnvironment {
  clock?: Clock;
  log?: Logger;
  /** How scripts run (default: each in its own process group, killed at the timeout). */
  run?: CommandRunner;
  /** How script user and group names resolve (default: getent, then /etc/passwd and /etc/group). */
  lookup?: EntryLookup;
  processScanIntervalMicroseconds?: number;
  procRoot?: string;
}

/** What creating a tracker may use: the environment, the configuration, shared helpers. */
export interface TrackerContext extends TrackerEnvironment {
  config: TandemConfig;
  /** The helper named `key`, created on first use; the registry starts it after the trackers. */
  shared<T extends SharedService>(key: string, create: () => T): T;
}

/** The keys of an instance's or group's track lists that name tracker kinds. */
export type TrackListKey = Exclude<keyof TrackLists, 'trackInterfaces'>;

export interface TrackerKind<Entry extends { name: string } = { name: string }, T extends Tracker = Tracker> {
  /** keepalived's block name, for messages ('vrrp_script'). */
  readonly block: string;
  /** Where instances and sync groups list their tracks of this kind. */
  readonly list: TrackListKey;
  /** The fault cause this kind puts on an instance ('script chk'). */
  faultCause(name: string): string;
  /** The configured objects of this kind. */
  entries(config: TandemConfig): readonly Entry[];
  create(entry: Entry, context: TrackerContext): T;
  /** keepalived's rule for one track of this kind, from the tracker's current state. */
  contribution(track: Track, tracker: T): Contribution;
}

/** Lets a list hold kinds of different entry and tracker types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTrackerKind = TrackerKind<any, any>;

/** Every kind, in the order their contributions and fault causes are reported. */
export const TRACKER_KINDS: readonly AnyTrackerKind[] = [scriptKind, fileKind, processKind];

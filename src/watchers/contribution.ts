/**
 * keepalived's rules for what one tracked object does to an instance (keepalived.conf(5), vrrp_instance
 * track_interface / track_script / track_file / track_process): a fault, or a change of priority. Pure; each
 * tracker kind picks the rule that fits it (`watchers/kinds.ts`), `InstanceTracking` adds them up.
 *
 * - weight 0: failing puts the instance in FAULT (with `reverse`, succeeding does);
 * - weight > 0: added while the object is up / OK / running (subtracted instead with `reverse`);
 * - weight < 0: added (so subtracted) while it is down / failed / not running (added instead with `reverse`);
 * - track_file: the file's value times the weight (negated with `reverse`) is added; a result <= -254 means
 *   FAULT; with weight 0 a non-zero value means FAULT (with `reverse`, a zero value does);
 * - the sum is added to the configured priority and clamped to 1..254; an address owner (255) keeps 255.
 */
import type { Track } from '../config/schema.js';
import { PRIORITY_BACKUP_MAX, PRIORITY_BACKUP_MIN, PRIORITY_OWNER } from '../core/protocol.js';

/** keepalived.conf(5) "Track files": a result below -253 puts the instance in FAULT. */
export const FILE_FAULT_STATUS = -254;
/** keepalived caps one file's contribution at 253 (the largest useful priority change). */
export const FILE_MAX_STATUS = 253;

/** What one tracked object adds: a fault, a priority change, or nothing yet (a script that has not run). */
export interface Contribution {
  fault: boolean;
  delta: number;
  /** No verdict yet (keepalived keeps such instances out of the election). */
  pending?: boolean;
}

/** Interfaces, scripts and processes: an object that is either good (up / OK / running) or not. */
export function binaryContribution(track: Track, good: boolean): Contribution {
  const multiplier = track.reverse ? -1 : 1;
  if (track.weight === 0) return { fault: good !== (multiplier === 1), delta: 0 };
  if (track.weight > 0) return { fault: false, delta: good ? track.weight * multiplier : 0 };
  return { fault: false, delta: good ? 0 : track.weight * multiplier };
}

/** A track_file: the value read from the file times the weight. */
export function fileContribution(track: Track, value: number): Contribution {
  const multiplier = track.reverse ? -1 : 1;
  if (track.weight === 0) return { fault: (value !== 0) === (multiplier === 1), delta: 0 };
  const status = value * track.weight * multiplier;
  if (status <= FILE_FAULT_STATUS) return { fault: true, delta: 0 };
  return { fault: false, delta: Math.min(status, FILE_MAX_STATUS) };
}

/**
 * A health check before its first result: keepalived changes no priority, and an unweighted one holds the
 * instance back (INIT) until it reports; tandem holds it in FAULT, so it never becomes MASTER unchecked.
 */
export function pendingContribution(track: Track): Contribution {
  return { fault: track.weight === 0, delta: 0, pending: true };
}

export function clampPriority(base: number, sum: number): number {
  if (base === PRIORITY_OWNER) return PRIORITY_OWNER;
  return Math.min(PRIORITY_BACKUP_MAX, Math.max(PRIORITY_BACKUP_MIN, base + sum));
}

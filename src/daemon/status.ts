/**
 * What `tandem status --json` reports (docs/operations.md documents the fields): one entry per running
 * instance, built from the driver's snapshot and the instance's one counter table, plus the agent's sockets.
 */
import type { ControlCounters } from './control.js';
import type { InstanceCounters } from '../vrrp/counters.js';
import type { SocketCounters } from '../vrrp/demux.js';
import type { VrrpState } from '../vrrp/fsm.js';

export interface InstanceStatus {
  name: string;
  interface: string;
  vrid: number;
  version: number;
  family: number;
  state: VrrpState;
  priority: number;
  effectivePriority: number;
  masterAddress: string | null;
  /** The advert source; '' while the interface (or an address on it) is missing. */
  sourceAddress: string;
  vips: string[];
  timeInStateSeconds: number;
  lastTransition: { from: string; to: string; reason: string } | null;
  faults: readonly string[];
  /** The instance's counter table: every event and every discard reason, from zero (`vrrp/counters.ts`). */
  counters: InstanceCounters;
  /** Another MASTER heard on this VRID (lower priority) while this one is MASTER, until it yields; else null. */
  splitBrain?: { peer: string; peerPriority: number; sinceSeconds: number } | null;
  /** A make-before-break handover in progress: where it goes (STOPPED, BACKUP, FAULT); else null. */
  handover?: 'STOPPED' | 'BACKUP' | 'FAULT' | null;
  /** After `tandem switchover`: BACKUP that does not preempt until `tandem switchover --resume`. */
  yielded?: boolean;
}

export interface AgentStatus {
  pid: number;
  routerId: string | undefined;
  uptimeSeconds: number;
  reloads: number;
  instances: InstanceStatus[];
  sockets: { interface: string; family: number; vrids: number[]; counters: SocketCounters }[];
  control: ControlCounters;
}

/** Seconds with millisecond resolution, from a span in microseconds. */
export function seconds(microseconds: number): number {
  return Math.round(microseconds / 1000) / 1000;
}

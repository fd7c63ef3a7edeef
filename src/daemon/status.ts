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
}

export interface AgentStatus {
  pid: number;
  routerId: string | undefined;
  uptimeSeconds: number;
  reloads: number;
  instances: InstanceStatus[];
  sockets: { interface: string; family: number; vrids: number[]; counters: SocketCounters }[];
  control: ControlCounters;
  /** The process's memory (process.memoryUsage()), to follow the footprint (docs/performance.md). */
  memory: { rssBytes: number; heapUsedBytes: number; heapTotalBytes: number };
}

export function memoryStatus(): AgentStatus['memory'] {
  const { rss, heapUsed, heapTotal } = process.memoryUsage();
  return { rssBytes: rss, heapUsedBytes: heapUsed, heapTotalBytes: heapTotal };
}

/** Seconds with millisecond resolution, from a span in microseconds. */
export function seconds(microseconds: number): number {
  return Math.round(microseconds / 1000) / 1000;
}

/**
 * What the metrics endpoint reads at each scrape: a plain snapshot of the agent that the agent builds from its
 * instances' counter tables, trackers and FIFOs when asked. Nothing is computed on the advert path; a scrape
 * takes one snapshot and renders every family from it.
 *
 * The mapping from tandem's counters and discard reasons to keepalived's statistics (and so to the
 * mehdy/keepalived-exporter families) lives here as data, next to the table it reads; docs/metrics.md shows it.
 */

export type InstanceProtocol = 'vrrp' | 'carp';
export type InstanceStateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOPPED';
export type TrackerStateName = 'up' | 'down' | 'unknown';

/** keepalived's state numbers (vrrp.h VRRP_STATE_*), as its JSON dump and the exporter's keepalived_vrrp_state give them. */
export const KEEPALIVED_STATE_NUMBER: Record<InstanceStateName, number> = {
  INIT: 0,
  BACKUP: 1,
  MASTER: 2,
  FAULT: 3,
  // keepalived's internal VRRP_STATE_STOP, which its JSON dump reports for an instance being stopped.
  STOPPED: 98,
};

export const INSTANCE_STATES: readonly InstanceStateName[] = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOPPED'];
export const TRACKER_STATES: readonly TrackerStateName[] = ['up', 'down', 'unknown'];

/** keepalived's script status (vrrp_data.c: GOOD when result >= rise) and run state words. */
export type ScriptStatusName = 'GOOD' | 'BAD';
export type ScriptRunStateName = 'idle' | 'running' | 'requested termination' | 'forcing termination';
/** The exporter's numbering: the index in these lists (keepalived_script_status, keepalived_script_state). */
export const KEEPALIVED_SCRIPT_STATUSES: readonly ScriptStatusName[] = ['BAD', 'GOOD'];
export const KEEPALIVED_SCRIPT_STATES: readonly ScriptRunStateName[] = [
  'idle',
  'running',
  'requested termination',
  'forcing termination',
];

/**
 * One instance's counter table: the named counters below and every discard reason (present at zero), as one
 * flat record. The reasons the metrics render come from `MetricsOptions.discardReasons`.
 */
export type InstanceCounterTable = Readonly<Record<string, number>> & {
  readonly advertsSent: number;
  /** Adverts that passed every receive check. */
  readonly advertsReceived: number;
  readonly priorityZeroSent: number;
  readonly priorityZeroReceived: number;
};

export interface VipTelemetry {
  address: string;
  prefixLength: number;
  /** The interface the address goes on (its `dev`, else the instance's interface). */
  interface: string;
  /** `virtual_ipaddress_excluded` (not advertised). */
  excluded: boolean;
}

export interface TransitionCount {
  from: InstanceStateName;
  to: InstanceStateName;
  reason: string;
  count: number;
}

export interface InstanceTelemetry {
  name: string;
  protocol: InstanceProtocol;
  interface: string;
  /** The VRID (CARP: the vhid). */
  vrid: number;
  family: 4 | 6;
  /** VRRP version 2 or 3 (CARP: 2, its only version). */
  version: number;
  state: InstanceStateName;
  priority: number;
  effectivePriority: number;
  vips: readonly VipTelemetry[];
  /** garp_master_delay in seconds (keepalived's "Gratuitous ARP delay"). */
  garpMasterDelaySeconds: number;
  counters: InstanceCounterTable;
  /** Transitions since the instance started, by from, to and reason. */
  transitions: readonly TransitionCount[];
  /** Times this instance, as MASTER, heard another MASTER of its VRID. */
  splitBrainEvents: number;
  /** The configured hooks by name (see HookStartEvent.hook), so their counters exist at zero before a run. */
  hooks: readonly string[];
  /** Seconds since the last advert accepted from the current master; undefined when none is being heard. */
  secondsSinceMasterAdvert: number | undefined;
}

export interface ScriptTelemetry {
  name: string;
  status: ScriptStatusName;
  state: ScriptRunStateName;
}

export interface TrackerTelemetry {
  /** `interface`, `script`, `file`, `process`. */
  kind: string;
  name: string;
  state: TrackerStateName;
}

export interface FifoTelemetry {
  path: string;
  /** Lines dropped because the pipe was full, too long, or the write failed. */
  dropped: number;
}

export interface AgentTelemetry {
  reloads: number;
  controlBadRequests: number;
  eventSubscribersDropped: number;
}

export interface TelemetrySnapshot {
  instances: readonly InstanceTelemetry[];
  /** Sync groups' hooks are counted under the group's name (`iname`); list the configured ones here. */
  groupHooks: readonly { syncGroup: string; hooks: readonly string[] }[];
  scripts: readonly ScriptTelemetry[];
  trackers: readonly TrackerTelemetry[];
  fifos: readonly FifoTelemetry[];
  agent: AgentTelemetry;
}

/**
 * Builds a snapshot. It must return copies (numbers, fresh arrays), not the live counter tables: a scrape renders
 * over several turns of the event loop, and every family must read the same moment.
 */
export type TelemetrySource = () => TelemetrySnapshot;

/**
 * keepalived's per-instance statistics (vrrp.h vrrp_stats, written by vrrp.c's receive checks), each as the sum of
 * tandem's discard reasons that are the same check. Facts from keepalived 2.x: a packet whose length disagrees
 * with its address count is a length error; an address count or list that differs is an address-list error;
 * an unknown auth type is "invalid", a different one a "mismatch", a wrong password a "failure".
 */
export const KEEPALIVED_DISCARD_FAMILIES = {
  keepalived_packet_length_errors_total: ['truncated', 'oversized', 'count-mismatch'],
  keepalived_advertisements_interval_errors_total: ['interval-mismatch', 'zero-interval'],
  keepalived_ip_ttl_errors_total: ['bad-ttl'],
  keepalived_invalid_type_received_total: ['bad-type'],
  keepalived_address_list_errors_total: ['address-mismatch'],
  keepalived_authentication_invalid_total: ['bad-auth-type', 'auth-unsupported'],
  keepalived_authentication_mismatch_total: ['auth-type-mismatch'],
  keepalived_authentication_failure_total: ['auth-mismatch'],
} as const satisfies Record<string, readonly string[]>;

/** keepalived statistics that are plain tandem counters. */
export const KEEPALIVED_COUNTER_FAMILIES = {
  keepalived_advertisements_received_total: 'advertsReceived',
  keepalived_advertisements_sent_total: 'advertsSent',
  keepalived_priority_zero_received_total: 'priorityZeroReceived',
  keepalived_priority_zero_sent_total: 'priorityZeroSent',
} as const satisfies Record<string, keyof InstanceCounterTable>;

/**
 * keepalived's VIP text in its data dump (vrrp_ipaddress.c ipaddresstos): the address, with `/prefix` only when
 * the prefix is not a host prefix; mehdy/keepalived-exporter takes it as the `ip_address` label.
 */
export function keepalivedVipText(vip: Pick<VipTelemetry, 'address' | 'prefixLength'>): string {
  const hostLength = vip.address.includes(':') ? 128 : 32;
  return vip.prefixLength === hostLength ? vip.address : `${vip.address}/${vip.prefixLength}`;
}

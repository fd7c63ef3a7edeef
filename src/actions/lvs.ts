/**
 * The IPVS connection-sync daemon follows one VRRP instance (keepalived's `lvs_sync_daemon IF INSTANCE`): the
 * box that holds the VIPs runs the master daemon, which multicasts its connection table; the others run the
 * backup daemon, which receives it, so established LVS connections survive a failover.
 *
 * keepalived 2.2 talks to IPVS over netlink; tandem runs the `ipvsadm` equivalents (resolved from PATH) through
 * the instance's hook queue, so they run in transition order with a timeout. Which daemon is stopped or started
 * on each transition is keepalived's (vrrp.c, vrrp_scheduler.c, vrrp_daemon.c, ipvswrapper.c):
 *
 * - at startup, the daemon of the initial role is started (no stop first);
 * - becoming MASTER: stop the backup daemon, start the master daemon (`ipvs_syncd_master`);
 * - leaving MASTER for BACKUP or FAULT: stop the master daemon, start the backup daemon (`ipvs_syncd_backup`);
 * - BACKUP <-> FAULT changes nothing: both run the backup daemon;
 * - on shutdown, the daemon of the current role is stopped.
 *
 * The sync id defaults to the followed instance's VRID (keepalived: "If no syncid configured, use vrid"). The
 * interface, sync id and, where configured, maxlen, group, port and ttl are passed when a daemon starts; a stop
 * names only the role, as `ipvsadm --stop-daemon` takes nothing else (the kernel stops by role).
 */
import type { LvsSyncDaemonConfig } from '../config/schema.js';
import type { HookState } from './notify.js';

/** Resolved from PATH by the hook runner. */
export const IPVSADM = 'ipvsadm';

export type LvsRole = 'master' | 'backup';

/** The sync id a daemon is started with: the configured one, else the followed instance's VRID, else 0. */
export function lvsSyncId(config: LvsSyncDaemonConfig, vrid?: number): number {
  return config.syncId ?? vrid ?? 0;
}

/** `ipvsadm --start-daemon ROLE --mcast-interface IF --syncid N [...]`, options in ipvsadm(8)'s order. */
export function lvsStartArgv(config: LvsSyncDaemonConfig, role: LvsRole, vrid?: number): string[] {
  const argv = [
    IPVSADM,
    '--start-daemon',
    role,
    '--mcast-interface',
    config.interface,
    '--syncid',
    String(lvsSyncId(config, vrid)),
  ];
  if (config.maxlen !== undefined) argv.push('--sync-maxlen', String(config.maxlen));
  if (config.group !== undefined) argv.push('--mcast-group', config.group);
  if (config.port !== undefined) argv.push('--mcast-port', String(config.port));
  if (config.ttl !== undefined) argv.push('--mcast-ttl', String(config.ttl));
  return argv;
}

/** `ipvsadm --stop-daemon ROLE`. */
export function lvsStopArgv(role: LvsRole): string[] {
  return [IPVSADM, '--stop-daemon', role];
}

/** The daemon role a VRRP state runs; STOP runs none. */
function roleOf(state: HookState | undefined): LvsRole | undefined {
  if (state === 'MASTER') return 'master';
  if (state === 'BACKUP' || state === 'FAULT') return 'backup';
  return undefined;
}

/**
 * The ipvsadm argv lists for the followed instance entering `state` from `previous` (undefined, or STOP: the
 * agent is starting), in the order they must run. Empty when the role does not change.
 *
 * `vrid` is the followed instance's VRID, the sync id when none is configured.
 */
export function lvsCommands(
  config: LvsSyncDaemonConfig,
  state: HookState,
  previous?: HookState,
  vrid?: number,
): string[][] {
  const from = roleOf(previous);
  const to = roleOf(state);
  if (from === to) return [];
  const lists: string[][] = [];
  if (from !== undefined) lists.push(lvsStopArgv(from));
  if (to !== undefined) lists.push(lvsStartArgv(config, to, vrid));
  return lists;
}

/**
 * With no instance to follow, keepalived's checker runs both daemons for as long as it runs, with sync id 0
 * unless configured; at start it first stops any left over from an abnormal exit (check_daemon.c). tandem has
 * no checker process: these are the lists an agent that wants that behaviour runs at start and at stop.
 */
export function lvsStandaloneCommands(config: LvsSyncDaemonConfig, phase: 'start' | 'stop'): string[][] {
  if (phase === 'stop') return [lvsStopArgv('master'), lvsStopArgv('backup')];
  return [
    lvsStopArgv('master'),
    lvsStopArgv('backup'),
    lvsStartArgv(config, 'master'),
    lvsStartArgv(config, 'backup'),
  ];
}

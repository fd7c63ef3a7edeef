/**
 * The scenario the notify interop tests drive a daemon through (keepalived alone, or keepalived and `tandem run`
 * side by side): two instances in a sync group on eth0 of a namespace of their own, a notify script for every
 * state of the first member plus the group's generic one, both notify FIFOs, and the drive BACKUP -> MASTER ->
 * FAULT (link down) -> BACKUP -> MASTER (link up); the capture's stop adds STOP.
 *
 *   const ns = await isolatedHost(lab, 'kad');
 *   const capture = await captureNotifies(lab, keepalivedConf, (text) => startKeepalived(lab, ns, text, 'k'),
 *     drive(lab, ns));
 *   linesAbout(capture.notifyFifo, 'VI_1');   // the FIFO lines about VI_1, in order
 *   scenarioNotifies(capture.config);          // tandem's notify commands of VI_1 and the group, from that config
 */
import assert from 'node:assert/strict';
import type { HookState, NotifyCommands } from '../../src/actions/notify.js';
import { formatDiagnostic, loadConfig, memoryFileSystem } from '../../src/config/index.js';
import type { Lab } from './netns.js';
import type { NotifyCapturePaths } from './notify-capture.js';

export const INSTANCES = [
  { name: 'VI_1', vrid: 51, priority: 100, vip: '192.0.2.100/24' },
  { name: 'VI_2', vrid: 52, priority: 150, vip: '192.0.2.101/24' },
] as const;
export const GROUP = 'G1';
/** The states every member and the group go through in this drive, in order. */
export const STATES: HookState[] = ['BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'MASTER', 'STOP'];
/** BACKUP -> MASTER takes Master_Down_Interval (3 × 0.5 s + skew) on a silent link; room for either daemon. */
const STATE_TIMEOUT_MS = 10_000;

export interface ScenarioOptions {
  /** Also give the sync group a notify_master script (its first argument is `group-master`). */
  groupMaster?: boolean;
}

/** The keepalived.conf of the scenario, naming the capture's FIFOs and its recorder as every notify script. */
export function keepalivedConf(
  paths: NotifyCapturePaths,
  { groupMaster = false }: ScenarioOptions = {},
): string {
  const recorder = paths.recorder;
  const lines = [
    'global_defs {',
    '    script_user root',
    '    vrrp_version 3',
    `    notify_fifo ${paths.notifyFifo}`,
    `    vrrp_notify_fifo ${paths.vrrpNotifyFifo}`,
    '}',
    `vrrp_sync_group ${GROUP} {`,
    '    group {',
    ...INSTANCES.map((instance) => `        ${instance.name}`),
    '    }',
    `    notify "${recorder} group-any"`,
    ...(groupMaster ? [`    notify_master "${recorder} group-master"`] : []),
    '}',
  ];
  for (const [index, instance] of INSTANCES.entries()) {
    lines.push(
      `vrrp_instance ${instance.name} {`,
      '    state BACKUP',
      '    interface eth0',
      `    virtual_router_id ${instance.vrid}`,
      `    priority ${instance.priority}`,
      '    advert_int 0.5',
      '    virtual_ipaddress {',
      `        ${instance.vip}`,
      '    }',
    );
    // Only the first member has notify scripts: the second shows that FIFO lines come from every instance.
    if (index === 0)
      lines.push(
        `    notify_master "${recorder} master 'two words'"`,
        `    notify_backup "${recorder} backup"`,
        `    notify_fault ${recorder}`,
        `    notify_stop "${recorder} stop"`,
        `    notify "${recorder} any"`,
      );
    lines.push('}');
  }
  return lines.join('\n') + '\n';
}

/** A namespace with eth0 on a veth pair wholly inside it: eth0 can go down and up, nothing answers on it. */
export async function isolatedHost(lab: Lab, name: string): Promise<string> {
  const ns = await lab.namespace(name);
  await lab.exec(ns, ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
  await lab.exec(ns, ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
  await lab.exec(ns, ['ip', 'link', 'set', 'peer0', 'up']);
  await lab.exec(ns, ['ip', 'link', 'set', 'eth0', 'up']);
  return ns;
}

export interface Drivable {
  waitForState(instance: string, state: string, timeoutMs?: number): Promise<unknown>;
}

/** The drive for a daemon in `ns`: MASTER, link down (FAULT), link up (BACKUP, then MASTER); STOP follows. */
export function drive(lab: Lab, ns: string): (daemon: Drivable) => Promise<void> {
  const bothIn = async (daemon: Drivable, state: string) => {
    for (const instance of INSTANCES) await daemon.waitForState(instance.name, state, STATE_TIMEOUT_MS);
  };
  return async (daemon: Drivable) => {
    await bothIn(daemon, 'MASTER');
    await lab.exec(ns, ['ip', 'link', 'set', 'eth0', 'down']);
    await bothIn(daemon, 'FAULT');
    await lab.exec(ns, ['ip', 'link', 'set', 'eth0', 'up']);
    await bothIn(daemon, 'MASTER');
  };
}

/** The lines of `bytes` (each with its newline) that are about `name`. */
export function linesAbout(bytes: Buffer, name: string): string {
  const lines = bytes.toString('latin1').match(/[^\n]*\n/g) ?? [];
  return lines.filter((line) => line.includes(` "${name}" `)).join('');
}

/** The notify commands of the first member (VI_1) and of the group, as tandem loads them from `configText`. */
export async function scenarioNotifies(
  configText: string,
): Promise<{ first: NotifyCommands; group: NotifyCommands }> {
  const loaded = await loadConfig('keepalived.conf', {
    configId: 'tandem',
    files: memoryFileSystem({ 'keepalived.conf': configText }),
  });
  assert.ok(loaded.config, loaded.diagnostics.map(formatDiagnostic).join('\n'));
  const first = loaded.config.instances.find((instance) => instance.name === 'VI_1');
  const group = loaded.config.syncGroups.find((syncGroup) => syncGroup.name === GROUP);
  assert.ok(first && group);
  return { first: first.notify, group: group.notify };
}

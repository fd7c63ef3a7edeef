/**
 * keepalived 2.2 (Debian's package) as the reference for notify FIFO lines and notify script arguments: it runs
 * alone in a lab namespace with two instances in a sync group, a notify script for every state plus the
 * generic one, `notify_fifo` and `vrrp_notify_fifo`, and is driven BACKUP -> MASTER -> FAULT (link down) ->
 * BACKUP -> MASTER (link up) -> STOP (SIGTERM). What it wrote and ran is compared byte for byte with what
 * tandem's `fifoLine` and `hookCommands` produce for the same transitions, with the notify commands taken from
 * tandem's own loading of the very same keepalived.conf.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fifoLine } from '../../src/actions/fifo.js';
import { hookCommands, type HookEvent, type HookState } from '../../src/actions/notify.js';
import { formatDiagnostic, loadConfig, memoryFileSystem } from '../../src/config/index.js';
import { type KeepalivedProcess, keepalivedVersion } from '../helpers/keepalived.js';
import { captureKeepalivedNotifies, type NotifyCapturePaths } from '../helpers/keepalived-fifo.js';
import { requireRoot, withLab } from '../helpers/netns.js';

const INSTANCES = [
  { name: 'VI_1', vrid: 51, priority: 100, vip: '192.0.2.100/24' },
  { name: 'VI_2', vrid: 52, priority: 150, vip: '192.0.2.101/24' },
] as const;
const GROUP = 'G1';
/** The states every member and the group go through in this drive, in order. */
const STATES: HookState[] = ['BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'MASTER', 'STOP'];

function keepalivedConf(paths: NotifyCapturePaths): string {
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
    // Only the first member has notify scripts: the second shows that lines come from every instance.
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

function expectedEvents(): HookEvent[] {
  return [
    ...INSTANCES.flatMap((instance) =>
      STATES.map((state): HookEvent => ({
        kind: 'INSTANCE',
        name: instance.name,
        state,
        priority: instance.priority,
      })),
    ),
    ...STATES.map((state): HookEvent => ({ kind: 'GROUP', name: GROUP, state, priority: 0 })),
  ];
}

/** The lines of `bytes` (each with its newline) that are about `name`. */
function linesAbout(bytes: Buffer, name: string): string {
  const lines = bytes.toString('latin1').match(/[^\n]*\n/g) ?? [];
  return lines.filter((line) => line.includes(` "${name}" `)).join('');
}

test('notify FIFO lines and notify argv are the same bytes keepalived 2.2 writes and runs', async () => {
  requireRoot();
  assert.match(keepalivedVersion(), /^Keepalived v2\.2\./);
  await withLab(async (lab) => {
    const ns = await lab.namespace('kad');
    // A veth pair wholly inside the namespace: eth0 can go down and up, nothing answers on it.
    await lab.exec(ns, ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
    await lab.exec(ns, ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
    await lab.exec(ns, ['ip', 'link', 'set', 'peer0', 'up']);
    await lab.exec(ns, ['ip', 'link', 'set', 'eth0', 'up']);
    const bothIn = async (peer: KeepalivedProcess, state: string) => {
      for (const instance of INSTANCES) await peer.waitForState(instance.name, state);
    };
    const capture = await captureKeepalivedNotifies(lab, ns, keepalivedConf, async (peer) => {
      await bothIn(peer, 'MASTER');
      await lab.exec(ns, ['ip', 'link', 'set', 'eth0', 'down']);
      await bothIn(peer, 'FAULT');
      await lab.exec(ns, ['ip', 'link', 'set', 'eth0', 'up']);
      await bothIn(peer, 'MASTER');
    });
    const context = `keepalived wrote:\n${capture.notifyFifo.toString('latin1')}\nran: ${JSON.stringify(capture.notifies)}`;

    // FIFO: both FIFOs got the same bytes; per instance and per group, exactly fifoLine's bytes in order.
    assert.ok(capture.notifyFifo.equals(capture.vrrpNotifyFifo), 'notify_fifo and vrrp_notify_fifo agree');
    const events = expectedEvents();
    for (const name of [...INSTANCES.map((instance) => instance.name), GROUP]) {
      const ours = events
        .filter((event) => event.name === name)
        .map(fifoLine)
        .join('');
      assert.equal(linesAbout(capture.notifyFifo, name), ours, `${name}: ${context}`);
    }
    assert.equal(
      capture.notifyFifo.length,
      Buffer.byteLength(events.map(fifoLine).join('')),
      `no other line: ${context}`,
    );

    // Notify scripts: tandem loads the same keepalived.conf, and hookCommands gives the argv keepalived ran.
    const loaded = loadConfig('keepalived.conf', {
      configId: 'tandem',
      files: memoryFileSystem({ 'keepalived.conf': capture.config }),
    });
    assert.ok(loaded.config, loaded.diagnostics.map(formatDiagnostic).join('\n'));
    const first = loaded.config.instances.find((instance) => instance.name === 'VI_1');
    const group = loaded.config.syncGroups.find((syncGroup) => syncGroup.name === GROUP);
    assert.ok(first && group);
    const expected = events.flatMap((event) => {
      if (event.kind === 'GROUP') return hookCommands(group.notify, event);
      return event.name === 'VI_1' ? hookCommands(first.notify, event) : [];
    });
    // keepalived forks the scripts of one transition without waiting, so they may finish in any order...
    const sorted = (lists: string[][]) => lists.map((argv) => JSON.stringify(argv)).sort();
    assert.deepEqual(sorted(capture.notifies), sorted(expected), context);
    // ...but the generic script's runs of one instance or group follow the transitions.
    for (const name of ['VI_1', GROUP]) {
      const generic = (lists: string[][]) => lists.filter((argv) => argv.at(-3) === name);
      assert.deepEqual(generic(capture.notifies), generic(expected), `${name}: ${context}`);
    }
  });
});

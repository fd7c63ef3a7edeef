/**
 * The IPVS sync daemon follows the instance: the exact ipvsadm command lines for each transition.
 *
 * This kernel has no IP_VS module (and CI's has none either), so a real `ipvsadm --start-daemon` cannot
 * succeed here. The commands therefore run through the real hook runner (`runHook`, as the agent runs them)
 * against a recording stand-in `ipvsadm` put first on PATH, which appends its argv to a file; the test asserts
 * the recorded lines exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  IPVSADM,
  lvsCommands,
  lvsStandaloneCommands,
  lvsStartArgv,
  lvsStopArgv,
  lvsSyncId,
} from '../../src/actions/lvs.js';
import type { HookState } from '../../src/actions/notify.js';
import { runInProcessGroup as runHook } from '../../src/core/process-group.js';
import type { LvsSyncDaemonConfig } from '../../src/config/schema.js';
import { conf, instance, loadText } from '../config/helpers.js';

const FOLLOWED: LvsSyncDaemonConfig = { interface: 'eth1', instance: 'VI_1' };
const VRID = 51;

/** A directory holding a stand-in `ipvsadm` that appends its arguments, one call per line, to `record`. */
function recordingIpvsadm(): { directory: string; record: string; lines: () => string[] } {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-ipvsadm-'));
  const record = join(directory, 'calls');
  const script = join(directory, IPVSADM);
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${record}'\n`);
  chmodSync(script, 0o755);
  return {
    directory,
    record,
    lines: () => {
      try {
        return readFileSync(record, 'utf8').split('\n').slice(0, -1);
      } catch {
        return [];
      }
    },
  };
}

/** Runs every argv list of a sequence of transitions, in order, through the hook runner. */
async function runTransitions(config: LvsSyncDaemonConfig, states: HookState[], path: string): Promise<void> {
  let previous: HookState | undefined;
  for (const state of states) {
    for (const argv of lvsCommands(config, state, previous, VRID)) {
      const result = await runHook(argv, { timeoutMs: 5000, env: { PATH: path } });
      assert.equal(result.exitCode, 0, `${argv.join(' ')}: ${result.error?.message ?? ''}`);
    }
    previous = state;
  }
}

test('the sync id is the configured one, else the VRID of the followed instance, else 0', () => {
  assert.equal(lvsSyncId({ interface: 'eth1', syncId: 7 }, VRID), 7);
  assert.equal(lvsSyncId({ interface: 'eth1', syncId: 0 }, VRID), 0);
  assert.equal(lvsSyncId(FOLLOWED, VRID), VRID);
  assert.equal(lvsSyncId({ interface: 'eth1' }), 0);
});

test('start and stop argv: role, interface, sync id, then the optional settings', () => {
  assert.deepEqual(lvsStartArgv(FOLLOWED, 'backup', VRID), [
    'ipvsadm',
    '--start-daemon',
    'backup',
    '--mcast-interface',
    'eth1',
    '--syncid',
    '51',
  ]);
  assert.deepEqual(
    lvsStartArgv({ ...FOLLOWED, syncId: 9, maxlen: 1400, group: '239.1.2.3', port: 8849, ttl: 2 }, 'master'),
    [
      'ipvsadm',
      '--start-daemon',
      'master',
      '--mcast-interface',
      'eth1',
      '--syncid',
      '9',
      '--sync-maxlen',
      '1400',
      '--mcast-group',
      '239.1.2.3',
      '--mcast-port',
      '8849',
      '--mcast-ttl',
      '2',
    ],
  );
  assert.deepEqual(lvsStopArgv('master'), ['ipvsadm', '--stop-daemon', 'master']);
});

test("each transition runs keepalived's stop/start pair, and nothing when the role is unchanged", () => {
  const start = (role: 'master' | 'backup') => lvsStartArgv(FOLLOWED, role, VRID);
  // Startup: only the initial role's daemon is started.
  assert.deepEqual(lvsCommands(FOLLOWED, 'BACKUP', undefined, VRID), [start('backup')]);
  assert.deepEqual(lvsCommands(FOLLOWED, 'FAULT', undefined, VRID), [start('backup')]);
  assert.deepEqual(lvsCommands(FOLLOWED, 'MASTER', undefined, VRID), [start('master')]);
  assert.deepEqual(lvsCommands(FOLLOWED, 'MASTER', 'STOP', VRID), [start('master')]);
  // Becoming MASTER: ipvs_syncd_master. Leaving it: ipvs_syncd_backup.
  for (const from of ['BACKUP', 'FAULT'] as const) {
    assert.deepEqual(lvsCommands(FOLLOWED, 'MASTER', from, VRID), [lvsStopArgv('backup'), start('master')]);
    assert.deepEqual(lvsCommands(FOLLOWED, from, 'MASTER', VRID), [lvsStopArgv('master'), start('backup')]);
  }
  // Same role: nothing.
  assert.deepEqual(lvsCommands(FOLLOWED, 'FAULT', 'BACKUP', VRID), []);
  assert.deepEqual(lvsCommands(FOLLOWED, 'BACKUP', 'FAULT', VRID), []);
  assert.deepEqual(lvsCommands(FOLLOWED, 'MASTER', 'MASTER', VRID), []);
  // Shutdown: stop the current role's daemon; never started, nothing to stop.
  assert.deepEqual(lvsCommands(FOLLOWED, 'STOP', 'MASTER', VRID), [lvsStopArgv('master')]);
  assert.deepEqual(lvsCommands(FOLLOWED, 'STOP', 'FAULT', VRID), [lvsStopArgv('backup')]);
  assert.deepEqual(lvsCommands(FOLLOWED, 'STOP', undefined, VRID), []);
});

test('a sequence of transitions runs exactly these ipvsadm lines (recording stand-in: no IP_VS module here)', async () => {
  const stand = recordingIpvsadm();
  try {
    // The stand-in comes first on PATH: the command is `ipvsadm`, resolved from PATH as in production.
    await runTransitions(
      FOLLOWED,
      ['BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'MASTER', 'BACKUP', 'MASTER', 'STOP'],
      `${stand.directory}:/usr/sbin:/usr/bin:/sbin:/bin`,
    );
    const backup = '--start-daemon backup --mcast-interface eth1 --syncid 51';
    const master = '--start-daemon master --mcast-interface eth1 --syncid 51';
    assert.deepEqual(stand.lines(), [
      backup, // start: BACKUP
      '--stop-daemon backup', // BACKUP -> MASTER
      master,
      '--stop-daemon master', // MASTER -> FAULT
      backup,
      // FAULT -> BACKUP: the backup daemon keeps running
      '--stop-daemon backup', // BACKUP -> MASTER
      master,
      '--stop-daemon master', // MASTER -> BACKUP
      backup,
      '--stop-daemon backup', // BACKUP -> MASTER
      master,
      '--stop-daemon master', // shutdown
    ]);
  } finally {
    rmSync(stand.directory, { recursive: true, force: true });
  }
});

test('lvs_sync_daemon as written in keepalived.conf gives the recorded command lines', async () => {
  const loaded = await loadText(
    conf(
      'global_defs {',
      '    lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8849 ttl 3 group 239.0.0.81',
      '}',
    ) + instance(),
  );
  assert.deepEqual(loaded.diagnostics, []);
  const daemon = loaded.config?.global.lvsSyncDaemon;
  assert.ok(daemon);
  const vrid = loaded.config?.instances[0]?.vrid;
  const stand = recordingIpvsadm();
  try {
    let previous: HookState | undefined;
    for (const state of ['MASTER', 'BACKUP'] as const) {
      for (const argv of lvsCommands(daemon, state, previous, vrid))
        assert.equal(
          (await runHook(argv, { timeoutMs: 5000, env: { PATH: `${stand.directory}:/usr/bin:/bin` } }))
            .exitCode,
          0,
        );
      previous = state;
    }
    const options = '--mcast-interface eth1 --syncid 7 --sync-maxlen 1400 --mcast-group 239.0.0.81';
    assert.deepEqual(stand.lines(), [
      `--start-daemon master ${options} --mcast-port 8849 --mcast-ttl 3`,
      '--stop-daemon master',
      `--start-daemon backup ${options} --mcast-port 8849 --mcast-ttl 3`,
    ]);
  } finally {
    rmSync(stand.directory, { recursive: true, force: true });
  }
});

test('with no instance to follow, both daemons run with sync id 0 (leftovers stopped first)', async () => {
  const config: LvsSyncDaemonConfig = { interface: 'eth1' };
  const stand = recordingIpvsadm();
  try {
    for (const phase of ['start', 'stop'] as const)
      for (const argv of lvsStandaloneCommands(config, phase))
        await runHook(argv, { timeoutMs: 5000, env: { PATH: `${stand.directory}:/usr/bin:/bin` } });
    assert.deepEqual(stand.lines(), [
      '--stop-daemon master',
      '--stop-daemon backup',
      '--start-daemon master --mcast-interface eth1 --syncid 0',
      '--start-daemon backup --mcast-interface eth1 --syncid 0',
      '--stop-daemon master',
      '--stop-daemon backup',
    ]);
  } finally {
    rmSync(stand.directory, { recursive: true, force: true });
  }
});

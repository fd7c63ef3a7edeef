/**
 * lvs_sync_daemon without an instance, through the real process runner. This kernel has no IP_VS module, so a
 * real `ipvsadm --start-daemon` cannot succeed here: a stand-in `ipvsadm` on the commands' PATH records its
 * arguments and, like ipvsadm with no daemon running, fails `--stop-daemon`. The stops at start are expected to
 * fail (nothing was left running) and the starts still run; a failing start is an error in the log.
 * (The agent's start, reload and stop sequence: daemon-conformance scenario lvs-standalone.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LvsStandalone, standaloneSyncDaemon } from '../../src/daemon/lvs-standalone.js';
import type { TandemConfig } from '../../src/config/schema.js';
import { conf, instance, loadText } from '../config/helpers.js';

async function configWith(globalLine: string): Promise<TandemConfig> {
  const { config } = await loadText(conf('global_defs {', `    ${globalLine}`, '}') + instance());
  assert.ok(config);
  return config;
}

function standIn(failing: string): { directory: string; calls: () => string[] } {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-ipvsadm-'));
  const record = join(directory, 'calls');
  writeFileSync(
    join(directory, 'ipvsadm'),
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${record}'\ncase "$1" in ${failing}) exit 1;; esac\n`,
  );
  chmodSync(join(directory, 'ipvsadm'), 0o755);
  return {
    directory,
    calls: () => readFileSync(record, 'utf8').trimEnd().split('\n'),
  };
}

function logSink(): { log: LvsStandaloneLog; lines: string[] } {
  const lines: string[] = [];
  const push = (_object: object, message: string) => void lines.push(message);
  return { log: { info: push, warn: push, error: (_o, m) => void lines.push(`error: ${m}`) }, lines };
}
type LvsStandaloneLog = ConstructorParameters<typeof LvsStandalone>[0]['log'];

test('both daemons start after the stops that find nothing, and stop at the end', async () => {
  const ipvsadm = standIn('--stop-daemon');
  try {
    const config = await configWith('lvs_sync_daemon eth1 id 9');
    assert.deepEqual(standaloneSyncDaemon(config), { interface: 'eth1', syncId: 9 });
    const { log, lines } = logSink();
    const daemons = new LvsStandalone({ log, env: { PATH: `${ipvsadm.directory}:/usr/bin:/bin` } });
    await daemons.apply(config);
    assert.deepEqual(ipvsadm.calls(), [
      '--stop-daemon master',
      '--stop-daemon backup',
      '--start-daemon master --mcast-interface eth1 --syncid 9',
      '--start-daemon backup --mcast-interface eth1 --syncid 9',
    ]);
    assert.ok(!lines.some((line) => line.startsWith('error')), lines.join('\n'));
    await daemons.stop();
    assert.equal(ipvsadm.calls().length, 6);
    // Stopping what was started fails here (the stand-in always fails stops): that one is an error.
    assert.ok(lines.includes('error: lvs_sync_daemon (no instance): command failed'));
  } finally {
    rmSync(ipvsadm.directory, { recursive: true, force: true });
  }
});

test('a failing start is an error; a setting that follows an instance runs nothing here', async () => {
  const ipvsadm = standIn('--start-daemon');
  try {
    const { log, lines } = logSink();
    const daemons = new LvsStandalone({ log, env: { PATH: `${ipvsadm.directory}:/usr/bin:/bin` } });
    await daemons.apply(await configWith('lvs_sync_daemon eth1'));
    assert.equal(lines.filter((line) => line.startsWith('error')).length, 2);
    const following = await configWith('lvs_sync_daemon eth1 VI_1');
    assert.equal(standaloneSyncDaemon(following), undefined);
    const before = ipvsadm.calls().length;
    // The setting now follows VI_1: the standalone daemons are stopped, and nothing is started here.
    await daemons.apply(following);
    assert.deepEqual(ipvsadm.calls().slice(before), ['--stop-daemon master', '--stop-daemon backup']);
  } finally {
    rmSync(ipvsadm.directory, { recursive: true, force: true });
  }
});

/** Services that follow the VIPs: which command each transition runs, and the timeout that bounds it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInProcessGroup as runHook } from '../../src/core/process-group.js';
import { serviceCommand, serviceCommands, serviceHooks, serviceTimeoutMs } from '../../src/actions/proxy.js';
import type { ServiceConfig } from '../../src/config/schema.js';
import { conf, instance, loadText } from '../config/helpers.js';
import { waitFor } from '../helpers/netns.js';

const HAPROXY: ServiceConfig = {
  name: 'haproxy',
  source: { file: 'test.conf', line: 1, column: 16 },
  onMaster: { argv: ['/bin/systemctl', 'reload-or-restart', 'haproxy'] },
  onFault: { argv: ['/bin/systemctl', 'stop', 'haproxy'] },
  onStop: { argv: ['/bin/systemctl', 'stop', 'haproxy'], user: 'root' },
  timeoutSeconds: 10,
};

test('each state runs its own command; an unconfigured one runs nothing (the service is kept)', () => {
  assert.deepEqual(serviceCommands(HAPROXY, 'MASTER'), [['/bin/systemctl', 'reload-or-restart', 'haproxy']]);
  assert.deepEqual(serviceCommands(HAPROXY, 'BACKUP'), []);
  assert.deepEqual(serviceCommands(HAPROXY, 'FAULT'), [['/bin/systemctl', 'stop', 'haproxy']]);
  assert.deepEqual(serviceCommands(HAPROXY, 'STOP'), [['/bin/systemctl', 'stop', 'haproxy']]);
  assert.equal(serviceCommand(HAPROXY, 'STOP')?.user, 'root');
  assert.equal(serviceTimeoutMs(HAPROXY), 10_000);
  // The lists are copies: a caller appending to one cannot change the configuration.
  serviceCommands(HAPROXY, 'MASTER')[0]?.push('extra');
  assert.deepEqual(HAPROXY.onMaster?.argv, ['/bin/systemctl', 'reload-or-restart', 'haproxy']);
});

test('an instance runs the services it names, in its order, from the loaded configuration', async () => {
  const loaded = await loadText(
    conf(
      'tandem_service nginx {',
      '    on_master "/usr/sbin/nginx -s reload"',
      '    on_backup "/usr/sbin/nginx -s quit"',
      '    timeout 3',
      '}',
      'tandem_service haproxy {',
      '    on_master /usr/local/lib/tandem/hooks/haproxy-reload',
      '}',
    ) + instance('tandem_service haproxy nginx'),
  );
  assert.deepEqual(loaded.diagnostics, []);
  const config = loaded.config;
  assert.ok(config);
  const names = config.instances[0]?.services ?? [];
  // Commands carry the place of the keyword that names them (for messages).
  const at = (line: number) => ({ file: 'test.conf', line, column: 5 });
  assert.deepEqual(serviceHooks(config.services, names, 'MASTER'), [
    {
      service: 'haproxy',
      command: { argv: ['/usr/local/lib/tandem/hooks/haproxy-reload'], source: at(7) },
      timeoutMs: 30_000, // tandem_notify_timeout's default
    },
    {
      service: 'nginx',
      command: { argv: ['/usr/sbin/nginx', '-s', 'reload'], source: at(2) },
      timeoutMs: 3000,
    },
  ]);
  assert.deepEqual(serviceHooks(config.services, names, 'BACKUP'), [
    {
      service: 'nginx',
      command: { argv: ['/usr/sbin/nginx', '-s', 'quit'], source: at(3) },
      timeoutMs: 3000,
    },
  ]);
  assert.deepEqual(serviceHooks(config.services, names, 'FAULT'), []);
});

test("a command that outlives the service's timeout is killed with everything it started", async () => {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-proxy-'));
  try {
    const pidFile = join(directory, 'child.pid');
    const service: ServiceConfig = {
      ...HAPROXY,
      // A reload that hangs, with a helper process of its own in the background.
      onMaster: { argv: ['/bin/sh', '-c', `sleep 60 & echo $! > ${pidFile}; sleep 60`] },
      timeoutSeconds: 1,
    };
    const [hook] = serviceHooks([service], ['haproxy'], 'MASTER');
    assert.ok(hook);
    const started = Date.now();
    const result = await runHook(hook.command.argv, { timeoutMs: hook.timeoutMs });
    const elapsed = Date.now() - started;
    assert.equal(result.timedOut, true);
    assert.equal(result.signal, 'SIGKILL');
    // Not before its timeout, and not when its own sleep ended (how late after the timeout is the machine's load).
    assert.ok(elapsed >= 1000 && elapsed < 60_000, `killed after ${elapsed} ms`);
    const helper = Number(readFileSync(pidFile, 'utf8').trim());
    assert.ok(helper > 0);
    // The helper was in the hook's process group: it is gone too (a zombie reaped by init at worst).
    await waitFor(
      () => {
        try {
          process.kill(helper, 0);
          return readFileSync(`/proc/${helper}/stat`, 'utf8').split(' ')[2] === 'Z';
        } catch {
          return true;
        }
      },
      { timeoutMs: 3000, message: `the hook's background process ${helper} is killed` },
    );
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

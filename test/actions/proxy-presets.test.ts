/**
 * The presets in contrib/hooks: each loads as written with an instance naming its service, every script it
 * names ships beside it, and the reload scripts check the proxy's configuration before touching the service.
 * `haproxy -c` is the real one (Debian's package); `systemctl` (no systemd in a test container) and `nginx`
 * (not installed) are recording stand-ins put first on PATH.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, chmodSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { runInProcessGroup as runHook } from '../../src/core/process-group.js';
import { serviceCommands } from '../../src/actions/proxy.js';
import { conf, instance, loadText } from '../config/helpers.js';
import { REPO_ROOT } from '../helpers/netns.js';
import { haproxyConfig } from '../helpers/haproxy.js';

const HOOKS = join(REPO_ROOT, 'contrib/hooks');
const PRESETS = [
  ['haproxy', 'haproxy/haproxy-warm.conf'],
  ['haproxy', 'haproxy/haproxy-cold.conf'],
  ['nginx', 'nginx/nginx-warm.conf'],
  ['nginx', 'nginx/nginx-cold.conf'],
] as const;
const INSTALLED = '/usr/local/lib/tandem/hooks/';

/** A directory of stand-in commands, each appending `NAME ARGS` to one record file and exiting `status`. */
function standIns(commands: Record<string, number>): {
  path: string;
  lines: () => string[];
  done: () => void;
} {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-presets-'));
  const record = join(directory, 'calls');
  for (const [name, status] of Object.entries(commands)) {
    const file = join(directory, name);
    writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> '${record}'\nexit ${status}\n`);
    chmodSync(file, 0o755);
  }
  return {
    path: `${directory}:/usr/sbin:/usr/bin:/sbin:/bin`,
    lines: () => {
      try {
        return readFileSync(record, 'utf8').split('\n').slice(0, -1);
      } catch {
        return [];
      }
    },
    done: () => rmSync(directory, { recursive: true, force: true }),
  };
}

for (const [service, file] of PRESETS) {
  test(`${file} loads with an instance naming ${service}, and ships the scripts it runs`, async () => {
    const preset = readFileSync(join(HOOKS, file), 'utf8');
    const loaded = await loadText(
      conf(`include ${basename(file)}`) + instance(`tandem_service ${service}`),
      {},
      {
        [basename(file)]: preset,
      },
    );
    assert.deepEqual(loaded.diagnostics, []);
    const config = loaded.config;
    assert.ok(config);
    assert.deepEqual(config.instances[0]?.services, [service]);
    const [block] = config.services;
    assert.ok(block);
    assert.equal(block.timeoutSeconds, 15);
    const onMaster = serviceCommands(block, 'MASTER')[0];
    assert.ok(onMaster, 'every preset starts or reloads the proxy on MASTER');
    for (const state of ['MASTER', 'BACKUP', 'FAULT', 'STOP'] as const) {
      for (const [command] of serviceCommands(block, state)) {
        assert.ok(command?.startsWith('/'), `${state}: ${command} is an absolute path`);
        if (command?.startsWith(INSTALLED)) {
          const shipped = join(HOOKS, service, command.slice(INSTALLED.length));
          accessSync(shipped, constants.X_OK);
        }
      }
    }
    if (file.endsWith('-warm.conf')) {
      // Warm standby: nothing is ever stopped.
      for (const state of ['BACKUP', 'FAULT', 'STOP'] as const)
        assert.deepEqual(serviceCommands(block, state), [], `${state} leaves the proxy running`);
    } else {
      for (const state of ['BACKUP', 'FAULT', 'STOP'] as const)
        assert.deepEqual(serviceCommands(block, state), [['/usr/bin/systemctl', 'stop', service]]);
    }
  });
}

test('haproxy-reload checks the configuration with the real haproxy, then reloads; a broken one is refused', async () => {
  const stand = standIns({ systemctl: 0 });
  const directory = mkdtempSync(join(tmpdir(), 'tandem-haproxy-cfg-'));
  try {
    const good = join(directory, 'good.cfg');
    const bad = join(directory, 'bad.cfg');
    writeFileSync(good, haproxyConfig('127.0.0.1', 8080, 'b1'));
    writeFileSync(bad, haproxyConfig('127.0.0.1', 8080, 'b1').replace('mode http', 'mode htttp'));
    const script = join(HOOKS, 'haproxy/haproxy-reload');

    const ok = await runHook([script, good, 'haproxy'], { timeoutMs: 10_000, env: { PATH: stand.path } });
    assert.equal(ok.exitCode, 0);
    assert.deepEqual(stand.lines(), ['systemctl reload-or-restart haproxy']);

    const refused = await runHook([script, bad], { timeoutMs: 10_000, env: { PATH: stand.path } });
    assert.equal(refused.exitCode, 1);
    assert.deepEqual(stand.lines(), ['systemctl reload-or-restart haproxy'], 'nothing reloaded');
  } finally {
    stand.done();
    rmSync(directory, { recursive: true, force: true });
  }
});

test('nginx-reload runs nginx -t on the configuration, then reloads; a failing check reloads nothing', async () => {
  const script = join(HOOKS, 'nginx/nginx-reload');
  const passing = standIns({ nginx: 0, systemctl: 0 });
  const failing = standIns({ nginx: 1, systemctl: 0 });
  try {
    const ok = await runHook([script], { timeoutMs: 10_000, env: { PATH: passing.path } });
    assert.equal(ok.exitCode, 0);
    assert.deepEqual(passing.lines(), [
      'nginx -t -q -c /etc/nginx/nginx.conf',
      'systemctl reload-or-restart nginx',
    ]);
    const refused = await runHook([script, '/etc/nginx/other.conf', 'nginx-edge'], {
      timeoutMs: 10_000,
      env: { PATH: failing.path },
    });
    assert.equal(refused.exitCode, 1);
    assert.deepEqual(failing.lines(), ['nginx -t -q -c /etc/nginx/other.conf']);
  } finally {
    passing.done();
    failing.done();
  }
});

/** tandem_service blocks: parsing, the normalized form, and every error with its FILE:LINE:COL. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conf, diagnosticsOf, instance, loadText } from './helpers.js';

const HAPROXY = conf(
  'tandem_service haproxy {',
  '    on_master "/bin/systemctl reload-or-restart haproxy"',
  '    on_fault  "/bin/systemctl stop haproxy"',
  "    on_stop   '/bin/systemctl stop haproxy' root",
  '    timeout 10',
  '}',
);

/** Where a command keyword is: column 5 of `line`. */
const at = (line: number) => ({ file: 'test.conf', line, column: 5 });

test('a service block and the instances naming it are normalized', async () => {
  const text =
    conf('global_defs {', '    tandem_notify_timeout 12', '}') +
    HAPROXY +
    conf('tandem_service nginx {', '    on_backup "/usr/sbin/nginx -s quit"', '}') +
    instance('tandem_service haproxy', 'tandem_service nginx haproxy');
  const result = await loadText(text);
  assert.deepEqual(
    result.diagnostics.map((d) => `${d.line}:${d.column} ${d.severity} ${d.message}`),
    ["17:26 warning tandem_service 'haproxy' is named twice in vrrp_instance VI_1; its commands run once"],
  );
  const config = result.config;
  assert.ok(config);
  assert.deepEqual(config.services, [
    {
      name: 'haproxy',
      source: { file: 'test.conf', line: 4, column: 16 },
      onMaster: { argv: ['/bin/systemctl', 'reload-or-restart', 'haproxy'], source: at(5) },
      onFault: { argv: ['/bin/systemctl', 'stop', 'haproxy'], source: at(6) },
      onStop: { argv: ['/bin/systemctl', 'stop', 'haproxy'], user: 'root', source: at(7) },
      timeoutSeconds: 10,
    },
    {
      name: 'nginx',
      source: { file: 'test.conf', line: 10, column: 16 },
      onBackup: { argv: ['/usr/sbin/nginx', '-s', 'quit'], source: at(11) },
      // No timeout of its own: tandem_notify_timeout.
      timeoutSeconds: 12,
    },
  ]);
  assert.deepEqual(config.instances[0]?.services, ['haproxy', 'nginx']);
});

test('an instance naming no service has none', async () => {
  assert.deepEqual((await loadText(instance())).config?.instances[0]?.services, []);
});

test('a dangling service reference is an error at the name, with a suggestion', async () => {
  assert.deepEqual(await diagnosticsOf(HAPROXY + instance('tandem_service haprox')), [
    "test.conf:10:20: error: tandem_service of vrrp_instance VI_1 refers to tandem_service 'haprox', which is not defined (did you mean 'haproxy'?)",
  ]);
  assert.deepEqual(await diagnosticsOf(instance('tandem_service nginx')), [
    "test.conf:4:20: error: tandem_service of vrrp_instance VI_1 refers to tandem_service 'nginx', which is not defined",
  ]);
  assert.equal((await loadText(instance('tandem_service nginx'))).config, undefined);
});

test('a service without any command is an error; one no instance names is a warning', async () => {
  assert.deepEqual(await diagnosticsOf(conf('tandem_service idle {', '    timeout 5', '}') + instance()), [
    'test.conf:1:16: error: tandem_service idle has none of on_master, on_backup, on_fault, on_stop',
  ]);
  assert.deepEqual(await diagnosticsOf(HAPROXY + instance()), [
    'test.conf:1:16: warning: tandem_service haproxy is not named by any vrrp_instance or carp_instance; its commands never run',
  ]);
});

test('values in a service block are checked like any other', async () => {
  assert.deepEqual(
    await diagnosticsOf(
      conf(
        'tandem_service haproxy {',
        '    on_master ""',
        '    on_backup /bin/true',
        '    timeout 0',
        '    on_mastr /bin/true',
        '}',
      ) + instance('tandem_service haproxy'),
    ),
    [
      'test.conf:2:15: error: on_master needs a command, found an empty string',
      "test.conf:4:13: error: timeout must be an integer from 1 to 3600, found '0'",
      "test.conf:5:5: error: unknown keyword 'on_mastr' in tandem_service haproxy (did you mean 'on_master'?)",
    ],
  );
  assert.deepEqual(
    await diagnosticsOf(
      HAPROXY + HAPROXY.replace('haproxy {', 'haproxy {') + instance('tandem_service haproxy'),
    ),
    ["test.conf:7:16: error: tandem_service 'haproxy' is already defined at test.conf:1:16"],
  );
  assert.deepEqual(await diagnosticsOf(HAPROXY + instance('tandem_service')), [
    "test.conf:10:5: error: 'tandem_service' needs at least 1 value (tandem_service SERVICE [SERVICE...])",
  ]);
});

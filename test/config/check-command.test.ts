/** `tandem check` as a user runs it: a real process, its exit code, stdout and stderr. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCheck } from '../../src/daemon/check-command.js';
import { DEFAULT_CONFIG_FILES } from '../../src/config/cli-options.js';
import { memoryFileSystem } from '../../src/config/files.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = 'test/fixtures/config';

function tandem(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('a valid file: exit 0 and one line that says what it holds', () => {
  const result = tandem('check', '-f', `${fixtures}/valid.conf`);
  assert.deepEqual(result, {
    status: 0,
    stdout: 'ok: 1 instance, 1 VIP, 0 scripts, 0 sync groups\n',
    stderr: '',
  });
});

test('errors: exit 1, each as FILE:LINE:COL on stderr', () => {
  const result = tandem('check', '-f', `${fixtures}/typos.conf`);
  assert.equal(result.status, 1);
  assert.equal(result.stdout, '');
  assert.equal(
    result.stderr,
    [
      `${fixtures}/typos.conf:5:5: error: unknown keyword 'prority' in vrrp_instance VI_1 (did you mean 'priority'?)`,
      `${fixtures}/typos.conf:11:9: error: track_script of vrrp_instance VI_1 refers to vrrp_script 'chk_nginx', which is not defined`,
      '',
    ].join('\n'),
  );
});

test('unsupported keywords: errors by default, warnings with --lenient; --config-id selects @ lines', () => {
  const strict = tandem('check', '-f', `${fixtures}/unsupported.conf`, '--config-id', 'master');
  assert.equal(strict.status, 1);
  assert.equal(
    strict.stderr,
    [
      `${fixtures}/unsupported.conf:10:5: error: unsupported keepalived keyword 'linkbeat_use_polling' in vrrp_instance VI_1 (tandem does not implement link polling; ignored)`,
      `${fixtures}/unsupported.conf:13:1: error: unsupported keepalived section 'virtual_server' at top level (tandem does not implement the LVS side (virtual servers); the block is skipped)`,
      '',
    ].join('\n'),
  );
  const lenient = tandem(
    'check',
    '-f',
    `${fixtures}/unsupported.conf`,
    '--lenient',
    '-i',
    'master',
    '--print',
    'json',
  );
  assert.equal(lenient.status, 0);
  assert.equal(
    lenient.stderr,
    strict.stderr.replaceAll(': error: ', ': warning: ') +
      [
        '--lenient dropped 2 keywords; tandem runs as if they were not written:',
        `  linkbeat_use_polling (${fixtures}/unsupported.conf:10:5)`,
        `  virtual_server (${fixtures}/unsupported.conf:13:1)`,
        'ok: 1 instance, 1 VIP, 0 scripts, 0 sync groups',
        '',
      ].join('\n'),
  );
  const config = JSON.parse(lenient.stdout) as { instances: { name: string; priority: number }[] };
  assert.deepEqual(
    config.instances.map((i) => [i.name, i.priority]),
    [['VI_1', 110]],
  );
  const backup = tandem(
    'check',
    '-f',
    `${fixtures}/unsupported.conf`,
    '--lenient',
    '-i',
    'backup',
    '--print',
    'json',
  );
  assert.equal(
    (JSON.parse(backup.stdout) as { instances: { priority: number }[] }).instances[0]?.priority,
    90,
  );
});

test('--print json prints the normalized configuration with defaults filled in', () => {
  const result = tandem('check', '-f', `${fixtures}/valid.conf`, '--print', 'json');
  assert.equal(result.status, 0);
  // stdout stays pure JSON: the summary line goes to stderr.
  assert.equal(result.stderr, 'ok: 1 instance, 1 VIP, 0 scripts, 0 sync groups\n');
  const config = JSON.parse(result.stdout) as {
    global: { routerId: string; vrrpVersion: number };
    instances: Record<string, unknown>[];
  };
  assert.equal(config.global.routerId, 'lb1');
  assert.equal(config.global.vrrpVersion, 2);
  const vi = config.instances[0];
  assert.equal(vi?.vrid, 51);
  assert.equal(vi?.advertIntervalCentiseconds, 100);
  assert.equal(vi?.preempt, true);
  assert.deepEqual(vi?.auth, { type: 'none' });
});

test('a missing file: exit 1 and a diagnostic, no stack trace', () => {
  const result = tandem('check', '-f', `${fixtures}/does-not-exist.conf`);
  assert.deepEqual(result, {
    status: 1,
    stdout: '',
    stderr: `${fixtures}/does-not-exist.conf:1:1: error: cannot read '${fixtures}/does-not-exist.conf': no such file or directory\n`,
  });
});

test('without -f: /etc/tandem/tandem.conf, else /etc/keepalived/keepalived.conf, or an error naming both', () => {
  const result = tandem('check');
  const found = DEFAULT_CONFIG_FILES.find((file) => existsSync(file));
  if (found === undefined) {
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /no configuration file: neither \/etc\/tandem\/tandem\.conf nor \/etc\/keepalived\/keepalived\.conf exists; name one with -f FILE\n$/,
    );
  } else {
    assert.ok(result.stderr.startsWith(`tandem: no -f given; reading ${found}\n`), result.stderr);
  }
});

test('a configuration that includes a FIFO nobody writes to: an error at the include, exit 1, no hang', () => {
  const directory = mkdtempSync(path.join(tmpdir(), 'tandem-check-fifo-'));
  try {
    const fifo = path.join(directory, 'never-written.fifo');
    execFileSync('mkfifo', [fifo]);
    const file = path.join(directory, 'tandem.conf');
    writeFileSync(file, `include ${fifo}\n`);
    const result = tandem('check', '-f', file);
    assert.deepEqual(result, {
      status: 1,
      stdout: '',
      stderr: `${file}:1:9: error: cannot read '${fifo}': is a FIFO, not a regular file\n`,
    });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('--lenient lists each dropped keyword once, with every place; the ok line counts CARP instances', async () => {
  const vi = (name: string, vrid: number) =>
    [
      `vrrp_instance ${name} {`,
      '    interface eth0',
      `    virtual_router_id ${vrid}`,
      '    use_vmac_addr',
      '    virtual_ipaddress {',
      `        192.0.2.${vrid}/24`,
      '        192.0.2.200/24 autojoin',
      '    }',
      '}',
    ].join('\n');
  const text = [
    vi('VI_1', 1),
    vi('VI_2', 2),
    'virtual_server 192.0.2.10 80 {',
    '}',
    'carp_instance C {',
    '    interface eth1',
    '    vhid 1',
    '    passphrase x',
    '    virtual_ipaddress {',
    '        198.51.100.1/24',
    '    }',
    '}',
    '',
  ].join('\n');
  const files = memoryFileSystem({ 'k.conf': text });
  const strict = await runCheck('k.conf', { files });
  assert.equal(strict.exitCode, 1);
  assert.equal(strict.stdout, '');
  assert.ok(!strict.stderr.includes('--lenient dropped'));
  const lenient = await runCheck('k.conf', { files, lenient: true });
  assert.equal(lenient.exitCode, 0);
  assert.equal(lenient.stdout, 'ok: 2 instances, 1 CARP instance, 5 VIPs, 0 scripts, 0 sync groups\n');
  const summary = lenient.stderr.slice(lenient.stderr.indexOf('--lenient dropped'));
  assert.equal(
    summary,
    [
      // carp_instance runs now (issue 16): nothing of it is dropped.
      '--lenient dropped 3 keywords; tandem runs as if they were not written:',
      '  use_vmac_addr (k.conf:4:5, k.conf:13:5)',
      '  autojoin (k.conf:7:24, k.conf:16:24)',
      '  virtual_server (k.conf:19:1)',
      '',
    ].join('\n'),
  );
});

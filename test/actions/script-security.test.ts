import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HookQueue } from '../../src/actions/notify.js';
import {
  SCRIPT_SECURITY_CODE,
  UnknownAccountError,
  checkScriptSecurity,
  hookEnvironment,
  insecurePathReason,
  notifyCommands,
  resolveGroup,
  resolveUser,
  scriptIdentity,
} from '../../src/actions/script-security.js';
import { formatDiagnostic } from '../../src/config/index.js';
import type { TandemConfig } from '../../src/config/schema.js';
import { conf, loadText } from '../config/helpers.js';
import { requireRoot } from '../helpers/netns.js';

/** Debian's nobody and nogroup. */
const NOBODY = 65534;

const silent = { info() {}, warn() {} };

/** A temporary directory (root-owned, 0755 so that nobody can reach scripts in it) with script makers. */
function scratch() {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-security-'));
  chmodSync(directory, 0o755);
  const script = (path: string, body = 'exit 0', mode = 0o755) => {
    const file = join(directory, path);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, mode);
    return file;
  };
  const subdirectory = (name: string, mode: number) => {
    const path = join(directory, name);
    mkdirSync(path);
    chmodSync(path, mode);
    return path;
  };
  return {
    directory,
    script,
    subdirectory,
    cleanup: () => rmSync(directory, { recursive: true, force: true }),
  };
}

/** A configuration with `globals` in global_defs and `notify` lines in vrrp_instance VI_1 (which is on line N). */
async function configWith(globals: string[], notify: string[]): Promise<TandemConfig> {
  const text = conf(
    'global_defs {',
    ...globals.map((line) => `    ${line}`),
    '}',
    'vrrp_instance VI_1 {',
    '    interface eth0',
    '    virtual_router_id 51',
    ...notify.map((line) => `    ${line}`),
    '    virtual_ipaddress {',
    '        192.0.2.10/24',
    '    }',
    '}',
  );
  const result = await loadText(text);
  assert.ok(result.config, `config loads: ${result.diagnostics.map(formatDiagnostic).join('; ')}`);
  return result.config;
}

test('resolveUser and resolveGroup read /etc/passwd and /etc/group', async () => {
  assert.deepEqual(resolveUser('nobody'), { uid: NOBODY, gid: NOBODY });
  assert.deepEqual(resolveUser('root'), { uid: 0, gid: 0 });
  assert.deepEqual(resolveUser('root', 'nogroup'), { uid: 0, gid: NOBODY });
  assert.equal(resolveGroup('root'), 0);
  assert.throws(
    () => resolveUser('no-such-user-here'),
    (error: unknown) =>
      error instanceof UnknownAccountError &&
      error.code === 'TANDEM_EUSER' &&
      error.message === "user 'no-such-user-here' does not exist (not in /etc/passwd)",
  );
  assert.throws(() => resolveUser('nobody', 'no-such-group'), /group 'no-such-group' does not exist/);
});

test('resolveUser parses a given passwd file and rejects a broken entry', async () => {
  const { directory, cleanup } = scratch();
  try {
    const passwd = join(directory, 'passwd');
    const group = join(directory, 'group');
    writeFileSync(passwd, 'svc:x:1234:4321:Service:/var/lib/svc:/bin/false\nbroken:x::1:\n');
    writeFileSync(group, 'web:x:33:svc\n');
    assert.deepEqual(resolveUser('svc', undefined, { passwd, group }), { uid: 1234, gid: 4321 });
    assert.deepEqual(resolveUser('svc', 'web', { passwd, group }), { uid: 1234, gid: 33 });
    assert.throws(() => resolveUser('broken', undefined, { passwd, group }), /no valid id/);
    assert.throws(() => resolveUser('svc', undefined, { passwd: join(directory, 'none') }), /cannot read/);
  } finally {
    cleanup();
  }
});

test("scriptIdentity follows keepalived: the command's user, then script_user, then keepalived_script, then ours", async () => {
  const { directory, cleanup } = scratch();
  try {
    const passwd = join(directory, 'passwd');
    const group = join(directory, 'group');
    writeFileSync(passwd, 'root:x:0:0::/root:/bin/sh\nsvc:x:1234:4321::/:/bin/false\n');
    writeFileSync(group, 'web:x:33:\n');
    const files = { passwd, group };
    const command = { argv: ['/bin/true'] };
    assert.deepEqual(scriptIdentity({ ...command, user: 'svc', group: 'web' }, {}, files), {
      uid: 1234,
      gid: 33,
      from: 'command',
    });
    assert.deepEqual(scriptIdentity(command, { scriptUser: { user: 'svc' } }, files), {
      uid: 1234,
      gid: 4321,
      from: 'script_user',
    });
    assert.deepEqual(scriptIdentity(command, {}, files), { uid: 0, gid: 0, from: 'agent' });
    writeFileSync(passwd, 'keepalived_script:x:999:998::/:/bin/false\n');
    assert.deepEqual(scriptIdentity(command, {}, files), { uid: 999, gid: 998, from: 'default' });
  } finally {
    cleanup();
  }
});

test('insecurePathReason: root-owned 0755 passes; writable by others, a non-root group or owner does not', async () => {
  requireRoot();
  const { script, subdirectory, cleanup } = scratch();
  try {
    const safe = subdirectory('safe', 0o755);
    const file = script('safe/notify.sh');
    assert.equal(insecurePathReason(file), undefined);
    // A group-writable directory whose group is root is still safe (keepalived allows it).
    chmodSync(safe, 0o775);
    assert.equal(insecurePathReason(file), undefined);
    chownSync(safe, 0, NOBODY);
    assert.match(insecurePathReason(file) ?? '', /safe is writable by group 65534 \(mode 0775\)/);
    chownSync(safe, 0, 0);
    chmodSync(safe, 0o777);
    assert.match(insecurePathReason(file) ?? '', /safe is writable by everyone \(mode 0777\)/);
    // The sticky bit excuses a root-owned directory (a non-root user cannot replace root's file in /tmp).
    chmodSync(safe, 0o1777);
    assert.equal(insecurePathReason(file), undefined);
    chmodSync(safe, 0o755);
    chmodSync(file, 0o757);
    assert.match(insecurePathReason(file) ?? '', /notify.sh is writable by everyone/);
    chmodSync(file, 0o755);
    chownSync(file, NOBODY, 0);
    assert.match(insecurePathReason(file) ?? '', /notify.sh belongs to uid 65534, not root/);
    assert.match(insecurePathReason(`${safe}/missing.sh`) ?? '', /missing.sh cannot be examined/);
  } finally {
    cleanup();
  }
});

test('enable_script_security: a root script under a world-writable directory is a config error at the line naming it', async () => {
  requireRoot();
  const { script, subdirectory, cleanup } = scratch();
  try {
    subdirectory('open', 0o777);
    const file = script('open/notify.sh');
    const notify = [`notify_master ${file}`];
    const config = await configWith(['script_user root', 'enable_script_security'], notify);
    const findings = checkScriptSecurity(config);
    assert.equal(findings.length, 1, JSON.stringify(findings));
    const [finding] = findings;
    assert.equal(finding?.severity, 'error');
    assert.equal(finding?.code, SCRIPT_SECURITY_CODE);
    // The notify_master line (line 8), not the vrrp_instance block it is in.
    assert.deepEqual(
      { file: finding?.file, line: finding?.line, column: finding?.column },
      { file: 'test.conf', line: 8, column: 5 },
    );
    assert.match(
      finding?.message ?? '',
      /notify_master of vrrp_instance VI_1: .* runs as root .*writable by everyone/,
    );

    // keepalived without enable_script_security only logs it: a warning.
    const warned = checkScriptSecurity(await configWith(['script_user root'], notify));
    assert.deepEqual(
      warned.map((d) => d.severity),
      ['warning'],
    );

    // The same script in a root-only directory passes.
    subdirectory('closed', 0o755);
    const safe = script('closed/notify.sh');
    assert.deepEqual(
      checkScriptSecurity(
        await configWith(['script_user root', 'enable_script_security'], [`notify ${safe}`]),
      ),
      [],
    );
  } finally {
    cleanup();
  }
});

test('a script that runs as a non-root user is not path-checked, but must be executable by that user', async () => {
  requireRoot();
  const { script, subdirectory, cleanup } = scratch();
  try {
    subdirectory('open', 0o777);
    const file = script('open/notify.sh');
    const secure = ['script_user nobody', 'enable_script_security'];
    assert.deepEqual(checkScriptSecurity(await configWith(secure, [`notify_backup ${file}`])), []);
    const ownerOnly = script('open/private.sh', 'exit 0', 0o700);
    const findings = checkScriptSecurity(await configWith(secure, [`notify_backup ${ownerOnly}`]));
    assert.match(findings[0]?.message ?? '', /private.sh' is not executable by uid 65534 gid 65534/);
  } finally {
    cleanup();
  }
});

test('a script that names root while script_user names someone else is refused', async () => {
  requireRoot();
  const { script, cleanup } = scratch();
  try {
    const file = script('notify.sh');
    const findings = checkScriptSecurity(
      await configWith(['script_user nobody', 'enable_script_security'], [`notify_fault ${file} root`]),
    );
    assert.equal(findings.length, 1, JSON.stringify(findings));
    assert.equal(findings[0]?.severity, 'error');
    assert.match(
      findings[0]?.message ?? '',
      /runs as root \(its own user 'root'\) although script_user is 'nobody'/,
    );
  } finally {
    cleanup();
  }
});

test('with script security and no user to run scripts as, scripts would run as root: an error', async () => {
  requireRoot();
  const { directory, script, cleanup } = scratch();
  try {
    const file = script('notify.sh');
    // A host without the keepalived_script user.
    const accounts = { passwd: join(directory, 'passwd') };
    writeFileSync(accounts.passwd, 'root:x:0:0::/root:/bin/sh\n');
    const config = await configWith(
      ['enable_script_security'],
      [`notify_master ${file}`, `notify_backup ${file}`],
    );
    const findings = checkScriptSecurity(config, { accounts });
    assert.equal(findings.length, 1, 'said once, not once per script');
    assert.match(
      findings[0]?.message ?? '',
      /enable_script_security is set but no user is given .* script_user/,
    );
    const off = checkScriptSecurity(await configWith([], [`notify_master ${file}`]), { accounts });
    assert.deepEqual(
      off.map((d) => [d.severity, /scripts run as root/.test(d.message)]),
      [['warning', true]],
    );
  } finally {
    cleanup();
  }
});

test('unknown users, relative paths and missing files are reported; a bare name is found in PATH', async () => {
  requireRoot();
  const secure = ['script_user root', 'enable_script_security'];
  const messages = async (notify: string[]) =>
    checkScriptSecurity(await configWith(secure, notify)).map((d) => d.message);
  assert.match(
    (await messages(['notify_master /bin/true no-such-user-here']))[0] ?? '',
    /user 'no-such-user-here' does not exist/,
  );
  assert.match((await messages(['notify_master bin/true']))[0] ?? '', /'bin\/true' must be an absolute path/);
  assert.match((await messages(['notify_master /nonexistent/notify.sh']))[0] ?? '', /cannot be accessed/);
  assert.match((await messages(['notify_master no-such-command-here']))[0] ?? '', /not found in PATH/);
  assert.deepEqual(await messages(['notify_master true']), []);
  assert.match(
    checkScriptSecurity(await configWith(['script_user no-such-user-here'], ['notify_master /bin/true']))[0]
      ?.message ?? '',
    /script_user: user 'no-such-user-here' does not exist/,
  );
});

test('vrrp_script commands and FIFO scripts are checked too', async () => {
  requireRoot();
  const { script, subdirectory, cleanup } = scratch();
  try {
    subdirectory('open', 0o777);
    const file = script('open/check.sh');
    const text = conf(
      'global_defs {',
      '    script_user root',
      '    enable_script_security',
      `    notify_fifo ${join(tmpdir(), 'tandem-never-created.fifo')}`,
      `    notify_fifo_script ${file}`,
      '}',
      'vrrp_script chk {',
      `    script "${file} --quick"`,
      '}',
    );
    const result = await loadText(text);
    assert.ok(result.config, result.diagnostics.map(formatDiagnostic).join('; '));
    const fallback = { file: 'test.conf', line: 1, column: 1 };
    const findings = checkScriptSecurity(result.config, { fallback });
    assert.deepEqual(
      findings.map((d) => [d.line, d.message.split(':')[0]]),
      [
        [8, 'vrrp_script chk'],
        [5, 'notify_fifo_script'],
      ],
    );
  } finally {
    cleanup();
  }
});

test('hookEnvironment is PATH and the four TANDEM_ variables, nothing else', async () => {
  assert.deepEqual(
    hookEnvironment({ kind: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 }, [
      '192.0.2.10',
      '2001:db8::10',
    ]),
    {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      TANDEM_INSTANCE: 'VI_1',
      TANDEM_STATE: 'MASTER',
      TANDEM_PRIORITY: '100',
      TANDEM_VIPS: '192.0.2.10 2001:db8::10',
    },
  );
});

test('a hook runs as the uid/gid of its command, with exactly the minimal environment', async () => {
  requireRoot();
  const { directory, script, cleanup } = scratch();
  try {
    const out = join(directory, 'out');
    writeFileSync(out, '');
    chmodSync(out, 0o666);
    const hook = script('hook.sh', `{ id -u; id -g; env | sort; } >> ${out}`);
    const event = { kind: 'INSTANCE', name: 'VI_1', state: 'BACKUP', priority: 90 } as const;
    const queue = new HookQueue(
      { backup: { argv: [hook], uid: NOBODY, gid: NOBODY } },
      { timeoutMs: 5000, log: silent, env: (e) => hookEnvironment(e, ['192.0.2.10']) },
    );
    queue.push(event);
    await queue.drain();
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), [String(NOBODY), String(NOBODY)]);
    // sh adds PWD (and may add SHLVL, _): everything else must be what tandem passed.
    const variables = lines.slice(2).filter((line) => !/^(PWD|SHLVL|_|OLDPWD)=/.test(line));
    assert.deepEqual(variables, [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'TANDEM_INSTANCE=VI_1',
      'TANDEM_PRIORITY=90',
      'TANDEM_STATE=BACKUP',
      'TANDEM_VIPS=192.0.2.10',
    ]);
  } finally {
    cleanup();
  }
});

test('notifyCommands gives each notify script the uid/gid it runs as', async () => {
  const notify = {
    master: { argv: ['/bin/m', 'x'] },
    fault: { argv: ['/bin/f'], user: 'root' },
    any: { argv: ['/bin/n'], user: 'nobody', group: 'root' },
  };
  assert.deepEqual(notifyCommands(notify, { scriptUser: { user: 'nobody' } }), {
    master: { argv: ['/bin/m', 'x'], uid: NOBODY, gid: NOBODY },
    fault: { argv: ['/bin/f'], uid: 0, gid: 0 },
    any: { argv: ['/bin/n'], uid: NOBODY, gid: 0 },
  });
  assert.throws(
    () => notifyCommands({ stop: { argv: ['/bin/s'], user: 'no-such-user-here' } }, {}),
    UnknownAccountError,
  );
});

test('a script behind a root-owned directory symlink (/bin -> usr/bin) is resolved and checked as keepalived does', async () => {
  requireRoot();
  const { directory, script, subdirectory, cleanup } = scratch();
  try {
    const secure = ['script_user root', 'enable_script_security'];
    // On merged-/usr systems /bin is a symbolic link to usr/bin: keepalived accepts /bin/true, so must tandem.
    assert.deepEqual(checkScriptSecurity(await configWith(secure, ['notify_master /bin/true'])), []);
    // The same shape, built here: safe/link -> real, both root-owned and 0755.
    subdirectory('real', 0o755);
    const file = script('real/notify.sh');
    symlinkSync('real', join(directory, 'link'));
    assert.deepEqual(
      checkScriptSecurity(
        await configWith(secure, [`notify_master ${join(directory, 'link', 'notify.sh')}`]),
      ),
      [],
    );
    // Where the link leads is checked: a world-writable target directory is refused.
    subdirectory('open', 0o777);
    script('open/notify.sh');
    symlinkSync('open', join(directory, 'openlink'));
    const open = checkScriptSecurity(
      await configWith(secure, [`notify_master ${join(directory, 'openlink', 'notify.sh')}`]),
    );
    assert.match(open[0]?.message ?? '', /open is writable by everyone/);
    // A directory link that a non-root user owns could be pointed elsewhere: refused.
    symlinkSync('real', join(directory, 'theirs'));
    lchownSync(join(directory, 'theirs'), NOBODY, NOBODY);
    const theirs = checkScriptSecurity(
      await configWith(secure, [`notify_master ${join(directory, 'theirs', 'notify.sh')}`]),
    );
    assert.match(theirs[0]?.message ?? '', /theirs belongs to uid 65534, not root/);
    assert.ok(file.length > 0);
  } finally {
    cleanup();
  }
});

/**
 * tandem as users install it. The checkout is packed with `npm pack` (into a scratch copy, so the checkout's
 * dist/ is untouched) and the tarball installed with `npm install -g` into a temporary prefix: production
 * dependencies only, the native addons built from source with node-gyp. The installed `tandem` must run from
 * PATH, check a configuration and load its addon, and `man` must find its pages. Then (root) the Debian package
 * built from the same tarball is installed with dpkg, used, and purged in a finally, leaving nothing behind.
 *
 * Cost, on a loaded 2-core machine: packing (a full tsc build) 25-35 s, the global install 20-35 s (node-gyp
 * builds two addons; the dependencies come from the npm cache that `npm ci` filled, the registry only for what
 * is missing), the Debian package from that install 15-30 s (gzip here; `npm run package:deb` uses xz), dpkg -i
 * and --purge a few seconds.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDeb } from '../../packaging/deb.js';
import { REPOSITORY, installTarball, packTarball, packageJson } from '../../packaging/stage.js';
import { requireRoot } from '../helpers/netns.js';

const work = mkdtempSync(join(tmpdir(), 'tandem-package-test-'));
const prefix = join(work, 'prefix');
const example = join(REPOSITORY, 'contrib/config/tandem.conf');
const pkg = packageJson();
let tarball = '';
let installed = '';

function run(argv: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  const [command = '', ...args] = argv;
  return spawnSync(command, args, { encoding: 'utf8', env, cwd: work, timeout: 120_000 });
}

/** PATH with the prefix's bin/ first, as after `npm install -g` with that prefix. */
const withPrefix = (): NodeJS.ProcessEnv => ({
  ...process.env,
  PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`,
  MANPATH: join(prefix, 'share/man'),
  MANPAGER: 'cat',
  MANWIDTH: '80',
});

before(() => {
  let started = Date.now();
  tarball = packTarball(work);
  const packed = Date.now() - started;
  started = Date.now();
  installed = installTarball(tarball, prefix);
  process.stderr.write(`npm pack ${packed} ms, npm install -g ${Date.now() - started} ms\n`);
});

after(() => rmSync(work, { recursive: true, force: true }));

test('the tarball carries the build, the native sources and the man pages, and nothing of the checkout else', () => {
  const files = run(['tar', '-tzf', tarball]).stdout.trim().split('\n');
  for (const file of [
    'package/package.json',
    'package/dist/src/cli.js',
    'package/dist/netns-lab/probe.js',
    'package/binding.gyp',
    'package/native/garp.c',
    'package/man/tandem.8',
    'package/man/tandem.conf.5',
  ])
    assert.ok(files.includes(file), `${file} in the tarball`);
  const stray = files.filter(
    (file) => /\.(ts|map)$/.test(file) || /^package\/(test|packaging|src)\//.test(file),
  );
  assert.deepEqual(stray, [], 'sources, tests and source maps stay out');
  const packed = JSON.parse(run(['tar', '-xzOf', tarball, 'package/package.json']).stdout) as {
    scripts: Record<string, string>;
  };
  assert.equal(packed.scripts.install, 'node-gyp rebuild', 'the addon is built at install time');
});

test('the global install: no devDependency, the addons built, tandem on PATH runs and checks', () => {
  const devDependencies = Object.keys(
    (JSON.parse(readFileSync(join(REPOSITORY, 'package.json'), 'utf8')) as { devDependencies: object })
      .devDependencies,
  );
  // Type packages may come with a runtime dependency (@types/node does); the tools must not.
  const present = devDependencies
    .filter((name) => !name.startsWith('@types/'))
    .filter((name) => existsSync(join(installed, 'node_modules', name)));
  assert.deepEqual(present, [], 'devDependencies are not installed (nor needed)');
  assert.ok(existsSync(join(installed, 'build/Release/tandem_packet.node')), 'tandem_packet.node built');

  const version = run(['tandem', '--version'], withPrefix());
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout.trim(), pkg.version);

  const valid = run(['tandem', 'check', '-f', example], withPrefix());
  assert.equal(valid.status, 0, `the example configuration passes: ${valid.stderr}`);
  const typos = join(REPOSITORY, 'test/fixtures/config/typos.conf');
  const invalid = run(['tandem', 'check', '-f', typos], withPrefix());
  assert.equal(invalid.status, 1);
  assert.match(invalid.stderr, /typos\.conf:5:5: error: unknown keyword 'prority'/);

  const addon = run([
    process.execPath,
    '--input-type=module',
    '-e',
    `const { loadAddon } = await import(${JSON.stringify(join(installed, 'dist/src/native.js'))});` +
      `process.stdout.write(typeof loadAddon().openPacketSocket);`,
  ]);
  assert.equal(addon.stdout, 'function', `the installed copy loads its addon: ${addon.stderr}`);
});

test('man finds both pages of the global install', () => {
  const located = run(['man', '-w', 'tandem'], withPrefix());
  assert.equal(located.status, 0, located.stderr);
  // npm links share/man/man8/tandem.8 to the package's copy; man reports the file the link leads to.
  assert.ok(existsSync(join(prefix, 'share/man/man8/tandem.8')), 'npm linked the page into share/man');
  assert.ok(located.stdout.trim().startsWith(prefix + '/'), `man found the prefix's page: ${located.stdout}`);
  const conf = run(['man', '5', 'tandem.conf'], withPrefix());
  assert.equal(conf.status, 0, conf.stderr);
  assert.match(conf.stdout, /^TANDEM\.CONF\(5\)/);
});

/** dpkg refuses to start while another dpkg or apt holds its lock: wait for it (other work may use apt too). */
function dpkg(args: string[]): SpawnSyncReturns<string> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const result = run(['dpkg', ...args]);
    if (!/lock/i.test(result.stderr) || Date.now() > deadline) return result;
    spawnSync('sleep', ['1']);
  }
}

const installedPaths = [
  '/usr/bin/tandem',
  '/usr/lib/tandem',
  '/etc/tandem',
  '/lib/systemd/system/tandem.service',
  '/usr/share/man/man8/tandem.8.gz',
  '/usr/share/man/man5/tandem.conf.5.gz',
  '/usr/share/doc/tandem',
];

test('the Debian package installs with dpkg, runs its own runtime, checks its example, and purges clean', () => {
  requireRoot();
  const already = run(['dpkg-query', '-W', '-f=${db:Status-Status}', 'tandem']);
  assert.notEqual(
    already.stdout,
    'installed',
    'a tandem package is installed on this machine already: this test would remove it; remove it first',
  );
  let started = Date.now();
  const deb = buildDeb({ installed, compression: 'gzip', outputDirectory: work });
  process.stderr.write(`deb build ${Date.now() - started} ms\n`);
  assert.match(deb, /tandem_[0-9][^_]*_[a-z0-9]+\.deb$/);
  try {
    started = Date.now();
    const install = dpkg(['-i', deb]);
    if (install.status !== 0) {
      // Only unmet dependencies are apt's to fix; anything else is a broken package.
      assert.match(install.stderr, /dependency problems/, install.stderr);
      const fixed = run(['apt-get', '-o', 'DPkg::Lock::Timeout=180', 'install', '-f', '-y']);
      assert.equal(fixed.status, 0, fixed.stderr);
    }
    process.stderr.write(`dpkg -i ${Date.now() - started} ms\n`);

    const version = run(['/usr/bin/tandem', '--version']);
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), pkg.version);
    const wrapper = readFileSync('/usr/bin/tandem', 'utf8');
    assert.match(wrapper, /exec \/usr\/lib\/tandem\/bin\/node /, 'the package runs its own runtime');
    const runtime = run(['/usr/lib/tandem/bin/node', '--version']);
    assert.ok(Number(runtime.stdout.trim().replace(/^v/, '').split('.')[0]) >= 20, runtime.stdout);

    const check = run(['/usr/bin/tandem', 'check', '-f', '/etc/tandem/tandem.conf']);
    assert.equal(check.status, 0, `the installed example passes tandem check: ${check.stderr}`);

    const conffiles = run(['dpkg-query', '-W', '-f=${Conffiles}', 'tandem']);
    assert.match(
      conffiles.stdout,
      /^ \/etc\/tandem\/tandem\.conf [0-9a-f]{32}$/m,
      'the example is a conffile',
    );
    const unit = readFileSync('/lib/systemd/system/tandem.service', 'utf8');
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    assert.match(unit, /^Documentation=man:tandem\(8\) man:tandem\.conf\(5\)$/m);
    assert.doesNotMatch(unit, /https?:/, 'no web address in the unit');
    const located = run(['man', '-w', 'tandem']);
    assert.equal(located.stdout.trim(), '/usr/share/man/man8/tandem.8.gz', located.stderr);
    assert.ok(existsSync('/usr/share/doc/tandem/copyright'));
    assert.ok(existsSync('/usr/share/doc/tandem/install.md'));
    const verify = run(['systemd-analyze', 'verify', '/lib/systemd/system/tandem.service']);
    if (verify.error === undefined)
      assert.doesNotMatch(verify.stderr + verify.stdout, /tandem/, 'systemd-analyze verify finds no problem');
  } finally {
    const purge = dpkg(['--purge', 'tandem']);
    assert.equal(purge.status, 0, purge.stderr);
  }
  const status = run(['dpkg-query', '-W', '-f=${db:Status-Status}', 'tandem']);
  assert.notEqual(status.stdout, 'installed');
  assert.deepEqual(
    installedPaths.filter((path) => existsSync(path)),
    [],
    'dpkg --purge leaves nothing behind',
  );
});

/**
 * The runtime directory's path is examined component by component (src/daemon/runtime-dir.ts): a symbolic link
 * planted in a world-writable directory is refused and its target left alone, as are directories others can
 * write or own; root's own links (as /var/run -> /run) are followed. And where the control socket goes.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_CONTROL_SOCKET, DEFAULT_RUNTIME_DIR } from '../../src/config/defaults.js';
import {
  RuntimeDirError,
  ensurePrivateDirectory,
  ensureRuntimeDir,
  runtimePaths,
} from '../../src/daemon/runtime-dir.js';
import { requireRoot } from '../helpers/netns.js';

/** nobody / nogroup on Debian. */
const NOBODY = 65534;

function scratch(): { directory: string; cleanup: () => void } {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-runtime-dir-'));
  return { directory, cleanup: () => rmSync(directory, { recursive: true, force: true }) };
}

function refused(pattern: RegExp) {
  return (error: unknown) =>
    error instanceof RuntimeDirError && error.code === 'TANDEM_ERUNTIMEDIR' && pattern.test(error.message);
}

test('creates the directory mode 0700 (and missing parents 0755), and tightens a looser one', () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  try {
    const path = join(directory, 'a', 'b', 'run');
    ensureRuntimeDir(path);
    assert.equal(statSync(path).mode & 0o7777, 0o700);
    assert.equal(statSync(join(directory, 'a', 'b')).mode & 0o7777, 0o755);
    chmodSync(path, 0o755);
    ensureRuntimeDir(path);
    assert.equal(statSync(path).mode & 0o7777, 0o700);
  } finally {
    cleanup();
  }
});

test('a symbolic link planted in a world-writable sticky directory is refused and its target is not chmodded', () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  try {
    const shared = join(directory, 'tmp');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const target = join(directory, 'precious');
    mkdirSync(target, { mode: 0o755 });
    chmodSync(target, 0o755);
    const planted = join(shared, 'tandem');
    symlinkSync(target, planted);
    lchownSync(planted, NOBODY, NOBODY);
    assert.throws(
      () => ensureRuntimeDir(planted),
      refused(/tandem is a symbolic link; tandem does not follow it/),
    );
    // Even root's own link is not followed as the runtime directory itself.
    lchownSync(planted, 0, 0);
    assert.throws(() => ensureRuntimeDir(planted), refused(/is a symbolic link/));
    assert.equal(statSync(target).mode & 0o7777, 0o755, 'the target keeps its mode');
    // Below a user's link: refused before anything is created there.
    lchownSync(planted, NOBODY, NOBODY);
    assert.throws(() => ensureRuntimeDir(join(planted, 'run')), refused(/symbolic link owned by uid 65534/));
    assert.throws(() => lstatSync(join(target, 'run')), /ENOENT/, 'nothing created behind the link');
    // A directory of our own in the sticky directory is fine: nobody else can rename or remove it.
    ensureRuntimeDir(join(shared, 'own'));
    assert.equal(statSync(join(shared, 'own')).mode & 0o7777, 0o700);
  } finally {
    cleanup();
  }
});

test("a root-owned link above is followed and its target examined; others' directories and writable ones are refused", () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  try {
    const real = join(directory, 'real');
    mkdirSync(real, { mode: 0o755 });
    symlinkSync(real, join(directory, 'link'));
    ensureRuntimeDir(join(directory, 'link', 'run'));
    assert.equal(statSync(join(real, 'run')).mode & 0o7777, 0o700);

    chmodSync(real, 0o777);
    assert.throws(
      () => ensureRuntimeDir(join(directory, 'link', 'run')),
      refused(/real is writable by everyone \(mode 0777\)/),
    );
    chmodSync(real, 0o775);
    chownSync(real, 0, NOBODY);
    assert.throws(() => ensureRuntimeDir(join(real, 'run')), refused(/writable by group 65534/));
    chownSync(real, NOBODY, 0);
    chmodSync(real, 0o755);
    assert.throws(() => ensureRuntimeDir(join(real, 'run')), refused(/real belongs to uid 65534/));
    chownSync(real, 0, 0);

    const theirs = join(directory, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, NOBODY, NOBODY);
    assert.throws(
      () => ensureRuntimeDir(theirs),
      refused(
        /^runtime directory .*theirs: .*theirs belongs to uid 65534, not to the agent's uid 0; use a directory/,
      ),
    );
    assert.throws(() => ensureRuntimeDir('relative/run'), refused(/must be an absolute path/));
  } finally {
    cleanup();
  }
});

test('a private directory (socket directory, namespace locks) is created 0700 and refused when shared, never changed', () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  try {
    ensurePrivateDirectory(join(directory, 'locks'), 'locks');
    assert.equal(statSync(join(directory, 'locks')).mode & 0o7777, 0o700);
    const shared = join(directory, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    assert.throws(() => ensurePrivateDirectory(shared, 'locks'), refused(/^locks: .*writable by everyone/));
    assert.equal(statSync(shared).mode & 0o7777, 0o1777, 'left as it was');
  } finally {
    cleanup();
  }
});

test('the control socket follows tandem_runtime_dir unless tandem_control_socket is set; --runtime-dir wins', () => {
  assert.deepEqual(runtimePaths({ runtimeDir: DEFAULT_RUNTIME_DIR, controlSocket: DEFAULT_CONTROL_SOCKET }), {
    runtimeDir: '/run/tandem',
    controlSocket: '/run/tandem/tandem.sock',
  });
  assert.deepEqual(runtimePaths({ runtimeDir: '/srv/ha', controlSocket: DEFAULT_CONTROL_SOCKET }), {
    runtimeDir: '/srv/ha',
    controlSocket: '/srv/ha/tandem.sock',
  });
  assert.deepEqual(runtimePaths({ runtimeDir: '/srv/ha', controlSocket: '/run/ha.sock' }), {
    runtimeDir: '/srv/ha',
    controlSocket: '/run/ha.sock',
  });
  assert.deepEqual(runtimePaths({ runtimeDir: '/srv/ha', controlSocket: '/run/ha.sock' }, '/tmp/t/run'), {
    runtimeDir: '/tmp/t/run',
    controlSocket: '/tmp/t/run/tandem.sock',
  });
});

/**
 * The pid-file lock (src/daemon/lock.ts) on its own: a live holder refuses, a dead one or a reused PID is stale
 * and taken over, and release removes only the file this process wrote.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  AgentLockError,
  PidLock,
  keepalivedInThisNamespace,
  lockNetworkNamespace,
  networkNamespaceOf,
  processStartedAt,
  readPidFile,
} from '../../src/daemon/lock.js';
import { exitOf, requireRoot, waitFor } from '../helpers/netns.js';

function scratch(): { directory: string; cleanup: () => void } {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-pid-lock-'));
  return { directory, cleanup: () => rmSync(directory, { recursive: true, force: true }) };
}

const refusal = (pid: number) => `held by pid ${pid}`;

/** A process that lives until killed, and its PID once /proc knows when it started. */
async function liveProcess() {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  const exited = exitOf(child);
  const pid = child.pid as number;
  await waitFor(() => processStartedAt(pid), { message: 'the sleeper in /proc' });
  return {
    pid,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

test('a live holder refuses with its PID; once it is gone its file is stale and taken over', async () => {
  const { directory, cleanup } = scratch();
  const holder = await liveProcess();
  try {
    const path = join(directory, 'tandem.pid');
    writeFileSync(path, `${holder.pid}\n`);
    assert.throws(
      () => PidLock.acquire(path, { refusal }),
      (error: unknown) =>
        error instanceof AgentLockError &&
        error.code === 'TANDEM_ELOCKED' &&
        error.message === refusal(holder.pid),
    );
    assert.equal(readFileSync(path, 'utf8'), `${holder.pid}\n`, 'the holder keeps its file');
    // Another check says the holder no longer counts (the namespace lock: it is in another namespace).
    const notHere = PidLock.acquire(path, { refusal, stillHolds: () => false });
    assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
    notHere.release();
    writeFileSync(path, `${holder.pid}\n`);
    await holder.kill();
    const lock = PidLock.acquire(path, {
      refusal,
      places: { runtimeDir: '/run/x', controlSocket: '/run/x/tandem.sock' },
    });
    assert.equal(
      readFileSync(path, 'utf8'),
      `${process.pid}\n{"runtimeDir":"/run/x","controlSocket":"/run/x/tandem.sock"}\n`,
    );
    assert.deepEqual(readPidFile(path)?.places, {
      runtimeDir: '/run/x',
      controlSocket: '/run/x/tandem.sock',
    });
    lock.release();
    assert.equal(readPidFile(path), undefined, 'released: removed');
  } finally {
    await holder.kill();
    cleanup();
  }
});

test('a PID reused by a process started after the file was written is not the holder', async () => {
  const { directory, cleanup } = scratch();
  const later = await liveProcess();
  try {
    const path = join(directory, 'tandem.pid');
    writeFileSync(path, `${later.pid}\n`);
    // Written an hour before that process started: the agent that wrote it is gone, its PID was reused.
    const anHourAgo = new Date(Date.now() - 3600_000);
    utimesSync(path, anHourAgo, anHourAgo);
    const lock = PidLock.acquire(path, { refusal });
    assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
    lock.release();
  } finally {
    await later.kill();
    cleanup();
  }
});

test('release removes only the file this process wrote; garbage in a pid file is stale', () => {
  const { directory, cleanup } = scratch();
  try {
    const path = join(directory, 'tandem.pid');
    writeFileSync(path, 'not a pid\n');
    const lock = PidLock.acquire(path, { refusal });
    // Someone else's file put in its place (a new inode): release leaves it.
    writeFileSync(join(directory, 'other'), '1\n');
    renameSync(join(directory, 'other'), path);
    lock.release();
    assert.equal(readFileSync(path, 'utf8'), '1\n');
  } finally {
    cleanup();
  }
});

test('keepalivedInThisNamespace reads /proc: comm, the network namespace link and the checker-only options', () => {
  const { directory, cleanup } = scratch();
  try {
    const proc = join(directory, 'proc');
    const entry = (pid: string, comm: string, net: string, argv: string[]) => {
      mkdirSync(join(proc, pid, 'ns'), { recursive: true });
      writeFileSync(join(proc, pid, 'comm'), `${comm}\n`);
      writeFileSync(join(proc, pid, 'cmdline'), argv.join('\0') + '\0');
      symlinkSync(net, join(proc, pid, 'ns', 'net'));
    };
    entry('self', 'node', 'net:[1]', ['node']);
    entry('10', 'keepalived', 'net:[1]', ['keepalived', '-n', '-f', '/etc/keepalived/keepalived.conf']);
    entry('11', 'keepalived', 'net:[2]', ['keepalived']);
    entry('12', 'keepalived', 'net:[1]', ['keepalived', '-C']);
    entry('13', 'keepalived', 'net:[1]', ['keepalived', '-C', '-P']);
    entry('14', 'sshd', 'net:[1]', ['sshd']);
    assert.deepEqual(keepalivedInThisNamespace(proc).sort(), [10, 13]);
  } finally {
    cleanup();
  }
});

test('taking the namespace lock sweeps the locks of namespaces whose agent is gone, and only those', async () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  // A live process in a namespace of its own, as an agent in another lab namespace.
  const other = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
  const otherExited = exitOf(other);
  const here = await liveProcess();
  try {
    const otherPid = other.pid as number;
    const otherNamespace = await waitFor(
      () => {
        const namespace = networkNamespaceOf(otherPid);
        return namespace !== undefined && namespace !== networkNamespaceOf('self') ? namespace : undefined;
      },
      { message: 'unshare moved sleep into a namespace of its own' },
    );
    const inode = /\[(\d+)\]/.exec(otherNamespace)?.[1] as string;
    const file = (name: string, text: string) => {
      writeFileSync(join(directory, name), text);
      // Written after the processes it names started (as an agent writes its own).
      const written = new Date(Date.now() + 60_000);
      utimesSync(join(directory, name), written, written);
    };
    file(`net-${inode}.pid`, `${otherPid}\n`); // live, in the namespace its name gives: kept
    file('net-1.pid', '999999999\n'); // no such process: swept
    file('net-2.pid', `${here.pid}\n`); // alive, but not in namespace 2: swept
    file('net-3.pid', ''); // no PID yet (being written): kept
    file('unrelated.pid', '999999999\n'); // not a namespace lock: kept
    const lock = lockNetworkNamespace(
      { runtimeDir: '/run/x', controlSocket: '/run/x/tandem.sock' },
      directory,
    );
    assert.deepEqual(
      readdirSync(directory).sort(),
      [`net-${inode}.pid`, 'net-3.pid', lock.path.slice(directory.length + 1), 'unrelated.pid'].sort(),
    );
    lock.release();
  } finally {
    other.kill('SIGKILL');
    await otherExited;
    await here.kill();
    cleanup();
  }
});

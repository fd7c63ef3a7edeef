import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FifoError,
  FifoWriter,
  PIPE_BUF_BYTES,
  fifoLine,
  fifoWriterOptions,
} from '../../src/actions/fifo.js';
import { exitOf, requireRoot, waitFor } from '../helpers/netns.js';

/** Linux's default pipe capacity (pipe(7)): 16 pages. */
const PIPE_CAPACITY_BYTES = 65536;

/** Whether process `pid` holds `path` open. */
function readerHasOpened(pid: number | undefined, path: string): boolean {
  if (pid === undefined) return false;
  return readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === path;
    } catch {
      return false;
    }
  });
}

function scratch() {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-fifo-'));
  return { directory, cleanup: () => rmSync(directory, { recursive: true, force: true }) };
}

test('fifoLine: the lines keepalived 2.2.7 wrote for the same events (captured from its notify_fifo)', () => {
  // Golden lines from test/interop/keepalived-fifo.test.ts's capture of the real daemon.
  assert.equal(
    fifoLine({ kind: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 }),
    'INSTANCE "VI_1" MASTER 100\n',
  );
  assert.equal(
    fifoLine({ kind: 'INSTANCE', name: 'VI_2', state: 'BACKUP', priority: 150 }),
    'INSTANCE "VI_2" BACKUP 150\n',
  );
  assert.equal(
    fifoLine({ kind: 'INSTANCE', name: 'VI_1', state: 'FAULT', priority: 100 }),
    'INSTANCE "VI_1" FAULT 100\n',
  );
  // STOP keeps the instance's priority (the priority-0 advert goes on the wire, not into the FIFO).
  assert.equal(
    fifoLine({ kind: 'INSTANCE', name: 'VI_1', state: 'STOP', priority: 100 }),
    'INSTANCE "VI_1" STOP 100\n',
  );
  // A group line always says 0.
  assert.equal(
    fifoLine({ kind: 'GROUP', name: 'G1', state: 'BACKUP', priority: 0 }),
    'GROUP "G1" BACKUP 0\n',
  );
  assert.equal(fifoLine({ kind: 'GROUP', name: 'G1', state: 'STOP', priority: 77 }), 'GROUP "G1" STOP 0\n');
});

test('FifoWriter creates a missing FIFO (0600, root) and removes it at close', async () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  try {
    const path = join(directory, 'notify.fifo');
    const writer = await FifoWriter.open({ path });
    const stats = lstatSync(path);
    assert.ok(stats.isFIFO());
    assert.equal(stats.mode & 0o777, 0o600);
    assert.equal(stats.uid, 0);
    assert.equal(writer.created, true);
    await writer.close();
    assert.equal(existsSync(path), false, 'the FIFO it made is gone');
  } finally {
    cleanup();
  }
});

test('FifoWriter keeps a FIFO it did not create', async () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  try {
    const path = join(directory, 'notify.fifo');
    const first = await FifoWriter.open({ path });
    const second = await FifoWriter.open({ path });
    assert.equal(second.created, false);
    await second.close();
    assert.ok(lstatSync(path).isFIFO());
    await first.close();
  } finally {
    cleanup();
  }
});

test('with no reader, writes never block: the pipe fills, then lines are dropped and counted', async () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  const warnings: object[] = [];
  try {
    const writer = await FifoWriter.open({
      path: join(directory, 'notify.fifo'),
      log: { info() {}, warn: (object) => warnings.push(object) },
    });
    const line = fifoLine({ kind: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 });
    const total = Math.ceil(PIPE_CAPACITY_BYTES / line.length) + 100;
    const started = process.hrtime.bigint();
    const results = Array.from({ length: total }, () => writer.writeLine(line));
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    // The kernel packs lines into 16 pages; a line that does not fit in a page's rest starts the next page.
    const linesPerPage = Math.floor(4096 / line.length);
    assert.ok(
      writer.written >= 16 * linesPerPage && writer.written * line.length <= PIPE_CAPACITY_BYTES,
      `the pipe took about 64 KiB (${writer.written} lines)`,
    );
    assert.equal(writer.dropped, total - writer.written, 'every further line was dropped and counted');
    const firstDrop = results.indexOf(false);
    assert.equal(firstDrop, writer.written);
    assert.ok(
      results.slice(firstDrop).every((written) => !written),
      'nothing went in after the pipe filled',
    );
    assert.equal(warnings.length, 1, 'one warning for a run of drops, not one per line');
    // A blocking write would never have returned (nobody reads): that they all did is the proof; the time is a
    // report of the machine's load, not a contract.
    process.stderr.write(`${total} writes returned in ${elapsedMs.toFixed(1)} ms\n`);
    await writer.close();
    assert.equal(writer.writeLine(line), false, 'a closed writer drops, never throws');
  } finally {
    cleanup();
  }
});

test('a line longer than PIPE_BUF is dropped rather than written in pieces', async () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  try {
    const writer = await FifoWriter.open({ path: join(directory, 'notify.fifo') });
    const name = 'x'.repeat(PIPE_BUF_BYTES);
    assert.equal(writer.writeEvent({ kind: 'INSTANCE', name, state: 'MASTER', priority: 1 }), false);
    assert.equal(writer.dropped, 1);
    await writer.close();
  } finally {
    cleanup();
  }
});

test('a reader gets exactly the bytes written, in order', async () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  let reader: ReturnType<typeof spawn> | undefined;
  try {
    const path = join(directory, 'notify.fifo');
    const writer = await FifoWriter.open({ path });
    const cat = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'inherit'] });
    reader = cat;
    const chunks: Buffer[] = [];
    cat.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const exited = exitOf(cat);
    // cat's open must come before our close: a FIFO nobody holds open loses what is in it.
    await waitFor(() => readerHasOpened(cat.pid, path), { message: 'cat opened the FIFO' });
    const events = [
      { kind: 'GROUP', name: 'G1', state: 'BACKUP', priority: 0 },
      { kind: 'INSTANCE', name: 'VI_1', state: 'BACKUP', priority: 100 },
      { kind: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 },
      { kind: 'GROUP', name: 'G1', state: 'MASTER', priority: 0 },
      { kind: 'INSTANCE', name: 'VI_1', state: 'STOP', priority: 100 },
    ] as const;
    for (const event of events) assert.equal(writer.writeEvent(event), true);
    await writer.close();
    // cat sees end-of-file once the last writer (ours) is closed.
    await exited;
    assert.equal(
      Buffer.concat(chunks).toString('latin1'),
      'GROUP "G1" BACKUP 0\nINSTANCE "VI_1" BACKUP 100\nINSTANCE "VI_1" MASTER 100\nGROUP "G1" MASTER 0\n' +
        'INSTANCE "VI_1" STOP 100\n',
    );
  } finally {
    if (reader?.exitCode === null && reader.signalCode === null) reader.kill('SIGKILL');
    cleanup();
  }
});

test('the FIFO script gets the path as last argument, reads the lines, and its group is ended at close', async () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  try {
    const path = join(directory, 'notify.fifo');
    const out = join(directory, 'out');
    const args = join(directory, 'args');
    const pidFile = join(directory, 'child.pid');
    const script = join(directory, 'reader.sh');
    // Ignores end-of-file (keeps a grandchild sleeping) so that close() has to signal the whole group.
    writeFileSync(
      script,
      `#!/bin/sh\nprintf '%s|' "$@" > ${args}\nsleep 60 &\necho $! > ${pidFile}\n` +
        `while read -r line; do echo "$line" >> ${out}; done < "$2"\nwait\n`,
    );
    chmodSync(script, 0o755);
    const writer = await FifoWriter.open({ path, script: { argv: [script, 'x'] }, scriptGraceMs: 200 });
    assert.ok(writer.scriptPid !== undefined);
    writer.writeEvent({ kind: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 });
    await waitFor(() => existsSync(out) && existsSync(pidFile), { message: 'the script read a line' });
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    assert.equal(readFileSync(args, 'utf8'), `x|${path}|`);
    assert.equal(readFileSync(out, 'utf8'), 'INSTANCE "VI_1" MASTER 100\n');
    await writer.close();
    assert.equal(writer.scriptPid, undefined);
    await waitFor(() => !existsSync(`/proc/${grandchild}`), { message: 'the script group is gone' });
  } finally {
    cleanup();
  }
});

test('refuses a FIFO in a directory a non-root user can write, a symlink, or a non-FIFO', async () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  try {
    const open = join(directory, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    await assert.rejects(
      FifoWriter.open({ path: join(open, 'notify.fifo') }),
      (error: unknown) =>
        error instanceof FifoError &&
        error.code === 'TANDEM_EFIFO' &&
        /writable by everyone/.test(error.message),
    );
    // The sticky bit does not excuse the FIFO's own directory: another user could create the name first.
    chmodSync(open, 0o1777);
    await assert.rejects(FifoWriter.open({ path: join(open, 'notify.fifo') }), FifoError);
    assert.equal(existsSync(join(open, 'notify.fifo')), false, 'nothing was created there');

    const file = join(directory, 'plain');
    writeFileSync(file, '');
    await assert.rejects(FifoWriter.open({ path: file }), /is not a FIFO \(a regular file\)/);
    const link = join(directory, 'link');
    symlinkSync(file, link);
    await assert.rejects(FifoWriter.open({ path: link }), /a symbolic link/);
    await assert.rejects(FifoWriter.open({ path: 'relative.fifo' }), /absolute path/);
  } finally {
    cleanup();
  }
});

test('a FIFO with an owner is given to it (mode 0640 for its group)', async () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  try {
    const path = join(directory, 'notify.fifo');
    const writer = await FifoWriter.open({ path, owner: { uid: 65534, gid: 65534 } });
    const stats = lstatSync(path);
    assert.equal(stats.uid, 65534);
    assert.equal(stats.gid, 65534);
    assert.equal(stats.mode & 0o777, 0o640);
    await writer.close();
  } finally {
    cleanup();
  }
});

test('fifoWriterOptions: the configured owner and the script with its user', () => {
  assert.deepEqual(
    fifoWriterOptions(
      {
        path: '/run/tandem/notify.fifo',
        user: 'nobody',
        group: 'root',
        script: { argv: ['/usr/local/bin/reader', '-q'] },
      },
      { scriptUser: { user: 'nobody' } },
    ),
    {
      path: '/run/tandem/notify.fifo',
      owner: { uid: 65534, gid: 0 },
      script: { argv: ['/usr/local/bin/reader', '-q'], uid: 65534, gid: 65534 },
    },
  );
  assert.deepEqual(fifoWriterOptions({ path: '/run/tandem/notify.fifo' }, {}), {
    path: '/run/tandem/notify.fifo',
  });
});

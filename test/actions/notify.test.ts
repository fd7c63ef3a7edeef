import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HookQueue, hookCommands } from '../../src/actions/notify.js';
import { runInProcessGroup as runHook } from '../../src/core/process-group.js';
import { waitFor } from '../helpers/netns.js';

const silent = { info() {}, warn() {} };

function scratch() {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-notify-'));
  const script = (name: string, body: string) => {
    const path = join(directory, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  return { directory, script, cleanup: () => rmSync(directory, { recursive: true, force: true }) };
}

test("keepalived's arguments: the state's own script as configured, the generic one with four more", () => {
  const commands = { master: { argv: ['/bin/m', 'x'] }, any: { argv: ['/bin/n'] } };
  assert.deepEqual(
    hookCommands(commands, { kind: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 }),
    [
      ['/bin/m', 'x'],
      ['/bin/n', 'INSTANCE', 'VI_1', 'MASTER', '100'],
    ],
  );
  assert.deepEqual(hookCommands(commands, { kind: 'GROUP', name: 'G1', state: 'FAULT', priority: 0 }), [
    ['/bin/n', 'GROUP', 'G1', 'FAULT', '0'],
  ]);
});

test('hooks run one at a time, in the order of the transitions', async () => {
  const { directory, script, cleanup } = scratch();
  try {
    const log = join(directory, 'log');
    const hook = script('hook.sh', `echo "start $3" >> ${log}\nsleep 0.05\necho "end $3" >> ${log}`);
    const queue = new HookQueue({ any: { argv: [hook] } }, { timeoutMs: 5000, log: silent });
    const states = ['BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'MASTER'] as const;
    for (const state of states) queue.push({ kind: 'INSTANCE', name: 'VI_1', state, priority: 100 });
    await queue.drain();
    const expected = states.flatMap((state) => [`start ${state}`, `end ${state}`]);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), expected);
  } finally {
    cleanup();
  }
});

test('a hook past its timeout is killed with its whole process group', async () => {
  const { directory, script, cleanup } = scratch();
  try {
    const childPid = join(directory, 'child.pid');
    // The hook starts a grandchild and waits: killing only the hook would leave the grandchild.
    const hook = script('hang.sh', `sleep 30 &\necho $! > ${childPid}\nwait`);
    const result = await runHook([hook], { timeoutMs: 200 });
    assert.equal(result.timedOut, true);
    assert.equal(result.signal, 'SIGKILL');
    const pid = Number(readFileSync(childPid, 'utf8'));
    await waitFor(() => !existsSync(`/proc/${pid}`), { timeoutMs: 2000, message: 'grandchild gone' });
  } finally {
    cleanup();
  }
});

test('terminate kills the running hook and drops the rest of the queue', async () => {
  const { directory, script, cleanup } = scratch();
  try {
    const log = join(directory, 'log');
    const hook = script('slow.sh', `echo "$3" >> ${log}\nexec sleep 30`);
    const queue = new HookQueue({ any: { argv: [hook] } }, { timeoutMs: 60_000, log: silent });
    queue.push({ kind: 'INSTANCE', name: 'VI_1', state: 'MASTER', priority: 100 });
    queue.push({ kind: 'INSTANCE', name: 'VI_1', state: 'STOP', priority: 100 });
    await waitFor(() => existsSync(log), { message: 'first hook started' });
    assert.equal(queue.terminate(), true);
    await queue.drain();
    assert.equal(readFileSync(log, 'utf8'), 'MASTER\n', 'nothing ran after terminate');
  } finally {
    cleanup();
  }
});

test('a failing hook leaves the end of its stderr for the log; a service it starts keeps running', async () => {
  const { directory, script, cleanup } = scratch();
  try {
    const pidFile = join(directory, 'daemon.pid');
    // Starts a "service" in the background that keeps the stderr pipe, then fails with a message.
    const hook = script(
      'fail.sh',
      `sleep 30 &\necho $! > ${pidFile}\necho "config check failed: line 3" >&2\nexit 3`,
    );
    const result = await runHook([hook], { timeoutMs: 5000 });
    assert.equal(result.exitCode, 3);
    assert.equal(result.stderr, 'config check failed: line 3');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(existsSync(`/proc/${pid}`), 'the background service was not killed by a closed pipe');
    process.kill(pid, 'SIGKILL');
  } finally {
    cleanup();
  }
});

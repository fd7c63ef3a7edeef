/**
 * The process group registry (issue 9): a command's background child stays in the command's group after the
 * command exits, and dies when the registry kills what is left; a group found empty is forgotten, and a group
 * id that names a live process again (a reused PID) is never signalled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessGroups, runInProcessGroup, type SignalSender } from '../../src/core/process-group.js';
import { waitFor } from '../helpers/netns.js';
import { processRuns as alive } from '../helpers/processes.js';

test("a command's background child outlives the command in its group, and dies with killAll", async () => {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-groups-'));
  const child = join(directory, 'child.pid');
  const script = join(directory, 'hook.sh');
  // The hook starts a long-lived child in its own group and exits at once, as `service &` would.
  writeFileSync(script, `#!/bin/sh\nsleep 600 &\necho $! > ${child}.tmp\nmv ${child}.tmp ${child}\n`);
  chmodSync(script, 0o755);
  const groups = new ProcessGroups();
  const run = groups.track(runInProcessGroup);
  let pid: number | undefined;
  try {
    const result = await run([script], { timeoutMs: 10_000 });
    assert.equal(result.exitCode, 0, JSON.stringify(result));
    assert.ok(existsSync(child), 'the hook wrote its child PID');
    pid = Number(readFileSync(child, 'utf8'));
    assert.ok(alive(pid), 'the background child runs after the hook exited');
    assert.equal(groups.size, 1, 'the group with a member left is remembered');

    // A command that leaves nothing behind is forgotten at once.
    const clean = await run(['/bin/true'], { timeoutMs: 10_000 });
    assert.equal(clean.exitCode, 0);
    assert.equal(groups.size, 1, 'an empty group is not remembered');

    assert.equal(groups.killAll(), 1, 'one group had something left to kill');
    const leftover = pid;
    await waitFor(() => !alive(leftover), { message: `the background child ${leftover} is gone` });
    assert.equal(groups.size, 0);
    assert.equal(groups.killAll(), 0, 'nothing is killed twice');
  } finally {
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  }
});

test('a finished group whose id is a live process again is not signalled; an empty one is forgotten', async () => {
  // The kernel as the registry sees it: which PIDs live, which groups have members.
  const live = new Set<number>();
  const groupsWithMembers = new Set<number>();
  const sent: string[] = [];
  const send: SignalSender = (pid, signal) => {
    const exists = pid < 0 ? groupsWithMembers.has(-pid) : live.has(pid);
    if (!exists) throw Object.assign(new Error('ESRCH'), { code: 'ESRCH' });
    if (signal !== 0) sent.push(`${signal} ${pid}`);
  };
  const registry = new ProcessGroups(send);
  // A fake runner: each command is a group leader that exits, leaving members as the test says.
  const leave = new Map<number, boolean>();
  const run = registry.track(async (argv, options) => {
    const leader = Number(argv[0]);
    groupsWithMembers.add(leader);
    options.onGroup?.(leader);
    if (!leave.get(leader)) groupsWithMembers.delete(leader);
    options.onGroup?.(undefined);
    return { argv, exitCode: 0, signal: null, timedOut: false };
  });
  leave.set(100, true);
  leave.set(200, true);
  await run(['100'], { timeoutMs: 1 });
  await run(['200'], { timeoutMs: 1 });
  await run(['300'], { timeoutMs: 1 });
  assert.equal(registry.size, 2, 'the group that left nothing is forgotten');
  // Group 100 empties; then PID 200's group... stays, but PID 200 is a new, unrelated process (reuse).
  groupsWithMembers.delete(100);
  live.add(200);
  await run(['400'], { timeoutMs: 1 });
  assert.equal(registry.size, 1, 'group 100, found empty, is forgotten when the next group starts');
  assert.equal(registry.killAll(), 0, 'group 200 belongs to a process that reused the id');
  assert.deepEqual(sent, []);
});

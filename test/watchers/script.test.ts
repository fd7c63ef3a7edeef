/**
 * vrrp_script: keepalived's rise/fall counter and init_fail (fake clock, fake runner), then real scripts: a
 * hanging one is killed at its timeout with its whole process group and counts as a failure, runs never
 * overlap, the event loop stays free while a script runs, and `user` runs it as that user.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RunResult } from '../../src/core/process-group.js';
import type { VrrpScriptConfig } from '../../src/config/schema.js';
import { resolveIdentity, ScriptUserError } from '../../src/watchers/identity.js';
import { type ScriptRunner, ScriptTracker } from '../../src/watchers/script.js';
import type { CheckState } from '../../src/watchers/tracking.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { waitFor } from '../helpers/netns.js';

const SECOND = 1_000_000;

function scriptConfig(overrides: Partial<VrrpScriptConfig> = {}): VrrpScriptConfig {
  return {
    name: 'chk',
    source: { file: 'test.conf', line: 1, column: 1 },
    command: { argv: ['/bin/true'] },
    intervalSeconds: 1,
    timeoutSeconds: 1,
    weight: 0,
    reverse: false,
    rise: 1,
    fall: 1,
    initFail: false,
    ...overrides,
  };
}

/** A runner whose runs the test finishes by hand, one at a time. */
class ScriptedRunner {
  started = 0;
  private finishers: ((result: RunResult) => void)[] = [];
  run: ScriptRunner = () => {
    this.started++;
    return new Promise((resolve) => this.finishers.push(resolve));
  };
  get waiting() {
    return this.finishers.length;
  }
  async finish(exitCode: number | null, timedOut = false) {
    const finish = this.finishers.shift();
    assert.ok(finish, 'a run is waiting to finish');
    finish({ argv: [], exitCode, signal: null, timedOut });
    // Let the tracker's await continue.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function harness(overrides: Partial<VrrpScriptConfig>) {
  const clock = new ManualClock();
  const runner = new ScriptedRunner();
  const tracker = new ScriptTracker(scriptConfig(overrides), { clock, run: runner.run });
  const changes: CheckState[] = [];
  tracker.onChange((state) => changes.push(state));
  /** Runs one interval's script with `exitCode`. */
  const cycle = async (exitCode: number, timedOut = false) => {
    if (runner.waiting === 0) clock.advance(SECOND);
    await runner.finish(exitCode, timedOut);
  };
  return { clock, runner, tracker, changes, cycle };
}

test('script: the first run decides an unknown script; then fall failures and rise successes', async () => {
  const { tracker, changes, cycle } = harness({ rise: 3, fall: 2 });
  tracker.start();
  assert.equal(tracker.state, 'unknown');
  await cycle(0);
  assert.equal(tracker.state, 'ok', 'one success is enough from the start');
  await cycle(1);
  assert.equal(tracker.state, 'ok', 'one failure of fall 2');
  await cycle(0);
  await cycle(1);
  assert.equal(tracker.state, 'ok', 'a success in between resets the count');
  await cycle(1);
  assert.equal(tracker.state, 'fail', 'two failures in a row');
  await cycle(0);
  await cycle(0);
  assert.equal(tracker.state, 'fail', 'two successes of rise 3');
  await cycle(0);
  assert.equal(tracker.state, 'ok');
  assert.deepEqual(changes, ['ok', 'fail', 'ok']);
  tracker.stop();
});

test('script: a first failure decides at once, whatever fall is', async () => {
  const { tracker, cycle } = harness({ rise: 2, fall: 5 });
  tracker.start();
  await cycle(1);
  assert.equal(tracker.state, 'fail');
  tracker.stop();
});

test('script: init_fail starts failed and needs rise successes', async () => {
  const { tracker, changes, cycle } = harness({ rise: 2, initFail: true });
  assert.equal(tracker.state, 'fail');
  tracker.start();
  await cycle(0);
  assert.equal(tracker.state, 'fail');
  await cycle(0);
  assert.equal(tracker.state, 'ok');
  assert.deepEqual(changes, ['ok']);
  tracker.stop();
});

test('script: a timeout counts as a failure', async () => {
  const { tracker, cycle } = harness({});
  tracker.start();
  await cycle(0);
  await cycle(0, true);
  assert.equal(tracker.state, 'fail');
  assert.equal(tracker.status().timeouts, 1);
  tracker.stop();
});

test('script: a run still going at the next interval is not doubled', async () => {
  const { clock, runner, tracker } = harness({});
  tracker.start();
  assert.equal(runner.started, 1, 'the first run starts at once');
  clock.advance(SECOND);
  clock.advance(SECOND);
  assert.equal(runner.started, 1, 'no second run while the first is going');
  assert.equal(tracker.status().skipped, 2);
  await runner.finish(0);
  clock.advance(SECOND);
  assert.equal(runner.started, 2, 'the next interval runs again');
  tracker.stop();
  clock.advance(SECOND);
  assert.equal(runner.started, 2, 'nothing runs after stop');
});

function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** A tracker whose script starts a `sleep 300` child, writes the child's pid to `pidFile` and waits for it. */
function trackerWithChild(pidFile: string, timeoutSeconds: number): ScriptTracker {
  return new ScriptTracker(
    scriptConfig({
      command: { argv: ['/bin/sh', '-c', `sleep 300 & echo $! > ${pidFile}; wait`] },
      intervalSeconds: 60,
      timeoutSeconds,
    }),
  );
}

/** The pid `trackerWithChild`'s script wrote, once it is there. */
async function childPid(pidFile: string): Promise<number> {
  return Number(await waitFor(() => readFileSync(pidFile, 'utf8').trim(), { message: 'the child pid' }));
}

test('script: a hanging script is killed with its whole process group and fails; adverts are not delayed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-script-'));
  try {
    const pidFile = join(dir, 'child.pid');
    const tracker = trackerWithChild(pidFile, 0.5);
    tracker.start();
    // The event loop stays free while the script hangs: a timer due before the script's timeout fires while the
    // script still runs (an order, not a speed: it holds however late both are on a loaded machine).
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(tracker.status().timeouts, 0, 'a running script does not block the event loop');
    assert.notEqual(tracker.state, 'fail', 'no result yet when the timer fired');
    const child = await childPid(pidFile);
    assert.ok(child > 0 && !isGone(child), 'the background child runs');
    await waitFor(() => tracker.state === 'fail', { message: 'the timeout to count as a failure' });
    assert.equal(tracker.status().timeouts, 1);
    await waitFor(() => isGone(child), { message: 'the grandchild killed with its group' });
    tracker.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('script: user names resolve; an unknown user is an error at start', () => {
  assert.deepEqual(resolveIdentity('root'), { uid: 0, gid: 0 });
  const nobody = resolveIdentity('nobody');
  assert.ok(nobody.uid > 0);
  assert.equal(resolveIdentity('nobody', 'root').gid, 0);
  assert.throws(() => resolveIdentity('no-such-user-tandem'), ScriptUserError);
  assert.throws(() => resolveIdentity('root', 'no-such-group-tandem'), ScriptUserError);
  const tracker = new ScriptTracker(
    scriptConfig({ command: { argv: ['/bin/true'], user: 'no-such-user-tandem' } }),
  );
  assert.throws(() => tracker.start(), /no-such-user-tandem/);
  // Files fallback: a lookup over fixed entries, as when getent is missing.
  const lookup = (database: 'passwd' | 'group', key: string) =>
    database === 'passwd' && key === 'svc' ? ['svc', 'x', '1234', '5678'] : undefined;
  assert.deepEqual(resolveIdentity('svc', undefined, lookup), { uid: 1234, gid: 5678 });
});

test('script: runs as the configured user (or script_user)', async () => {
  assert.equal(process.getuid?.(), 0, 'this test needs root to switch users');
  const dir = mkdtempSync(join(tmpdir(), 'tandem-script-user-'));
  try {
    chmodSync(dir, 0o777);
    const out = join(dir, 'id');
    const nobody = resolveIdentity('nobody');
    const tracker = new ScriptTracker(
      scriptConfig({ command: { argv: ['/bin/sh', '-c', `id -u > ${out}`] }, intervalSeconds: 60 }),
      { defaultUser: { user: 'nobody' } },
    );
    tracker.start();
    await waitFor(() => tracker.state === 'ok', { message: 'the script to succeed' });
    assert.equal(readFileSync(out, 'utf8').trim(), String(nobody.uid));
    tracker.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('script: stop kills a run still going, with its group', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-script-stop-'));
  try {
    const pidFile = join(dir, 'child.pid');
    const tracker = trackerWithChild(pidFile, 60);
    tracker.start();
    const child = await childPid(pidFile);
    tracker.stop();
    await waitFor(() => isGone(child), { message: 'the running script killed at stop' });
    assert.equal(tracker.state, 'unknown', 'a run killed by stop decides nothing');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

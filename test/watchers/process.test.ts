/**
 * vrrp_track_process: matching by name and parameters (keepalived.conf(5) param_match), quorum and quorum_max,
 * fork_delay and terminate_delay (fake clock), and a real /proc scan following `sleep` processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { test } from 'node:test';
import type { TrackProcessConfig } from '../../src/config/schema.js';
import {
  type ProcessEntry,
  ProcessScanner,
  ProcessTracker,
  processMatches,
} from '../../src/watchers/process.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { exitOf, waitFor } from '../helpers/netns.js';

const SECOND = 1_000_000;

function config(overrides: Partial<TrackProcessConfig> = {}): TrackProcessConfig {
  return {
    name: 'p',
    source: { file: 'test.conf', line: 1, column: 1 },
    process: ['haproxy'],
    paramMatch: 'exact',
    weight: 1,
    reverse: false,
    quorum: 1,
    forkDelaySeconds: 0,
    terminateDelaySeconds: 0,
    fullCommand: false,
    ...overrides,
  };
}

const entry = (comm: string, argv: string[]): ProcessEntry => ({ pid: 1, comm, argv });

const matching: {
  why: string;
  config: Partial<TrackProcessConfig>;
  entry: ProcessEntry;
  matches: boolean;
}[] = [
  { why: 'name = comm', config: {}, entry: entry('haproxy', ['/usr/sbin/haproxy']), matches: true },
  { why: 'exact, not a prefix (pgrep ^name$)', config: {}, entry: entry('haproxy2', []), matches: false },
  {
    why: 'full_command compares argv[0]',
    config: { process: ['/usr/sbin/haproxy'], fullCommand: true },
    entry: entry('haproxy', ['/usr/sbin/haproxy', '-f', 'x']),
    matches: true,
  },
  {
    why: 'full_command: argv[0] differs',
    config: { process: ['haproxy'], fullCommand: true },
    entry: entry('haproxy', ['/usr/sbin/haproxy']),
    matches: false,
  },
  {
    why: 'exact parameters',
    config: { process: ['nginx', '-c', 'a.conf'] },
    entry: entry('nginx', ['nginx', '-c', 'a.conf']),
    matches: true,
  },
  {
    why: 'exact: an extra parameter fails',
    config: { process: ['nginx', '-c', 'a.conf'] },
    entry: entry('nginx', ['nginx', '-c', 'a.conf', '-g']),
    matches: false,
  },
  {
    why: 'partial: the first n match, more may follow',
    config: { process: ['nginx', '-c', 'a.conf'], paramMatch: 'partial' },
    entry: entry('nginx', ['nginx', '-c', 'a.conf', '-g']),
    matches: true,
  },
  {
    why: 'partial: the last one must be whole',
    config: { process: ['nginx', '-c', 'a'], paramMatch: 'partial' },
    entry: entry('nginx', ['nginx', '-c', 'a.conf']),
    matches: false,
  },
  {
    why: 'initial: the last one may be longer',
    config: { process: ['nginx', '-c', 'a'], paramMatch: 'initial' },
    entry: entry('nginx', ['nginx', '-c', 'a.conf', '-g']),
    matches: true,
  },
  {
    why: 'initial: earlier ones must be whole',
    config: { process: ['nginx', '-', 'a'], paramMatch: 'initial' },
    entry: entry('nginx', ['nginx', '-c', 'a.conf']),
    matches: false,
  },
];
for (const row of matching) {
  test(`process match: ${row.why}`, () => {
    assert.equal(processMatches(config(row.config), row.entry), row.matches);
  });
}

function harness(overrides: Partial<TrackProcessConfig>) {
  const clock = new ManualClock();
  const tracker = new ProcessTracker(config(overrides), new ProcessScanner({ clock }), { clock });
  const changes: boolean[] = [];
  tracker.onChange((running) => changes.push(running));
  const observe = (count: number) =>
    tracker.observe(Array.from({ length: count }, (_, i) => ({ pid: i + 1, comm: 'haproxy' })));
  return { clock, tracker, changes, observe };
}

test('process: quorum and quorum_max', () => {
  const { tracker, changes, observe } = harness({ quorum: 2, quorumMax: 3 });
  observe(1);
  assert.equal(tracker.running, false);
  observe(2);
  assert.equal(tracker.running, true);
  observe(3);
  observe(4);
  assert.equal(tracker.running, false, 'more than quorum_max fails');
  assert.equal(tracker.count, 4);
  assert.deepEqual(changes, [true, false]);
});

test('process: fork_delay before a gained quorum counts, terminate_delay before a lost one does', () => {
  const { clock, tracker, changes, observe } = harness({ forkDelaySeconds: 2, terminateDelaySeconds: 3 });
  observe(0); // the first scan sets the state without delay
  observe(1);
  clock.advance(1.9 * SECOND);
  assert.equal(tracker.running, false, 'still within fork_delay');
  clock.advance(0.1 * SECOND);
  assert.equal(tracker.running, true);
  observe(0);
  clock.advance(2 * SECOND);
  observe(1); // restarted within terminate_delay: no bounce
  clock.advance(5 * SECOND);
  assert.equal(tracker.running, true);
  observe(0);
  clock.advance(3 * SECOND);
  assert.equal(tracker.running, false);
  assert.deepEqual(changes, [true, false]);
});

test('process: a real /proc scan follows processes with a distinctive command line', async () => {
  const marker = `${3000 + randomInt(1000)}.${randomInt(1_000_000)}`;
  const scanner = new ProcessScanner({ intervalMicroseconds: 50_000 });
  const tracker = new ProcessTracker(config({ process: ['sleep', marker], quorum: 2 }), scanner);
  const children = [spawn('sleep', [marker]), spawn('sleep', [marker])];
  try {
    tracker.start();
    await scanner.start();
    await waitFor(() => tracker.count === 2, { message: 'both sleep processes counted' });
    assert.equal(tracker.running, true);
    const first = children[0]!;
    const exited = exitOf(first);
    first.kill('SIGKILL');
    await exited;
    await waitFor(() => tracker.count === 1, { message: 'one sleep process left' });
    assert.equal(tracker.running, false, 'below quorum');
  } finally {
    scanner.stop();
    tracker.stop();
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test('process: a name alone matches the process name (comm)', async () => {
  const scanner = new ProcessScanner({ intervalMicroseconds: 50_000 });
  const tracker = new ProcessTracker(config({ process: ['node'] }), scanner);
  try {
    tracker.start();
    await scanner.start();
    assert.ok(tracker.count >= 1, 'this test process is a node process');
    assert.equal(tracker.running, true);
  } finally {
    scanner.stop();
    tracker.stop();
  }
});

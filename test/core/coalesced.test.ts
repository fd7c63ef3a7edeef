/**
 * Coalesced work (reloads per SIGHUP, dumps per signal): never two runs at once; requests during a run share
 * one more run with the latest argument; a failed run does not cancel the one queued behind it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalesced } from '../../src/core/coalesced.js';

/** Work whose runs the test finishes one by one. */
function controlled() {
  const started: string[] = [];
  const finish: ((error?: Error) => void)[] = [];
  let running = 0;
  let most = 0;
  const work = (argument: string) =>
    new Promise<void>((resolve, reject) => {
      started.push(argument);
      running++;
      most = Math.max(most, running);
      finish.push((error) => {
        running--;
        if (error) reject(error);
        else resolve();
      });
    });
  return { started, finish, work, most: () => most };
}

test('requests during a run share one more run, with the latest argument, never two at once', async () => {
  const { started, finish, work, most } = controlled();
  const runs = new Coalesced(work);
  assert.equal(runs.busy, false);
  const first = runs.request('a');
  assert.equal(runs.busy, true);
  assert.deepEqual(started, ['a'], 'the first request starts at once');
  const settled: string[] = [];
  const second = runs.request('b').then(() => settled.push('b'));
  const third = runs.request('c').then(() => settled.push('c'));
  assert.deepEqual(started, ['a'], 'nothing else starts while a run is in progress');
  finish[0]?.();
  await first;
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(started, ['a', 'c'], 'one more run, with the latest argument');
  assert.deepEqual(settled, [], 'the requests wait for the run that started after them');
  finish[1]?.();
  await Promise.all([second, third]);
  assert.deepEqual(settled, ['b', 'c']);
  assert.equal(most(), 1);
  assert.equal(runs.busy, false);
});

test('a failed run resolves its requests and does not cancel the queued one; a throwing work is a failed run', async () => {
  const { started, finish, work } = controlled();
  const runs = new Coalesced(work);
  const first = runs.request('a');
  const second = runs.request('b');
  finish[0]?.(new Error('refused'));
  await first;
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(started, ['a', 'b']);
  finish[1]?.();
  await second;
  const throwing = new Coalesced<void>(() => {
    throw new Error('at once');
  });
  await throwing.request();
  assert.equal(throwing.busy, false);
});

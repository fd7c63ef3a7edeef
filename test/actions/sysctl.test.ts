/**
 * promote_secondaries as keepalived sets it: on when the first instance that asks for it attaches to an
 * interface, back to 0 when the last one stops, and left alone when it was on already.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/core/logger.js';
import { PromoteSecondaries, type Sysctl } from '../../src/actions/sysctl.js';

function memory(initial: Record<string, string> = {}) {
  const values = new Map(Object.entries(initial));
  const writes: string[] = [];
  const sysctl: Sysctl = {
    read: async (key) => values.get(key.join('/')),
    write: async (key, value) => {
      values.set(key.join('/'), value);
      writes.push(`${key.join('/')}=${value}`);
    },
  };
  return { sysctl, values, writes };
}

const KEY = 'net/ipv4/conf/eth0.10/promote_secondaries';

test('set by the first holder, reset by the last', async () => {
  const { sysctl, writes } = memory({ [KEY]: '0' });
  const promote = new PromoteSecondaries(sysctl, silentLogger);
  await promote.acquire('eth0.10');
  await promote.acquire('eth0.10');
  assert.deepEqual(writes, [`${KEY}=1`], 'one write for two instances; a VLAN name stays one segment');
  await promote.release('eth0.10');
  assert.deepEqual(writes, [`${KEY}=1`], 'still held by the other instance');
  await promote.release('eth0.10');
  assert.deepEqual(writes, [`${KEY}=1`, `${KEY}=0`]);
});

test('already on: never written, never reset', async () => {
  const { sysctl, writes } = memory({ [KEY]: '1' });
  const promote = new PromoteSecondaries(sysctl, silentLogger);
  await promote.acquire('eth0.10');
  await promote.release('eth0.10');
  assert.deepEqual(writes, []);
});

test('a write that fails is logged, not thrown', async () => {
  const warnings: string[] = [];
  const promote = new PromoteSecondaries(
    { read: async () => '0', write: async () => Promise.reject(new Error('EACCES')) },
    { ...silentLogger, warn: (_, message) => void warnings.push(message) },
  );
  await promote.acquire('eth0');
  await promote.release('eth0');
  assert.deepEqual(warnings, ['cannot set promote_secondaries']);
});

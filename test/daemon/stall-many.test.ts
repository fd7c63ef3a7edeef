/**
 * The stall rule with many virtual routers on one interface (issue 11): a backup whose process is stopped
 * (SIGSTOP) past Master_Down_Interval while the master keeps advertising must not take over any of them once it
 * runs again. Every instance's Master_Down_Timer has expired by then; the adverts queued meanwhile must reach
 * every instance (the addon hands the whole receive queue to JavaScript in one callback) before any deferred
 * expiry acts. With one datagram read per wake-up, all instances but the first went MASTER and back.
 * The single-instance case is in failover.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Lab, requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { type AgentProcess, startAgent } from '../helpers/agents.js';

/**
 * Adverts every instance of the master sends in more than the backup's Master_Down_Interval (3 intervals +
 * Skew_Time, RFC 5798 §6.1): how long the backup stays stopped, counted on the wire rather than slept.
 */
const ADVERTS_PAST_MASTER_DOWN = 5;

function config(priority: number, count: number): string {
  const instances = Array.from(
    { length: count },
    (_, index) => `
vrrp_instance VI_${index + 1} {
  state BACKUP
  interface eth0
  virtual_router_id ${index + 1}
  priority ${priority}
  advert_int 1
  virtual_ipaddress {
    198.51.100.${index + 1}/32
  }
}`,
  );
  return `global_defs {\n  router_id lab\n  vrrp_version 3\n}\n${instances.join('\n')}\n`;
}

interface Summary {
  states: Record<string, number>;
  transitions: number;
  staleExpiries: number[];
  advertsReceived: number[];
  advertsSent: number[];
}

async function summary(agent: AgentProcess): Promise<Summary> {
  const { instances } = await agent.status();
  const states: Record<string, number> = {};
  for (const instance of instances) states[instance.state] = (states[instance.state] ?? 0) + 1;
  return {
    states,
    transitions: instances.reduce((sum, instance) => sum + (instance.counters.transitions as number), 0),
    staleExpiries: instances.map((instance) => instance.counters.staleTimerExpiries as number),
    advertsReceived: instances.map((instance) => instance.counters.advertsReceived as number),
    advertsSent: instances.map((instance) => instance.counters.advertsSent as number),
  };
}

async function allIn(agent: AgentProcess, state: string, count: number): Promise<Summary> {
  return waitFor(
    async () => {
      const current = await summary(agent);
      return current.states[state] === count ? current : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200, message: `${agent.name}: ${count} instances in ${state}` },
  );
}

async function stalledBackup(lab: Lab, count: number): Promise<void> {
  const sw = await lab.bridge('sw');
  const a = await lab.namespace('a');
  const b = await lab.namespace('b');
  await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
  await lab.connect(b, sw, { addresses: ['192.0.2.2/24'] });
  const master = await startAgent(lab, a, config(150, count), 'a');
  const backup = await startAgent(lab, b, config(100, count), 'b');
  await allIn(master, 'MASTER', count);
  const before = await allIn(backup, 'BACKUP', count);

  // Stopped for longer than Master_Down_Interval, so every instance's timer is surely due when it wakes.
  const sentBefore = (await summary(master)).advertsSent;
  backup.signal('SIGSTOP');
  await waitFor(
    async () =>
      (await summary(master)).advertsSent.every(
        (sent, index) => sent >= (sentBefore[index] as number) + ADVERTS_PAST_MASTER_DOWN,
      ),
    {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: `a sent ${ADVERTS_PAST_MASTER_DOWN} adverts per instance`,
    },
  );
  backup.signal('SIGCONT');
  // The first answer after the resume: the adverts queued during the stall are read by then.
  const resumed = await summary(backup);
  // The outcome is known once every instance dropped its late expiry, or once every instance took an advert
  // sent after the resume (the expiries due at the resume were decided before it, whichever way the loop ordered
  // them: on a loaded machine the queued adverts may re-arm a timer before it is seen expired), or once anything
  // transitioned.
  const after = await waitFor(
    async () => {
      const current = await summary(backup);
      const dropped = current.staleExpiries.every(
        (stale, index) => stale > (before.staleExpiries[index] as number),
      );
      const fresh = current.advertsReceived.every(
        (count, index) => count > (resumed.advertsReceived[index] as number),
      );
      return dropped || fresh || current.transitions !== before.transitions ? current : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200, message: 'b: every expiry due at the resume decided' },
  );
  assert.deepEqual(after.states, { BACKUP: count }, `b stayed BACKUP everywhere (${backup.describe()})`);
  assert.equal(after.transitions, before.transitions, 'no transition at all on b');
  assert.deepEqual((await summary(master)).states, { MASTER: count }, 'a is MASTER everywhere');
}

for (const count of [4, 100]) {
  test(`stall: ${count} instances on one interface, backup SIGSTOPped past Master_Down_Interval: none transitions`, async () => {
    requireRoot();
    await withLab((lab) => stalledBackup(lab, count));
  });
}

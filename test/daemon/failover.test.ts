/**
 * Two real `tandem run` agents on a bridge with a client namespace: election, VIP placement, handover on
 * SIGTERM, takeover after a link cut, GARP updating the client's ARP entry, preemption back, nopreempt,
 * the stall rule under SIGSTOP, and a flood of malformed packets. The election tests run VRRPv3 at advert_int
 * 0.1; bounds come from the protocol: Skew_Time = (256 - 100) / 256 x 100 ms = 61 ms and Master_Down_Interval
 * = 300 ms + Skew_Time for the priority-100 backup (RFC 5798 §6.1); how soon each takeover came is reported,
 * not asserted (it measures the machine's load as much as the agent). The stall and flood
 * tests assert "no transition at all" on a loaded machine, so they keep advert_int 1 (a 3.6 s
 * Master_Down_Interval): their subject is what the agent does with a stall or a flood, not a CPU starved past
 * 361 ms. Durations ("longer than Master_Down_Interval") are counted in the master's own adverts, never slept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Bridge, type Lab, type Port, requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { type AgentProcess, startAgent } from '../helpers/agents.js';
import { MICROSECONDS_PER_MILLISECOND } from '../../src/core/time.js';
import { DISCARD_LOG_INTERVAL_MICROSECONDS } from '../../src/vrrp/advert-channel.js';

const VIP = '192.0.2.100';
const ADVERT_INTERVAL_MS = 100;
const SKEW_TIME_MS = ((256 - 100) / 256) * ADVERT_INTERVAL_MS;
const MASTER_DOWN_INTERVAL_MS = 3 * ADVERT_INTERVAL_MS + SKEW_TIME_MS;
/** The discard log's rate limit, less a millisecond of rounding in pino's timestamps. */
const DISCARD_LOG_INTERVAL_MS = DISCARD_LOG_INTERVAL_MICROSECONDS / MICROSECONDS_PER_MILLISECOND - 1;
/** Adverts a master sends in more than the highest-priority backup's Master_Down_Interval (3 + Skew_Time). */
const ADVERTS_PAST_MASTER_DOWN = 6;
/** The steady tests' interval (seconds). */
const STEADY_ADVERT_INT = '1';

function config(priority: number, extra = '', advertInt = '0.1'): string {
  return `
global_defs {
  router_id lab
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${priority}
  version 3
  advert_int ${advertInt}
  garp_master_delay 1
  ${extra}
  virtual_ipaddress {
    ${VIP}/24
  }
}
`;
}

interface Pair {
  lab: Lab;
  a: string;
  b: string;
  client: string;
  portA: Port;
  portB: Port;
  sw: Bridge;
}

async function pair(lab: Lab): Promise<Pair> {
  const sw = await lab.bridge('sw');
  const a = await lab.namespace('a');
  const b = await lab.namespace('b');
  const client = await lab.namespace('c');
  const portA = await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
  const portB = await lab.connect(b, sw, { addresses: ['192.0.2.2/24'] });
  await lab.connect(client, sw, { addresses: ['192.0.2.10/24'] });
  return { lab, a, b, client, portA, portB, sw };
}

async function hasVip(lab: Lab, ns: string): Promise<boolean> {
  const links = (await lab.execJson(ns, ['ip', '-j', 'addr', 'show', 'dev', 'eth0'])) as {
    addr_info: { local: string }[];
  }[];
  return links.some((link) => link.addr_info.some((address) => address.local === VIP));
}

async function clientNeighbour(lab: Lab, client: string): Promise<string | undefined> {
  const entries = (await lab.execJson(client, ['ip', '-j', 'neigh', 'show', VIP])) as { lladdr?: string }[];
  return entries[0]?.lladdr;
}

async function assertSoleMaster(
  pairs: { agent: AgentProcess; ns: string }[],
  lab: Lab,
  master: AgentProcess,
) {
  for (const { agent, ns } of pairs) {
    const state = (await agent.instance('VI_1')).state;
    assert.equal(state, agent === master ? 'MASTER' : 'BACKUP', `${agent.name} state`);
    assert.equal(await hasVip(lab, ns), agent === master, `${agent.name} holds the VIP`);
  }
}

test('two agents: election, SIGTERM handover, GARP, preemption back, link cut, heal', async (t) => {
  requireRoot();
  await withLab(async (lab) => {
    const { a, b, client, portA, portB, sw } = await pair(lab);
    let agentA = await startAgent(lab, a, config(150), 'a');
    const agentB = await startAgent(lab, b, config(100), 'b');
    await agentA.waitForState('VI_1', 'MASTER');
    await agentB.waitForState('VI_1', 'BACKUP');
    await assertSoleMaster(
      [
        { agent: agentA, ns: a },
        { agent: agentB, ns: b },
      ],
      lab,
      agentA,
    );

    // The client reaches the VIP, and its ARP entry names a.
    await lab.exec(client, ['ping', '-c', '1', '-W', '1', VIP]);
    assert.equal(await clientNeighbour(lab, client), portA.mac);

    // SIGTERM: a sends priority 0, releases the VIP and exits 0; b takes over on that priority-0 advert (after
    // Skew_Time rather than Master_Down_Interval). What the contract fixes is asserted: the advert sent and heard,
    // the exit status, the VIP. How long it took depends on the machine's load: reported, not asserted (the stop
    // bound is measured in stop-bound.test.ts, Skew_Time on the manual clock in the conformance scenarios).
    const heardBefore = (await agentB.instance('VI_1')).counters.priorityZeroReceived as number;
    const stoppedAt = Date.now();
    agentA.signal('SIGTERM');
    const exit = await agentA.exited;
    assert.equal(exit.code, 0, `a exit status (${agentA.describe()})`);
    assert.equal(await hasVip(lab, a), false, 'a released the VIP');
    await agentB.waitForState('VI_1', 'MASTER');
    const takeover = (agentB.transitionTime('VI_1', 'MASTER', stoppedAt) as number) - stoppedAt;
    assert.ok(
      ((await agentB.instance('VI_1')).counters.priorityZeroReceived as number) > heardBefore,
      `b heard a's priority-0 advert (${agentB.describe()})`,
    );
    t.diagnostic(
      `SIGTERM: a exited after ${exit.at - stoppedAt} ms, b MASTER after ${takeover} ms (Skew_Time ${SKEW_TIME_MS} ms)`,
    );
    assert.equal(await hasVip(lab, b), true);
    // No traffic from the client since: only b's gratuitous ARP can have moved its entry.
    await waitFor(async () => (await clientNeighbour(lab, client)) === portB.mac, {
      timeoutMs: 2000,
      message: "the client's ARP entry for the VIP names b (GARP)",
    });
    await lab.exec(client, ['ping', '-c', '1', '-W', '1', VIP]);

    // a comes back with the higher priority and preempts (preemption is on by default).
    agentA = await startAgent(lab, a, config(150), 'a2');
    await agentA.waitForState('VI_1', 'MASTER', MASTER_DOWN_INTERVAL_MS + 3000);
    await agentB.waitForState('VI_1', 'BACKUP');
    await assertSoleMaster(
      [
        { agent: agentA, ns: a },
        { agent: agentB, ns: b },
      ],
      lab,
      agentA,
    );
    await waitFor(async () => (await clientNeighbour(lab, client)) === portA.mac, {
      timeoutMs: 2000,
      message: "the client's ARP entry for the VIP names a again",
    });

    // Cut a's link at the bridge, as a dead cable: b hears nothing and takes over within Master_Down_Interval
    // of a's last advert, which was before the cut.
    const cutAt = Date.now();
    await lab.exec(sw.ns, ['ip', 'link', 'set', portA.bridgePort, 'down']);
    await agentB.waitForState('VI_1', 'MASTER', MASTER_DOWN_INTERVAL_MS + 2000);
    // How soon is the machine's load as much as the protocol's: reported, not asserted.
    const cutTakeover = (agentB.transitionTime('VI_1', 'MASTER', cutAt) as number) - cutAt;
    t.diagnostic(
      `link cut: b MASTER after ${cutTakeover} ms (Master_Down_Interval ${MASTER_DOWN_INTERVAL_MS} ms)`,
    );
    await lab.exec(client, ['ping', '-c', '1', '-W', '1', VIP]);
    assert.equal(await clientNeighbour(lab, client), portB.mac);

    // Heal: a, still MASTER on its side, hears b's lower priority, asserts itself at once; b yields.
    await lab.exec(sw.ns, ['ip', 'link', 'set', portA.bridgePort, 'up']);
    await agentB.waitForState('VI_1', 'BACKUP', 5000);
    await assertSoleMaster(
      [
        { agent: agentA, ns: a },
        { agent: agentB, ns: b },
      ],
      lab,
      agentA,
    );
    assert.equal(await agentA.stop(), 0);
    assert.equal(await agentB.stop(), 0);
  });
});

test('nopreempt: a returning higher-priority router leaves the current master alone', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { a, b } = await pair(lab);
    const agentB = await startAgent(lab, b, config(100), 'b');
    await agentB.waitForState('VI_1', 'MASTER', MASTER_DOWN_INTERVAL_MS + 3000);
    const agentA = await startAgent(lab, a, config(150, 'nopreempt'), 'a');
    await agentA.waitForState('VI_1', 'BACKUP');
    // Until a has heard b for longer than its own Master_Down_Interval: without nopreempt it would have
    // preempted by then. Counted in b's adverts as a heard them, not slept.
    const before = await agentA.instance('VI_1');
    await waitFor(
      async () =>
        ((await agentA.instance('VI_1')).counters.advertsReceived as number) >=
        (before.counters.advertsReceived as number) + ADVERTS_PAST_MASTER_DOWN,
      { timeoutMs: 5000, message: `a heard ${ADVERTS_PAST_MASTER_DOWN} more adverts from b` },
    );
    assert.equal((await agentA.instance('VI_1')).state, 'BACKUP');
    assert.equal((await agentA.instance('VI_1')).counters.transitions, before.counters.transitions);
    assert.equal((await agentB.instance('VI_1')).state, 'MASTER');
    assert.ok(((await agentA.instance('VI_1')).counters.advertsReceived as number) >= 3);
    await assertSoleMaster(
      [
        { agent: agentA, ns: a },
        { agent: agentB, ns: b },
      ],
      lab,
      agentB,
    );
  });
});

test('stall: a backup stopped (SIGSTOP) past Master_Down_Interval while the master advertises stays BACKUP', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { a, b } = await pair(lab);
    const agentA = await startAgent(lab, a, config(150, '', STEADY_ADVERT_INT), 'a');
    const agentB = await startAgent(lab, b, config(100, '', STEADY_ADVERT_INT), 'b');
    await agentA.waitForState('VI_1', 'MASTER');
    await agentB.waitForState('VI_1', 'BACKUP');
    const before = await agentB.instance('VI_1');
    // Stopped for longer than its Master_Down_Interval, as counted in the master's adverts, so its timer is
    // surely due when it wakes; then it runs until it has read a few of a's adverts after waking.
    const sentBefore = (await agentA.instance('VI_1')).counters.advertsSent as number;
    agentB.signal('SIGSTOP');
    await waitFor(
      async () =>
        ((await agentA.instance('VI_1')).counters.advertsSent as number) >=
        sentBefore + ADVERTS_PAST_MASTER_DOWN,
      { timeoutMs: 20_000, message: `a sent ${ADVERTS_PAST_MASTER_DOWN} adverts while b was stopped` },
    );
    agentB.signal('SIGCONT');
    await waitFor(
      async () =>
        ((await agentB.instance('VI_1')).counters.advertsReceived as number) >=
        (before.counters.advertsReceived as number) + ADVERTS_PAST_MASTER_DOWN,
      { timeoutMs: 20_000, message: 'b read adverts after waking' },
    );
    const after = await agentB.instance('VI_1');
    assert.equal(after.state, 'BACKUP', `b stayed BACKUP (${agentB.describe()})`);
    assert.equal(after.counters.transitions, before.counters.transitions, 'no transition at all');
    // Whether the late expiry was seen and dropped (staleTimerExpiries) or the adverts queued during the stall
    // re-armed the timer before it was seen expired depends on how the loaded machine ordered the wake-up; both
    // are the stall rule at work, and the contract is the same: no transition.
    assert.equal((await agentA.instance('VI_1')).state, 'MASTER');
    assert.equal(await hasVip(lab, b), false);
  });
});

test('a flood of malformed packets changes no state and kills nothing', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { a, b, client } = await pair(lab);
    const agentA = await startAgent(lab, a, config(150, '', STEADY_ADVERT_INT), 'a');
    const agentB = await startAgent(lab, b, config(100, '', STEADY_ADVERT_INT), 'b');
    await agentA.waitForState('VI_1', 'MASTER');
    await agentB.waitForState('VI_1', 'BACKUP');
    const before = { a: await agentA.instance('VI_1'), b: await agentB.instance('VI_1') };
    for (const [destination, seed] of [
      ['224.0.0.18', '7'],
      ['192.0.2.2', '8'],
    ] as const) {
      const { stdout } = await lab.exec(
        client,
        lab.nodeArgv('test/daemon/fixtures/flood.ts', 'eth0', destination, '3000', seed),
        {
          timeoutMs: 60_000,
        },
      );
      assert.equal(stdout.trim(), '3020');
    }
    const after = { a: await agentA.instance('VI_1'), b: await agentB.instance('VI_1') };
    assert.equal(after.a.state, 'MASTER');
    assert.equal(after.b.state, 'BACKUP');
    assert.equal(after.a.counters.transitions, before.a.counters.transitions);
    assert.equal(after.b.counters.transitions, before.b.counters.transitions);
    assert.equal(agentA.child.exitCode, null, 'a is alive');
    assert.equal(agentB.child.exitCode, null, 'b is alive');
    const discarded = after.b.counters.discarded as Record<string, number>;
    for (const reason of ['truncated', 'bad-checksum', 'bad-version', 'count-mismatch', 'bad-ttl']) {
      assert.ok((discarded[reason] ?? 0) > 0, `b counted '${reason}': ${JSON.stringify(discarded)}`);
    }
    // Rate-limited logging: thousands of discards, at most one line per reason every 10 s of the agent's own
    // time (however long the flood took on a loaded machine).
    const discardLines = agentB.logs.filter((line) => line.msg === 'advert discarded');
    assert.ok(discardLines.length > 0, 'the discards were logged');
    const lastByReason = new Map<unknown, number>();
    for (const line of discardLines) {
      const last = lastByReason.get(line.reason);
      assert.ok(
        last === undefined || line.time - last >= DISCARD_LOG_INTERVAL_MS,
        `two '${String(line.reason)}' lines ${last === undefined ? 0 : line.time - last} ms apart`,
      );
      lastByReason.set(line.reason, line.time);
    }
  });
});

/**
 * A proxy follows the VIP: two balancers, each with a real `tandem run` agent and a real HAProxy (Debian's
 * package) driven only by the agent's `tandem_service` hooks (cold standby: `on_master` starts haproxy,
 * `on_backup` / `on_fault` / `on_stop` stop it), and a client sending HTTP requests to the VIP. Each HAProxy
 * answers with its balancer's name. b1 (priority 150) answers first; once b1's link is cut at the bridge, the
 * answers come from b2 (how soon after the cut is reported, not asserted: past Master_Down_Interval it measures
 * the machine's load, the hook starting haproxy and the client's retry); after the link heals b1 takes the VIP
 * back and b2's on_backup stops its haproxy.
 *
 * Skew_Time = (256 - 100) / 256 x 100 ms = 61 ms and Master_Down_Interval = 300 ms + Skew_Time for the
 * priority-100 backup at VRRPv3 advert_int 0.1 (RFC 5798 §6.1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type HaproxyService, haproxyService, httpGetFrom } from '../helpers/haproxy.js';
import { PROCESS_START_DEADLINE_MS, requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { startAgent } from '../helpers/agents.js';

const VIP = '192.0.2.100';
const URL = `http://${VIP}/`;
const SKEW_TIME_MS = ((256 - 100) / 256) * 100;
const MASTER_DOWN_INTERVAL_MS = 300 + SKEW_TIME_MS;
const REQUEST_TIMEOUT_MS = 500;

function config(priority: number, service: HaproxyService): string {
  return `
global_defs {
  router_id lab
}
tandem_service haproxy {
  on_master ${service.start}
  on_backup ${service.stop}
  on_fault  ${service.stop}
  on_stop   ${service.stop}
  timeout 10
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${priority}
  version 3
  advert_int 0.1
  garp_master_delay 1
  virtual_ipaddress {
    ${VIP}/24
  }
  tandem_service haproxy
}
`;
}

test("HTTP to the VIP is answered by the new master's HAProxy after the master's link is cut", async (t) => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const b1 = await lab.namespace('b1');
    const b2 = await lab.namespace('b2');
    const client = await lab.namespace('c');
    const port1 = await lab.connect(b1, sw, { addresses: ['192.0.2.1/24'] });
    await lab.connect(b2, sw, { addresses: ['192.0.2.2/24'] });
    await lab.connect(client, sw, { addresses: ['192.0.2.10/24'] });
    const proxy1 = await haproxyService(lab, b1, 'b1', { bind: VIP });
    const proxy2 = await haproxyService(lab, b2, 'b2', { bind: VIP });

    const agent1 = await startAgent(lab, b1, config(150, proxy1), 'b1');
    const agent2 = await startAgent(lab, b2, config(100, proxy2), 'b2');
    await agent1.waitForState('VI_1', 'MASTER');
    await agent2.waitForState('VI_1', 'BACKUP');

    // b1's on_master started its haproxy; b2, BACKUP, runs none.
    await waitFor(async () => (await httpGetFrom(lab, client, URL, REQUEST_TIMEOUT_MS))?.body === 'b1', {
      timeoutMs: PROCESS_START_DEADLINE_MS,
      message: `the client's request answered by b1's haproxy, started by tandem_service haproxy on_master (b1 logs: ${agent1.describe()})`,
    });
    assert.ok(proxy1.pid() !== undefined, 'haproxy runs on b1');
    assert.equal(proxy2.pid(), undefined, 'no haproxy on the backup b2 (cold standby)');

    // Cut b1's link at the bridge: b2 takes over, runs on_master, and the client's requests reach b2.
    const cutAt = Date.now();
    await lab.exec(sw.ns, ['ip', 'link', 'set', port1.bridgePort, 'down']);
    const answers: string[] = [];
    await waitFor(
      async () => {
        const answer = await httpGetFrom(lab, client, URL, REQUEST_TIMEOUT_MS);
        answers.push(answer?.body ?? '-');
        return answer?.body === 'b2';
      },
      {
        timeoutMs: MASTER_DOWN_INTERVAL_MS + 5000,
        intervalMs: 50,
        message: `an answer from b2 after the cut (b2 logs: ${agent2.describe()})`,
      },
    );
    const answeredAfter = Date.now() - cutAt;
    t.diagnostic(
      `link cut: first answer from b2 after ${answeredAfter} ms (Master_Down_Interval ${MASTER_DOWN_INTERVAL_MS} ms); answers ${answers.join(' ')}`,
    );
    assert.deepEqual(
      answers.filter((body) => body !== 'b1' && body !== 'b2' && body !== '-'),
      [],
      'only the balancers ever answer',
    );
    assert.equal((await agent2.instance('VI_1')).state, 'MASTER');
    for (let i = 0; i < 3; i++)
      assert.deepEqual(await httpGetFrom(lab, client, URL, REQUEST_TIMEOUT_MS), { status: 200, body: 'b2' });

    // Heal: b1 lost its carrier with the cut, so it was in FAULT (on_fault stopped its haproxy); with the cable
    // back it preempts b2 and starts haproxy again, b2's on_backup stops its own, and b1's gratuitous ARP moves
    // the client's entry back without the client doing anything.
    await lab.exec(sw.ns, ['ip', 'link', 'set', port1.bridgePort, 'up']);
    await agent1.waitForState('VI_1', 'MASTER', MASTER_DOWN_INTERVAL_MS + 5000);
    await agent2.waitForState('VI_1', 'BACKUP', 5000);
    await waitFor(() => proxy2.pid() === undefined, {
      timeoutMs: PROCESS_START_DEADLINE_MS,
      message: "b2's haproxy stopped by on_backup",
    });
    await waitFor(() => proxy1.pid() !== undefined, {
      timeoutMs: PROCESS_START_DEADLINE_MS,
      message: "b1's haproxy started again",
    });
    await waitFor(async () => (await httpGetFrom(lab, client, URL, REQUEST_TIMEOUT_MS))?.body === 'b1', {
      timeoutMs: PROCESS_START_DEADLINE_MS,
      message: 'answers from b1 again',
    });
    assert.equal(await agent1.stop(), 0);
    assert.equal(await agent2.stop(), 0);
  });
});

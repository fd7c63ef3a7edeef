/**
 * use_vmac against keepalived 2.2's use_vmac on the other box, seen by a client that ignores gratuitous ARP
 * (nftables at the client drops every ARP packet whose sender and target address are the VIP, so only its own
 * ARP requests and their replies teach it where the VIP is) and keeps its neighbour entries for ten minutes
 * (base_reachable_time_ms), so it cannot follow a failover by re-resolving within the test.
 *
 * With VMACs on both boxes the VIP's MAC is 00:00:5e:00:01:3d whichever box is MASTER: when tandem is killed,
 * keepalived takes over, its first advert from the virtual MAC moves the bridge's entry, and the client's pings
 * to the VIP are answered again within the protocol's bound, its neighbour entry unchanged; when tandem comes
 * back with the higher priority, it takes the VIP back the same way. Without VMACs, the same client goes on
 * sending to the dead box's MAC: its pings are not answered within the same window.
 *
 * The bound: Master_Down_Interval (3 x 0.2 s + skew) for the takeover, plus a ping period; the wait below is a
 * deadline for that (10 s on a loaded machine), far below the client's ten-minute neighbour lifetime.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AgentProcess, startAgent } from '../helpers/agents.js';
import { startKeepalived } from '../helpers/keepalived.js';
import { type Lab, requireRoot, waitFor, withLab } from '../helpers/netns.js';

const VIP = '192.0.2.161';
const VMAC_MAC = '00:00:5e:00:01:3d';
/** A deadline for the takeover and the next answered ping, not a measure of speed. */
const FOLLOW_DEADLINE_MS = 10_000;

function conf(priority: number, vmac: boolean): string {
  return `
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 61
    version 3
    priority ${priority}
    advert_int 0.2
    ${vmac ? 'use_vmac' : ''}
    virtual_ipaddress {
        ${VIP}/24
    }
}
`;
}

async function lab3(lab: Lab): Promise<{ t: string; k: string; client: string }> {
  const sw = await lab.bridge('sw');
  const t = await lab.namespace('tandem');
  const k = await lab.namespace('kad');
  const client = await lab.namespace('client');
  await lab.connect(t, sw, { addresses: ['192.0.2.1/24'] });
  await lab.connect(k, sw, { addresses: ['192.0.2.2/24'] });
  await lab.connect(client, sw, { addresses: ['192.0.2.50/24'] });
  // The boxes' own ARP requests name their interface address, never a VIP (arp_announce 2, as LVS directors
  // set it): otherwise a request sent on eth0 from the VIP would teach the client eth0's MAC for the VIP.
  for (const box of [t, k]) await lab.sysctl(box, 'net.ipv4.conf.all.arp_announce', '2');
  // The client ignores gratuitous ARP and keeps what it learned for ten minutes.
  await lab.exec(client, [
    'nft',
    [
      'add table arp noGarp',
      'add chain arp noGarp in { type filter hook input priority 0; policy accept; }',
      `add rule arp noGarp in arp saddr ip ${VIP} arp daddr ip ${VIP} drop`,
    ].join('\n'),
  ]);
  await lab.sysctl(client, 'net.ipv4.neigh.eth0.base_reachable_time_ms', '600000');
  await lab.sysctl(client, 'net.ipv4.neigh.eth0.gc_stale_time', '600');
  return { t, k, client };
}

async function pingOnce(lab: Lab, ns: string): Promise<boolean> {
  return (await lab.exec(ns, ['ping', '-c', '1', '-W', '1', VIP], { allowFailure: true })).code === 0;
}

async function neighbourMac(lab: Lab, ns: string): Promise<string | undefined> {
  const { stdout } = await lab.exec(ns, ['ip', 'neigh', 'show', VIP]);
  return /lladdr (\S+)/.exec(stdout)?.[1];
}

/** A box that dies: the agent killed, and the box's link down (its kernel would answer for the VIP otherwise). */
async function die(lab: Lab, agent: AgentProcess, ns: string): Promise<void> {
  await agent.crash();
  await lab.exec(ns, ['ip', 'link', 'set', 'eth0', 'down']);
}

test('with VMACs on tandem and keepalived, a client that ignores gratuitous ARP follows every failover', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { t, k, client } = await lab3(lab);
    const peer = await startKeepalived(lab, k, conf(100, true), 'k');
    const first = await startAgent(lab, t, conf(200, true), 't1');
    await first.waitForState('VI_1', 'MASTER');
    await peer.waitForState('VI_1', 'BACKUP');
    assert.ok(await pingOnce(lab, client), 'the VIP answers at tandem');
    assert.equal(await neighbourMac(lab, client), VMAC_MAC);

    // tandem's box dies: keepalived takes over on the same MAC, and the client's next pings are answered.
    await die(lab, first, t);
    await peer.waitForState('VI_1', 'MASTER');
    await waitFor(() => pingOnce(lab, client), {
      timeoutMs: FOLLOW_DEADLINE_MS,
      message: 'the client reaches the VIP at keepalived',
    });
    assert.equal(await neighbourMac(lab, client), VMAC_MAC, 'the client never re-resolved the VIP');

    // tandem's box again, higher: it takes the VIP back from keepalived, on the same MAC.
    await lab.exec(t, ['ip', 'link', 'set', 'eth0', 'up']);
    const second = await startAgent(lab, t, conf(200, true), 't2');
    await second.waitForState('VI_1', 'MASTER');
    await peer.waitForState('VI_1', 'BACKUP');
    await waitFor(() => pingOnce(lab, client), {
      timeoutMs: FOLLOW_DEADLINE_MS,
      message: 'the client reaches the VIP at tandem again',
    });
    const status = await second.instance('VI_1');
    assert.ok((status.counters.advertsSent as number) > 0);
    assert.equal(await neighbourMac(lab, client), VMAC_MAC);
  });
});

test('without VMACs the same client keeps the dead box MAC and is not answered within the same window', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { t, k, client } = await lab3(lab);
    const peer = await startKeepalived(lab, k, conf(100, false), 'k');
    const agent = await startAgent(lab, t, conf(200, false), 't');
    await agent.waitForState('VI_1', 'MASTER');
    await peer.waitForState('VI_1', 'BACKUP');
    assert.ok(await pingOnce(lab, client));
    const before = await neighbourMac(lab, client);
    assert.notEqual(before, VMAC_MAC, "tandem's own MAC");

    await die(lab, agent, t);
    await peer.waitForState('VI_1', 'MASTER');
    // Every ping of the window goes to the dead box's MAC: none is answered.
    const deadline = Date.now() + FOLLOW_DEADLINE_MS;
    let answered = false;
    while (!answered && Date.now() < deadline) answered = await pingOnce(lab, client);
    assert.equal(answered, false, 'the client cannot follow without VMAC or gratuitous ARP');
    assert.equal(await neighbourMac(lab, client), before, 'still the dead box MAC');
  });
});

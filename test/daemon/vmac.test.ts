/**
 * use_vmac on real namespaces (RFC 5798 §7.3): the agent creates a macvlan in private mode with the virtual router
 * MAC, puts the VIP on it, sends its adverts from it (source MAC 00:00:5e:00:01:VRID), and the client resolves
 * the VIP to that MAC. keepalived's sysctls are set on the VMAC and its parent, and the parent's come back at
 * stop; the VMAC is deleted at stop, and one a killed agent left is replaced at the next start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Lab, requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { startAgent } from '../helpers/agents.js';
import { LONE_VIP, hostWithClient, loneMasterConfig } from '../helpers/tandem-run.js';
import { formatMac } from '../../src/actions/inet.js';

const VMAC = 'vrrp.61';
const MAC = '00:00:5e:00:01:3d';

function config(extra = ''): string {
  return loneMasterConfig().replace('priority 200', `priority 200\n  use_vmac\n  ${extra}`);
}

interface Link {
  ifname: string;
  address: string;
  linkinfo?: { info_kind: string; info_data?: { mode?: string } };
  addr_info?: { local: string }[];
}

async function link(lab: Lab, ns: string, name: string): Promise<Link | undefined> {
  const result = await lab.exec(ns, ['ip', '-j', '-d', 'addr', 'show', 'dev', name], { allowFailure: true });
  if (result.code !== 0) return undefined;
  return (JSON.parse(result.stdout) as Link[])[0];
}

/** The source MAC of an Ethernet frame. */
function sourceMac(frame: Buffer | undefined): string {
  assert.ok(frame);
  return formatMac(frame.subarray(6, 12));
}

/** An IPv4 interface setting, read from /proc (sysctl(8) would take the dot in vrrp.61 for a separator). */
async function conf(lab: Lab, ns: string, name: string, key: string): Promise<string> {
  return (await lab.exec(ns, ['cat', `/proc/sys/net/ipv4/conf/${name}/${key}`])).stdout.trim();
}

test('use_vmac: VIP and adverts on a private macvlan with the virtual MAC; removed at stop and after a crash', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { a, client } = await hostWithClient(lab);
    const first = await startAgent(lab, a, config(), 'a1');
    await first.waitForState('VI_1', 'MASTER');
    const adverts = lab.capture(client, 'eth0', 'ip proto 112', 1);
    await adverts.ready;
    const vmac = await link(lab, a, VMAC);
    assert.ok(vmac, 'the VMAC exists');
    assert.equal(vmac.address, MAC);
    assert.equal(vmac.linkinfo?.info_kind, 'macvlan');
    assert.equal(vmac.linkinfo?.info_data?.mode, 'private');
    await waitFor(async () => (await link(lab, a, VMAC))?.addr_info?.some((x) => x.local === LONE_VIP), {
      message: 'the VIP on the VMAC',
    });
    assert.ok(!(await link(lab, a, 'eth0'))?.addr_info?.some((x) => x.local === LONE_VIP), 'not on eth0');
    const [frame] = await adverts.frames;
    assert.equal(sourceMac(frame), MAC, 'adverts leave from the virtual MAC');
    // The box knows the client first, so the only ARP on the wire is the client's request for the VIP (an ARP
    // request of the box's own, sent on eth0 from the VIP, would teach the client eth0's MAC instead).
    await lab.exec(a, ['ping', '-c', '1', '-W', '2', '192.0.2.50']);
    await lab.exec(client, ['ping', '-c', '1', '-W', '2', LONE_VIP]);
    const neighbour = (await lab.exec(client, ['ip', 'neigh', 'show', LONE_VIP])).stdout;
    assert.match(neighbour, new RegExp(`lladdr ${MAC}`), 'the client reaches the VIP at the virtual MAC');
    for (const [name, key, value] of [
      [VMAC, 'arp_ignore', '1'],
      [VMAC, 'accept_local', '1'],
      [VMAC, 'rp_filter', '0'],
      ['eth0', 'arp_ignore', '1'],
      ['eth0', 'arp_filter', '1'],
    ] as const)
      assert.equal(await conf(lab, a, name, key), value, `${name} ${key}`);

    // Killed: the VMAC stays; the next start replaces it.
    await first.crash();
    assert.ok(await link(lab, a, VMAC), 'a killed agent leaves its VMAC');
    const second = await startAgent(lab, a, config(), 'a2');
    await second.waitForState('VI_1', 'MASTER');
    assert.ok(second.logs.some((line) => line.msg === 'removing a VMAC an earlier run left'));
    assert.equal((await link(lab, a, VMAC))?.address, MAC);

    assert.equal(await second.stop(), 0);
    assert.equal(await link(lab, a, VMAC), undefined, 'the VMAC is gone after a stop');
  });
});

test('use_vmac with vmac_xmit_base: the VIP on the VMAC, the adverts from the base interface', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { a, client, port } = await hostWithClient(lab);
    const agent = await startAgent(lab, a, config('vmac_xmit_base'), 'a');
    await agent.waitForState('VI_1', 'MASTER');
    const adverts = lab.capture(client, 'eth0', 'ip proto 112', 1);
    await adverts.ready;
    await waitFor(async () => (await link(lab, a, VMAC))?.addr_info?.some((x) => x.local === LONE_VIP), {
      message: 'the VIP on the VMAC',
    });
    const [frame] = await adverts.frames;
    assert.equal(sourceMac(frame), port.mac, 'adverts leave from the base interface');
    assert.equal(await conf(lab, a, 'eth0', 'arp_ignore'), '1');
    assert.equal(await agent.stop(), 0);
    assert.equal(await link(lab, a, VMAC), undefined);
    // The parent's ARP settings are back as they were before its first VMAC.
    assert.equal(await conf(lab, a, 'eth0', 'arp_ignore'), '0');
    assert.equal(await conf(lab, a, 'eth0', 'arp_filter'), '0');
  });
});

test('use_vmac for IPv6: the virtual MAC 00:00:5e:00:02:VRID, no link-local of its own, the parent link-local as source', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const a = await lab.namespace('a');
    const client = await lab.namespace('c');
    const port = await lab.connect(a, sw, { addresses: ['2001:db8::1/64'] });
    await lab.connect(client, sw, { addresses: ['2001:db8::50/64'] });
    const text = `
vrrp_instance VI_6 {
  interface eth0
  virtual_router_id 62
  priority 200
  advert_int 0.1
  use_vmac
  virtual_ipaddress {
    2001:db8::100/64
  }
}
`;
    const agent = await startAgent(lab, a, text, 'a');
    await agent.waitForState('VI_6', 'MASTER', 20_000);
    const vmac = await link(lab, a, 'vrrp.62');
    assert.equal(vmac?.address, '00:00:5e:00:02:3e');
    const parentLinkLocal = (await link(lab, a, 'eth0'))?.addr_info?.find((x) => x.local.startsWith('fe80:'));
    assert.ok(parentLinkLocal);
    await waitFor(
      async () => (await link(lab, a, 'vrrp.62'))?.addr_info?.some((x) => x.local === '2001:db8::100'),
      {
        message: 'the VIP on the VMAC',
      },
    );
    // Only the parent's link-local (the adverts' source) and the VIP: nothing made from the virtual MAC.
    assert.deepEqual(
      (await link(lab, a, 'vrrp.62'))?.addr_info?.map((x) => x.local).sort(),
      ['2001:db8::100', parentLinkLocal.local].sort(),
    );
    assert.equal((await agent.instance('VI_6')).sourceAddress, parentLinkLocal.local);
    const adverts = lab.capture(client, 'eth0', 'ip6 proto 112', 1);
    await adverts.ready;
    const [frame] = await adverts.frames;
    assert.equal(sourceMac(frame), '00:00:5e:00:02:3e', 'adverts leave from the virtual MAC');
    assert.notEqual(sourceMac(frame), port.mac);
    assert.equal(await agent.stop(), 0);
    assert.equal(await link(lab, a, 'vrrp.62'), undefined);
  });
});

test('track_interface on the VMAC: its link going down is a FAULT, coming up ends it', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { a } = await hostWithClient(lab);
    const agent = await startAgent(lab, a, config(`track_interface {\n    ${VMAC}\n  }`), 'a');
    await agent.waitForState('VI_1', 'MASTER');
    await lab.exec(a, ['ip', 'link', 'set', VMAC, 'down']);
    await agent.waitForState('VI_1', 'FAULT');
    await lab.exec(a, ['ip', 'link', 'set', VMAC, 'up']);
    await agent.waitForState('VI_1', 'MASTER');
    assert.equal(await agent.stop(), 0);
    assert.equal(await link(lab, a, VMAC), undefined);
  });
});

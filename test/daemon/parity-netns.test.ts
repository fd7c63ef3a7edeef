/**
 * keepalived keywords whose effect is on the wire or in the kernel, seen from outside the agent: the TTL of
 * unicast adverts (`unicast_ttl`) captured on the peer's side.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireRoot, withLab } from '../helpers/netns.js';
import { startAgent } from '../helpers/agents.js';

const IPV4_TTL_OFFSET = 14 + 8;
const IPV4_DESTINATION_OFFSET = 14 + 16;

test('unicast_ttl: unicast adverts leave with that TTL (keepalived sends 255 without it)', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const nsA = await lab.namespace('a');
    const nsB = await lab.namespace('b');
    await lab.connect(nsA, sw, { addresses: ['192.0.2.1/24'] });
    const b = await lab.connect(nsB, sw, { addresses: ['192.0.2.2/24'] });
    const capture = lab.capture(nsB, b.ifname, 'ip proto 112', 2, 30_000);
    await capture.ready;
    const agent = await startAgent(
      lab,
      nsA,
      `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 62
  priority 150
  version 3
  advert_int 0.1
  unicast_src_ip 192.0.2.1
  unicast_peer {
    192.0.2.2
  }
  unicast_ttl 7
  virtual_ipaddress {
    192.0.2.100/24
  }
}
`,
      'a',
    );
    await agent.waitForState('VI_1', 'MASTER', 30_000);
    for (const frame of await capture.frames) {
      assert.deepEqual(
        [...frame.subarray(IPV4_DESTINATION_OFFSET, IPV4_DESTINATION_OFFSET + 4)],
        [192, 0, 2, 2],
      );
      assert.equal(frame[IPV4_TTL_OFFSET], 7, 'the configured unicast_ttl');
    }
    assert.equal(await agent.stop(), 0);
  });
});

interface IpAddress {
  local: string;
  address?: string;
  prefixlen: number;
  nodad?: boolean;
  home?: boolean;
  mngtmpaddr?: boolean;
  noprefixroute?: boolean;
  deprecated?: boolean;
  preferred_life_time?: number;
}

test('VIP options reach the kernel: peer, noprefixroute, home, mngtmpaddr, preferred_lft, -nodad; promote_secondaries while running', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const ns = await lab.namespace('a');
    await lab.sysctl(ns, 'net.ipv6.conf.default.accept_dad', '0');
    await lab.connect(ns, sw, { addresses: ['192.0.2.1/24', '2001:db8::1/64'] });
    const promote = async () =>
      (await lab.exec(ns, ['sysctl', '-n', 'net.ipv4.conf.eth0.promote_secondaries'])).stdout.trim();
    assert.equal(await promote(), '0');
    const agent = await startAgent(
      lab,
      ns,
      `vrrp_instance V4 {
  interface eth0
  virtual_router_id 63
  priority 150
  version 3
  advert_int 0.1
  promote_secondaries
  virtual_ipaddress {
    192.0.2.50 peer 192.0.2.51/32
    192.0.2.60/24 noprefixroute
  }
}
vrrp_instance V6 {
  interface eth0
  virtual_router_id 64
  priority 150
  advert_int 0.1
  virtual_ipaddress {
    2001:db8::50/64 preferred_lft 30 -nodad
    2001:db8::60/128
    2001:db8::70/64 home mngtmpaddr noprefixroute
  }
}
`,
      'a',
    );
    await agent.waitForState('V4', 'MASTER', 30_000);
    await agent.waitForState('V6', 'MASTER', 30_000);
    const [link] = (await lab.execJson(ns, ['ip', '-j', 'addr', 'show', 'dev', 'eth0'])) as {
      addr_info: IpAddress[];
    }[];
    const of = (local: string) => {
      const found = link?.addr_info.find((entry) => entry.local === local);
      assert.ok(found, `${local} on eth0`);
      return found;
    };
    assert.equal(of('192.0.2.50').address, '192.0.2.51', 'the point-to-point peer');
    assert.equal(of('192.0.2.50').prefixlen, 32);
    assert.equal(of('192.0.2.60').noprefixroute, true);
    const routes = (await lab.exec(ns, ['ip', '-4', 'route', 'show', 'dev', 'eth0'])).stdout;
    assert.ok(!routes.includes('192.0.2.60'), 'no prefix route from the noprefixroute VIP');
    assert.equal(of('2001:db8::50').preferred_life_time, 30);
    assert.equal(of('2001:db8::50').nodad, undefined, '-nodad: the kernel may run DAD');
    assert.equal(of('2001:db8::60').nodad, true, 'keepalived adds IPv6 VIPs with nodad');
    assert.equal(of('2001:db8::60').deprecated, true, "keepalived's default for a /128: preferred_lft 0");
    assert.equal(of('2001:db8::70').home, true);
    assert.equal(of('2001:db8::70').mngtmpaddr, true);
    assert.equal(of('2001:db8::70').noprefixroute, true);
    assert.equal(of('2001:db8::70').deprecated, undefined, 'a prefix is preferred for ever');
    assert.equal(await promote(), '1', 'set while the instance runs');
    assert.equal(await agent.stop(), 0);
    assert.equal(await promote(), '0', 'restored at stop');
    const after = (await lab.exec(ns, ['ip', 'addr', 'show', 'dev', 'eth0'])).stdout;
    for (const vip of ['192.0.2.50', '192.0.2.60', '2001:db8::50', '2001:db8::60', '2001:db8::70'])
      assert.ok(!after.includes(`${vip}`), `${vip} released at stop`);
  });
});

/**
 * A multicast group other than RFC 5798's, with keepalived 2.2 on the other box: `vrrp_mcast_group4` in
 * global_defs for IPv4 and `mcast_dst_ip` in the instance for IPv6, the same text for both daemons but for the
 * priority. tandem joins the group (ip maddr shows it), hears keepalived's adverts on it (BACKUP behind
 * keepalived, its master known), and keepalived hears tandem's (after keepalived's restart at a lower priority,
 * it stays BACKUP behind tandem instead of taking over). The groups come from the documentation ranges for
 * multicast: 233.252.0.0/24 (RFC 5771, MCAST-TEST-NET) and ff0X::db8:0:0/96 (RFC 6676).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startAgent } from '../helpers/agents.js';
import { startKeepalived } from '../helpers/keepalived.js';
import { type Lab, requireRoot, waitFor, withLab } from '../helpers/netns.js';

const GROUP4 = '233.252.0.18';
const GROUP6 = 'ff02::db8:0:12';

function conf(priority: number): string {
  return `
global_defs {
    vrrp_mcast_group4 ${GROUP4}
}

vrrp_instance VI_4 {
    interface eth0
    virtual_router_id 71
    version 3
    priority ${priority}
    advert_int 0.5
    virtual_ipaddress {
        192.0.2.171/24
    }
}

vrrp_instance VI_6 {
    interface eth0
    virtual_router_id 72
    version 3
    priority ${priority}
    advert_int 0.5
    mcast_dst_ip ${GROUP6}
    virtual_ipaddress {
        2001:db8::172/64
    }
}
`;
}

async function groupsOn(lab: Lab, ns: string): Promise<string> {
  return (await lab.exec(ns, ['ip', 'maddr', 'show', 'dev', 'eth0'])).stdout;
}

test('vrrp_mcast_group4 and mcast_dst_ip: tandem and keepalived hear each other on a non-default group', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const t = await lab.namespace('tandem');
    const k = await lab.namespace('kad');
    await lab.connect(t, sw, { addresses: ['192.0.2.1/24', '2001:db8::1/64'] });
    await lab.connect(k, sw, { addresses: ['192.0.2.2/24', '2001:db8::2/64'] });

    // keepalived first, higher: tandem must hear it on the group, or it would become MASTER too.
    const first = await startKeepalived(lab, k, conf(200), 'k1');
    await first.waitForState('VI_4', 'MASTER');
    await first.waitForState('VI_6', 'MASTER');
    const agent = await startAgent(lab, t, conf(100), 't');
    const joined = await groupsOn(lab, t);
    assert.match(joined, new RegExp(`inet\\s+${GROUP4.replace(/\./g, '\\.')}\\b`), joined);
    assert.match(joined, new RegExp(`inet6\\s+${GROUP6}\\b`), joined);
    for (const name of ['VI_4', 'VI_6']) {
      await waitFor(
        async () => {
          const status = await agent.instance(name);
          return status.state === 'BACKUP' && status.masterAddress !== null;
        },
        { message: `${name}: tandem BACKUP behind keepalived (${agent.describe()})` },
      );
      const status = await agent.instance(name);
      assert.ok((status.counters.advertsReceived as number) > 0, `${name} heard keepalived`);
    }
    assert.equal((await agent.instance('VI_4')).masterAddress, '192.0.2.2');

    // keepalived leaves (priority 0 on the group): tandem takes over.
    assert.equal(await first.stop(), 0);
    await agent.waitForState('VI_4', 'MASTER');
    await agent.waitForState('VI_6', 'MASTER');

    // keepalived again, lower: it hears tandem's adverts on the group and stays BACKUP.
    const second = await startKeepalived(lab, k, conf(50), 'k2');
    await second.waitForState('VI_4', 'BACKUP');
    await second.waitForState('VI_6', 'BACKUP');
    // Past its Master_Down_Interval (3 x 0.5 s + skew < 2 s) it would have taken over had it not heard tandem.
    const sent = async () => {
      const [v4, v6] = [await agent.instance('VI_4'), await agent.instance('VI_6')];
      return Math.min(v4.counters.advertsSent as number, v6.counters.advertsSent as number);
    };
    const before = await sent();
    await waitFor(async () => (await sent()) >= before + 5, {
      message: 'tandem sent adverts for longer than a Master_Down_Interval',
    });
    assert.equal(second.state('VI_4'), 'BACKUP', 'keepalived hears tandem on the IPv4 group');
    assert.equal(second.state('VI_6'), 'BACKUP', 'keepalived hears tandem on the IPv6 group');
    assert.equal((await agent.instance('VI_4')).state, 'MASTER');
  });
});

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

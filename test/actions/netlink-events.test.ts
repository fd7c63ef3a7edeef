/**
 * The one netlink event dispatch: one subscription whatever the listeners, each event handed only to the
 * listeners of its address, interface or link name, tandem's own deletions marked, lost events told to all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AddressChange, NetlinkEvents } from '../../src/actions/netlink-events.js';
import { FakeNetlink, fakeLink } from '../helpers/fake-netlink.js';

test('one subscription, dispatched by address, interface index and link name', async () => {
  const netlink = new FakeNetlink([fakeLink('eth0', 2), fakeLink('eth1', 3)]);
  const events = new NetlinkEvents(netlink);
  const heard: string[] = [];
  const vip = (change: AddressChange) => heard.push(`vip ${change.action} ${change.address.address}`);
  for (let index = 0; index < 50; index++) events.onAddress(`192.0.2.${100 + index}`, vip);
  events.onInterfaceAddress(3, (change) => heard.push(`eth1 ${change.action} ${change.address.address}`));
  events.onLinkNamed('eth1', (change) => heard.push(`link eth1 ${change.action}`));
  assert.equal(netlink.subscriptions, 1, 'fifty listeners, one subscription');

  netlink.putAddress(2, '192.0.2.101/24');
  netlink.putAddress(2, '192.0.2.7/24');
  netlink.putAddress(3, '198.51.100.1/24');
  netlink.setLink(fakeLink('eth1', 3, { up: false }));
  netlink.setLink(fakeLink('eth0', 2, { up: false }));
  assert.deepEqual(heard, ['vip new 192.0.2.101', 'eth1 new 198.51.100.1', 'link eth1 new']);
  assert.deepEqual(events.counters, { links: 2, addresses: 3, lost: 0 });
  events.close();
  assert.equal(netlink.subscribers.size, 0);
});

test("tandem's own deletions arrive marked; one from outside does not; a failed one takes its mark back", async () => {
  const netlink = new FakeNetlink([fakeLink('eth0', 2)]);
  const events = new NetlinkEvents(netlink);
  const heard: string[] = [];
  events.onAddress('192.0.2.100', (change) => heard.push(`${change.action} own=${change.own}`));
  netlink.putAddress(2, '192.0.2.100/24');
  events.expectRemoval(2, '192.0.2.100', 24);
  await netlink.deleteAddress({ ifindex: 2, address: '192.0.2.100', prefixLength: 24 });
  netlink.putAddress(2, '192.0.2.100/24');
  netlink.dropAddress(2, '192.0.2.100/24');
  // Announced, then not made (already gone): taking the mark back keeps the next outside deletion news.
  const takeBack = events.expectRemoval(2, '192.0.2.100', 24);
  takeBack();
  netlink.putAddress(2, '192.0.2.100/24');
  netlink.dropAddress(2, '192.0.2.100/24');
  assert.deepEqual(heard, [
    'new own=false',
    'del own=true',
    'new own=false',
    'del own=false',
    'new own=false',
    'del own=false',
  ]);
});

test('lost events are told to every listener that keeps state, and forget the announced deletions', () => {
  const netlink = new FakeNetlink([fakeLink('eth0', 2)]);
  const events = new NetlinkEvents(netlink);
  const heard: string[] = [];
  events.onLost(() => heard.push('lost'));
  events.onAddress('192.0.2.100', (change) => heard.push(`${change.action} own=${change.own}`));
  netlink.putAddress(2, '192.0.2.100/24');
  events.expectRemoval(2, '192.0.2.100', 24);
  netlink.loseEvents();
  netlink.dropAddress(2, '192.0.2.100/24');
  assert.deepEqual(heard, ['new own=false', 'lost', 'del own=false']);
});

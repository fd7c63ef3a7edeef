/**
 * LinkWatcher with a fake rtnetlink: the "up" rule, renames, lost events (ENOBUFS) and a deletion that the
 * kernel's listing does not confirm.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LinkInfo, NetlinkEvent, RtNetlink, SubscribeOptions } from '../../src/actions/netlink.js';
import { NetlinkEvents } from '../../src/actions/netlink-events.js';
import { type LinkState, LinkWatcher, linkIsUp } from '../../src/watchers/link.js';

const link = (name: string, index: number, overrides: Partial<LinkInfo> = {}): LinkInfo => ({
  name,
  index,
  mac: '02:00:00:00:00:01',
  up: true,
  lowerUp: true,
  operstate: 'up',
  ...overrides,
});

class FakeNetlink {
  links: LinkInfo[] = [];
  options: SubscribeOptions | undefined;
  listings = 0;
  listLinks = async () => {
    this.listings++;
    return this.links.map((l) => ({ ...l }));
  };
  subscribe = (options: SubscribeOptions) => {
    this.options = options;
    return { close: () => (this.options = undefined) };
  };
  emit(event: NetlinkEvent) {
    this.options?.onEvent(event);
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('link: up means admin up, carrier and operstate up or unknown', () => {
  assert.equal(linkIsUp(link('a', 1)), true);
  assert.equal(linkIsUp(link('a', 1, { operstate: 'unknown' })), true);
  assert.equal(linkIsUp(link('a', 1, { up: false })), false);
  assert.equal(linkIsUp(link('a', 1, { lowerUp: false })), false);
  assert.equal(linkIsUp(link('a', 1, { operstate: 'dormant' })), false);
  assert.equal(linkIsUp(link('a', 1, { operstate: 'lowerlayerdown' })), false);
});

test('link: renames, unconfirmed deletions and lost events', async () => {
  const netlink = new FakeNetlink();
  netlink.links = [link('eth0', 2), link('eth1', 3)];
  const events = new NetlinkEvents(netlink as unknown as RtNetlink);
  const watcher = new LinkWatcher(netlink as unknown as RtNetlink, events);
  await watcher.start();
  const heard: LinkState[] = [];
  watcher.track('eth0', (state) => heard.push(state));
  watcher.track('wan', (state) => heard.push(state));
  assert.deepEqual(watcher.current('eth0'), { name: 'eth0', exists: true, up: true, ifindex: 2 });

  // eth0 renamed to wan: eth0 is gone, wan exists with the same index.
  netlink.links = [link('wan', 2), link('eth1', 3)];
  netlink.emit({ kind: 'link', action: 'new', link: link('wan', 2) });
  assert.deepEqual(heard, [
    { name: 'eth0', exists: false, up: false, ifindex: undefined },
    { name: 'wan', exists: true, up: true, ifindex: 2 },
  ]);

  // A deletion event for a link the kernel still lists (a port leaving a bridge) changes nothing.
  heard.length = 0;
  netlink.emit({ kind: 'link', action: 'del', link: link('wan', 2) });
  await settle();
  await settle();
  assert.deepEqual(heard, []);
  assert.equal(watcher.current('wan').exists, true);

  // Events were lost (ENOBUFS): the watcher lists again and reports what changed meanwhile.
  netlink.links = [link('wan', 2, { lowerUp: false }), link('eth1', 3)];
  const listingsBefore = netlink.listings;
  netlink.options?.onError?.(new Error('ENOBUFS'));
  await settle();
  await settle();
  assert.ok(netlink.listings > listingsBefore);
  assert.deepEqual(heard, [{ name: 'wan', exists: true, up: false, ifindex: 2 }]);
  watcher.stop();
  heard.length = 0;
  netlink.links = [link('eth1', 3)];
  netlink.emit({ kind: 'link', action: 'new', link: link('eth1', 3) });
  assert.deepEqual(heard, [], 'a stopped watcher tells nobody');
  events.close();
  assert.equal(netlink.options, undefined, 'the subscription is closed with the dispatch');
});

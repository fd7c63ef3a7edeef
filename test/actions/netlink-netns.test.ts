/**
 * The netlink adapter against a real kernel, inside a namespace: what it lists matches `ip -j`, and link and
 * address changes made from outside arrive as events.
 */
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import type { AddressInfo, LinkInfo, NetlinkEvent } from '../../src/actions/netlink.js';
import { PROCESS_START_DEADLINE_MS, requireRoot, waitFor, withLab } from '../helpers/netns.js';

test('lists links and addresses and reports link and address events', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const ns = await lab.namespace('a');
    const port = await lab.connect(ns, sw, { addresses: ['192.0.2.1/24', '2001:db8::1/64'] });

    const child = lab.spawn(ns, lab.nodeArgv('test/actions/fixtures/netlink-events.ts'));
    const lines: unknown[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(JSON.parse(line)));

    const listing = (await waitFor(() => lines[0], {
      timeoutMs: PROCESS_START_DEADLINE_MS,
      message: 'the listing',
    })) as {
      links: LinkInfo[];
      addresses: AddressInfo[];
    };
    const eth0 = listing.links.find((link) => link.name === 'eth0');
    assert.deepEqual(eth0, {
      name: 'eth0',
      index: port.index,
      mac: port.mac,
      up: true,
      lowerUp: true,
      operstate: 'up',
    });
    const own = listing.addresses
      .filter((address) => address.ifindex === port.index && address.scope === 0)
      .map(({ family, address, prefixLength }) => ({ family, address, prefixLength }));
    assert.deepEqual(
      own.sort((x, y) => x.family - y.family),
      [
        { family: 4, address: '192.0.2.1', prefixLength: 24 },
        { family: 6, address: '2001:db8::1', prefixLength: 64 },
      ],
    );

    const events = () => lines.slice(1).map((line) => (line as { event?: NetlinkEvent }).event);
    await lab.exec(ns, ['ip', 'addr', 'add', '192.0.2.50/24', 'dev', 'eth0', 'label', 'eth0:x']);
    await lab.exec(ns, ['ip', 'addr', 'del', '192.0.2.50/24', 'dev', 'eth0']);
    await lab.exec(ns, ['ip', 'addr', 'add', '2001:db8::50/64', 'dev', 'eth0', 'nodad']);
    await waitFor(
      () =>
        events().some(
          (event) =>
            event?.kind === 'address' && event.action === 'new' && event.address.address === '2001:db8::50',
        ),
      { message: 'the IPv6 address event' },
    );
    const v4 = events().filter(
      (event) => event?.kind === 'address' && event.address.address === '192.0.2.50',
    );
    assert.deepEqual(
      v4.map(
        (event) => event?.kind === 'address' && [event.action, event.address.label, event.address.ifindex],
      ),
      [
        ['new', 'eth0:x', port.index],
        ['del', 'eth0:x', port.index],
      ],
    );

    // Carrier loss: the bridge side goes down, so eth0 stays up but loses lower_up.
    await lab.exec(sw.ns, ['ip', 'link', 'set', port.bridgePort, 'down']);
    await waitFor(
      () =>
        events().some(
          (event) =>
            event?.kind === 'link' && event.link.name === 'eth0' && event.link.up && !event.link.lowerUp,
        ),
      { message: 'a link event for eth0 losing carrier' },
    );
    child.stdin!.end();
  });
});

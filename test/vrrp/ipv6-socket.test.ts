/**
 * The addon's IPv6 VRRP socket on a real link: it reports the hop limit of every datagram (RFC 5798 §7.1 needs
 * it, and IPV6_MINHOPCOUNT does not apply to raw sockets), sends from the source it is given even when a
 * link-local VIP would win the kernel's source selection, and lets the kernel fill and verify the checksum.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROCESS_START_DEADLINE_MS, readLines, requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { decode } from '../../src/vrrp/packet.js';

// A v3 IPv6 advert (VRID 54) as keepalived sends it; the checksum field is refilled by the sending kernel.
const ADVERT = '313678020064e6e4fe80000000000000000000000000005420010db8000000000000000000000120';

interface Received {
  data: string;
  source: string;
  destination: string;
  hopLimit: number;
}

test('IPv6 VRRP socket: hop limit reported, chosen source used, kernel checksum', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const a = await lab.namespace('a');
    const b = await lab.namespace('b');
    const portA = await lab.connect(a, sw, { mac: '02:00:5e:00:00:0a' });
    await lab.connect(b, sw, { mac: '02:00:5e:00:00:0b' });
    const ownLinkLocal = 'fe80::5eff:fe00:a';
    // A link-local VIP on the sender: the kernel would pick it as the source of ff02::12 sends.
    await lab.exec(a, ['ip', 'addr', 'add', 'fe80::54/64', 'dev', portA.ifname, 'nodad']);
    await waitFor(
      async () => {
        const addresses = (await lab.execJson(a, ['ip', '-j', '-6', 'addr', 'show', 'dev', 'eth0'])) as {
          addr_info: { local: string; tentative?: boolean }[];
        }[];
        return addresses[0]?.addr_info.some(
          (address) => address.local === ownLinkLocal && !address.tentative,
        );
      },
      { message: 'link-local address ready' },
    );

    const listener = lab.spawn(b, lab.nodeArgv('test/vrrp/fixtures/vrrp-socket.ts', 'listen', '6', 'eth0'));
    const received: Received[] = [];
    let ready = false;
    readLines(listener.stdout, (line) => {
      if (line === 'ready') ready = true;
      else received.push(...(JSON.parse(line) as { packets: Received[] }).packets);
    });
    await waitFor(() => ready, { timeoutMs: PROCESS_START_DEADLINE_MS, message: 'listener ready' });

    const send = (...args: string[]) =>
      lab.exec(a, lab.nodeArgv('test/vrrp/fixtures/vrrp-socket.ts', 'send', '6', 'eth0', ...args));
    await send('ff02::12', ownLinkLocal, ADVERT);
    await send('ff02::12', '-', ADVERT, '1');
    await waitFor(() => received.length >= 2, { message: 'two datagrams received' });

    const [ours, lowHops] = received as [Received, Received];
    assert.equal(ours.source, ownLinkLocal, 'sent from the given source, not the link-local VIP');
    assert.equal(ours.destination, 'ff02::12');
    assert.equal(ours.hopLimit, 255);
    // The kernel verified the checksum for the real addresses (IPV6_CHECKSUM); the codec agrees.
    const decoded = decode(Buffer.from(ours.data, 'hex'), {
      family: 6,
      pseudoHeader: { source: ours.source, destination: ours.destination },
    });
    assert.ok(decoded.ok, JSON.stringify(decoded));
    assert.equal(decoded.value.vrid, 54);
    assert.equal(
      lowHops.hopLimit,
      1,
      'a hop limit of 1 is reported as such, for the receive check to refuse',
    );
  });
});

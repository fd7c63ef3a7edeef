/**
 * Gratuitous ARP and unsolicited NA on a real (namespaced) segment: host A sends through the native addon,
 * host B sees the frame on the wire and its kernel accepts it into the neighbour table.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arpAnnouncementFrame, unsolicitedNeighbourAdvertFrame } from '../../src/actions/garp.js';
import { requireRoot, waitFor, withLab, type Lab, type Port } from '../helpers/netns.js';

const VIP4 = '192.0.2.100';
const VIP6 = '2001:db8::100';
/** A stale entry B holds for the IPv6 VIP, as if an old MASTER had owned it. */
const OLD_MAC = '02:00:00:00:00:99';

interface Neighbour {
  dst: string;
  lladdr?: string;
}

async function twoHosts(lab: Lab): Promise<{ a: Port; b: Port }> {
  const sw = await lab.bridge('sw');
  const nsA = await lab.namespace('a');
  const nsB = await lab.namespace('b');
  const a = await lab.connect(nsA, sw, { addresses: ['192.0.2.1/24', '2001:db8::1/64'] });
  const b = await lab.connect(nsB, sw, { addresses: ['192.0.2.2/24', '2001:db8::2/64'] });
  return { a, b };
}

async function sendRound(lab: Lab, a: Port, vips: string[]) {
  const { stdout } = await lab.exec(
    a.ns,
    lab.nodeArgv('test/actions/fixtures/garp-send.ts', a.ifname, ...vips),
  );
  return JSON.parse(stdout) as { mac: string; sent: number; failed: unknown[] };
}

async function neighbour(
  lab: Lab,
  b: Port,
  family: '-4' | '-6',
  address: string,
): Promise<Neighbour | undefined> {
  const entries = (await lab.execJson(b.ns, [
    'ip',
    family,
    '-j',
    'neigh',
    'show',
    'dev',
    b.ifname,
  ])) as Neighbour[];
  return entries.find((entry) => entry.dst === address);
}

test("a gratuitous ARP from A reaches B byte for byte and creates B's neighbour entry", async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { a, b } = await twoHosts(lab);
    // Linux only creates an entry from an unsolicited ARP when arp_accept is on (updating works regardless).
    await lab.sysctl(b.ns, `net.ipv4.conf.${b.ifname}.arp_accept`, '1');
    assert.equal(await neighbour(lab, b, '-4', VIP4), undefined, 'B knows nothing of the VIP yet');

    const capture = lab.capture(b.ns, b.ifname, `arp and ether src ${a.mac}`);
    await capture.ready;
    const result = await sendRound(lab, a, [VIP4]);
    assert.deepEqual(result, { mac: a.mac, sent: 1, failed: [] });

    const [frame] = await capture.frames;
    assert.deepEqual(frame, arpAnnouncementFrame({ mac: a.mac, ip: VIP4 }));
    const entry = await waitFor(() => neighbour(lab, b, '-4', VIP4), { message: 'B learns the VIP' });
    assert.equal(entry.lladdr, a.mac);
  });
});

test("an unsolicited NA from A reaches B byte for byte and overrides B's stale entry", async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { a, b } = await twoHosts(lab);
    await lab.exec(b.ns, [
      'ip',
      '-6',
      'neigh',
      'replace',
      VIP6,
      'lladdr',
      OLD_MAC,
      'dev',
      b.ifname,
      'nud',
      'stale',
    ]);
    assert.equal((await neighbour(lab, b, '-6', VIP6))?.lladdr, OLD_MAC);

    // ICMPv6 type 136 (neighbour advertisement) from A; ip6[40] is the ICMPv6 type with no extension headers.
    const capture = lab.capture(b.ns, b.ifname, `icmp6 and ip6[40] == 136 and ether src ${a.mac}`);
    await capture.ready;
    const result = await sendRound(lab, a, [VIP6]);
    assert.deepEqual(result, { mac: a.mac, sent: 1, failed: [] });

    const [frame] = await capture.frames;
    assert.deepEqual(frame, unsolicitedNeighbourAdvertFrame({ mac: a.mac, ip: VIP6 }));
    // The kernel checks hop limit 255 and the checksum before honouring Override: the entry moves to A.
    await waitFor(async () => (await neighbour(lab, b, '-6', VIP6))?.lladdr === a.mac, {
      message: `B's entry for ${VIP6} to move to A's MAC`,
    });
  });
});

test('one round covers IPv4 and IPv6 VIPs together', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { a, b } = await twoHosts(lab);
    const capture = lab.capture(
      b.ns,
      b.ifname,
      `ether src ${a.mac} and (arp or (icmp6 and ip6[40] == 136))`,
      3,
    );
    await capture.ready;
    const result = await sendRound(lab, a, [VIP4, VIP6, '192.0.2.101']);
    assert.equal(result.sent, 3);
    const frames = await capture.frames;
    assert.deepEqual(frames, [
      arpAnnouncementFrame({ mac: a.mac, ip: VIP4 }),
      unsolicitedNeighbourAdvertFrame({ mac: a.mac, ip: VIP6 }),
      arpAnnouncementFrame({ mac: a.mac, ip: '192.0.2.101' }),
    ]);
  });
});

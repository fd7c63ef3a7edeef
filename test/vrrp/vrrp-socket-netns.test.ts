/**
 * The addon's VRRP socket on a real segment, IPv4 and IPv6. What goes on the wire (IPv4 header written by the
 * addon: TTL 255, TOS 0xc0, the given source even when it is not the interface's primary address), what a
 * receiver learns (TTL, source, destination), that a sender does not hear itself (IP_MULTICAST_LOOP 0), and the
 * batch path: a burst queued while the receiving process stood still arrives in ONE delivery, which is what lets
 * every instance see its advert before any deferred timer expiry acts (the stall rule for many VRIDs).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { formatIPv4 } from '../../src/vrrp/address.js';
import { parseIPv4Packet } from '../../src/vrrp/transport.js';
import {
  PROCESS_START_DEADLINE_MS,
  type Lab,
  readLines,
  requireRoot,
  waitFor,
  withLab,
} from '../helpers/netns.js';

// A v3 IPv4 advert (VRID 51, priority 100, 1 s, 192.0.2.100); the checksum is not what this file tests.
const ADVERT_V4 = '3133640100640000c0000264';
// A v3 IPv6 advert (VRID 54); the sending kernel refills the checksum (IPV6_CHECKSUM).
const ADVERT_V6 = '313678020064e6e4fe80000000000000000000000000005420010db8000000000000000000000120';

interface Packet {
  data: string;
  source: string;
  destination?: string;
  hopLimit?: number;
  truncated: boolean;
}

interface Delivery {
  count: number;
  packets: Packet[];
}

interface Listener {
  child: ChildProcess;
  deliveries: Delivery[];
  packets(): Packet[];
}

const FIXTURE = 'test/vrrp/fixtures/vrrp-socket.ts';

/** A listener on b's VRRP socket until the lab ends it (its senders may take long to start on a loaded box). */
async function listen(lab: Lab, ns: string, family: 4 | 6): Promise<Listener> {
  const child = lab.spawn(ns, lab.nodeArgv(FIXTURE, 'listen', String(family), 'eth0'));
  const deliveries: Delivery[] = [];
  let ready = false;
  readLines(child.stdout, (line) => {
    if (line === 'ready') ready = true;
    else deliveries.push(JSON.parse(line) as Delivery);
  });
  await waitFor(() => ready, { message: 'listener ready', timeoutMs: PROCESS_START_DEADLINE_MS });
  return { child, deliveries, packets: () => deliveries.flatMap((delivery) => delivery.packets) };
}

function ipv4(packet: Packet) {
  const parsed = parseIPv4Packet(Buffer.from(packet.data, 'hex'));
  assert.ok(parsed, `a well-formed IPv4 VRRP datagram: ${packet.data}`);
  // The parsed packet is a view with getters (transport.ts, PacketView): copy the fields, not the view.
  const { payload, ttl, source, destination } = parsed;
  return { payload, ttl, source, destination, tos: Buffer.from(packet.data, 'hex')[1] };
}

/** Datagrams the namespace's IP layer delivered to a local socket other than ICMP: the VRRP ones here. */
async function deliveredNonIcmp(lab: Lab, ns: string, family: 4 | 6): Promise<number> {
  if (family === 6) {
    const { stdout } = await lab.exec(ns, ['cat', '/proc/net/snmp6']);
    const value = (name: string) => Number(new RegExp(`^${name}\\s+(\\d+)`, 'm').exec(stdout)?.[1]);
    return value('Ip6InDelivers') - value('Icmp6InMsgs');
  }
  const { stdout } = await lab.exec(ns, ['cat', '/proc/net/snmp']);
  const table = (prefix: string) => {
    const [names, values] = stdout.split('\n').filter((line) => line.startsWith(`${prefix}:`));
    const keys = names?.split(/\s+/) ?? [];
    const numbers = values?.split(/\s+/) ?? [];
    return (name: string) => Number(numbers[keys.indexOf(name)]);
  };
  return table('Ip')('InDelivers') - table('Icmp')('InMsgs');
}

function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

async function segment(lab: Lab) {
  const sw = await lab.bridge('sw');
  const a = await lab.namespace('a');
  const b = await lab.namespace('b');
  await lab.connect(a, sw, { addresses: ['192.0.2.1/24', '192.0.2.77/24', '2001:db8::1/64'] });
  await lab.connect(b, sw, { addresses: ['192.0.2.2/24', '2001:db8::2/64'] });
  return { a, b };
}

test('IPv4: TTL 255, TOS 0xc0 and the given source on the wire; the receiver learns TTL, source, destination', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { a, b } = await segment(lab);
    const listenerA = await listen(lab, a, 4);
    const listenerB = await listen(lab, b, 4);
    const capture = lab.capture(b, 'eth0', 'ip proto 112', 1);
    await capture.ready;
    // Through the transport, as the agent sends: the secondary 192.0.2.77 is the configured source.
    const { stdout } = await lab.exec(
      a,
      lab.nodeArgv(
        'test/vrrp/fixtures/transport-send.ts',
        'eth0',
        '4',
        '224.0.0.18',
        '192.0.2.77',
        ADVERT_V4,
      ),
    );
    assert.deepEqual(JSON.parse(stdout), { sent: true });
    const [frame] = await capture.frames;
    assert.ok(frame);
    const ip = frame.subarray(14);
    assert.equal(ip[1], 0xc0, 'TOS internetwork control, as keepalived sends');
    assert.equal(ip[8], 255, 'RFC 5798 §5.1.1.3: TTL 255');
    assert.equal(formatIPv4(ip, 12), '192.0.2.77', 'the configured source, not the primary address');
    assert.equal(formatIPv4(ip, 16), '224.0.0.18');
    assert.equal(ip.subarray(20).toString('hex'), ADVERT_V4);

    // A TTL-1 datagram is reported as such, for the receive check to refuse.
    await lab.exec(a, lab.nodeArgv(FIXTURE, 'send', '4', 'eth0', '224.0.0.18', '192.0.2.1', ADVERT_V4, '1'));
    await waitFor(() => listenerB.packets().length >= 2, { message: 'b received both datagrams' });
    const [first, second] = listenerB.packets().map(ipv4);
    assert.ok(first && second);
    assert.deepEqual(
      { ttl: first.ttl, tos: first.tos, source: first.source, destination: first.destination },
      { ttl: 255, tos: 0xc0, source: '192.0.2.77', destination: '224.0.0.18' },
    );
    assert.equal(Buffer.from(first.payload).toString('hex'), ADVERT_V4);
    assert.equal(second.ttl, 1);

    // IP_MULTICAST_LOOP 0: a never heard its own two datagrams. Proof of order: b answers, and b's datagram
    // is the first thing a's socket holds (a looped copy would have been queued on a before b even got it).
    await lab.exec(b, lab.nodeArgv(FIXTURE, 'send', '4', 'eth0', '224.0.0.18', '192.0.2.2', ADVERT_V4));
    await waitFor(() => listenerA.packets().length >= 1, { message: 'a received b' });
    assert.deepEqual(
      listenerA.packets().map((packet) => ipv4(packet).source),
      ['192.0.2.2'],
    );
  });
});

for (const [family, destination, source, advert, count] of [
  [4, '224.0.0.18', '192.0.2.1', ADVERT_V4, 300],
  [6, 'ff02::12', '-', ADVERT_V6, 150],
] as const) {
  test(`IPv${family}: a burst of ${count} adverts queued while the receiver stood still arrives in ONE delivery`, async () => {
    requireRoot();
    await withLab(async (lab) => {
      const { a, b } = await segment(lab);
      const listener = await listen(lab, b, family);
      const pid = listener.child.pid;
      assert.ok(pid !== undefined);
      const before = await deliveredNonIcmp(lab, b, family);
      listener.child.kill('SIGSTOP');
      await waitFor(() => processState(pid) === 'T', { message: 'the listener stopped' });
      const { stdout } = await lab.exec(
        a,
        lab.nodeArgv(FIXTURE, 'burst', String(family), 'eth0', destination, source, String(count), advert),
      );
      const errnos = JSON.parse(stdout) as number[];
      assert.equal(errnos.length, count);
      assert.ok(
        errnos.every((errno) => errno === 0),
        `sendmmsg sent every datagram: ${stdout}`,
      );
      // Every datagram sits in the stopped listener's socket queue before it may run again.
      await waitFor(async () => (await deliveredNonIcmp(lab, b, family)) - before >= count, {
        message: `${count} datagrams queued on b`,
      });
      assert.equal(listener.deliveries.length, 0, 'nothing delivered while stopped');
      listener.child.kill('SIGCONT');
      await waitFor(() => listener.deliveries.length >= 1, { message: 'a delivery after SIGCONT' });
      const [delivery] = listener.deliveries;
      assert.ok(delivery);
      assert.equal(delivery.count, count, 'the whole queue in one callback');
      assert.equal(delivery.packets.length, count);
      const vrids = delivery.packets.map((packet) => {
        const data = Buffer.from(packet.data, 'hex');
        return family === 4 ? (data[((data[0] as number) & 0x0f) * 4 + 1] as number) : (data[1] as number);
      });
      assert.deepEqual(
        vrids,
        Array.from({ length: count }, (_, index) => (index % 255) + 1),
        'in the order sent',
      );
      if (family === 6) {
        assert.ok(
          delivery.packets.every((packet) => packet.hopLimit === 255 && packet.destination === 'ff02::12'),
        );
      }
    });
  });
}

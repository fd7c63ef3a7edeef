/**
 * The advert channel: adverts built once per (priority, destination) and sent as the same bytes after; the
 * receive ladder's outcome delivered or counted in the instance's one table, with one log line per reason and
 * interval.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/manual-clock.js';
import { AdvertChannel, ChannelClosedError } from '../../src/vrrp/advert-channel.js';
import { DISCARD_REASONS, newInstanceCounters } from '../../src/vrrp/counters.js';
import type { PacketHandler } from '../../src/vrrp/demux.js';
import { encode } from '../../src/vrrp/packet.js';
import { parseIPv4Packet } from '../../src/vrrp/transport.js';

function setup(
  destinations = ['224.0.0.18'],
  onDeliver?: (advert: { priority: number }, source: string) => void,
) {
  const sent: { payload: Uint8Array; destination: string; source: string | undefined }[] = [];
  let handler: PacketHandler | undefined;
  const socket = {
    register: (_vrid: number, registered: PacketHandler) => void (handler = registered),
    unregister: () => void (handler = undefined),
    send: async (payload: Uint8Array, destination: string, source: string | undefined) =>
      void sent.push({ payload, destination, source }),
  };
  const counters = newInstanceCounters();
  const clock = new ManualClock();
  const warnings: string[] = [];
  const delivered: string[] = [];
  const channel = new AdvertChannel({
    version: 3,
    family: 4,
    vrid: 51,
    advertIntervalCentiseconds: 100,
    addresses: ['192.0.2.100', '192.0.2.101'],
    auth: { type: 'none' },
    source: '192.0.2.1',
    destinations,
    receive: { skipCheckAdvAddr: false, unicastPeers: [], priority: 100 },
    counters,
    clock,
    log: { info: () => undefined, warn: (_, message) => void warnings.push(message), error: () => undefined },
    deliver: (advert, source) => {
      delivered.push(`${source} ${advert.priority}`);
      onDeliver?.(advert, source);
    },
  });
  return {
    channel,
    socket,
    sent,
    counters,
    clock,
    warnings,
    delivered,
    receive: (payload: Uint8Array, ttl = 255) =>
      handler?.({ payload, source: '192.0.2.2', destination: '224.0.0.18', ttl }),
  };
}

test('adverts are encoded once per priority and destination, byte for byte what encode gives', async () => {
  const { channel, socket, sent } = setup(['192.0.2.2', '192.0.2.3']);
  await assert.rejects(channel.send(100), ChannelClosedError);
  channel.open(socket);
  await channel.send(100);
  await channel.send(100);
  await channel.send(90);
  assert.equal(sent.length, 6);
  assert.equal(sent[0]?.payload, sent[2]?.payload, 'the same bytes object, not a new encoding');
  assert.notEqual(sent[0]?.payload, sent[1]?.payload, 'one per destination (the checksum covers it)');
  for (const { payload, destination, source } of sent) {
    const priority = payload[2] as number;
    const fresh = encode(
      {
        version: 3,
        family: 4,
        vrid: 51,
        priority,
        advertIntervalCentiseconds: 100,
        addresses: ['192.0.2.100', '192.0.2.101'],
        auth: { type: 'none' },
      },
      { pseudoHeader: { source: source as string, destination } },
    );
    assert.deepEqual(Buffer.from(payload), Buffer.from(fresh));
  }
});

test('accepted adverts go to the driver; refused ones are counted from zero and logged once per interval', () => {
  const { channel, socket, counters, clock, warnings, delivered, receive } = setup();
  channel.open(socket);
  assert.deepEqual(Object.keys(counters.discarded), [...DISCARD_REASONS], 'every reason present from zero');
  const advert = (priority: number, addresses = ['192.0.2.101', '192.0.2.100']) =>
    encode(
      {
        version: 3,
        family: 4,
        vrid: 51,
        priority,
        advertIntervalCentiseconds: 100,
        addresses,
        auth: { type: 'none' },
      },
      { pseudoHeader: { source: '192.0.2.2', destination: '224.0.0.18' } },
    );
  receive(advert(150));
  receive(advert(150), 1);
  receive(advert(150), 2);
  receive(advert(150, ['192.0.2.9', '192.0.2.100']));
  clock.advance(10_000_000);
  receive(advert(150), 3);
  assert.deepEqual(delivered, ['192.0.2.2 150']);
  assert.equal(counters.discarded['bad-ttl'], 3);
  assert.equal(counters.discarded['address-mismatch'], 1);
  assert.deepEqual(warnings, ['advert discarded', 'advert discarded', 'advert discarded']);
});

/** The IPv4 datagram of `payload` from `source` to 224.0.0.18, as the socket reads it, as a view. */
function datagramView(payload: Uint8Array, source = '192.0.2.2', ttl = 255) {
  const packet = Buffer.alloc(20 + payload.length);
  packet[0] = 0x45;
  packet.writeUInt16BE(packet.length, 2);
  packet[8] = ttl;
  packet[9] = 112;
  packet.set(source.split('.').map(Number), 12);
  packet.set([224, 0, 0, 18], 16);
  packet.set(payload, 20);
  const view = parseIPv4Packet(packet);
  assert.ok(view);
  return view;
}

test('a repeat of the accepted advert is accepted by its bytes, with the same summary; any change runs the ladder', () => {
  const got: { advert: object; source: string }[] = [];
  const { channel, socket, counters } = setup(
    ['224.0.0.18'],
    (advert, source) => void got.push({ advert, source }),
  );
  let handler: PacketHandler | undefined;
  channel.open({ ...socket, register: (_vrid, registered) => void (handler = registered) });
  const advert = (priority: number, source = '192.0.2.2') =>
    encode(
      {
        version: 3,
        family: 4,
        vrid: 51,
        priority,
        advertIntervalCentiseconds: 100,
        addresses: ['192.0.2.100', '192.0.2.101'],
        auth: { type: 'none' },
      },
      { pseudoHeader: { source, destination: '224.0.0.18' } },
    );
  const first = datagramView(advert(150));
  handler?.(first);
  handler?.(datagramView(advert(150)));
  handler?.(datagramView(advert(150)));
  assert.equal(got.length, 3);
  assert.equal(got[1]?.advert, got[0]?.advert, 'the repeat delivers the summary the ladder made');
  assert.equal(got[2]?.advert, got[0]?.advert);
  assert.deepEqual(got[0], {
    advert: { priority: 150, advertIntervalCentiseconds: 100 },
    source: '192.0.2.2',
  });

  // A new priority, a new source, a new TTL: each runs the ladder again.
  handler?.(datagramView(advert(160)));
  assert.deepEqual(got[3], {
    advert: { priority: 160, advertIntervalCentiseconds: 100 },
    source: '192.0.2.2',
  });
  handler?.(datagramView(advert(160, '192.0.2.3'), '192.0.2.3'));
  assert.equal(got[4]?.source, '192.0.2.3');
  const before = counters.discarded['bad-ttl'];
  handler?.(datagramView(advert(160, '192.0.2.3'), '192.0.2.3', 254));
  assert.equal(counters.discarded['bad-ttl'], before + 1, 'the same payload with TTL 254 is refused');
  // The accepted bytes with one bit flipped in the checksum: refused, every time.
  const corrupt = advert(160, '192.0.2.3');
  corrupt[7] = (corrupt[7] as number) ^ 1;
  handler?.(datagramView(corrupt, '192.0.2.3'));
  handler?.(datagramView(corrupt, '192.0.2.3'));
  assert.equal(counters.discarded['bad-checksum'], 2);
  // Its own advert, looped back, is refused on every repeat too.
  handler?.(datagramView(advert(100, '192.0.2.1'), '192.0.2.1'));
  handler?.(datagramView(advert(100, '192.0.2.1'), '192.0.2.1'));
  assert.equal(counters.discarded['own-advert'], 2);
  assert.equal(got.length, 5);
});

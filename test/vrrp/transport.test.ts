/**
 * The pure parts of the packet path: the IPv4 header as a raw socket delivers it (every malformation refused,
 * nothing thrown, nothing read past the data) and the addon's batch records (walked without trusting a length
 * that points past the batch).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIPv4Packet } from '../../src/vrrp/transport.js';
import { VRRP_RECORD_HEADER_BYTES, type VrrpRecord, forEachVrrpRecord } from '../../src/native.js';

const ADVERT = Buffer.from('3133640100640000c0000264', 'hex');

/** An RFC 791 header (20 bytes plus `options`) in front of `payload`, total length filled in. */
function datagram(
  payload: Buffer,
  overrides: Partial<Record<number, number>> = {},
  options = Buffer.alloc(0),
) {
  const header = Buffer.alloc(20 + options.length);
  header[0] = 0x40 | ((20 + options.length) / 4);
  header[1] = 0xc0;
  header.writeUInt16BE(header.length + payload.length, 2);
  header[8] = 255;
  header[9] = 112;
  header.set([192, 0, 2, 1], 12);
  header.set([224, 0, 0, 18], 16);
  options.copy(header, 20);
  const packet = Buffer.concat([header, payload]);
  for (const [offset, value] of Object.entries(overrides)) packet[Number(offset)] = value as number;
  return packet;
}

test('a well-formed IPv4 datagram gives its payload, TTL, source and destination', () => {
  const parsed = parseIPv4Packet(datagram(ADVERT));
  assert.ok(parsed);
  assert.deepEqual(Buffer.from(parsed.payload), ADVERT);
  assert.equal(parsed.ttl, 255);
  assert.equal(parsed.source, '192.0.2.1');
  assert.equal(parsed.destination, '224.0.0.18');
});

test('IP options (header length 6 words): the payload starts after them', () => {
  // Router alert (RFC 2113), 4 bytes.
  const parsed = parseIPv4Packet(datagram(ADVERT, {}, Buffer.from([0x94, 0x04, 0x00, 0x00])));
  assert.ok(parsed);
  assert.deepEqual(Buffer.from(parsed.payload), ADVERT);
});

test('malformed IPv4 headers are refused, each for its own reason', () => {
  const good = datagram(ADVERT);
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['shorter than a header', good.subarray(0, 19)],
    ['version 6', datagram(ADVERT, { 0: 0x65 })],
    ['version 0', datagram(ADVERT, { 0: 0x05 })],
    ['header length 4 words (16 bytes)', datagram(ADVERT, { 0: 0x44 })],
    ['header length 0', datagram(ADVERT, { 0: 0x40 })],
    ['header length 15 words, past the data', datagram(Buffer.alloc(0), { 0: 0x4f })],
    ['protocol UDP', datagram(ADVERT, { 9: 17 })],
    ['total length shorter than the header', datagram(ADVERT, { 2: 0, 3: 19 })],
    ['total length 0', datagram(ADVERT, { 2: 0, 3: 0 })],
    ['total length longer than what arrived', datagram(ADVERT, { 2: 0, 3: 200 })],
    ['total length 65535', datagram(ADVERT, { 2: 0xff, 3: 0xff })],
  ];
  for (const [name, packet] of cases) assert.equal(parseIPv4Packet(packet), undefined, name);
});

test('a total length shorter than what arrived ends the payload there', () => {
  const packet = Buffer.concat([datagram(ADVERT), Buffer.from([1, 2, 3, 4])]);
  const parsed = parseIPv4Packet(packet);
  assert.ok(parsed);
  assert.deepEqual(Buffer.from(parsed.payload), ADVERT);
});

test('random and mutated datagrams never throw, and a payload never reaches past the data', () => {
  const check = (packet: Uint8Array) => {
    const parsed = parseIPv4Packet(packet);
    if (!parsed) return;
    assert.ok(parsed.payload.byteOffset + parsed.payload.length <= packet.byteOffset + packet.length);
    assert.ok(parsed.payload.byteOffset >= packet.byteOffset + 20);
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), check), { numRuns: 5000 });
  const good = datagram(ADVERT);
  fc.assert(
    fc.property(fc.nat(good.length - 1), fc.nat(255), fc.nat(good.length), (position, value, cut) => {
      const packet = Buffer.from(good);
      packet[position] = value;
      check(packet.subarray(0, cut));
    }),
    { numRuns: 5000 },
  );
});

/** A batch as the addon writes it (native/vrrp_socket.c). */
function record(data: Buffer, options: { hopLimit?: number; truncated?: boolean; source?: number[] } = {}) {
  const header = Buffer.alloc(VRRP_RECORD_HEADER_BYTES);
  header.writeUInt16LE(data.length, 0);
  header[2] = options.hopLimit ?? 0;
  header[3] = (options.hopLimit !== undefined ? 1 : 0) | (options.truncated ? 2 : 0);
  header.set(options.source ?? [], 4);
  return Buffer.concat([header, data]);
}

function walk(batch: Buffer, count: number) {
  const seen: (Omit<VrrpRecord, 'dataStart' | 'dataEnd'> & { data: string })[] = [];
  const visited = forEachVrrpRecord(batch, count, (entry) =>
    seen.push({
      data: batch.subarray(entry.dataStart, entry.dataEnd).toString('hex'),
      hopLimit: entry.hopLimit,
      truncated: entry.truncated,
      sourceOffset: entry.sourceOffset,
      destinationOffset: entry.destinationOffset,
    }),
  );
  return { visited, seen };
}

test('batch records: data, hop limit only when reported, the truncated flag, address offsets', () => {
  const batch = Buffer.concat([
    record(Buffer.from('aabb', 'hex'), { hopLimit: 255, source: [192, 0, 2, 1] }),
    record(Buffer.alloc(0)),
    record(Buffer.from('cc', 'hex'), { hopLimit: 1, truncated: true }),
  ]);
  const { visited, seen } = walk(batch, 3);
  assert.equal(visited, 3);
  assert.deepEqual(
    seen.map(({ data, hopLimit, truncated }) => ({ data, hopLimit, truncated })),
    [
      { data: 'aabb', hopLimit: 255, truncated: false },
      { data: '', hopLimit: undefined, truncated: false },
      { data: 'cc', hopLimit: 1, truncated: true },
    ],
  );
  assert.deepEqual(
    [...batch.subarray(seen[0]?.sourceOffset, (seen[0]?.sourceOffset ?? 0) + 4)],
    [192, 0, 2, 1],
  );
  assert.equal(seen[0]?.destinationOffset, 20);
});

test('batch records: a length past the end of the batch, or a count larger than the records, ends the walk', () => {
  const first = record(Buffer.from('aabb', 'hex'));
  const lying = record(Buffer.from('cc', 'hex'));
  lying.writeUInt16LE(500, 0);
  assert.equal(walk(Buffer.concat([first, lying]), 2).visited, 1);
  assert.equal(walk(first, 5).visited, 1);
  assert.equal(walk(first.subarray(0, 10), 1).visited, 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzInput, xorshift32 } from '../helpers/fuzz.js';
import {
  type DecodeContext,
  type DecodeReason,
  type VrrpAdvertisement,
  VrrpEncodeError,
  decode,
  encode,
  encodingLength,
} from '../../src/vrrp/packet.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

const V4_PSEUDO = { source: '192.0.2.1', destination: '224.0.0.18' };
const V6_PSEUDO = { source: 'fe80::1', destination: 'ff02::12' };

// Golden bytes computed independently of this codec (by hand from RFC 3768 §5 / RFC 5798 §5 with a separate
// checksum implementation); the keepalived captures in test/fixtures/keepalived are checked in keepalived.test.ts.
const GOLDEN: { name: string; advert: VrrpAdvertisement; context: DecodeContext; hex: string }[] = [
  {
    name: 'v2 IPv4, no authentication, two addresses',
    advert: {
      version: 2,
      family: 4,
      vrid: 51,
      priority: 150,
      advertIntervalCentiseconds: 100,
      addresses: ['192.0.2.100', '192.0.2.101'],
      auth: { type: 'none' },
    },
    context: { family: 4 },
    hex: '213396020001c3fec0000264c00002650000000000000000',
  },
  {
    name: 'v2 IPv4, simple password',
    advert: {
      version: 2,
      family: 4,
      vrid: 52,
      priority: 100,
      advertIntervalCentiseconds: 200,
      addresses: ['192.0.2.110'],
      auth: { type: 'simple', password: 'secret12' },
    },
    context: { family: 4 },
    hex: '21346401010249dbc000026e7365637265743132',
  },
  {
    name: 'v3 IPv4 with the pseudo-header checksum',
    advert: {
      version: 3,
      family: 4,
      vrid: 53,
      priority: 200,
      advertIntervalCentiseconds: 100,
      addresses: ['192.0.2.120', '192.0.2.121'],
      auth: { type: 'none' },
    },
    context: { family: 4, pseudoHeader: V4_PSEUDO },
    hex: '3135c8020064dedcc0000278c0000279',
  },
  {
    name: 'v3 IPv6',
    advert: {
      version: 3,
      family: 6,
      vrid: 54,
      priority: 120,
      advertIntervalCentiseconds: 100,
      addresses: ['2001:db8::120', 'fe80::54'],
      auth: { type: 'none' },
    },
    context: { family: 6, pseudoHeader: V6_PSEUDO },
    hex: '3136780200642a8620010db8000000000000000000000120fe800000000000000000000000000054',
  },
];

/** Sets the checksum of a v2 (or message-only) message to its correct value after a mutation. */
function fixMessageChecksum(buf: Uint8Array): Uint8Array {
  buf[6] = 0;
  buf[7] = 0;
  let sum = 0;
  for (let index = 0; index < buf.length; index += 2) sum += (buf[index]! << 8) | (buf[index + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const checksum = ~sum & 0xffff;
  buf[6] = checksum >> 8;
  buf[7] = checksum & 0xff;
  return buf;
}

for (const golden of GOLDEN) {
  test(`golden bytes: ${golden.name}`, () => {
    assert.equal(hex(encode(golden.advert, { pseudoHeader: golden.context.pseudoHeader })), golden.hex);
    assert.equal(encodingLength(golden.advert), golden.hex.length / 2);
    const result = decode(bytes(golden.hex), golden.context);
    assert.ok(result.ok, JSON.stringify(result));
    const { checksum, checksumMode, ...value } = result.value;
    assert.deepEqual(value, golden.advert);
    assert.equal(checksum, parseInt(golden.hex.slice(12, 16), 16));
    assert.equal(checksumMode, golden.advert.version === 3 ? 'pseudo-header' : 'message-only');
    assert.equal(result.bytes, golden.hex.length / 2);
  });
}

test('v3 over IPv4 accepts the message-only checksum (keepalived v3_checksum_as_v2) and says so', () => {
  const advert = GOLDEN[2]!.advert;
  const encoded = encode(advert, { checksumMode: 'message-only' });
  assert.equal(hex(encoded), '3135c80200648171c0000278c0000279');
  const result = decode(encoded, { family: 4, pseudoHeader: V4_PSEUDO });
  assert.ok(result.ok);
  assert.equal(result.value.checksumMode, 'message-only');
});

test('v3 over IPv6 does not accept a message-only checksum', () => {
  const messageOnly = fixMessageChecksum(encode(GOLDEN[3]!.advert, { pseudoHeader: V6_PSEUDO }));
  assert.notEqual(hex(messageOnly), GOLDEN[3]!.hex);
  const result = decode(messageOnly, { family: 6, pseudoHeader: V6_PSEUDO });
  assert.equal(result.ok ? 'ok' : result.reason, 'bad-checksum');
});

test('a checksum the kernel verified is not checked again', () => {
  const encoded = encode(GOLDEN[3]!.advert, { pseudoHeader: V6_PSEUDO });
  encoded[6] = encoded[6]! ^ 0xff;
  assert.equal(decode(encoded, { family: 6, pseudoHeader: V6_PSEUDO }).ok, false);
  assert.equal(decode(encoded, { family: 6, checksumVerified: true }).ok, true);
});

test('round trip over random valid advertisements', () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'));
  const v6 = fc.ipV6();
  const advertArbitrary = fc.oneof(
    fc.record({
      version: fc.constant(2 as const),
      family: fc.constant(4 as const),
      vrid: fc.integer({ min: 1, max: 255 }),
      priority: fc.integer({ min: 0, max: 255 }),
      advertIntervalCentiseconds: fc.integer({ min: 1, max: 255 }).map((seconds) => seconds * 100),
      addresses: fc.array(v4, { maxLength: 20 }),
      auth: fc.oneof(
        fc.constant({ type: 'none' as const }),
        fc
          .string({
            unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'),
            minLength: 1,
            maxLength: 8,
          })
          .map((password) => ({ type: 'simple' as const, password })),
      ),
    }),
    fc.record({
      version: fc.constant(3 as const),
      family: fc.constant(4 as const),
      vrid: fc.integer({ min: 1, max: 255 }),
      priority: fc.integer({ min: 0, max: 255 }),
      advertIntervalCentiseconds: fc.integer({ min: 1, max: 4095 }),
      addresses: fc.array(v4, { maxLength: 20 }),
      auth: fc.constant({ type: 'none' as const }),
    }),
    fc.record({
      version: fc.constant(3 as const),
      family: fc.constant(6 as const),
      vrid: fc.integer({ min: 1, max: 255 }),
      priority: fc.integer({ min: 0, max: 255 }),
      advertIntervalCentiseconds: fc.integer({ min: 1, max: 4095 }),
      addresses: fc.array(v6, { maxLength: 20 }),
      auth: fc.constant({ type: 'none' as const }),
    }),
  );
  fc.assert(
    fc.property(advertArbitrary, (advert: VrrpAdvertisement) => {
      const pseudoHeader = advert.family === 4 ? V4_PSEUDO : V6_PSEUDO;
      const encoded = encode(advert, { pseudoHeader });
      const result = decode(encoded, { family: advert.family, pseudoHeader });
      assert.ok(result.ok, JSON.stringify(result));
      const { checksum: _checksum, checksumMode: _mode, ...value } = result.value;
      const canonical = advert.addresses.map((address) =>
        advert.family === 6 ? new URL(`http://[${address}]`).hostname.slice(1, -1) : address,
      );
      assert.deepEqual(value, { ...advert, addresses: canonical });
    }),
    { numRuns: 2000 },
  );
});

function expectReason(buf: Uint8Array, context: DecodeContext, reason: DecodeReason) {
  const result = decode(buf, context);
  assert.equal(result.ok ? 'ok' : result.reason, reason);
  if (!result.ok) assert.ok(result.detail.length > 0);
}

test('every malformation comes back as its named reason', () => {
  const v2 = () => bytes(GOLDEN[0]!.hex);
  const v4 = { family: 4 as const };
  expectReason(new Uint8Array(0), v4, 'truncated');
  expectReason(v2().subarray(0, 7), v4, 'truncated');
  expectReason(v2(), v4, 'ok' as DecodeReason);
  const wrongVersion = v2();
  wrongVersion[0] = 0x41;
  expectReason(wrongVersion, v4, 'bad-version');
  expectReason(v2(), { family: 6 }, 'bad-version');
  const wrongType = v2();
  wrongType[0] = 0x22;
  expectReason(wrongType, v4, 'bad-type');
  const zeroVrid = v2();
  zeroVrid[1] = 0;
  expectReason(fixMessageChecksum(zeroVrid), v4, 'bad-vrid');
  const countTooHigh = v2();
  countTooHigh[3] = 3;
  expectReason(fixMessageChecksum(countTooHigh), v4, 'count-mismatch');
  expectReason(fixMessageChecksum(new Uint8Array([...v2(), 0, 0, 0, 0])), v4, 'count-mismatch');
  expectReason(new Uint8Array(8 + 255 * 4 + 8 + 1).fill(0x21, 0, 1), v4, 'oversized');
  const badChecksum = v2();
  badChecksum[7] = badChecksum[7]! ^ 1;
  expectReason(badChecksum, v4, 'bad-checksum');
  const zeroInterval = v2();
  zeroInterval[5] = 0;
  expectReason(fixMessageChecksum(zeroInterval), v4, 'zero-interval');
  const ah = v2();
  ah[4] = 2;
  expectReason(fixMessageChecksum(ah), v4, 'auth-unsupported');
  const unknownAuth = v2();
  unknownAuth[4] = 7;
  expectReason(fixMessageChecksum(unknownAuth), v4, 'bad-auth-type');
  const v3ZeroInterval = encode(GOLDEN[2]!.advert, { checksumMode: 'message-only' });
  v3ZeroInterval[4] = 0xf0; // reserved bits set, interval 0
  v3ZeroInterval[5] = 0;
  expectReason(fixMessageChecksum(v3ZeroInterval), v4, 'zero-interval');
  expectReason(
    bytes(GOLDEN[2]!.hex),
    { family: 4, pseudoHeader: { source: 'fe80::1', destination: '::' } },
    'bad-pseudo-header',
  );
});

test('v3 ignores the reserved bits beside Max Adver Int (RFC 5798 §5.2.6)', () => {
  const encoded = encode(GOLDEN[2]!.advert, { checksumMode: 'message-only' });
  encoded[4] = encoded[4]! | 0xf0;
  const result = decode(fixMessageChecksum(encoded), { family: 4 });
  assert.ok(result.ok);
  assert.equal(result.value.advertIntervalCentiseconds, 100);
});

test('encode refuses values that cannot go on the wire', () => {
  const base = GOLDEN[0]!.advert;
  const cases: Partial<VrrpAdvertisement>[] = [
    { vrid: 0 },
    { vrid: 256 },
    { priority: 256 },
    { advertIntervalCentiseconds: 150 },
    { advertIntervalCentiseconds: 0 },
    { family: 6 },
    { addresses: ['2001:db8::1'] },
    { auth: { type: 'simple', password: 'longer-than-8' } },
    { addresses: new Array<string>(256).fill('192.0.2.1') },
  ];
  for (const change of cases) {
    assert.throws(() => encode({ ...base, ...change }), VrrpEncodeError, JSON.stringify(change));
  }
  assert.throws(() =>
    encode({ ...GOLDEN[2]!.advert, advertIntervalCentiseconds: 4096 }, { pseudoHeader: V4_PSEUDO }),
  );
  assert.throws(() => encode(GOLDEN[2]!.advert), /pseudo-header/);
  assert.throws(() => encode(base, {}, new Uint8Array(4)), /buffer too small/);
});

test('encode writes at an offset into a given buffer', () => {
  const target = new Uint8Array(30).fill(0xaa);
  encode(GOLDEN[0]!.advert, {}, target, 4);
  assert.equal(hex(target.subarray(4, 28)), GOLDEN[0]!.hex);
  assert.equal(target[3], 0xaa);
  assert.equal(target[28], 0xaa);
  const result = decode(target.subarray(0, 28), { family: 4 }, 4);
  assert.ok(result.ok);
});

test('decode never throws: 100,000 random and mutated buffers give a value or a reason', () => {
  const seeds = GOLDEN.map((golden) => ({ buf: bytes(golden.hex), context: golden.context }));
  const buffers = seeds.map((item) => item.buf);
  const next = xorshift32(0x2545f491);
  const outcomes = new Map<string, number>();
  for (let run = 0; run < 100_000; run++) {
    const seed = seeds[run % seeds.length]!;
    const buf = fuzzInput(run, buffers, next, { maxRandomLength: 200, maxExtension: 40 });
    const context = run % 3 === 0 ? { family: (run % 2 === 0 ? 4 : 6) as 4 | 6 } : seed.context;
    let result;
    try {
      result = decode(buf, context);
    } catch (error) {
      assert.fail(`decode threw on ${hex(buf)}: ${String(error)}`);
    }
    const key = result.ok ? 'ok' : result.reason;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  // The mutations reach the deep checks, not only the first one.
  for (const reason of ['truncated', 'bad-version', 'bad-type', 'count-mismatch', 'bad-checksum']) {
    assert.ok(
      (outcomes.get(reason) ?? 0) > 0,
      `no input reached '${reason}': ${JSON.stringify([...outcomes])}`,
    );
  }
});

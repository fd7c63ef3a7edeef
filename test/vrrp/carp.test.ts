/**
 * The CARP codec (src/vrrp/carp.ts): golden bytes assembled by hand from the ip_carp.h layout with a separate
 * checksum, round trips, every named malformation, and 100,000 random and mutated buffers. The bytes of the
 * real ucarp are checked in ucarp-fixtures.test.ts, the HMAC in carp-auth.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzInput, xorshift32 } from '../helpers/fuzz.js';
import {
  type CarpAdvertisement,
  type CarpDecodeReason,
  CarpEncodeError,
  CARP_HEADER_LENGTH,
  decode,
  encode,
  encodingLength,
  isBowOut,
  readCounter,
} from '../../src/vrrp/carp.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
/** JSON for assertion messages; counters are bigints. */
const show = (value: unknown) =>
  JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item));

/** RFC 1071 checksum written out again, so the golden bytes do not depend on src/vrrp/checksum.ts. */
function referenceChecksum(message: Uint8Array): number {
  let sum = 0;
  for (let index = 0; index < message.length; index += 2) sum += (message[index]! << 8) | message[index + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Assembles a header byte by byte from the ip_carp.h layout; the checksum is filled in unless given. */
function assemble(fields: {
  versionType?: number;
  vhid: number;
  advskew: number;
  authlen?: number;
  demote: number;
  advbase: number;
  counterHex: string;
  digestHex: string;
  checksum?: number;
}): Uint8Array {
  const message = new Uint8Array(36);
  message[0] = fields.versionType ?? 0x21;
  message[1] = fields.vhid;
  message[2] = fields.advskew;
  message[3] = fields.authlen ?? 7;
  message[4] = fields.demote;
  message[5] = fields.advbase;
  message.set(bytes(fields.counterHex), 8);
  message.set(bytes(fields.digestHex), 16);
  const checksum = fields.checksum ?? referenceChecksum(message);
  message[6] = checksum >> 8;
  message[7] = checksum & 0xff;
  return message;
}

const DIGEST = '00112233445566778899aabbccddeeff01234567';
const GOLDEN: { name: string; advert: CarpAdvertisement; hex: string }[] = [
  {
    name: 'vhid 1, advbase 1, advskew 0, no demotion',
    advert: {
      vhid: 1,
      advskew: 0,
      demote: 0,
      advbase: 1,
      counter: 0x0123456789abcdefn,
      digest: bytes(DIGEST),
    },
    hex: hex(
      assemble({
        vhid: 1,
        advskew: 0,
        demote: 0,
        advbase: 1,
        counterHex: '0123456789abcdef',
        digestHex: DIGEST,
      }),
    ),
  },
  {
    name: 'OpenBSD demoted: demote 3, advskew 100, advbase 2',
    advert: {
      vhid: 200,
      advskew: 100,
      demote: 3,
      advbase: 2,
      counter: 0xffffffffffffffffn,
      digest: bytes('ff'.repeat(20)),
    },
    hex: hex(
      assemble({
        vhid: 200,
        advskew: 100,
        demote: 3,
        advbase: 2,
        counterHex: 'ffffffffffffffff',
        digestHex: 'ff'.repeat(20),
      }),
    ),
  },
  {
    name: 'bow-out: advbase 255, advskew 255',
    advert: { vhid: 255, advskew: 255, demote: 0, advbase: 255, counter: 0n, digest: new Uint8Array(20) },
    hex: hex(
      assemble({
        vhid: 255,
        advskew: 255,
        demote: 0,
        advbase: 255,
        counterHex: '0000000000000000',
        digestHex: '00'.repeat(20),
      }),
    ),
  },
];

test('the golden header of the first case is what ip_carp.h lays out, byte for byte', () => {
  // version 2 / type 1, vhid 1, advskew 0, authlen 7, demote 0, advbase 1, checksum, counter, HMAC
  assert.equal(
    GOLDEN[0]!.hex,
    '210100070001' + '3e03' + '0123456789abcdef' + DIGEST,
    'checksum 0x3e03: the ones-complement sum of the eighteen 16-bit words, complemented',
  );
});

for (const golden of GOLDEN) {
  test(`golden bytes: ${golden.name}`, () => {
    assert.equal(hex(encode(golden.advert)), golden.hex);
    assert.equal(encodingLength(golden.advert), 36);
    const result = decode(bytes(golden.hex));
    assert.ok(result.ok, show(result));
    const { checksum, authlen, ...value } = result.value;
    assert.deepEqual(value, golden.advert);
    assert.equal(authlen, 7);
    assert.equal(checksum, parseInt(golden.hex.slice(12, 16), 16));
    assert.equal(result.bytes, 36);
  });
}

test('isBowOut is advbase 255 with advskew 255 only', () => {
  assert.equal(isBowOut({ advbase: 255, advskew: 255 }), true);
  assert.equal(isBowOut({ advbase: 255, advskew: 254 }), false);
  assert.equal(isBowOut({ advbase: 1, advskew: 255 }), false);
});

test('the counter is read and written big-endian over 64 bits', () => {
  const buf = bytes('8000000000000001');
  assert.equal(readCounter(buf, 0), 0x8000000000000001n);
});

const advertArbitrary: fc.Arbitrary<CarpAdvertisement> = fc.record({
  vhid: fc.integer({ min: 1, max: 255 }),
  advskew: fc.integer({ min: 0, max: 255 }),
  demote: fc.integer({ min: 0, max: 255 }),
  advbase: fc.integer({ min: 0, max: 255 }),
  counter: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  digest: fc.uint8Array({ minLength: 20, maxLength: 20 }),
});

test('round trip over random valid advertisements', () => {
  fc.assert(
    fc.property(advertArbitrary, (advert) => {
      const encoded = encode(advert);
      assert.equal(referenceChecksum(encoded), 0, 'a filled-in checksum verifies');
      const result = decode(encoded);
      assert.ok(result.ok, show(result));
      const { checksum: _checksum, authlen: _authlen, ...value } = result.value;
      assert.deepEqual(value, { ...advert });
    }),
    { numRuns: 2000 },
  );
});

function expectReason(buf: Uint8Array, reason: CarpDecodeReason | 'ok', offset?: number) {
  const result = decode(buf, offset);
  assert.equal(result.ok ? 'ok' : result.reason, reason, hex(buf));
  if (!result.ok) assert.ok(result.detail.length > 0);
}

/** A mutated header with its checksum made right again, so the later checks are reached. */
function mutated(change: (message: Uint8Array) => void): Uint8Array {
  const message = bytes(GOLDEN[0]!.hex);
  change(message);
  message[6] = 0;
  message[7] = 0;
  const checksum = referenceChecksum(message);
  message[6] = checksum >> 8;
  message[7] = checksum & 0xff;
  return message;
}

test('every malformation comes back as its named reason', () => {
  const good = () => bytes(GOLDEN[0]!.hex);
  expectReason(good(), 'ok');
  expectReason(new Uint8Array(0), 'truncated');
  expectReason(good().subarray(0, 35), 'truncated');
  expectReason(new Uint8Array([...good(), 0]), 'oversized');
  expectReason(good(), 'truncated', 37);
  expectReason(good(), 'truncated', -1);
  const badChecksum = good();
  badChecksum[7] = badChecksum[7]! ^ 1;
  expectReason(badChecksum, 'bad-checksum');
  const digestFlip = good();
  digestFlip[35] = digestFlip[35]! ^ 0x80;
  expectReason(digestFlip, 'bad-checksum');
  expectReason(
    mutated((m) => (m[0] = 0x31)),
    'bad-version',
  );
  expectReason(
    mutated((m) => (m[0] = 0x22)),
    'bad-type',
  );
  expectReason(
    mutated((m) => (m[1] = 0)),
    'bad-vhid',
  );
  expectReason(
    mutated((m) => (m[3] = 5)),
    'bad-authlen',
  );
});

test('decode reads at an offset and encode writes at one', () => {
  const target = new Uint8Array(44).fill(0xaa);
  encode(GOLDEN[0]!.advert, target, 4);
  assert.equal(hex(target.subarray(4, 40)), GOLDEN[0]!.hex);
  assert.equal(target[3], 0xaa);
  assert.equal(target[40], 0xaa);
  const result = decode(target.subarray(0, 40), 4);
  assert.ok(result.ok);
  assert.equal(result.value.vhid, 1);
});

test('encode refuses values that cannot go on the wire', () => {
  const base = GOLDEN[0]!.advert;
  const cases: Partial<CarpAdvertisement>[] = [
    { vhid: 0 },
    { vhid: 256 },
    { vhid: 1.5 },
    { advskew: -1 },
    { advskew: 256 },
    { advbase: 256 },
    { demote: 256 },
    { counter: -1n },
    { counter: 1n << 64n },
    { digest: new Uint8Array(19) },
  ];
  for (const change of cases) {
    assert.throws(() => encode({ ...base, ...change }), CarpEncodeError, show(change));
  }
  assert.throws(() => encode(base, new Uint8Array(35)), /buffer too small/);
  assert.throws(() => encode(base, new Uint8Array(36), 1), /buffer too small/);
});

test('decode never throws: 100,000 random and mutated buffers give a value or a named reason', () => {
  const seeds = GOLDEN.map((golden) => bytes(golden.hex));
  const reasons = new Set<string>([
    'truncated',
    'oversized',
    'bad-checksum',
    'bad-version',
    'bad-type',
    'bad-vhid',
    'bad-authlen',
  ]);
  const next = xorshift32(0x6a09e667);
  const outcomes = new Map<string, number>();
  for (let run = 0; run < 100_000; run++) {
    const buf = fuzzInput(run, seeds, next, {
      maxRandomLength: 80,
      maxExtension: 9,
      // Half of the mutations fix the checksum up again, so the checks behind it are reached.
      repair: (mutant, index) => {
        if (index % 2 === 0) return;
        mutant[6] = 0;
        mutant[7] = 0;
        const checksum = referenceChecksum(mutant);
        mutant[6] = checksum >> 8;
        mutant[7] = checksum & 0xff;
      },
    });
    const offset = run % 13 === 0 ? next() % 4 : 0;
    let result;
    try {
      result = decode(buf, offset);
    } catch (error) {
      assert.fail(`decode threw on ${hex(buf)}: ${String(error)}`);
    }
    if (result.ok) {
      assert.equal(result.bytes, CARP_HEADER_LENGTH);
      assert.equal(buf.length - offset, CARP_HEADER_LENGTH);
    } else {
      assert.ok(reasons.has(result.reason), `unnamed reason ${result.reason}`);
      assert.ok(result.detail.length > 0);
    }
    const key = result.ok ? 'ok' : result.reason;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  // The mutations reach every check, not only the first ones.
  for (const reason of [...reasons, 'ok']) {
    assert.ok(
      (outcomes.get(reason) ?? 0) > 0,
      `no input reached '${reason}': ${JSON.stringify([...outcomes])}`,
    );
  }
});

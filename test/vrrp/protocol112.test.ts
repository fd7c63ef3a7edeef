/**
 * Telling VRRP from CARP on protocol 112 (src/vrrp/demux.ts): every real capture lands on its protocol, every
 * well-formed advert of either codec lands on its own, and the ambiguous corners go where docs/carp.md says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { classifyProtocol112 } from '../../src/vrrp/protocol112.js';
import { createCarpAuthenticator } from '../../src/vrrp/carp-auth.js';
import { decode as decodeCarp, encode as encodeCarp } from '../../src/vrrp/carp.js';
import { decode as decodeVrrp, encode as encodeVrrp } from '../../src/vrrp/packet.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

function jsonFiles(directory: string): Record<string, unknown>[] {
  return readdirSync(join(FIXTURES, directory))
    .filter((name) => name.endsWith('.json'))
    .map(
      (name) => JSON.parse(readFileSync(join(FIXTURES, directory, name), 'utf8')) as Record<string, unknown>,
    );
}

test('every keepalived capture is VRRP of its version', () => {
  const captures = jsonFiles('keepalived');
  assert.ok(captures.length >= 10);
  for (const capture of captures) {
    const payload = bytes(capture.vrrpHex as string);
    const version = payload[0]! >> 4;
    assert.deepEqual(
      classifyProtocol112(payload, capture.family as 4 | 6),
      { protocol: 'vrrp', version },
      capture.variant as string,
    );
  }
});

test('every ucarp capture is CARP', () => {
  const captures = jsonFiles('ucarp');
  assert.ok(captures.length >= 8);
  for (const capture of captures) {
    for (const advert of capture.adverts as string[]) {
      assert.deepEqual(
        classifyProtocol112(bytes(advert), 4),
        { protocol: 'carp' },
        capture.variant as string,
      );
    }
  }
});

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'));

test('no well-formed VRRPv2 advert is taken for CARP, whatever its address count', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 255 }),
      fc.array(v4, { maxLength: 255 }),
      fc.boolean(),
      (vrid, addresses, withPassword) => {
        const advert = encodeVrrp({
          version: 2,
          family: 4,
          vrid,
          priority: 100,
          advertIntervalCentiseconds: 100,
          addresses,
          auth: withPassword ? { type: 'simple', password: 'secret' } : { type: 'none' },
        });
        assert.deepEqual(classifyProtocol112(advert, 4), { protocol: 'vrrp', version: 2 });
      },
    ),
    { numRuns: 500 },
  );
});

test('no well-formed CARP advert is taken for VRRP, over IPv4 or IPv6', () => {
  fc.assert(
    fc.property(
      fc.record({
        vhid: fc.integer({ min: 1, max: 255 }),
        advskew: fc.nat(255),
        demote: fc.nat(255),
        advbase: fc.nat(255),
        counter: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        digest: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      }),
      fc.constantFrom(4 as const, 6 as const),
      (advert, family) => {
        assert.deepEqual(classifyProtocol112(encodeCarp(advert), family), { protocol: 'carp' });
      },
    ),
    { numRuns: 500 },
  );
});

test('a 36-byte VRRPv2 advert has five addresses and stays VRRP', () => {
  const advert = encodeVrrp({
    version: 2,
    family: 4,
    vrid: 1,
    priority: 100,
    advertIntervalCentiseconds: 100,
    addresses: ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5'],
    auth: { type: 'none' },
  });
  assert.equal(advert.length, 36);
  assert.equal(advert[3], 5);
  assert.deepEqual(classifyProtocol112(advert, 4), { protocol: 'vrrp', version: 2 });
  assert.ok(decodeVrrp(advert, { family: 4 }).ok);
});

test('the ambiguous corners: padded or odd-authlen CARP goes to VRRP, a cut VRRPv2 with count 7 to CARP', () => {
  const carp = encodeCarp({
    vhid: 1,
    advskew: 0,
    demote: 0,
    advbase: 1,
    counter: 1n,
    digest: new Uint8Array(20),
  });
  const padded = new Uint8Array([...carp, 0, 0, 0, 0]);
  assert.deepEqual(classifyProtocol112(padded, 4), { protocol: 'vrrp', version: 2 });
  const vrrpVerdict = decodeVrrp(padded, { family: 4 });
  assert.equal(
    vrrpVerdict.ok ? 'ok' : vrrpVerdict.reason,
    'count-mismatch',
    'counted as a VRRP malformation',
  );
  const sevenAddresses = encodeVrrp({
    version: 2,
    family: 4,
    vrid: 1,
    priority: 100,
    advertIntervalCentiseconds: 100,
    addresses: ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6', '192.0.2.7'],
    auth: { type: 'none' },
  });
  const cut = sevenAddresses.subarray(0, 36);
  assert.deepEqual(classifyProtocol112(cut, 4), { protocol: 'carp' });
  // Without authentication the cut-off 8 bytes are zeros, so even the checksum holds; the HMAC refuses it.
  const carpVerdict = decodeCarp(cut);
  assert.ok(carpVerdict.ok);
  const authenticator = createCarpAuthenticator({
    variant: 'ucarp',
    passphrase: 'secret',
    vhid: 1,
    addresses: ['192.0.2.1'],
  });
  assert.equal(authenticator.verify(carpVerdict.value.counter, carpVerdict.value.digest), false);
});

test('what is neither is named', () => {
  const carp = encodeCarp({
    vhid: 1,
    advskew: 0,
    demote: 0,
    advbase: 1,
    counter: 1n,
    digest: new Uint8Array(20),
  });
  const reason = (payload: Uint8Array, family: 4 | 6 = 4) => {
    const result = classifyProtocol112(payload, family);
    return result.protocol === 'unknown' ? result.reason : result.protocol;
  };
  assert.equal(reason(new Uint8Array(0)), 'truncated');
  assert.equal(reason(Uint8Array.from([0x22, ...carp.subarray(1)])), 'unknown-type');
  assert.equal(reason(Uint8Array.from([0x11, ...carp.subarray(1)])), 'unknown-version');
  assert.equal(reason(Uint8Array.from([0x41, ...carp.subarray(1)])), 'unknown-version');
  assert.equal(
    reason(Uint8Array.from([0x31])),
    'vrrp',
    'a short v3 payload is VRRP (its decoder says truncated)',
  );
  assert.equal(reason(Uint8Array.from([0x21])), 'vrrp', 'a short v2 payload over IPv4 is VRRP (truncated)');
  assert.equal(reason(Uint8Array.from([0x21]), 6), 'carp', 'version 2 over IPv6 can only be CARP');
});

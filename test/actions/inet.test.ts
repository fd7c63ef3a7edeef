import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  InvalidAddressError,
  canonicalIp,
  formatIp,
  formatMac,
  parseIp,
  parseMac,
} from '../../src/actions/inet.js';

// The parsing rules themselves are tested in test/vrrp/address.test.ts; these tests cover what the throwing
// wrappers add: the error class and code, and the family taken from the byte length.

test('parseIp returns family and bytes, and throws TANDEM_EADDRESS for anything else', () => {
  assert.deepEqual(parseIp('192.0.2.1'), { family: 4, bytes: Uint8Array.of(192, 0, 2, 1) });
  const v6 = parseIp('2001:DB8::1');
  assert.equal(v6.family, 6);
  assert.deepEqual(v6.bytes, Uint8Array.from(Buffer.from('20010db8000000000000000000000001', 'hex')));
  for (const bad of ['192.0.2.256', '192.0.2.01', '192.0.2.1 ', '', '2001:db8::1::2', '1.2.3.4::1', 'eth0']) {
    assert.throws(() => parseIp(bad), InvalidAddressError, bad);
    assert.throws(() => parseIp(bad), { code: 'TANDEM_EADDRESS' }, bad);
  }
  assert.throws(() => parseIp('192.0.2.300'), {
    message: 'expected an IPv4 or IPv6 address, found "192.0.2.300"',
  });
});

test('canonicalIp gives one spelling per address and throws for non-addresses', () => {
  assert.equal(canonicalIp('2001:0DB8:0000:0000:0001:0000:0000:0001'), '2001:db8::1:0:0:1');
  assert.equal(canonicalIp('fe80:0:0:0:0:0:0:1'), 'fe80::1');
  assert.equal(canonicalIp('198.51.100.7'), '198.51.100.7');
  assert.throws(() => canonicalIp('198.51.100'), { code: 'TANDEM_EADDRESS' });
});

test('formatIp takes the family from the byte length (as netlink hands addresses over)', () => {
  assert.equal(formatIp(Uint8Array.of(198, 51, 100, 7)), '198.51.100.7');
  assert.equal(formatIp(Buffer.from('20010db8000000000000000000000100', 'hex')), '2001:db8::100');
  assert.throws(() => formatIp(new Uint8Array(6)), {
    code: 'TANDEM_EADDRESS',
    message: 'expected 4 or 16 address bytes, found "6 bytes"',
  });
});

test('MAC addresses round-trip and malformed ones are rejected', () => {
  assert.equal(formatMac(parseMac('52:54:00:AB:cd:01')), '52:54:00:ab:cd:01');
  for (const bad of ['52:54:00:ab:cd', '52:54:00:ab:cd:01:02', '52-54-00-ab-cd-01', '52:54:00:ab:cd:0g']) {
    assert.throws(() => parseMac(bad), { code: 'TANDEM_EADDRESS' }, bad);
  }
});

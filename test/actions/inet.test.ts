import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  canonicalIp,
  formatIp,
  formatMac,
  ipv4Broadcast,
  ipv4Network,
  parseIp,
  parseMac,
} from '../../src/actions/inet.js';

test('parses IPv4 and rejects out-of-range or ambiguous octets', () => {
  assert.deepEqual(parseIp('192.0.2.1'), { family: 4, bytes: Uint8Array.of(192, 0, 2, 1) });
  for (const bad of ['192.0.2.256', '192.0.2', '192.0.2.01', '192.0.2.1 ', '']) {
    assert.throws(() => parseIp(bad), { code: 'TANDEM_EADDRESS' }, bad);
  }
});

test('parses IPv6 in every RFC 4291 text form', () => {
  const expected = Uint8Array.from(Buffer.from('20010db8000000000000000000000001', 'hex'));
  for (const text of ['2001:db8::1', '2001:DB8:0:0:0:0:0:1', '2001:db8:0::0:1']) {
    assert.deepEqual(parseIp(text), { family: 6, bytes: expected }, text);
  }
  assert.deepEqual(parseIp('::').bytes, new Uint8Array(16));
  assert.deepEqual(parseIp('::ffff:192.0.2.1').bytes.subarray(10), Uint8Array.of(0xff, 0xff, 192, 0, 2, 1));
  for (const bad of ['2001:db8::1::2', '2001:db8:1:2:3:4:5:6:7', '2001:db8::g', ':::', '1:2:3:4:5:6:7:8::']) {
    assert.throws(() => parseIp(bad), { code: 'TANDEM_EADDRESS' }, bad);
  }
});

test('formats IPv6 canonically (RFC 5952)', () => {
  assert.equal(canonicalIp('2001:0DB8:0000:0000:0001:0000:0000:0001'), '2001:db8::1:0:0:1');
  assert.equal(canonicalIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
  assert.equal(canonicalIp('0:0:0:0:0:0:0:0'), '::');
  assert.equal(canonicalIp('fe80:0:0:0:0:0:0:1'), 'fe80::1');
  assert.equal(formatIp(Uint8Array.of(198, 51, 100, 7)), '198.51.100.7');
});

test('computes the IPv4 broadcast address of a prefix', () => {
  const broadcast = (address: string, length: number) =>
    formatIp(ipv4Broadcast(parseIp(address).bytes, length));
  assert.equal(broadcast('192.0.2.10', 24), '192.0.2.255');
  assert.equal(broadcast('198.51.100.10', 27), '198.51.100.31');
  assert.equal(broadcast('203.0.113.9', 32), '203.0.113.9');
  const network = (address: string, length: number) => formatIp(ipv4Network(parseIp(address).bytes, length));
  assert.equal(network('198.51.100.10', 27), '198.51.100.0');
  assert.equal(network('198.51.100.200', 25), '198.51.100.128');
  assert.equal(network('203.0.113.9', 0), '0.0.0.0');
});

test('MAC addresses round-trip and malformed ones are rejected', () => {
  assert.equal(formatMac(parseMac('52:54:00:AB:cd:01')), '52:54:00:ab:cd:01');
  assert.throws(() => parseMac('52:54:00:ab:cd'), { code: 'TANDEM_EADDRESS' });
});

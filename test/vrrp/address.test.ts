import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalAddress,
  compareAddresses,
  formatIPv4,
  formatIPv6,
  ipv4Broadcast,
  ipv4Network,
  isIPv6LinkLocal,
  parseAddress,
  parseIPv4,
  parseIPv6,
} from '../../src/vrrp/address.js';

test('IPv4 parses dotted quads and refuses anything else', () => {
  assert.deepEqual([...(parseIPv4('192.0.2.1') ?? [])], [192, 0, 2, 1]);
  for (const bad of ['192.0.2', '192.0.2.256', '192.0.2.01', '1.2.3.4.5', '', 'a.b.c.d', ' 192.0.2.1']) {
    assert.equal(parseIPv4(bad), undefined, bad);
  }
});

test('IPv6 parses every RFC 4291 text form and refuses malformed ones', () => {
  assert.equal(canonicalAddress('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(canonicalAddress('::'), '::');
  assert.equal(canonicalAddress('::1'), '::1');
  assert.equal(canonicalAddress('fe80::'), 'fe80::');
  assert.equal(canonicalAddress('::ffff:192.0.2.1'), '::ffff:c000:201');
  assert.equal(canonicalAddress('2001:db8:0::0:1'), '2001:db8::1');
  assert.equal(canonicalAddress('1:2:3:4:5:6:192.0.2.1'), '1:2:3:4:5:6:c000:201');
  const bad = [':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', ':1', '1:', '1:2:3:4:5:6:7'];
  // `::` must stand for at least one group; dotted IPv4 may only be the last 32 bits (RFC 4291 §2.2 form 3).
  bad.push(
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '1.2.3.4::',
    '1.2.3.4::1',
    '192.0.2.1:1::',
    '::192.0.2.256',
  );
  for (const text of bad) assert.equal(parseIPv6(text), undefined, text);
});

test('parseAddress picks the family whose syntax matches, and nothing else', () => {
  assert.deepEqual(parseAddress('198.51.100.7'), { family: 4, bytes: Uint8Array.of(198, 51, 100, 7) });
  assert.equal(parseAddress('2001:db8::1')?.family, 6);
  for (const text of ['', 'eth0', '198.51.100.7/24', 'fe80::1%eth0', '2001:db8::1 ']) {
    assert.equal(parseAddress(text), undefined, text);
  }
});

test('IPv6 formats canonically (RFC 5952 §4)', () => {
  const format = (text: string) => formatIPv6(parseIPv6(text) as Uint8Array);
  assert.equal(format('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1'); // first of two equal runs
  assert.equal(format('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1'); // a single zero group stays
  assert.equal(format('2001:0:0:1:0:0:0:1'), '2001:0:0:1::1'); // the longest run wins
  assert.equal(format('0:0:0:0:0:0:0:0'), '::');
});

test('addresses compare as unsigned integers in network order', () => {
  assert.ok(compareAddresses('192.0.2.10', '192.0.2.9') > 0);
  assert.ok(compareAddresses('192.0.2.9', '198.51.100.1') < 0);
  assert.equal(compareAddresses('2001:db8::1', '2001:DB8:0::1'), 0);
  assert.ok(compareAddresses('fe80::2', 'fe80::1') > 0);
  assert.throws(() => compareAddresses('nonsense', '192.0.2.1'), TypeError);
});

test('link-local detection covers fe80::/10 only', () => {
  assert.equal(isIPv6LinkLocal('fe80::1'), true);
  assert.equal(isIPv6LinkLocal('febf::1'), true);
  assert.equal(isIPv6LinkLocal('fec0::1'), false);
  assert.equal(isIPv6LinkLocal('2001:db8::1'), false);
  assert.equal(isIPv6LinkLocal('192.0.2.1'), false);
});

test('IPv4 broadcast and network addresses of a prefix', () => {
  const broadcast = (text: string, length: number) => formatIPv4(ipv4Broadcast(parseIPv4(text)!, length));
  const network = (text: string, length: number) => formatIPv4(ipv4Network(parseIPv4(text)!, length));
  assert.equal(broadcast('192.0.2.10', 24), '192.0.2.255');
  assert.equal(broadcast('198.51.100.10', 27), '198.51.100.31');
  assert.equal(broadcast('203.0.113.9', 32), '203.0.113.9');
  assert.equal(broadcast('203.0.113.9', 0), '255.255.255.255');
  assert.equal(network('198.51.100.10', 27), '198.51.100.0');
  assert.equal(network('198.51.100.200', 25), '198.51.100.128');
  assert.equal(network('203.0.113.9', 32), '203.0.113.9');
  assert.equal(network('203.0.113.9', 0), '0.0.0.0');
});

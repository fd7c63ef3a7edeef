/**
 * Golden bytes from a real keepalived 2.2 (Debian package), captured in network namespaces by
 * test/fixtures/keepalived/capture.sh. Each advert must decode to what its keepalived.conf declares, and tandem
 * must encode the same values to the very same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type ChecksumMode, type VrrpAdvertisement, decode, encode } from '../../src/vrrp/packet.js';

const DIRECTORY = join(import.meta.dirname, '..', 'fixtures', 'keepalived');

interface Fixture {
  variant: string;
  keepalived: string;
  family: 4 | 6;
  source: string;
  destination: string;
  ttlOrHopLimit: number;
  vrrpHex: string;
  config: string;
}

/** What each capture's keepalived.conf declares, written out by hand from the config text. */
const DECLARED: Record<string, { advert: Omit<VrrpAdvertisement, 'family'>; checksumMode: ChecksumMode }> = {
  'v2-noauth': {
    advert: {
      version: 2,
      vrid: 51,
      priority: 150,
      advertIntervalCentiseconds: 100,
      addresses: ['192.0.2.100', '192.0.2.101'],
      auth: { type: 'none' },
    },
    checksumMode: 'message-only',
  },
  'v2-pass': {
    advert: {
      version: 2,
      vrid: 52,
      priority: 100,
      advertIntervalCentiseconds: 200,
      addresses: ['192.0.2.110'],
      auth: { type: 'simple', password: 'secret12' },
    },
    checksumMode: 'message-only',
  },
  // keepalived truncates a longer auth_pass to its first 8 bytes.
  'v2-pass-long': {
    advert: {
      version: 2,
      vrid: 56,
      priority: 100,
      advertIntervalCentiseconds: 100,
      addresses: ['192.0.2.140'],
      auth: { type: 'simple', password: 'secret12' },
    },
    checksumMode: 'message-only',
  },
  'v2-pass-short': {
    advert: {
      version: 2,
      vrid: 60,
      priority: 100,
      advertIntervalCentiseconds: 100,
      addresses: ['192.0.2.170'],
      auth: { type: 'simple', password: 'abc' },
    },
    checksumMode: 'message-only',
  },
  // The advert keepalived sends on SIGTERM: priority 0 (RFC 3768 §6.4.3).
  'v2-prio0': {
    advert: {
      version: 2,
      vrid: 55,
      priority: 0,
      advertIntervalCentiseconds: 100,
      addresses: ['192.0.2.130'],
      auth: { type: 'none' },
    },
    checksumMode: 'message-only',
  },
  'v3-ipv4': {
    advert: {
      version: 3,
      vrid: 53,
      priority: 200,
      advertIntervalCentiseconds: 100,
      addresses: ['192.0.2.120', '192.0.2.121'],
      auth: { type: 'none' },
    },
    checksumMode: 'pseudo-header',
  },
  'v3-ipv4-50cs': {
    advert: {
      version: 3,
      vrid: 53,
      priority: 200,
      advertIntervalCentiseconds: 50,
      addresses: ['192.0.2.120', '192.0.2.121'],
      auth: { type: 'none' },
    },
    checksumMode: 'pseudo-header',
  },
  'v3-ipv4-unicast': {
    advert: {
      version: 3,
      vrid: 57,
      priority: 200,
      advertIntervalCentiseconds: 100,
      addresses: ['192.0.2.150'],
      auth: { type: 'none' },
    },
    checksumMode: 'pseudo-header',
  },
  // keepalived `old_unicast_checksum`: the pseudo-header names 224.0.0.18 though the packet went to the peer.
  'v3-ipv4-unicast-oldcksum': {
    advert: {
      version: 3,
      vrid: 58,
      priority: 200,
      advertIntervalCentiseconds: 100,
      addresses: ['192.0.2.160'],
      auth: { type: 'none' },
    },
    checksumMode: 'multicast-destination',
  },
  'v3-ipv6': {
    advert: {
      version: 3,
      vrid: 54,
      priority: 120,
      advertIntervalCentiseconds: 100,
      addresses: ['fe80::54', '2001:db8::120'],
      auth: { type: 'none' },
    },
    checksumMode: 'pseudo-header',
  },
  'v3-ipv6-global-first': {
    advert: {
      version: 3,
      vrid: 59,
      priority: 120,
      advertIntervalCentiseconds: 100,
      addresses: ['2001:db8::120', 'fe80::54'],
      auth: { type: 'none' },
    },
    checksumMode: 'pseudo-header',
  },
};

const fixtures = readdirSync(DIRECTORY)
  .filter((name) => name.endsWith('.json'))
  .map((name) => JSON.parse(readFileSync(join(DIRECTORY, name), 'utf8')) as Fixture);

test('the captures cover every kind the codec must speak with keepalived', () => {
  const variants = fixtures.map((fixture) => fixture.variant);
  for (const required of ['v2-noauth', 'v2-pass', 'v3-ipv4', 'v3-ipv6'])
    assert.ok(variants.includes(required), required);
  assert.deepEqual(variants.sort(), Object.keys(DECLARED).sort(), 'every capture has its declared values');
  for (const fixture of fixtures) {
    assert.match(fixture.keepalived, /Keepalived v2\.2/);
    assert.equal(fixture.ttlOrHopLimit, 255, `${fixture.variant}: RFC 5798 §5.1.1.3 TTL/hop limit 255`);
  }
});

for (const fixture of fixtures) {
  test(`keepalived capture ${fixture.variant}: decodes to its config and re-encodes to the same bytes`, () => {
    const declared = DECLARED[fixture.variant];
    assert.ok(declared, `no declared values for ${fixture.variant}`);
    const bytes = new Uint8Array(Buffer.from(fixture.vrrpHex, 'hex'));
    const pseudoHeader = { source: fixture.source, destination: fixture.destination };
    const result = decode(bytes, { family: fixture.family, pseudoHeader });
    assert.ok(result.ok, JSON.stringify(result));
    const { checksum: _checksum, checksumMode, ...value } = result.value;
    assert.deepEqual(value, { ...declared.advert, family: fixture.family });
    assert.equal(checksumMode, declared.checksumMode);
    const encoded = encode(value, { pseudoHeader, checksumMode });
    assert.equal(Buffer.from(encoded).toString('hex'), fixture.vrrpHex);
  });
}

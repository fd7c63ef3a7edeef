/**
 * Golden bytes from the real ucarp (test/fixtures/ucarp, made by capture.ts in network namespaces). The command
 * line each capture ran is read back with tandem's ucarp parser; every advert must then decode to what that
 * command line asks for, verify with ucarp's HMAC and the right passphrase (and fail with a wrong one), and
 * re-encode byte for byte from tandem's own signature.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type UcarpOptions,
  parseUcarpArguments,
  ucarpScriptArguments,
} from '../../src/carp/ucarp-options.js';
import { createCarpAuthenticator } from '../../src/vrrp/carp-auth.js';
import { CARP_TTL, decode, encode } from '../../src/vrrp/carp.js';
import { classifyProtocol112 } from '../../src/vrrp/protocol112.js';

const DIRECTORY = join(import.meta.dirname, '..', 'fixtures', 'ucarp');

interface Fixture {
  variant: string;
  ucarp: string;
  argv: string[];
  passphrase: string;
  virtualAddress: string;
  source: string;
  destination: string;
  ethernetSource: string;
  ethernetDestination: string;
  ttl: number;
  ipHeaderHex: string;
  adverts: string[];
  scriptCalls?: { script: string; argv: string[] }[];
}

const fixtures = readdirSync(DIRECTORY)
  .filter((name) => name.endsWith('.json'))
  .map((name) => JSON.parse(readFileSync(join(DIRECTORY, name), 'utf8')) as Fixture);

function commandLine(fixture: Fixture): UcarpOptions {
  const parsed = parseUcarpArguments(fixture.argv.slice(1));
  assert.equal(parsed.kind, 'options', `${fixture.variant}: ${JSON.stringify(parsed)}`);
  return (parsed as Extract<typeof parsed, { kind: 'options' }>).options;
}

/** RFC 1112 §6.4: the group's low 23 bits under 01:00:5e. */
function multicastMac(group: string): string {
  const [, second = 0, third = 0, fourth = 0] = group.split('.').map(Number);
  return ['01', '00', '5e', (second & 0x7f).toString(16), third.toString(16), fourth.toString(16)]
    .map((part) => part.padStart(2, '0'))
    .join(':');
}

test('the captures cover the variants the codec must speak with ucarp', () => {
  const variants = fixtures.map((fixture) => fixture.variant).sort();
  assert.deepEqual(variants, [
    'mcast-group',
    'nomcast-broadcast',
    'passphrase-19-bytes',
    'passphrase-utf8',
    'scripts-xparam',
    'vhid1-defaults',
    'vhid255-advskew255',
    'vhid42-advbase2-advskew100',
  ]);
  for (const fixture of fixtures) assert.match(fixture.ucarp, /^ucarp 1\.5\.2/);
});

for (const fixture of fixtures) {
  test(`ucarp capture ${fixture.variant}: decodes to its command line, verifies, re-encodes`, () => {
    const options = commandLine(fixture);
    assert.equal(options.password.from, 'argument');
    const passphrase = options.password.from === 'argument' ? options.password.value : '';
    assert.equal(passphrase, fixture.passphrase);
    // The IP and Ethernet headers ucarp builds itself (carp.c carp_send_ad).
    assert.equal(fixture.ttl, CARP_TTL);
    assert.equal(fixture.source, options.sourceAddress);
    assert.equal(fixture.destination, options.multicastGroup);
    assert.equal(fixture.ipHeaderHex.slice(0, 4), '4510', 'IPv4, 20-byte header, TOS 0x10 (IPTOS_LOWDELAY)');
    assert.equal(fixture.ipHeaderHex.slice(12, 20), '4000ff70', 'DF, TTL 255, protocol 112');
    assert.equal(fixture.ethernetSource, `00:00:5e:00:00:${options.vhid.toString(16).padStart(2, '0')}`);
    assert.equal(
      fixture.ethernetDestination,
      options.broadcast ? 'ff:ff:ff:ff:ff:ff' : multicastMac(options.multicastGroup),
    );

    const authenticator = createCarpAuthenticator({
      variant: 'ucarp',
      passphrase,
      vhid: options.vhid,
      addresses: [options.virtualAddress],
    });
    const wrongPassphrase = createCarpAuthenticator({
      variant: 'ucarp',
      // One character changed, so the 19-byte case stays within ucarp's length.
      passphrase: passphrase.slice(0, -1) + (passphrase.endsWith('x') ? 'y' : 'x'),
      vhid: options.vhid,
      addresses: [options.virtualAddress],
    });
    const wrongAddress = createCarpAuthenticator({
      variant: 'ucarp',
      passphrase,
      vhid: options.vhid,
      addresses: ['192.0.2.254'],
    });
    const counters = new Set<bigint>();
    for (const text of fixture.adverts) {
      const bytes = new Uint8Array(Buffer.from(text, 'hex'));
      assert.deepEqual(classifyProtocol112(bytes, 4), { protocol: 'carp' });
      const result = decode(bytes);
      assert.ok(result.ok, `${fixture.variant}: ${result.ok ? '' : result.reason}`);
      const { value } = result;
      assert.deepEqual(
        { vhid: value.vhid, advbase: value.advbase, advskew: value.advskew, demote: value.demote },
        { vhid: options.vhid, advbase: options.advbase, advskew: options.advskew, demote: 0 },
      );
      assert.equal(authenticator.verify(value.counter, value.digest), true, 'the right passphrase verifies');
      assert.equal(wrongPassphrase.verify(value.counter, value.digest), false, 'a wrong passphrase does not');
      assert.equal(wrongAddress.verify(value.counter, value.digest), false, 'another VIP does not');
      const signed = authenticator.sign(value.counter);
      assert.deepEqual(signed, value.digest, 'tandem signs as ucarp does');
      const reencoded = encode({ ...value, digest: signed });
      assert.equal(Buffer.from(reencoded).toString('hex'), text, 'byte for byte');
      counters.add(value.counter);
    }
    // ucarp alone (it never heard a peer) draws a new random counter for every advert.
    assert.equal(counters.size, fixture.adverts.length);
  });
}

test('ucarp calls its scripts as SCRIPT INTERFACE VIP [XPARAM]: down at start, up on MASTER, down at exit (-z)', () => {
  const fixture = fixtures.find((item) => item.variant === 'scripts-xparam');
  assert.ok(fixture?.scriptCalls);
  const expected = ucarpScriptArguments(commandLine(fixture));
  assert.deepEqual(expected, ['eth0', '192.0.2.111', 'extra value']);
  assert.deepEqual(fixture.scriptCalls, [
    { script: 'vip-down.sh', argv: expected },
    { script: 'vip-up.sh', argv: expected },
    { script: 'vip-down.sh', argv: expected },
  ]);
});

/**
 * The CARP receive ladder (src/vrrp/carp-receive.ts) and the protocol-112 demultiplexer (src/vrrp/demux.ts)
 * that hands it CARP payloads: each rung's named reason, the counter rules (a varying sender may not repeat a
 * counter; an advert carrying one of our own counters is our own), and fuzzing of the whole receive path:
 * random and mutated packets never throw, and each one is either accepted or counted once, by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '../../src/vrrp/carp.js';
import { createCarpAuthenticator } from '../../src/vrrp/carp-auth.js';
import { CarpReceiver } from '../../src/vrrp/carp-receive.js';
import { RECEIVE_DISCARD_REASONS } from '../../src/vrrp/counters.js';
import { VridDemux } from '../../src/vrrp/demux.js';
import { encode as encodeVrrp } from '../../src/vrrp/packet.js';
import { fuzzInput, xorshift32 } from '../helpers/fuzz.js';

const VIP = '192.0.2.100';
const auth = (passphrase: string) =>
  createCarpAuthenticator({ variant: 'openbsd', passphrase, vhid: 7, addresses: [VIP] });
const signer = auth('s3cret');

function advert(counter: bigint, options: { advskew?: number; demote?: number; passphrase?: string } = {}) {
  const key = options.passphrase === undefined ? signer : auth(options.passphrase);
  return encode({
    vhid: 7,
    advbase: 1,
    advskew: options.advskew ?? 0,
    demote: options.demote ?? 0,
    counter,
    digest: key.sign(counter),
  });
}

const packet = (payload: Uint8Array, source = '192.0.2.2', ttl: number | undefined = 255) => ({
  payload,
  source,
  destination: '224.0.0.18',
  ttl,
});

function receiver(own: Set<bigint> = new Set(), peers: { address: string }[] = []) {
  return new CarpReceiver(
    { unicastPeers: peers, primaryAddress: '192.0.2.1', authenticator: signer },
    () => ({ forgetAfterMicroseconds: 3_000_000, ownCounters: own }),
  );
}

test('the ladder accepts a signed advert and hands the election advbase, advskew and demote', () => {
  const result = receiver().receive(packet(advert(10n, { advskew: 20, demote: 2 })), 0);
  assert.equal(result.ok, true);
  if (!result.ok) return;
  assert.deepEqual(result.advert, {
    priority: 1,
    advertIntervalCentiseconds: 108,
    carp: { advbase: 1, advskew: 20, demote: 2 },
  });
});

test('each rung refuses by name: peer, TTL, codec, own address, HMAC, replayed and own counters', () => {
  const reason = (r: ReturnType<CarpReceiver['receive']>) => (r.ok ? 'accepted' : r.reason);
  assert.equal(
    reason(receiver(new Set(), [{ address: '192.0.2.3' }]).receive(packet(advert(1n)), 0)),
    'unknown-peer',
  );
  assert.equal(reason(receiver().receive(packet(advert(1n), '192.0.2.2', 64), 0)), 'bad-ttl');
  const corrupt = advert(1n);
  corrupt[20] = (corrupt[20] as number) ^ 0xff;
  assert.equal(reason(receiver().receive(packet(corrupt), 0)), 'bad-checksum');
  assert.equal(reason(receiver().receive(packet(advert(1n).subarray(0, 30)), 0)), 'truncated');
  assert.equal(reason(receiver().receive(packet(advert(1n), '192.0.2.1'), 0)), 'own-advert');
  assert.equal(reason(receiver().receive(packet(advert(1n, { passphrase: 'wrong' })), 0)), 'auth-mismatch');
  assert.equal(reason(receiver(new Set([5n])).receive(packet(advert(5n)), 0)), 'own-advert');
  // A varying sender (ucarp, FreeBSD) may not use a counter again; a constant one (OpenBSD's cookie) may.
  const varying = receiver();
  assert.equal(reason(varying.receive(packet(advert(10n)), 0)), 'accepted');
  assert.equal(reason(varying.receive(packet(advert(11n)), 1)), 'accepted');
  assert.equal(reason(varying.receive(packet(advert(10n)), 2)), 'replayed-counter');
  const constant = receiver();
  for (let index = 0; index < 3; index++)
    assert.equal(reason(constant.receive(packet(advert(99n)), index)), 'accepted');
});

test('the demultiplexer sends CARP to CARP and VRRP to VRRP on one id, and counts what is neither', () => {
  const demux = new VridDemux(4);
  const got: string[] = [];
  demux.register(7, () => got.push('vrrp'));
  demux.register(7, () => got.push('carp'), 'carp');
  assert.equal(
    demux.register(7, () => undefined, 'carp'),
    false,
    'one CARP instance per vhid',
  );
  const vrrp = encodeVrrp(
    {
      version: 3,
      family: 4,
      vrid: 7,
      priority: 100,
      advertIntervalCentiseconds: 100,
      addresses: [VIP],
      auth: { type: 'none' },
    },
    { pseudoHeader: { source: '192.0.2.2', destination: '224.0.0.18' } },
  );
  demux.deliver(packet(advert(1n)));
  demux.deliver(packet(vrrp));
  const neither = Uint8Array.from(vrrp);
  neither[0] = 0x41;
  demux.deliver(packet(neither));
  const otherVhid = advert(1n);
  otherVhid[1] = 8;
  demux.deliver(packet(otherVhid));
  assert.deepEqual(got, ['carp', 'vrrp', 'vrrp']);
  assert.deepEqual(
    { ...demux.counters },
    { received: 4, unknownVrid: 0, unknownVhid: 1, neitherProtocol: 1, malformedIp: 0, sendErrors: 0 },
  );
  assert.deepEqual(demux.registeredVhids, [7]);
  demux.unregister(7, 'carp');
  assert.deepEqual(demux.registeredVhids, []);
  assert.deepEqual(demux.registeredVrids, [7]);
});

test('fuzz: 50,000 random and mutated packets through demux and ladder never throw; each is accepted or counted by name', () => {
  const seeds = [advert(1n), advert(2n, { advskew: 200, demote: 5 }), advert(3n, { passphrase: 'other' })];
  const next = xorshift32(0x3c6ef372);
  const names = new Set<string>(RECEIVE_DISCARD_REASONS);
  const outcomes = new Map<string, number>();
  for (let run = 0; run < 50_000; run++) {
    const demux = new VridDemux(run % 5 === 0 ? 6 : 4);
    const ladder = receiver();
    let outcome = 'not-carp';
    demux.register(
      7,
      (p) => {
        const result = ladder.receive(p, run);
        outcome = result.ok ? 'accepted' : result.reason;
      },
      'carp',
    );
    const payload = fuzzInput(run, seeds, next, { maxRandomLength: 64, maxExtension: 9 });
    try {
      demux.deliver(packet(payload, '192.0.2.2', run % 9 === 0 ? 1 : 255));
    } catch (error) {
      assert.fail(`threw on ${Buffer.from(payload).toString('hex')}: ${String(error)}`);
    }
    assert.ok(outcome === 'accepted' || outcome === 'not-carp' || names.has(outcome), outcome);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  for (const expected of ['accepted', 'not-carp', 'bad-checksum', 'auth-mismatch', 'bad-ttl'])
    assert.ok((outcomes.get(expected) ?? 0) > 0, `${expected} reached: ${JSON.stringify([...outcomes])}`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type ReceivePolicy,
  type ReceivedPacket,
  compilePolicy,
  receiveAdvert,
} from '../../src/vrrp/receive.js';
import { RECEIVE_DISCARD_REASONS } from '../../src/vrrp/counters.js';
import { type VrrpAdvertisement, encode } from '../../src/vrrp/packet.js';

const POLICY: ReceivePolicy = {
  version: 2,
  family: 4,
  auth: { type: 'simple', password: 'secret' },
  addresses: ['192.0.2.100', '192.0.2.101'],
  skipCheckAdvAddr: false,
  unicastPeers: [],
  advertIntervalCentiseconds: 100,
  priority: 100,
  primaryAddress: '192.0.2.2',
};

const ADVERT: VrrpAdvertisement = {
  version: 2,
  family: 4,
  vrid: 51,
  priority: 100,
  advertIntervalCentiseconds: 100,
  addresses: ['192.0.2.101', '192.0.2.100'],
  auth: { type: 'simple', password: 'secret' },
};

function packet(
  advert: Partial<VrrpAdvertisement> = {},
  extra: Partial<ReceivedPacket> = {},
): ReceivedPacket {
  const value = { ...ADVERT, ...advert };
  const pseudoHeader = { source: '192.0.2.3', destination: '224.0.0.18' };
  return { payload: encode(value, { pseudoHeader }), ...pseudoHeader, ttl: 255, ...extra };
}

function reason(received: ReceivedPacket, policy: Partial<ReceivePolicy> = {}) {
  const result = receiveAdvert(received, compilePolicy({ ...POLICY, ...policy }));
  return result.ok ? 'ok' : result.reason;
}

test('a matching advert passes, in any address order', () => {
  assert.equal(reason(packet()), 'ok');
});

test('each RFC 5798 §7.1 check rejects with its own reason', () => {
  assert.equal(reason(packet({}, { ttl: 254 })), 'bad-ttl');
  assert.equal(reason(packet({}, { payload: packet().payload.subarray(0, 3) })), 'truncated');
  assert.equal(reason(packet({}, { payload: new Uint8Array(3) })), 'bad-version');
  assert.equal(reason(packet({ version: 3, auth: { type: 'none' } })), 'version-mismatch');
  assert.equal(reason(packet({ auth: { type: 'none' } })), 'auth-type-mismatch');
  assert.equal(reason(packet({ auth: { type: 'simple', password: 'wrong' } })), 'auth-mismatch');
  assert.equal(reason(packet({ auth: { type: 'simple', password: 'secret1' } })), 'auth-mismatch');
  assert.equal(reason(packet({ auth: { type: 'simple', password: 'secre' } })), 'auth-mismatch');
  assert.equal(reason(packet({ addresses: ['192.0.2.100'] })), 'address-mismatch');
  assert.equal(reason(packet({ addresses: ['192.0.2.100', '192.0.2.102'] })), 'address-mismatch');
  // RFC 3768 §7.1: a v2 interval other than the configured one.
  assert.equal(reason(packet({ advertIntervalCentiseconds: 200 })), 'interval-mismatch');
  // This router's own advert, looped back.
  assert.equal(reason(packet({}, { source: '192.0.2.2' })), 'own-advert');
});

test('the ladder runs in the RFC order: the first failing check names the packet', () => {
  // Bad TTL and bad version: TTL comes first (RFC 5798 §7.1 lists it first).
  assert.equal(reason(packet({ version: 3, auth: { type: 'none' } }, { ttl: 1 })), 'bad-ttl');
  // Wrong version and truncated: the version byte is read first.
  const v3 = packet({ version: 3, auth: { type: 'none' } });
  assert.equal(reason({ ...v3, payload: v3.payload.subarray(0, 6) }), 'version-mismatch');
  // Wrong password and wrong addresses: authentication (RFC 3768 §7.1) before the address list.
  assert.equal(
    reason(packet({ auth: { type: 'simple', password: 'wrong' }, addresses: ['192.0.2.9'] })),
    'auth-mismatch',
  );
  // Wrong addresses and wrong interval: the address list before the interval.
  assert.equal(
    reason(packet({ addresses: ['192.0.2.9', '192.0.2.8'], advertIntervalCentiseconds: 300 })),
    'address-mismatch',
  );
  // Every reason the ladder can give is in the counter table.
  for (const name of ['bad-ttl', 'version-mismatch', 'auth-mismatch', 'address-mismatch', 'own-advert'])
    assert.ok((RECEIVE_DISCARD_REASONS as readonly string[]).includes(name), name);
});

test('the address owner accepts adverts for its VRID and says so (RFC 9568 erratum 8298)', () => {
  const result = receiveAdvert(packet({ priority: 200 }), compilePolicy({ ...POLICY, priority: 255 }));
  assert.ok(result.ok);
  assert.equal(result.ownerConflict, true);
  assert.deepEqual(result.advert, { priority: 200, advertIntervalCentiseconds: 100 });
  const normal = receiveAdvert(packet(), compilePolicy(POLICY));
  assert.ok(normal.ok);
  assert.equal(normal.ownerConflict, false);
});

test('IPv6: addresses compared as bytes, in any order and any spelling', () => {
  const policy = compilePolicy({
    ...POLICY,
    version: 3,
    family: 6,
    auth: { type: 'none' },
    addresses: ['fe80::10', '2001:db8:0:0::10'],
    primaryAddress: 'fe80::2',
  });
  const advert: VrrpAdvertisement = {
    version: 3,
    family: 6,
    vrid: 51,
    priority: 100,
    advertIntervalCentiseconds: 100,
    addresses: ['2001:db8::10', 'fe80::10'],
    auth: { type: 'none' },
  };
  const pseudoHeader = { source: 'fe80::3', destination: 'ff02::12' };
  const received = { payload: encode(advert, { pseudoHeader }), ...pseudoHeader, ttl: 255 };
  assert.equal(receiveAdvert(received, policy).ok, true);
  const other = { ...advert, addresses: ['2001:db8::11', 'fe80::10'] };
  const refused = receiveAdvert({ ...received, payload: encode(other, { pseudoHeader }) }, policy);
  assert.equal(refused.ok ? 'ok' : refused.reason, 'address-mismatch');
});

test('the address owner and skip_check_adv_addr bypass the address comparison (RFC 5798 §7.1)', () => {
  assert.equal(reason(packet({ addresses: ['192.0.2.9'], priority: 255 })), 'ok');
  assert.equal(reason(packet({ addresses: ['192.0.2.9'] }), { skipCheckAdvAddr: true }), 'ok');
});

test('unicast mode accepts only configured peers, each within its TTL range', () => {
  const unicastPeers = [{ address: '192.0.2.3', minTtl: 250, maxTtl: 255 }];
  const unicast = (ttl: number, source = '192.0.2.3') => {
    const pseudoHeader = { source, destination: '192.0.2.2' };
    return { payload: encode(ADVERT, { pseudoHeader }), ...pseudoHeader, ttl };
  };
  assert.equal(reason(unicast(252), { unicastPeers }), 'ok');
  assert.equal(reason(unicast(249), { unicastPeers }), 'bad-ttl');
  assert.equal(reason(unicast(255, '192.0.2.4'), { unicastPeers }), 'unknown-peer');
  assert.equal(reason(unicast(1), { unicastPeers: [{ address: '192.0.2.3' }] }), 'ok');
});

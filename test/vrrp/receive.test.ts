import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ReceivePolicy, type ReceivedPacket, receiveAdvert } from '../../src/vrrp/receive.js';
import { type VrrpAdvertisement, encode } from '../../src/vrrp/packet.js';

const POLICY: ReceivePolicy = {
  version: 2,
  family: 4,
  vrid: 51,
  auth: { type: 'simple', password: 'secret' },
  addresses: ['192.0.2.100', '192.0.2.101'],
  skipCheckAdvAddr: false,
  unicastPeers: [],
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
  const result = receiveAdvert(received, { ...POLICY, ...policy });
  return result.ok ? 'ok' : result.reason;
}

test('a matching advert passes, in any address order', () => {
  assert.equal(reason(packet()), 'ok');
});

test('each RFC 5798 §7.1 check rejects with its own reason', () => {
  assert.equal(reason(packet({}, { ttl: 254 })), 'bad-ttl');
  assert.equal(reason(packet({}, { payload: new Uint8Array(3) })), 'truncated');
  assert.equal(reason(packet({ version: 3, auth: { type: 'none' } })), 'version-mismatch');
  assert.equal(reason(packet({ auth: { type: 'none' } })), 'auth-type-mismatch');
  assert.equal(reason(packet({ auth: { type: 'simple', password: 'wrong' } })), 'auth-mismatch');
  assert.equal(reason(packet({ addresses: ['192.0.2.100'] })), 'address-mismatch');
  assert.equal(reason(packet({ addresses: ['192.0.2.100', '192.0.2.102'] })), 'address-mismatch');
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

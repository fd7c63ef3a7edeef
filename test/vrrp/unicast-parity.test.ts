/**
 * keepalived's unicast knobs and the down timer, as tandem runs them: `check_unicast_src` (off: any source is
 * accepted, as keepalived does), `old_unicast_checksum` (send, refuse, and learn the pre-1.3.6 checksum form),
 * `unicast_ttl` (handed to the socket with each unicast advert) and `down_timer_adverts` (Master_Down_Interval).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../src/core/manual-clock.js';
import { AdvertChannel, type AdvertChannelOptions } from '../../src/vrrp/advert-channel.js';
import { newInstanceCounters } from '../../src/vrrp/counters.js';
import type { PacketHandler } from '../../src/vrrp/demux.js';
import { initialState, masterDownInterval } from '../../src/vrrp/fsm.js';
import { decodeHeader, encode } from '../../src/vrrp/packet.js';

const OWN = '192.0.2.1';
const PEER = '192.0.2.2';
const STRANGER = '192.0.2.9';
const ADDRESSES = ['192.0.2.100'];

function setup(receive: Partial<AdvertChannelOptions['receive']> = {}, unicastTtl?: number) {
  const sent: { payload: Uint8Array; destination: string; ttl: number | undefined }[] = [];
  let handler: PacketHandler | undefined;
  const socket = {
    register: (_vrid: number, registered: PacketHandler) => void (handler = registered),
    unregister: () => void (handler = undefined),
    send: async (payload: Uint8Array, destination: string, _source: string | undefined, ttl?: number) =>
      void sent.push({ payload, destination, ttl }),
  };
  const counters = newInstanceCounters();
  const infos: string[] = [];
  const delivered: string[] = [];
  const channel = new AdvertChannel({
    version: 3,
    family: 4,
    vrid: 51,
    advertIntervalCentiseconds: 100,
    addresses: ADDRESSES,
    auth: { type: 'none' },
    source: OWN,
    destinations: [PEER],
    receive: { skipCheckAdvAddr: false, unicastPeers: [{ address: PEER }], priority: 100, ...receive },
    ...(unicastTtl === undefined ? {} : { unicastTtl }),
    counters,
    clock: new ManualClock(),
    log: { info: (_, message) => void infos.push(message), warn: () => undefined, error: () => undefined },
    deliver: (advert, source) => void delivered.push(`${source} ${advert.priority}`),
  });
  channel.open(socket);
  return {
    channel,
    sent,
    counters,
    infos,
    delivered,
    receive: (payload: Uint8Array, source = PEER, ttl = 255) =>
      handler?.({ payload, source, destination: OWN, ttl }),
  };
}

/** A peer's unicast advert to this router, checksummed the RFC 5798 way or keepalived's pre-1.3.6 way. */
function advertFrom(source: string, form: 'pseudo-header' | 'multicast-destination' = 'pseudo-header') {
  return encode(
    {
      version: 3,
      family: 4,
      vrid: 51,
      priority: 150,
      advertIntervalCentiseconds: 100,
      addresses: ADDRESSES,
      auth: { type: 'none' },
    },
    { pseudoHeader: { source, destination: OWN }, checksumMode: form },
  );
}

/** The checksum form of a sent advert, as a receiver that knows the real destination decodes it. */
function formOf(payload: Uint8Array, destination: string): string | undefined {
  const decoded = decodeHeader(payload, {
    family: 4,
    version: 3,
    pseudoHeader: { source: OWN, destination },
  });
  return decoded.ok ? decoded.value.checksumMode : decoded.reason;
}

test('check_unicast_src: on, a source that is no unicast_peer is discarded; off (keepalived default), it is accepted', () => {
  const checked = setup({ checkUnicastSource: true });
  checked.receive(advertFrom(STRANGER), STRANGER);
  assert.equal(checked.counters.discarded['unknown-peer'], 1);
  assert.deepEqual(checked.delivered, []);

  const unchecked = setup({ checkUnicastSource: false });
  unchecked.receive(advertFrom(STRANGER), STRANGER, 64);
  assert.equal(unchecked.counters.discarded['unknown-peer'], 0);
  assert.deepEqual(unchecked.delivered, [`${STRANGER} 150`], 'any source, and its TTL is not checked');
});

test('old_unicast_checksum absent: adverts use RFC 5798 checksums until a peer sends the old form, then the old form', async () => {
  const { channel, sent, receive, delivered, infos } = setup();
  await channel.send(100);
  assert.equal(formOf(sent[0]!.payload, PEER), 'pseudo-header');
  receive(advertFrom(PEER, 'multicast-destination'));
  assert.deepEqual(delivered, [`${PEER} 150`], 'the old form is accepted');
  assert.equal(infos.length, 1, 'the switch is logged once');
  await channel.send(100);
  assert.equal(
    formOf(sent[1]!.payload, PEER),
    'multicast-destination',
    'now sent as keepalived < 1.3.6 expects',
  );
  receive(advertFrom(PEER, 'multicast-destination'));
  assert.equal(infos.length, 1);
});

test('old_unicast_checksum: always sends the old form and refuses the new; never refuses the old form', async () => {
  const always = setup({ oldUnicastChecksum: 'always' });
  await always.channel.send(100);
  assert.equal(formOf(always.sent[0]!.payload, PEER), 'multicast-destination');
  always.receive(advertFrom(PEER, 'pseudo-header'));
  assert.equal(always.counters.discarded['bad-checksum'], 1);
  always.receive(advertFrom(PEER, 'multicast-destination'));
  assert.deepEqual(always.delivered, [`${PEER} 150`]);

  const never = setup({ oldUnicastChecksum: 'never' });
  never.receive(advertFrom(PEER, 'multicast-destination'));
  assert.equal(never.counters.discarded['bad-checksum'], 1);
  assert.deepEqual(never.delivered, []);
  await never.channel.send(100);
  assert.equal(formOf(never.sent[0]!.payload, PEER), 'pseudo-header', 'never learns the old form');
});

test('unicast_ttl goes to the socket with every unicast advert; absent, the socket default (255)', async () => {
  const withTtl = setup({}, 64);
  await withTtl.channel.send(100);
  assert.equal(withTtl.sent[0]!.ttl, 64);
  const without = setup();
  await without.channel.send(100);
  assert.equal(without.sent[0]!.ttl, undefined);
});

test('down_timer_adverts: Master_Down_Interval is that many advert intervals plus Skew_Time', () => {
  const params = {
    version: 3 as const,
    family: 4 as const,
    vrid: 51,
    priority: 100,
    advertIntervalCentiseconds: 100,
    preempt: true,
    preemptDelayMicroseconds: 0,
    primaryAddress: OWN,
    acceptMode: true,
    lowerPriorityNoAdvert: false,
    higherPrioritySendAdvert: false,
  };
  const skew = Math.floor((156 * 100 * 10_000) / 256);
  assert.equal(masterDownInterval(initialState(params)), 3 * 1_000_000 + skew, 'RFC 5798 §6.1');
  assert.equal(masterDownInterval(initialState({ ...params, masterDownAdverts: 5 })), 5 * 1_000_000 + skew);
  assert.equal(masterDownInterval(initialState({ ...params, masterDownAdverts: 1 })), 1_000_000 + skew);
});

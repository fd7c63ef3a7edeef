/**
 * The receive ladder of a CARP virtual host, in ip_carp.c's order (carp_proto_input_if / carp_proto_input_c,
 * docs/carp.md "Header"), each rejection a named reason counted in the instance's one table
 * (`vrrp/counters.ts`), never an exception:
 *
 *   0. unicast peers configured (OpenBSD carppeer): the source is one of them           unknown-peer
 *   1. TTL / hop limit 255 ("CARP_DFLTTL"; a unicast peer's own range)                  bad-ttl
 *   2. length, checksum, version, type, vhid, auth length (the codec, carp.ts)          truncated, oversized,
 *                                                                                       bad-checksum, bad-version,
 *                                                                                       bad-type, bad-vrid,
 *                                                                                       count-mismatch
 *   3. the source is this router's own address: its own advert, looped back            own-advert
 *   4. the SHA-1 HMAC (carp-auth.ts): a wrong passphrase, other addresses              auth-mismatch
 *   5. the counter: one this router sent (own-advert, "replay or network loop
 *      detected"), or one a varying sender already used                                replayed-counter
 *
 * The vhid was matched by the socket's demultiplexer (`demux.ts`); an accepted advert goes to the election as
 * advbase, advskew and demote (`AdvertSummary.carp`).
 */
import { canonicalAddress } from './address.js';
import { type CarpAdvertisement, decode, isBowOut } from './carp.js';
import {
  type CarpAuthenticator,
  type CounterHistory,
  type CounterPolicy,
  checkCounter,
} from './carp-auth.js';
import { CARP_TTL } from './carp.js';
import type { ReceiveDiscardReason } from './counters.js';
import type { AdvertSummary } from './fsm.js';
import { carpInterval } from './profile.js';
import type { ReceivedPacket, UnicastPeer } from './receive.js';

/** What one CARP instance accepts. */
export interface CarpReceivePolicy {
  /** Unicast mode when non-empty: only these sources, each within its TTL range. */
  unicastPeers: readonly UnicastPeer[];
  /** This router's own address: a packet from it is its own advert. */
  primaryAddress: string;
  authenticator: CarpAuthenticator;
}

export type CarpReceiveResult =
  | { ok: true; advert: AdvertSummary; decoded: CarpAdvertisement }
  | { ok: false; reason: ReceiveDiscardReason; detail: string };

const CODEC_REASON: Record<string, ReceiveDiscardReason> = {
  truncated: 'truncated',
  oversized: 'oversized',
  'bad-checksum': 'bad-checksum',
  'bad-version': 'bad-version',
  'bad-type': 'bad-type',
  'bad-vhid': 'bad-vrid',
  // Byte 3 is CARP's auth length and VRRP's address count: one name for a wrong value there.
  'bad-authlen': 'count-mismatch',
};

const CENTISECOND = 10_000;

/**
 * The receiver of one CARP instance: the ladder above, with the per-sender counter histories it keeps. The
 * histories change only when an advert is accepted.
 */
export class CarpReceiver {
  private readonly histories = new Map<string, CounterHistory>();
  private readonly peers: ReadonlyMap<string, UnicastPeer>;
  private readonly primaryAddress: string;

  constructor(
    private readonly policy: CarpReceivePolicy,
    private readonly counterPolicy: () => CounterPolicy,
  ) {
    this.peers = new Map(
      policy.unicastPeers.map((peer) => [canonicalAddress(peer.address) ?? peer.address, peer] as const),
    );
    this.primaryAddress = canonicalAddress(policy.primaryAddress) ?? policy.primaryAddress;
  }

  receive(packet: ReceivedPacket, nowMicroseconds: number): CarpReceiveResult {
    // 0. OpenBSD carppeer / tandem unicast_peer: only configured peers.
    let peer: UnicastPeer | undefined;
    if (this.peers.size > 0) {
      peer = this.peers.get(canonicalAddress(packet.source) ?? packet.source);
      if (!peer) return reject('unknown-peer', `source ${packet.source} is not a configured unicast_peer`);
    }
    // 1. ip_carp.c: "verify that the IP TTL is 255" (CARP_DFLTTL).
    if (packet.ttl !== undefined) {
      const minimum = peer ? (peer.minTtl ?? 0) : CARP_TTL;
      const maximum = peer ? (peer.maxTtl ?? CARP_TTL) : CARP_TTL;
      if (packet.ttl < minimum || packet.ttl > maximum)
        return reject(
          'bad-ttl',
          `expected TTL ${minimum === maximum ? minimum : `${minimum}-${maximum}`}, got ${packet.ttl}`,
        );
    }
    // 2. ip_carp.c: length, "verify the CARP checksum", "verify the CARP version" (and what tandem names).
    const decoded = decode(packet.payload);
    if (!decoded.ok) return reject(CODEC_REASON[decoded.reason] ?? 'truncated', decoded.detail);
    const advert = decoded.value;
    // 3. A packet from this router's own address is its own advert, looped back.
    if ((canonicalAddress(packet.source) ?? packet.source) === this.primaryAddress)
      return reject('own-advert', `the source ${packet.source} is this router's own address`);
    // 4. ip_carp.c carp_hmac_verify: "incorrect hash".
    if (!this.policy.authenticator.verify(advert.counter, advert.digest))
      return reject(
        'auth-mismatch',
        'the HMAC does not verify (another passphrase, or other virtual addresses)',
      );
    // 5. ip_carp.c: a counter of our own is "replay or network loop detected"; tandem also refuses a counter a
    // varying sender (ucarp, FreeBSD) already used (carp-auth.ts checkCounter).
    const key = canonicalAddress(packet.source) ?? packet.source;
    const verdict = checkCounter(
      this.histories.get(key),
      advert.counter,
      nowMicroseconds,
      this.counterPolicy(),
    );
    if (!verdict.accept)
      return reject(verdict.reason === 'own-counter' ? 'own-advert' : 'replayed-counter', verdict.detail);
    this.histories.set(key, verdict.history);
    return {
      ok: true,
      decoded: advert,
      advert: {
        // For the driver's counters and logs only: 0 marks the bow-out, the election reads `carp`.
        priority: isBowOut(advert) ? 0 : 1,
        advertIntervalCentiseconds: Math.round(carpInterval(advert) / CENTISECOND),
        carp: { advbase: advert.advbase, advskew: advert.advskew, demote: advert.demote },
      },
    };
  }
}

function reject(reason: ReceiveDiscardReason, detail: string): CarpReceiveResult {
  return { ok: false, reason, detail };
}

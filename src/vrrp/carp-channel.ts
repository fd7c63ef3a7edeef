/**
 * The advert channel of one CARP virtual host, beside the VRRP one (`advert-channel.ts`) on the same shared
 * socket of its interface and family: what goes out (adverts signed with the HMAC, a fresh random counter each)
 * and what comes in (the CARP ladder, `carp-receive.ts`, discards counted in the instance's one table and logged
 * at most once per reason and interval). The socket hands it the payloads its header classifies as CARP with
 * this vhid (`demux.ts`).
 *
 * Counters: tandem sends a fresh random 64-bit counter in every advert, as ucarp does before it hears a peer
 * (docs/carp.md, "Counter and replays"); peers then see a varying sender, and an advert carrying one of the
 * counters tandem sent recently is its own, looped back.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { ChannelClosedError, DISCARD_LOG_INTERVAL_MICROSECONDS } from './advert-channel.js';
import type { AdvertSocket } from './advert-channel.js';
import { BOW_OUT_ADVBASE, BOW_OUT_ADVSKEW, CARP_DIGEST_LENGTH, encode } from './carp.js';
import type { CarpAuthenticator } from './carp-auth.js';
import { CarpReceiver } from './carp-receive.js';
import type { InstanceCounters } from './counters.js';
import type { AdvertSummary } from './fsm.js';
import { CARP_DEMOTE_MAX } from './fsm.js';
import type { ReceivedPacket, UnicastPeer } from './receive.js';

/** How many of its own counters a channel remembers to recognise its adverts looped back. */
const OWN_COUNTERS_REMEMBERED = 256;

export interface CarpChannelOptions {
  vhid: number;
  advbase: number;
  advskew: number;
  /** This router's own address: the source of its adverts. */
  source: string;
  /** The multicast group, or every unicast peer. */
  destinations: readonly string[];
  unicastPeers: readonly UnicastPeer[];
  authenticator: CarpAuthenticator;
  /** How long a silent sender's counter pattern is remembered (the master-down interval). */
  forgetAfterMicroseconds: () => number;
  counters: InstanceCounters;
  clock: Clock;
  log: Logger;
  /** An advert that passed the ladder, for the driver. */
  deliver(advert: AdvertSummary, source: string): void;
  /** 64 random bits per advert (injectable so that tests get known bytes). */
  randomCounter?: () => bigint;
}

function secureRandomCounter(): bigint {
  return randomBytes(8).readBigUInt64BE(0);
}

export class CarpChannel {
  private readonly receiver: CarpReceiver;
  private readonly ownCounters = new Set<bigint>();
  private readonly lastLog = new Map<string, number>();
  private socket: AdvertSocket | undefined;

  constructor(private readonly options: CarpChannelOptions) {
    this.receiver = new CarpReceiver(
      {
        unicastPeers: options.unicastPeers,
        primaryAddress: options.source,
        authenticator: options.authenticator,
      },
      () => ({
        forgetAfterMicroseconds: options.forgetAfterMicroseconds(),
        ownCounters: this.ownCounters,
      }),
    );
  }

  get source(): string {
    return this.options.source;
  }

  /** Starts receiving this vhid's CARP adverts from `socket` (throws when another CARP instance has it there). */
  open(socket: AdvertSocket): void {
    socket.register(this.options.vhid, (packet) => this.onPacket(packet), 'carp');
    this.socket = socket;
  }

  close(): void {
    this.socket?.unregister(this.options.vhid, 'carp');
    this.socket = undefined;
  }

  /**
   * Sends one advert to every destination. Priority 0 is the bow-out (ip_carp.c sc_bow_out): advbase and advskew
   * 255, with the highest demotion; otherwise the configured advbase and advskew with `demote`.
   */
  async send(priority: number, demote = 0): Promise<void> {
    const socket = this.socket;
    if (!socket) throw new ChannelClosedError(this.options.vhid);
    const payload = this.advert(priority, demote);
    const { destinations, source } = this.options;
    await Promise.all(destinations.map((destination) => socket.send(payload, destination, source)));
  }

  /** One encoded advert with a fresh counter, remembered as this router's own. */
  advert(priority: number, demote: number): Uint8Array {
    const bowOut = priority === 0;
    const counter = this.nextCounter();
    return encode({
      vhid: this.options.vhid,
      advbase: bowOut ? BOW_OUT_ADVBASE : this.options.advbase,
      advskew: bowOut ? BOW_OUT_ADVSKEW : this.options.advskew,
      demote: bowOut ? CARP_DEMOTE_MAX : demote,
      counter,
      digest: this.options.authenticator.sign(counter).subarray(0, CARP_DIGEST_LENGTH),
    });
  }

  private nextCounter(): bigint {
    const counter = (this.options.randomCounter ?? secureRandomCounter)();
    this.ownCounters.add(counter);
    if (this.ownCounters.size > OWN_COUNTERS_REMEMBERED) {
      const oldest = this.ownCounters.values().next().value as bigint;
      this.ownCounters.delete(oldest);
    }
    return counter;
  }

  private onPacket(packet: ReceivedPacket): void {
    const { counters, clock } = this.options;
    const result = this.receiver.receive(packet, clock.nowMicroseconds());
    if (result.ok) {
      this.options.deliver(result.advert, packet.source);
      return;
    }
    counters.discarded[result.reason]++;
    const now = clock.nowMicroseconds();
    const last = this.lastLog.get(result.reason);
    if (last !== undefined && now - last < DISCARD_LOG_INTERVAL_MICROSECONDS) return;
    this.lastLog.set(result.reason, now);
    this.options.log.warn(
      {
        reason: result.reason,
        source: packet.source,
        detail: result.detail,
        count: counters.discarded[result.reason],
      },
      'advert discarded',
    );
  }
}

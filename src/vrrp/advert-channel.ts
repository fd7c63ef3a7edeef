/**
 * The advert channel of one virtual router: what goes out (adverts, prebuilt) and what comes in (the receive
 * ladder, discards counted and logged), over the socket its interface and family share with other instances
 * (docs/architecture.md, "Rooms").
 *
 * Sending: an advert's bytes depend only on the priority and the destination (the v3 checksum covers the
 * pseudo-header), so each (priority, destination) is encoded once, on first use, and the same bytes go out at
 * every Adver_Timer after. A tracking change that moves the priority builds one more; nothing is re-encoded per
 * packet.
 *
 * Receiving: `receiveAdvert` (the RFC 5798 §7.1 ladder); an accepted advert goes to the driver, a refused one
 * is counted in the instance's one table and logged at most once per reason and interval. The ladder's verdict
 * depends only on the packet's bytes (payload, source, destination), its TTL and this channel's fixed policy,
 * so an exact repeat of the last advert accepted, what a backup hears from its master at every interval, is
 * accepted again by comparing those bytes, with the same summary and source as before: no string, view or
 * result is built for it (issue 11, docs/performance.md).
 */
import type { Clock } from '../core/clock.js';
import { TandemError } from '../errors.js';
import type { Logger } from '../core/logger.js';
import { MICROSECONDS_PER_SECOND } from '../core/time.js';
import type { Family } from './address.js';
import type { InstanceCounters, ReceiveDiscardReason } from './counters.js';
import type { PacketHandler, Protocol112Name } from './demux.js';
import type { AdvertSummary } from './fsm.js';
import { type VrrpAuth, type VrrpVersion, encode } from './packet.js';
import { type ReceivePolicy, type ReceivedPacket, compilePolicy, receiveAdvert } from './receive.js';
import type { CompiledPolicy, PacketBytes } from './receive.js';

/** At most one log line per discard reason and instance in this window (docs/architecture.md, "Logs"). */
export const DISCARD_LOG_INTERVAL_MICROSECONDS = 10 * MICROSECONDS_PER_SECOND;

/** The part of a VRRP socket a channel uses. */
export interface AdvertSocket {
  register(vrid: number, handler: PacketHandler, protocol?: Protocol112Name): void;
  unregister(vrid: number, protocol?: Protocol112Name): void;
  /** `ttl`: the TTL / hop limit (255 when absent, RFC 5798 §5.1.1.3). */
  send(payload: Uint8Array, destination: string, source: string | undefined, ttl?: number): Promise<void>;
}

export interface AdvertChannelOptions {
  version: VrrpVersion;
  family: Family;
  vrid: number;
  advertIntervalCentiseconds: number;
  /** The VIPs advertised, in configured order. */
  addresses: readonly string[];
  auth: VrrpAuth;
  /** This router's primary address: the source of its adverts. */
  source: string;
  /** The multicast group, or every unicast peer. */
  destinations: readonly string[];
  receive: Pick<
    ReceivePolicy,
    'skipCheckAdvAddr' | 'unicastPeers' | 'priority' | 'checkUnicastSource' | 'oldUnicastChecksum'
  >;
  /** keepalived `unicast_ttl`: the TTL / hop limit of unicast adverts (255 when absent). */
  unicastTtl?: number;
  counters: InstanceCounters;
  clock: Clock;
  log: Logger;
  /** An advert that passed the ladder, for the driver. */
  deliver(advert: AdvertSummary, source: string): void;
  /** Told of each packet the ladder refused, after it was counted (events, status warnings). */
  onDiscard?(reason: ReceiveDiscardReason, source: string, detail: string): void;
}

export class ChannelClosedError extends TandemError {
  constructor(vrid: number) {
    super(
      'TANDEM_ECHANNEL',
      `VRID ${vrid}: expected an open socket to send on, found none (no interface yet)`,
    );
  }
}

export class AdvertChannel {
  /** Encoded adverts by priority, one per destination, in `destinations` order. */
  private readonly prebuilt = new Map<number, Uint8Array[]>();
  private readonly policy: CompiledPolicy;
  private readonly lastLog = new Map<string, number>();
  private socket: AdvertSocket | undefined;
  /**
   * Whether unicast VRRPv3 IPv4 adverts carry keepalived's pre-1.3.6 checksum (pseudo-header destination
   * 224.0.0.18): `old_unicast_checksum`, or learned from a peer that sends that form (keepalived does the same).
   */
  private oldChecksum: boolean;
  /** The last advert accepted from a socket buffer: its payload, source and destination bytes, back to back. */
  private lastBytes = new Uint8Array(0);
  private lastLength = 0;
  private lastTtl: number | undefined;
  private lastChecksumVerified: boolean | undefined;
  /** What the ladder made of it; undefined until an advert was accepted. */
  private lastAdvert: AdvertSummary | undefined;
  private lastSource = '';

  constructor(private readonly options: AdvertChannelOptions) {
    this.policy = compilePolicy({
      version: options.version,
      family: options.family,
      auth: options.auth,
      addresses: options.addresses,
      advertIntervalCentiseconds: options.advertIntervalCentiseconds,
      primaryAddress: options.source,
      ...options.receive,
    });
    this.oldChecksum = options.receive.oldUnicastChecksum === 'always';
  }

  get source(): string {
    return this.options.source;
  }

  /** Starts receiving this VRID's packets from `socket` (throws when another instance has the VRID there). */
  open(socket: AdvertSocket): void {
    socket.register(this.options.vrid, (packet) => this.onPacket(packet));
    this.socket = socket;
  }

  close(): void {
    this.socket?.unregister(this.options.vrid);
    this.socket = undefined;
  }

  /** Sends one advert with `priority` to every destination. */
  async send(priority: number): Promise<void> {
    const socket = this.socket;
    if (!socket) throw new ChannelClosedError(this.options.vrid);
    const payloads = this.adverts(priority);
    const { destinations, source, unicastTtl: ttl } = this.options;
    if (payloads.length === 1)
      return socket.send(payloads[0] as Uint8Array, destinations[0] as string, source, ttl);
    await Promise.all(
      payloads.map((payload, index) => socket.send(payload, destinations[index] as string, source, ttl)),
    );
  }

  /** The encoded adverts of `priority`, built on first use. */
  adverts(priority: number): readonly Uint8Array[] {
    let payloads = this.prebuilt.get(priority);
    if (payloads === undefined) {
      const { version, family, vrid, advertIntervalCentiseconds, addresses, auth, source } = this.options;
      const advert = {
        version,
        family,
        vrid,
        priority,
        advertIntervalCentiseconds,
        addresses: [...addresses],
        auth,
      };
      payloads = this.options.destinations.map((destination) =>
        encode(advert, {
          pseudoHeader: { source, destination },
          ...(this.oldChecksum ? { checksumMode: 'multicast-destination' as const } : {}),
        }),
      );
      this.prebuilt.set(priority, payloads);
    }
    return payloads;
  }

  private onPacket(packet: ReceivedPacket): void {
    const bytes = packet.bytes;
    if (bytes && this.lastAdvert && this.repeatsLast(bytes, packet.ttl, packet.checksumVerified)) {
      this.options.deliver(this.lastAdvert, this.lastSource);
      return;
    }
    const result = receiveAdvert(packet, this.policy);
    const { counters } = this.options;
    if (result.ok) {
      if (result.header.checksumMode === 'multicast-destination' && !this.oldChecksum) {
        // keepalived: a unicast peer that checksums the old way gets adverts checksummed the old way.
        this.oldChecksum = true;
        this.prebuilt.clear();
        this.options.log.info(
          { source: packet.source },
          'peer uses the pre-1.3.6 unicast VRRPv3 checksum; sending that form from now on',
        );
      }
      // An owner conflict is counted and logged per packet: never taken by the repeat comparison.
      if (bytes && !result.ownerConflict) this.remember(bytes, packet, result.advert);
      if (result.ownerConflict) {
        counters.ownerConflicts++;
        this.logLimited('owner-conflict', () => [
          { source: packet.source, priority: result.advert.priority, count: counters.ownerConflicts },
          'advert for a virtual router this router owns (priority 255): misconfiguration, processed anyway',
        ]);
      }
      this.options.deliver(result.advert, packet.source);
      return;
    }
    counters.discarded[result.reason]++;
    this.logLimited(result.reason, () => [
      {
        reason: result.reason,
        source: packet.source,
        detail: result.detail,
        count: counters.discarded[result.reason],
      },
      'advert discarded',
    ]);
    this.options.onDiscard?.(result.reason, packet.source, result.detail);
  }

  private addressLength(): number {
    return this.options.family === 4 ? 4 : 16;
  }

  /** Whether `bytes` hold exactly the payload, source and destination of the advert accepted last. */
  private repeatsLast(
    bytes: PacketBytes,
    ttl: number | undefined,
    checksumVerified: boolean | undefined,
  ): boolean {
    if (ttl !== this.lastTtl || checksumVerified !== this.lastChecksumVerified) return false;
    const { buffer, payloadStart, payloadEnd, sourceStart, destinationStart } = bytes;
    const payloadLength = payloadEnd - payloadStart;
    const size = this.addressLength();
    if (payloadLength + 2 * size !== this.lastLength) return false;
    const last = this.lastBytes;
    for (let index = 0; index < payloadLength; index++)
      if (buffer[payloadStart + index] !== last[index]) return false;
    for (let index = 0; index < size; index++) {
      if (buffer[sourceStart + index] !== last[payloadLength + index]) return false;
      if (buffer[destinationStart + index] !== last[payloadLength + size + index]) return false;
    }
    return true;
  }

  private remember(bytes: PacketBytes, packet: ReceivedPacket, advert: AdvertSummary): void {
    const { buffer, payloadStart, payloadEnd, sourceStart, destinationStart } = bytes;
    const payloadLength = payloadEnd - payloadStart;
    const size = this.addressLength();
    const length = payloadLength + 2 * size;
    if (this.lastBytes.length < length) this.lastBytes = new Uint8Array(length);
    this.lastBytes.set(buffer.subarray(payloadStart, payloadEnd), 0);
    this.lastBytes.set(buffer.subarray(sourceStart, sourceStart + size), payloadLength);
    this.lastBytes.set(buffer.subarray(destinationStart, destinationStart + size), payloadLength + size);
    this.lastLength = length;
    this.lastTtl = packet.ttl;
    this.lastChecksumVerified = packet.checksumVerified;
    this.lastAdvert = advert;
    this.lastSource = packet.source;
  }

  /** RFC 5798 §7.1 "SHOULD log the event (subject to rate-limiting)": once per key and interval. */
  private logLimited(key: string, line: () => [object, string]): void {
    const now = this.options.clock.nowMicroseconds();
    const last = this.lastLog.get(key);
    if (last !== undefined && now - last < DISCARD_LOG_INTERVAL_MICROSECONDS) return;
    this.lastLog.set(key, now);
    const [fields, message] = line();
    this.options.log.warn(fields, message);
  }
}

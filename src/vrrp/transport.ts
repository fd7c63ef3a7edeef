/**
 * VRRP sockets (IP protocol 112): one per interface and family, bound to the interface with SO_BINDTODEVICE,
 * member of 224.0.0.18 / ff02::12 there (or of the groups vrrp_mcast_group4/6 and mcast_dst_ip name), sending with TTL / hop limit 255 (RFC 5798 §5.1.1.3, §5.1.2.3).
 * Instances register by VRID; a received packet goes to the instance whose VRID it carries, together with
 * what the IP layer told (source, destination, TTL / hop limit), for the checks of RFC 5798 §7.1.
 *
 * Both families go through the native addon (`native/vrrp_socket.c`):
 * - receive: on each readable event the socket is drained (recvmmsg until the queue is empty) and the whole
 *   batch arrives in one callback, so after a stall every queued advert reaches its instance before any
 *   deferred timer expiry acts (DESIGN.md, stall safety, for many VRIDs on one interface);
 * - send: sendmsg, or sendmmsg for the adverts sent in the same tick (many instances whose timers fired
 *   together), straight from JavaScript, with no poll handle stopped and restarted per packet.
 * IPv4 is sent with IP_HDRINCL: the addon writes the header, so the source (primary address, `mcast_src_ip` or
 * `unicast_src_ip`), TTL 255 and TOS 0xc0 (internetwork control, as keepalived sends) do not depend on routing;
 * a received IPv4 datagram carries its header, parsed here for the TTL and addresses. IPv6 reports the hop
 * limit and destination as ancillary data and takes the source per packet in IPV6_PKTINFO: once a link-local VIP
 * (RFC 5798 §5.2.9 puts one first) is on the interface, the kernel's own choice for ff02::12 is the VIP, while
 * adverts must come from the router's own link-local address (RFC 5798 §5.1.2.1). The kernel fills and
 * verifies the IPv6 checksum over the real pseudo-header (IPV6_CHECKSUM, RFC 3542 §3.1).
 */
import { getSystemErrorName } from 'node:util';
import { type Family, formatAddress } from './address.js';
import { VRRP_PROTOCOL } from './packet.js';
import type { PacketBytes, ReceivedPacket } from './receive.js';
import {
  type PacketHandler,
  type Protocol112Name,
  type SocketCounters,
  VridDemux,
  type VrrpTransport,
} from './demux.js';
import type { Logger } from '../core/logger.js';
import { VRRP_GROUP_IPV4, VRRP_GROUP_IPV6 } from '../core/protocol.js';
import { TandemError } from '../errors.js';
import { type VrrpSocketHandle, forEachVrrpRecord, loadAddon } from '../native.js';

const IPV4_HEADER_LENGTH = 20;

export class TransportError extends TandemError {
  constructor(message: string, cause?: unknown) {
    super('TANDEM_ETRANSPORT', message, { cause });
  }
}

/** The part of the Logger the sockets use. */
export type TransportLogger = Pick<Logger, 'warn'>;

export type { PacketHandler, SocketCounters } from './demux.js';

/**
 * One received datagram as a view into the buffer the addon filled: offsets, with the payload view and the
 * address strings built only when something asks for them. The advert channel recognises a repeat of the advert
 * it accepted last by comparing the bytes at these offsets (vrrp/advert-channel.ts), so the common advert, the
 * current master's, builds none of them (issue 11). A socket reuses one view for every record of a batch: a
 * handler must not keep it past its call.
 */
export class PacketView implements ReceivedPacket, PacketBytes {
  buffer: Uint8Array = new Uint8Array(0);
  payloadStart = 0;
  payloadEnd = 0;
  sourceStart = 0;
  destinationStart = 0;
  ttl: number | undefined = undefined;
  /** The kernel verifies the IPv6 checksum (IPV6_CHECKSUM); an IPv4 one is the ladder's to verify. */
  readonly checksumVerified: boolean;
  #payload: Uint8Array | undefined;
  #source: string | undefined;
  #destination: string | undefined;

  constructor(readonly family: Family) {
    this.checksumVerified = family === 6;
  }

  get bytes(): PacketBytes {
    return this;
  }

  get payload(): Uint8Array {
    return (this.#payload ??= this.buffer.subarray(this.payloadStart, this.payloadEnd));
  }

  get source(): string {
    return (this.#source ??= formatAddress(this.family, this.buffer, this.sourceStart));
  }

  get destination(): string {
    return (this.#destination ??= formatAddress(this.family, this.buffer, this.destinationStart));
  }

  /** Points the view at another datagram. */
  place(
    buffer: Uint8Array,
    payloadStart: number,
    payloadEnd: number,
    sourceStart: number,
    destinationStart: number,
    ttl: number | undefined,
  ): this {
    this.buffer = buffer;
    this.payloadStart = payloadStart;
    this.payloadEnd = payloadEnd;
    this.sourceStart = sourceStart;
    this.destinationStart = destinationStart;
    this.ttl = ttl;
    this.#payload = undefined;
    this.#source = undefined;
    this.#destination = undefined;
    return this;
  }
}

/**
 * Places `view` on the IPv4 datagram in `buffer[start, end)` as a raw socket delivers it (header first, RFC 791
 * §3.1); false when it is not a well-formed VRRP packet: too short, not version 4, a header length under 5 words
 * or past the data, another protocol, or a total length that disagrees with the header or with what arrived.
 */
function placeIPv4(view: PacketView, buffer: Uint8Array, start: number, end: number): boolean {
  const length = end - start;
  if (length < IPV4_HEADER_LENGTH || (buffer[start] as number) >> 4 !== 4) return false;
  const headerLength = ((buffer[start] as number) & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH || length < headerLength) return false;
  if (buffer[start + 9] !== VRRP_PROTOCOL) return false;
  const totalLength = ((buffer[start + 2] as number) << 8) | (buffer[start + 3] as number);
  // Linux trims a received datagram to its total length (ip_rcv), so the two agree; a header that claims
  // less than itself or more than arrived is not one the kernel produced.
  if (totalLength < headerLength || totalLength > length) return false;
  view.place(buffer, start + headerLength, start + totalLength, start + 12, start + 16, buffer[start + 8]);
  return true;
}

/** Reads one IPv4 datagram (see `placeIPv4`) into a view of its own; `undefined` when it is not VRRP. */
export function parseIPv4Packet(buffer: Uint8Array): PacketView | undefined {
  const view = new PacketView(4);
  return placeIPv4(view, buffer, 0, buffer.length) ? view : undefined;
}

/** How one family's packets go in and out; `VrrpSocket` does the rest (demultiplexing, counters). */
interface Backend {
  send(payload: Uint8Array, destination: string, source: string | undefined, ttl?: number): Promise<void>;
  close(): void;
}

/** One received packet, or `undefined` for one that is not a well-formed IP datagram carrying VRRP. */
export type Deliver = (packet: ReceivedPacket | undefined) => void;

interface PendingSend {
  payload: Uint8Array;
  destination: string;
  source: string | undefined;
  /** keepalived `unicast_ttl`; 255 when absent. */
  ttl: number | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * The addon's socket for one family. Sends issued in the same tick (the adverts of every instance whose timer
 * fired in one timer callback) are queued and leave in one sendmmsg from a microtask; a lone send is one
 * sendmsg. `onBatch` gets each readable event's datagrams at once.
 */
function addonBackend(
  family: Family,
  interfaceName: string,
  ifindex: number,
  groups: readonly string[],
  onBatch: (batch: Buffer, count: number) => void,
): Backend {
  const addon = loadAddon();
  let handle: VrrpSocketHandle;
  try {
    handle = addon.openVrrpSocket(family, interfaceName, ifindex, groups, onBatch);
  } catch (error) {
    throw new TransportError(
      `cannot set up the IPv${family} VRRP socket on ${interfaceName} (needs CAP_NET_RAW): ${String(error)}`,
      error,
    );
  }
  let closed = false;
  let queue: PendingSend[] = [];
  const failure = (send: PendingSend, reason: string, cause?: unknown) =>
    send.reject(
      new TransportError(`sending to ${send.destination} on ${interfaceName} failed: ${reason}`, cause),
    );
  const sendOne = (send: PendingSend) => {
    try {
      addon.sendVrrp(handle, send.payload, send.destination, send.source, send.ttl);
      send.resolve();
    } catch (error) {
      failure(send, String(error), error);
    }
  };
  const flush = () => {
    let sends = queue;
    queue = [];
    if (closed) {
      for (const send of sends) failure(send, 'the socket is closed');
      return;
    }
    if (sends.length === 1) return sendOne(sends[0] as PendingSend);
    // sendmmsg carries the default TTL only: a datagram with its own (unicast_ttl) leaves alone.
    const own = sends.filter((send) => send.ttl !== undefined);
    if (own.length > 0) {
      for (const send of own) sendOne(send);
      sends = sends.filter((send) => send.ttl === undefined);
      if (sends.length === 0) return;
    }
    let errnos: number[];
    try {
      errnos = addon.sendVrrpBatch(
        handle,
        sends.map((send) => send.payload),
        sends.map((send) => send.destination),
        sends.map((send) => send.source),
      );
    } catch {
      // An argument the addon refused (a bad address) fails the whole call: send one by one, so that only
      // the datagram at fault fails.
      for (const send of sends) sendOne(send);
      return;
    }
    sends.forEach((send, index) => {
      const errno = errnos[index] ?? 0;
      if (errno === 0) send.resolve();
      else failure(send, `${getSystemErrorName(-errno)} (errno ${errno})`);
    });
  };
  return {
    send(payload, destination, source, ttl) {
      return new Promise((resolve, reject) => {
        queue.push({ payload, destination, source, ttl, resolve, reject });
        if (queue.length === 1) queueMicrotask(flush);
      });
    },
    close() {
      closed = true;
      addon.closeVrrpSocket(handle);
    },
  };
}

/** Hands every IPv4 datagram of one batch the addon read (`readVrrpRecords` format) to `deliver`, in `view`. */
export function readIPv4Batch(batch: Buffer, count: number, view: PacketView, deliver: Deliver): void {
  forEachVrrpRecord(batch, count, (record) =>
    deliver(!record.truncated && placeIPv4(view, batch, record.dataStart, record.dataEnd) ? view : undefined),
  );
}

/** IPv4: the datagram arrives with its header, parsed here for the TTL and the addresses. */
function ipv4Backend(
  interfaceName: string,
  ifindex: number,
  groups: readonly string[],
  deliver: Deliver,
): Backend {
  const view = new PacketView(4);
  const backend = addonBackend(4, interfaceName, ifindex, groups, (batch, count) =>
    readIPv4Batch(batch, count, view, deliver),
  );
  return {
    send(payload, destination, source, ttl) {
      // The header is ours: without a source the kernel would fill in the routing's choice, not the
      // configured address.
      if (!source) return Promise.reject(new TransportError(`no IPv4 source address on ${interfaceName}`));
      return backend.send(payload, destination, source, ttl);
    },
    close: () => backend.close(),
  };
}

/** IPv6: hop limit and destination reported per packet, source chosen per send. */
function ipv6Backend(
  interfaceName: string,
  ifindex: number,
  groups: readonly string[],
  deliver: Deliver,
): Backend {
  const view = new PacketView(6);
  return addonBackend(6, interfaceName, ifindex, groups, (batch, count) => {
    forEachVrrpRecord(batch, count, (record) =>
      deliver(
        record.truncated
          ? undefined
          : view.place(
              batch,
              record.dataStart,
              record.dataEnd,
              record.sourceOffset,
              record.destinationOffset,
              record.hopLimit,
            ),
      ),
    );
  });
}

/** One VRRP socket on one interface for one family, shared by every instance there. */
export class VrrpSocket implements VrrpTransport {
  private readonly demux: VridDemux;
  private backend: Backend;
  private currentIfindex: number;

  constructor(
    readonly interfaceName: string,
    ifindex: number,
    readonly family: Family,
    private options: {
      multicast: boolean;
      groups?: readonly string[];
      log: TransportLogger;
      onUnknownVrid?: (vrid: number, source: string) => void;
    },
  ) {
    this.demux = new VridDemux(family, (vrid, source) => this.options.onUnknownVrid?.(vrid, source));
    this.currentIfindex = ifindex;
    this.backend = this.open(ifindex);
  }

  get ifindex(): number {
    return this.currentIfindex;
  }

  private open(ifindex: number): Backend {
    const deliver: Deliver = (packet) => this.onPacket(packet);
    return this.family === 4
      ? ipv4Backend(this.interfaceName, ifindex, this.groups, deliver)
      : ipv6Backend(this.interfaceName, ifindex, this.groups, deliver);
  }

  /**
   * The interface was deleted and created again under the same name (SO_BINDTODEVICE and the group membership
   * named the old index), or a reload added a multicast instance to a unicast-only socket: the socket is
   * opened again. Registered instances stay registered.
   */
  rebind(ifindex: number, changes: { multicast?: boolean; groups?: readonly string[] } = {}): void {
    const previous = this.options;
    this.options = { ...previous, ...changes };
    let next: Backend;
    try {
      next = this.open(ifindex);
    } catch (error) {
      this.options = previous;
      throw error;
    }
    this.backend.close();
    this.backend = next;
    this.currentIfindex = ifindex;
  }

  get multicast(): boolean {
    return this.options.multicast;
  }

  /** The groups joined: none for a unicast-only socket, else the configured ones or the RFC 5798 group. */
  get groups(): readonly string[] {
    if (!this.options.multicast) return [];
    return this.options.groups ?? [this.family === 4 ? VRRP_GROUP_IPV4 : VRRP_GROUP_IPV6];
  }

  get counters(): SocketCounters {
    return this.demux.counters;
  }

  register(vrid: number, handler: PacketHandler, protocol: Protocol112Name = 'vrrp'): void {
    if (!this.demux.register(vrid, handler, protocol)) {
      const what = protocol === 'carp' ? 'CARP vhid' : 'VRID';
      throw new TransportError(
        `${what} ${vrid} is already in use on ${this.interfaceName} (IPv${this.family})`,
      );
    }
  }

  unregister(vrid: number, protocol: Protocol112Name = 'vrrp'): void {
    this.demux.unregister(vrid, protocol);
  }

  get registeredVrids(): number[] {
    return this.demux.registeredVrids;
  }

  get registeredVhids(): number[] {
    return this.demux.registeredVhids;
  }

  /**
   * Sends one VRRP message from `source`. IPv4 needs it (tandem writes the header); for IPv6, without one the
   * kernel chooses, and it would choose a link-local VIP: always pass the instance's own address.
   */
  async send(
    payload: Uint8Array,
    destination: string,
    source: string | undefined,
    ttl?: number,
  ): Promise<void> {
    try {
      await this.backend.send(payload, destination, source, ttl);
    } catch (error) {
      this.counters.sendErrors++;
      throw error;
    }
  }

  close(): void {
    this.backend.close();
  }

  private onPacket(packet: ReceivedPacket | undefined): void {
    this.demux.deliver(packet);
  }
}

/**
 * Raw-socket adapter for VRRP (IP protocol 112): one socket per interface and family, bound to the interface
 * with SO_BINDTODEVICE, member of 224.0.0.18 / ff02::12 there, sending with TTL / hop limit 255
 * (RFC 5798 §5.1.1.3, §5.1.2.3). Instances register by VRID; a received packet is handed to the instance whose
 * VRID it carries, together with what the IP layer told (source, destination, TTL).
 *
 * Both families write the IP header themselves (IP_HDRINCL, IPV6_HDRINCL), so that the source (primary address,
 * the interface's own link-local address for IPv6, `mcast_src_ip` or `unicast_src_ip`), TTL / hop limit 255 and
 * TOS / traffic class 0xc0 (internetwork control, as keepalived sends) do not depend on routing or on the kernel's
 * source address selection. That matters for IPv6: once a link-local VIP (RFC 5798 §5.2.9 puts one first) is on
 * the interface, the kernel picks it as the source of ff02::12 sends, and adverts must come from the router's
 * own link-local address (RFC 5798 §5.1.2.1), the one the other routers know it by. The IPv6 checksum is
 * computed here over the pseudo-header of the header actually sent; received IPv6 checksums are verified by the
 * kernel (IPV6_CHECKSUM, RFC 3542 §3.1). Received IPv4 packets carry their header, so the TTL check is explicit;
 * IPv6 sets IPV6_MINHOPCOUNT, but Linux does not apply it to raw sockets (an advert with hop limit 1 is
 * delivered; see the native IPv6 socket of 390dc4e, which reads the hop limit): the RFC 5798 §7.1 hop-limit
 * check is not enforced on this path.
 */
import raw, { type Socket as RawSocket } from 'raw-socket';
import { type Family, formatIPv4, parseAddress } from './address.js';
import { addToChecksum, finishChecksum } from './checksum.js';
import { VRRP_GROUP_IPV4, VRRP_GROUP_IPV6, VRRP_PROTOCOL } from './packet.js';
import type { ReceivedPacket } from './receive.js';
import { VRRP_TTL } from './receive.js';
import { TandemError } from '../errors.js';

// Linux socket option numbers that raw-socket does not name (from <linux/in.h>, <linux/in6.h>, <asm/socket.h>).
const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0;
const IPPROTO_IPV6 = 41;
const IP_HDRINCL = 3;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const IPV6_CHECKSUM = 7;
const IPV6_UNICAST_HOPS = 16;
const IPV6_MULTICAST_HOPS = 18;
const IPV6_MULTICAST_LOOP = 19;
const IPV6_ADD_MEMBERSHIP = 20;
const IPV6_MINHOPCOUNT = 73;
/** Linux >= 4.5: the IPv6 header comes with the data on send, as IP_HDRINCL does for IPv4. */
const IPV6_HDRINCL = 36;
/** Offset of the checksum in a VRRP message (RFC 5798 §5.1), for IPV6_CHECKSUM. */
const VRRP_CHECKSUM_OFFSET = 6;
/** RFC 791 TOS 0xc0, "internetwork control": what keepalived sends adverts with. */
const TOS_INTERNETWORK_CONTROL = 0xc0;
const IPV4_HEADER_LENGTH = 20;
/** RFC 8200 §3: the fixed IPv6 header. */
const IPV6_HEADER_LENGTH = 40;
/** The largest VRRP message (v2, 255 IPv4 addresses) plus an IPv4 header with options fits in this. */
const RECEIVE_BUFFER_BYTES = 4096;

export class TransportError extends TandemError {
  constructor(message: string, cause?: unknown) {
    super('TANDEM_ETRANSPORT', message, { cause });
  }
}

export interface TransportLogger {
  warn(object: object, message: string): void;
}

/** Receives the packets carrying one VRID on this interface and family. */
export type PacketHandler = (packet: ReceivedPacket) => void;

/** Counters of packets that reached no instance. */
export interface SocketCounters {
  received: number;
  unknownVrid: number;
  malformedIp: number;
  sendErrors: number;
}

function groupOf(family: Family): string {
  return family === 4 ? VRRP_GROUP_IPV4 : VRRP_GROUP_IPV6;
}

function addressBytes(text: string, family: Family): Uint8Array {
  const parsed = parseAddress(text);
  if (!parsed || parsed.family !== family)
    throw new TransportError(`'${text}' is not an IPv${family} address`);
  return parsed.bytes;
}

/** RFC 791 header with TTL 255; the kernel fills the ID, the total length and the header checksum. */
function ipv4Header(source: string, destination: string, payloadLength: number): Buffer {
  const header = Buffer.alloc(IPV4_HEADER_LENGTH);
  header[0] = 0x45;
  header[1] = TOS_INTERNETWORK_CONTROL;
  header.writeUInt16BE(IPV4_HEADER_LENGTH + payloadLength, 2);
  header[8] = VRRP_TTL;
  header[9] = VRRP_PROTOCOL;
  header.set(addressBytes(source, 4), 12);
  header.set(addressBytes(destination, 4), 16);
  return header;
}

/** RFC 8200 header: traffic class 0xc0, flow label 0, next header VRRP, hop limit 255 (RFC 5798 §5.1.2.3). */
function ipv6Header(source: string, destination: string, payloadLength: number): Buffer {
  const header = Buffer.alloc(IPV6_HEADER_LENGTH);
  header.writeUInt32BE(((6 << 28) | (TOS_INTERNETWORK_CONTROL << 20)) >>> 0, 0);
  header.writeUInt16BE(payloadLength, 4);
  header[6] = VRRP_PROTOCOL;
  header[7] = VRRP_TTL;
  header.set(addressBytes(source, 6), 8);
  header.set(addressBytes(destination, 6), 24);
  return header;
}

/**
 * The VRRPv3 message with its checksum over the IPv6 pseudo-header (RFC 5798 §5.2.8, RFC 8200 §8.1) of the
 * addresses it is really sent with, whatever checksum the caller put in.
 */
export function withIPv6Checksum(payload: Uint8Array, source: string, destination: string): Buffer {
  const message = Buffer.from(payload);
  if (message.length < VRRP_CHECKSUM_OFFSET + 2) return message;
  message.writeUInt16BE(0, VRRP_CHECKSUM_OFFSET);
  const lengthAndProtocol = Buffer.alloc(8);
  lengthAndProtocol.writeUInt32BE(message.length, 0);
  lengthAndProtocol[7] = VRRP_PROTOCOL;
  let sum = addToChecksum(0, addressBytes(source, 6));
  sum = addToChecksum(sum, addressBytes(destination, 6));
  sum = addToChecksum(sum, lengthAndProtocol);
  message.writeUInt16BE(finishChecksum(addToChecksum(sum, message)), VRRP_CHECKSUM_OFFSET);
  return message;
}

/** Reads an IPv4 packet as delivered to a raw socket; `undefined` when it is not a well-formed VRRP packet. */
export function parseIPv4Packet(buffer: Uint8Array): Omit<ReceivedPacket, 'checksumVerified'> | undefined {
  if (buffer.length < IPV4_HEADER_LENGTH || (buffer[0] as number) >> 4 !== 4) return undefined;
  const headerLength = ((buffer[0] as number) & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH || buffer.length < headerLength) return undefined;
  if (buffer[9] !== VRRP_PROTOCOL) return undefined;
  const totalLength = ((buffer[2] as number) << 8) | (buffer[3] as number);
  // The kernel hands raw sockets the datagram as received; trust the shorter of what came and what it says.
  const end = Math.min(buffer.length, totalLength >= headerLength ? totalLength : buffer.length);
  return {
    payload: buffer.subarray(headerLength, end),
    ttl: buffer[8] as number,
    source: formatIPv4(buffer, 12),
    destination: formatIPv4(buffer, 16),
  };
}

/** One raw socket on one interface for one family, shared by every instance there. */
export class VrrpSocket {
  private readonly handlers = new Map<number, PacketHandler>();
  private readonly socket: RawSocket;
  private readonly joinedGroup: boolean;
  readonly counters: SocketCounters = { received: 0, unknownVrid: 0, malformedIp: 0, sendErrors: 0 };
  private closed = false;
  /** IPv6: whether IPV6_HDRINCL is on (set per send, see `send`). */
  private ipv6HeaderIncluded = false;

  constructor(
    readonly interfaceName: string,
    readonly ifindex: number,
    readonly family: Family,
    options: { multicast: boolean; log: TransportLogger },
  ) {
    try {
      this.socket = raw.createSocket({
        protocol: VRRP_PROTOCOL,
        addressFamily: family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
        bufferSize: RECEIVE_BUFFER_BYTES,
      });
    } catch (error) {
      throw new TransportError(`cannot open a raw VRRP socket (needs CAP_NET_RAW): ${String(error)}`, error);
    }
    try {
      const name = Buffer.from(`${interfaceName}\0`);
      this.socket.setOption(SOL_SOCKET, SO_BINDTODEVICE, name, name.length);
      if (family === 4) {
        this.setInteger(IPPROTO_IP, IP_HDRINCL, 1);
        this.setInteger(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
      } else {
        this.setInteger(IPPROTO_IPV6, IPV6_CHECKSUM, VRRP_CHECKSUM_OFFSET);
        this.setInteger(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, VRRP_TTL);
        this.setInteger(IPPROTO_IPV6, IPV6_UNICAST_HOPS, VRRP_TTL);
        this.setInteger(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0);
        // RFC 5798 §7.1: hop limit 255 for multicast. Unicast peers may be routed (keepalived min_ttl/max_ttl), so
        // the floor applies only where every packet is multicast.
        if (options.multicast) this.setInteger(IPPROTO_IPV6, IPV6_MINHOPCOUNT, VRRP_TTL);
      }
      if (options.multicast) this.join();
      this.joinedGroup = options.multicast;
    } catch (error) {
      this.socket.close();
      throw error instanceof TransportError
        ? error
        : new TransportError(`cannot set up the VRRP socket on ${interfaceName}: ${String(error)}`, error);
    }
    this.socket.on('message', (buffer: Buffer, source: string) => this.onMessage(buffer, source));
    this.socket.on('error', (error: Error) => {
      if (!this.closed)
        options.log.warn({ interface: interfaceName, family, err: error }, 'VRRP socket error');
    });
  }

  get multicast(): boolean {
    return this.joinedGroup;
  }

  register(vrid: number, handler: PacketHandler): void {
    if (this.handlers.has(vrid)) {
      throw new TransportError(`VRID ${vrid} is already in use on ${this.interfaceName} (IPv${this.family})`);
    }
    this.handlers.set(vrid, handler);
  }

  unregister(vrid: number): void {
    this.handlers.delete(vrid);
  }

  get registeredVrids(): number[] {
    return [...this.handlers.keys()];
  }

  /**
   * Sends one VRRP message from `source` with our own IP header. An IPv6 message without a `source` goes out
   * with the kernel's choice of source and checksum, which may be a link-local VIP: pass the source.
   */
  send(payload: Uint8Array, destination: string, source: string | undefined): Promise<void> {
    let packet: Buffer;
    let headerIncluded = true;
    try {
      if (this.family === 4) {
        if (!source) throw new TransportError(`no IPv4 source address on ${this.interfaceName}`);
        packet = Buffer.concat([ipv4Header(source, destination, payload.length), payload]);
      } else if (source) {
        packet = Buffer.concat([
          ipv6Header(source, destination, payload.length),
          withIPv6Checksum(payload, source, destination),
        ]);
      } else {
        packet = Buffer.from(payload);
        headerIncluded = false;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      // raw-socket queues sends; the header mode is set right before this packet's sendto().
      const beforeSend = this.family === 6 ? () => this.includeIPv6Header(headerIncluded) : null;
      this.socket.send(packet, 0, packet.length, destination, beforeSend, (error: Error | null) => {
        if (error) {
          this.counters.sendErrors++;
          reject(
            new TransportError(`sending to ${destination} on ${this.interfaceName} failed: ${error.message}`),
          );
        } else resolve();
      });
    });
  }

  private includeIPv6Header(included: boolean): void {
    if (this.ipv6HeaderIncluded === included) return;
    this.setInteger(IPPROTO_IPV6, IPV6_HDRINCL, included ? 1 : 0);
    this.ipv6HeaderIncluded = included;
  }

  close(): void {
    this.closed = true;
    this.socket.close();
  }

  private setInteger(level: number, option: number, value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeInt32LE(value);
    this.socket.setOption(level, option, buffer, 4);
  }

  private join(): void {
    if (this.family === 4) {
      // struct ip_mreqn { in_addr multiaddr; in_addr address; int ifindex; }
      const request = Buffer.alloc(12);
      request.set(addressBytes(VRRP_GROUP_IPV4, 4), 0);
      request.writeInt32LE(this.ifindex, 8);
      this.socket.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, request, request.length);
    } else {
      // struct ipv6_mreq { in6_addr multiaddr; int ifindex; }
      const request = Buffer.alloc(20);
      request.set(addressBytes(groupOf(6), 6), 0);
      request.writeInt32LE(this.ifindex, 16);
      this.socket.setOption(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, request, request.length);
    }
  }

  private onMessage(buffer: Buffer, source: string): void {
    this.counters.received++;
    let packet: ReceivedPacket | undefined;
    if (this.family === 4) {
      packet = parseIPv4Packet(buffer);
    } else {
      // IPv6 raw sockets deliver the payload only; the kernel verified the checksum and the hop limit floor.
      // The destination is not reported: multicast is the group, unicast is ours (the checksum is done).
      packet = {
        payload: buffer,
        source: source.replace(/%.*$/, ''),
        destination: this.joinedGroup ? VRRP_GROUP_IPV6 : '::',
        ttl: undefined,
        checksumVerified: true,
      };
    }
    if (!packet) {
      this.counters.malformedIp++;
      return;
    }
    const vrid = packet.payload.length >= 2 ? (packet.payload[1] as number) : -1;
    const handler = this.handlers.get(vrid);
    if (!handler) {
      this.counters.unknownVrid++;
      return;
    }
    handler(packet);
  }
}

/**
 * Raw-socket adapter for VRRP (IP protocol 112): one socket per interface and family, bound to the interface
 * with SO_BINDTODEVICE, member of 224.0.0.18 / ff02::12 there, sending with TTL / hop limit 255
 * (RFC 5798 §5.1.1.3, §5.1.2.3). Instances register by VRID; a received packet is handed to the instance whose
 * VRID it carries, together with what the IP layer told (source, destination, TTL).
 *
 * IPv4 uses IP_HDRINCL so that tandem writes the header itself: the source (primary address, `mcast_src_ip` or
 * `unicast_src_ip`), TTL 255 and TOS 0xc0 (internetwork control, as keepalived sends) do not depend on routing.
 * Received IPv4 packets carry their header, so the TTL check is explicit. IPv6 lets the kernel compute and
 * verify the checksum (IPV6_CHECKSUM, RFC 3542 §3.1) and enforces the hop limit with IPV6_MINHOPCOUNT.
 */
import raw, { type Socket as RawSocket } from 'raw-socket';
import { type Family, formatIPv4, parseAddress } from './address.js';
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
/** Offset of the checksum in a VRRP message (RFC 5798 §5.1), for IPV6_CHECKSUM. */
const VRRP_CHECKSUM_OFFSET = 6;
/** RFC 791 TOS 0xc0, "internetwork control": what keepalived sends adverts with. */
const TOS_INTERNETWORK_CONTROL = 0xc0;
const IPV4_HEADER_LENGTH = 20;
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

  /** Sends one VRRP message from `source` (IPv4; the kernel picks the link-local source for IPv6). */
  send(payload: Uint8Array, destination: string, source: string | undefined): Promise<void> {
    let packet: Buffer;
    if (this.family === 4) {
      if (!source)
        return Promise.reject(new TransportError(`no IPv4 source address on ${this.interfaceName}`));
      packet = Buffer.concat([ipv4Header(source, destination, payload.length), payload]);
    } else {
      packet = Buffer.from(payload);
    }
    return new Promise((resolve, reject) => {
      this.socket.send(packet, 0, packet.length, destination, null, (error: Error | null) => {
        if (error) {
          this.counters.sendErrors++;
          reject(
            new TransportError(`sending to ${destination} on ${this.interfaceName} failed: ${error.message}`),
          );
        } else resolve();
      });
    });
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

/**
 * VRRP sockets (IP protocol 112): one per interface and family, bound to the interface with SO_BINDTODEVICE,
 * member of 224.0.0.18 / ff02::12 there, sending with TTL / hop limit 255 (RFC 5798 §5.1.1.3, §5.1.2.3).
 * Instances register by VRID; a received packet goes to the instance whose VRID it carries, together with
 * what the IP layer told (source, destination, TTL / hop limit), for the checks of RFC 5798 §7.1.
 *
 * IPv4 uses raw-socket with IP_HDRINCL: tandem writes the header, so the source (primary address,
 * `mcast_src_ip` or `unicast_src_ip`), TTL 255 and TOS 0xc0 (internetwork control, as keepalived sends) do not
 * depend on routing, and received packets carry their header, so the TTL is checked explicitly.
 *
 * IPv6 uses the native addon's socket (`native/ipv6_vrrp.c`): an IPv6 raw socket reports the hop limit only as
 * ancillary data, which raw-socket cannot read, and IPV6_MINHOPCOUNT is not applied to raw sockets (a hop
 * limit 1 advert is delivered). The addon also sends with the source in IPV6_PKTINFO: once a link-local VIP
 * (RFC 5798 §5.2.9 puts one first) is on the interface, the kernel's own choice for ff02::12 is the VIP, while
 * adverts must come from the router's own link-local address (RFC 5798 §5.1.2.1). The kernel fills and
 * verifies the checksum over the real pseudo-header (IPV6_CHECKSUM, RFC 3542 §3.1).
 */
import raw, { type Socket as RawSocket } from 'raw-socket';
import { type Family, formatIPv4, parseAddress } from './address.js';
import { VRRP_GROUP_IPV4, VRRP_PROTOCOL } from './packet.js';
import type { ReceivedPacket } from './receive.js';
import { VRRP_TTL } from './receive.js';
import { type PacketHandler, type SocketCounters, VridDemux, type VrrpTransport } from './demux.js';
import type { Logger } from '../core/logger.js';
import { TandemError } from '../errors.js';
import { type Vrrp6Handle, loadAddon } from '../native.js';

// Linux socket option numbers that raw-socket does not name (from <linux/in.h>, <linux/in6.h>, <asm/socket.h>).
const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0;
const IP_HDRINCL = 3;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
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

/** The part of the Logger the sockets use. */
export type TransportLogger = Pick<Logger, 'warn'>;

export type { PacketHandler, SocketCounters } from './demux.js';

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

/** How one family's packets go in and out; `VrrpSocket` does the rest (demultiplexing, counters). */
interface Backend {
  send(payload: Uint8Array, destination: string, source: string | undefined): Promise<void>;
  close(): void;
}

type Deliver = (packet: ReceivedPacket | undefined) => void;

function setInteger(socket: RawSocket, level: number, option: number, value: number): void {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32LE(value);
  socket.setOption(level, option, buffer, 4);
}

/** IPv4 through raw-socket, with our own header on send and the received header parsed for the TTL. */
function ipv4Backend(
  interfaceName: string,
  ifindex: number,
  multicast: boolean,
  deliver: Deliver,
  log: TransportLogger,
): Backend {
  let socket: RawSocket;
  try {
    socket = raw.createSocket({
      protocol: VRRP_PROTOCOL,
      addressFamily: raw.AddressFamily.IPv4,
      bufferSize: RECEIVE_BUFFER_BYTES,
    });
  } catch (error) {
    throw new TransportError(`cannot open a raw VRRP socket (needs CAP_NET_RAW): ${String(error)}`, error);
  }
  let closed = false;
  try {
    const name = Buffer.from(`${interfaceName}\0`);
    socket.setOption(SOL_SOCKET, SO_BINDTODEVICE, name, name.length);
    setInteger(socket, IPPROTO_IP, IP_HDRINCL, 1);
    setInteger(socket, IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    if (multicast) {
      // struct ip_mreqn { in_addr multiaddr; in_addr address; int ifindex; }
      const request = Buffer.alloc(12);
      request.set(addressBytes(VRRP_GROUP_IPV4, 4), 0);
      request.writeInt32LE(ifindex, 8);
      socket.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, request, request.length);
    }
  } catch (error) {
    socket.close();
    throw new TransportError(`cannot set up the VRRP socket on ${interfaceName}: ${String(error)}`, error);
  }
  socket.on('message', (buffer: Buffer) => deliver(parseIPv4Packet(buffer)));
  socket.on('error', (error: Error) => {
    if (!closed) log.warn({ interface: interfaceName, family: 4, err: error }, 'VRRP socket error');
  });
  return {
    send(payload, destination, source) {
      if (!source) return Promise.reject(new TransportError(`no IPv4 source address on ${interfaceName}`));
      let packet: Buffer;
      try {
        packet = Buffer.concat([ipv4Header(source, destination, payload.length), payload]);
      } catch (error) {
        return Promise.reject(error);
      }
      return new Promise((resolve, reject) => {
        socket.send(packet, 0, packet.length, destination, null, (error: Error | null) => {
          if (error)
            reject(
              new TransportError(`sending to ${destination} on ${interfaceName} failed: ${error.message}`),
            );
          else resolve();
        });
      });
    },
    close() {
      closed = true;
      socket.close();
    },
  };
}

/** IPv6 through the addon: hop limit and destination reported per packet, source chosen per send. */
function ipv6Backend(interfaceName: string, ifindex: number, multicast: boolean, deliver: Deliver): Backend {
  const addon = loadAddon();
  let handle: Vrrp6Handle;
  try {
    handle = addon.openVrrp6(interfaceName, ifindex, multicast, (payload, source, destination, hopLimit) =>
      deliver({
        payload,
        source,
        destination,
        ttl: hopLimit < 0 ? undefined : hopLimit,
        checksumVerified: true,
      }),
    );
  } catch (error) {
    throw new TransportError(
      `cannot set up the IPv6 VRRP socket on ${interfaceName}: ${String(error)}`,
      error,
    );
  }
  return {
    send(payload, destination, source) {
      try {
        addon.sendVrrp6(handle, Buffer.from(payload), destination, source);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(
          new TransportError(`sending to ${destination} on ${interfaceName} failed: ${String(error)}`, error),
        );
      }
    },
    close() {
      addon.closeVrrp6(handle);
    },
  };
}

/** One VRRP socket on one interface for one family, shared by every instance there. */
export class VrrpSocket implements VrrpTransport {
  private readonly demux = new VridDemux();
  private backend: Backend;
  private currentIfindex: number;

  constructor(
    readonly interfaceName: string,
    ifindex: number,
    readonly family: Family,
    private options: { multicast: boolean; log: TransportLogger },
  ) {
    this.currentIfindex = ifindex;
    this.backend = this.open(ifindex);
  }

  get ifindex(): number {
    return this.currentIfindex;
  }

  private open(ifindex: number): Backend {
    const deliver: Deliver = (packet) => this.onPacket(packet);
    return this.family === 4
      ? ipv4Backend(this.interfaceName, ifindex, this.options.multicast, deliver, this.options.log)
      : ipv6Backend(this.interfaceName, ifindex, this.options.multicast, deliver);
  }

  /**
   * The interface was deleted and created again under the same name (SO_BINDTODEVICE and the group membership
   * named the old index), or a reload added a multicast instance to a unicast-only socket: the socket is
   * opened again. Registered instances stay registered.
   */
  rebind(ifindex: number, changes: { multicast?: boolean } = {}): void {
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

  get counters(): SocketCounters {
    return this.demux.counters;
  }

  register(vrid: number, handler: PacketHandler): void {
    if (!this.demux.register(vrid, handler)) {
      throw new TransportError(`VRID ${vrid} is already in use on ${this.interfaceName} (IPv${this.family})`);
    }
  }

  unregister(vrid: number): void {
    this.demux.unregister(vrid);
  }

  get registeredVrids(): number[] {
    return this.demux.registeredVrids;
  }

  /**
   * Sends one VRRP message from `source`. IPv4 needs it (tandem writes the header); for IPv6, without one the
   * kernel chooses, and it would choose a link-local VIP: always pass the instance's own address.
   */
  async send(payload: Uint8Array, destination: string, source: string | undefined): Promise<void> {
    try {
      await this.backend.send(payload, destination, source);
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

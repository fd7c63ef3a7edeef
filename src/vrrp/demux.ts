/**
 * Demultiplexing by VRID: the packets one socket (an interface and a family) receives go to the instance whose
 * VRID they carry (RFC 5798 §7.1: "MUST verify that the VRID is configured on the receiving interface"). What
 * reaches no instance is counted here, per socket; everything else is the instance's receive ladder's
 * (`vrrp/receive.ts`).
 *
 * `VrrpTransport` is the seam between the agent and its sockets: `VrrpSocket` (transport.ts) is the real one,
 * the daemon conformance harness gives a recording one (docs/architecture.md, "Seams").
 */
import type { Family } from './address.js';
import type { Logger } from '../core/logger.js';
import { classifyProtocol112 } from './protocol112.js';
import type { ReceivedPacket } from './receive.js';

/** The two protocols of IP protocol 112 (docs/carp.md, "VRRP and CARP on one segment"). */
export type Protocol112Name = 'vrrp' | 'carp';

/** Receives the packets carrying one VRID on this interface and family. */
export type PacketHandler = (packet: ReceivedPacket) => void;

/** Counters of packets that reached no instance, and of sends that failed. */
export interface SocketCounters {
  received: number;
  unknownVrid: number;
  /** CARP adverts whose vhid no CARP instance has on this interface and family. */
  unknownVhid: number;
  /**
   * Payloads that are neither VRRP nor CARP (another version or type, `classifyProtocol112`); still handed to
   * the VRRP instance of their byte 1, whose ladder names what is wrong.
   */
  neitherProtocol: number;
  malformedIp: number;
  sendErrors: number;
}

export class VridDemux {
  private readonly handlers = new Map<number, PacketHandler>();
  /** CARP instances by vhid: VRRP and CARP may use the same number on one interface (different protocols). */
  private readonly carpHandlers = new Map<number, PacketHandler>();
  readonly counters: SocketCounters = {
    received: 0,
    unknownVrid: 0,
    unknownVhid: 0,
    neitherProtocol: 0,
    malformedIp: 0,
    sendErrors: 0,
  };

  /** `family` tells VRRPv2 from CARP (VRRPv2 is IPv4 only, protocol112.ts). */
  constructor(
    private readonly family: Family = 4,
    /** Told of each packet of a VRID no instance has here (keepalived `log_unknown_vrids`). */
    private readonly onUnknownVrid?: (vrid: number, source: string) => void,
  ) {}

  /** Returns false when `vrid` already has a handler of `protocol`. */
  register(vrid: number, handler: PacketHandler, protocol: Protocol112Name = 'vrrp'): boolean {
    const handlers = protocol === 'carp' ? this.carpHandlers : this.handlers;
    if (handlers.has(vrid)) return false;
    handlers.set(vrid, handler);
    return true;
  }

  unregister(vrid: number, protocol: Protocol112Name = 'vrrp'): void {
    (protocol === 'carp' ? this.carpHandlers : this.handlers).delete(vrid);
  }

  get registeredVrids(): number[] {
    return [...this.handlers.keys()];
  }

  get registeredVhids(): number[] {
    return [...this.carpHandlers.keys()];
  }

  /** One packet as the socket read it; `undefined` for one that is not a well-formed IP datagram of VRRP. */
  deliver(packet: ReceivedPacket | undefined): void {
    this.counters.received++;
    if (!packet) {
      this.counters.malformedIp++;
      return;
    }
    // The VRID is the payload's second byte, read in place when the packet is a view of a socket buffer.
    const bytes = packet.bytes;
    const vrid = bytes
      ? bytes.payloadEnd - bytes.payloadStart >= 2
        ? (bytes.buffer[bytes.payloadStart + 1] as number)
        : -1
      : packet.payload.length >= 2
        ? (packet.payload[1] as number)
        : -1;
    // CARP and VRRP share protocol 112 and 224.0.0.18: the header says which one a payload speaks.
    const kind = bytes
      ? classifyProtocol112(bytes.buffer, this.family, bytes.payloadStart, bytes.payloadEnd)
      : classifyProtocol112(packet.payload, this.family);
    if (kind.protocol === 'carp') {
      const carp = this.carpHandlers.get(vrid);
      if (!carp) {
        this.counters.unknownVhid++;
        return;
      }
      carp(packet);
      return;
    }
    if (kind.protocol === 'unknown') this.counters.neitherProtocol++;
    const handler = this.handlers.get(vrid);
    if (!handler) {
      this.counters.unknownVrid++;
      this.onUnknownVrid?.(vrid, packet.source);
      return;
    }
    handler(packet);
  }
}

/** One VRRP socket on one interface for one family, shared by every instance there. */
export interface VrrpTransport {
  readonly interfaceName: string;
  readonly family: Family;
  readonly ifindex: number;
  readonly multicast: boolean;
  /** The groups the socket joined (multicast only): the RFC 5798 group, or vrrp_mcast_group4/6, mcast_dst_ip. */
  readonly groups: readonly string[];
  readonly counters: SocketCounters;
  readonly registeredVrids: number[];
  /** The vhids of the CARP instances on this socket. */
  readonly registeredVhids: number[];
  /** Throws TransportError when `vrid` is already in use by `protocol` on this socket. */
  register(vrid: number, handler: PacketHandler, protocol?: Protocol112Name): void;
  unregister(vrid: number, protocol?: Protocol112Name): void;
  /** Sends one VRRP message from `source` (IPv4 needs it: tandem writes the header). */
  send(payload: Uint8Array, destination: string, source: string | undefined, ttl?: number): Promise<void>;
  /** Opens the socket again on a re-created interface, or to join the multicast group(s). */
  rebind(ifindex: number, changes?: { multicast?: boolean; groups?: readonly string[] }): void;
  close(): void;
}

export interface VrrpSocketOptions {
  multicast: boolean;
  /** The groups a multicast socket joins; default the RFC 5798 group of its family. */
  groups?: readonly string[];
  log: Logger;
  /** Each packet of a VRID no instance has on this interface and family. */
  onUnknownVrid?: (vrid: number, source: string) => void;
}

/** Opens the socket of one interface and family; the agent's production default opens a real `VrrpSocket`. */
export type VrrpSocketFactory = (
  interfaceName: string,
  ifindex: number,
  family: Family,
  options: VrrpSocketOptions,
) => VrrpTransport;

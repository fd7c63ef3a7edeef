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
import type { ReceivedPacket } from './receive.js';

/** Receives the packets carrying one VRID on this interface and family. */
export type PacketHandler = (packet: ReceivedPacket) => void;

/** Counters of packets that reached no instance, and of sends that failed. */
export interface SocketCounters {
  received: number;
  unknownVrid: number;
  malformedIp: number;
  sendErrors: number;
}

export class VridDemux {
  private readonly handlers = new Map<number, PacketHandler>();
  readonly counters: SocketCounters = { received: 0, unknownVrid: 0, malformedIp: 0, sendErrors: 0 };

  /** `onUnknownVrid`: told of each packet of a VRID no instance has here (keepalived `log_unknown_vrids`). */
  constructor(private readonly onUnknownVrid?: (vrid: number, source: string) => void) {}

  /** Returns false when `vrid` already has a handler. */
  register(vrid: number, handler: PacketHandler): boolean {
    if (this.handlers.has(vrid)) return false;
    this.handlers.set(vrid, handler);
    return true;
  }

  unregister(vrid: number): void {
    this.handlers.delete(vrid);
  }

  get registeredVrids(): number[] {
    return [...this.handlers.keys()];
  }

  /** One packet as the socket read it; `undefined` for one that is not a well-formed IP datagram of VRRP. */
  deliver(packet: ReceivedPacket | undefined): void {
    this.counters.received++;
    if (!packet) {
      this.counters.malformedIp++;
      return;
    }
    const vrid = packet.payload.length >= 2 ? (packet.payload[1] as number) : -1;
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
  readonly counters: SocketCounters;
  readonly registeredVrids: number[];
  /** Throws TransportError when `vrid` is already in use on this socket. */
  register(vrid: number, handler: PacketHandler): void;
  unregister(vrid: number): void;
  /** Sends one VRRP message from `source` (IPv4 needs it: tandem writes the header). */
  send(payload: Uint8Array, destination: string, source: string | undefined, ttl?: number): Promise<void>;
  /** Opens the socket again on a re-created interface, or to join the multicast group. */
  rebind(ifindex: number, changes?: { multicast?: boolean }): void;
  close(): void;
}

export interface VrrpSocketOptions {
  multicast: boolean;
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

/**
 * Announcing the virtual IPs on the wire after a takeover: gratuitous ARP for IPv4 and unsolicited Neighbour
 * Advertisements for IPv6, so that hosts and switches move their caches to the new MASTER at once.
 *
 * Three layers, each testable alone:
 * - pure frame builders (`arpAnnouncementFrame`, `unsolicitedNeighbourAdvertFrame`), golden-byte tested;
 * - `GarpSender`: one round (one frame per VIP) through a `PacketSocket` (the native AF_PACKET addon);
 * - `GarpScheduler`: when rounds happen (keepalived's garp_master_repeat / _delay / _refresh), on an injected
 *   clock, so tests drive time without sleeping.
 *
 * Frames are sent by the agent itself through the addon, never by spawning `arping` (docs/architecture.md, "Decisions").
 */
import { readFileSync } from 'node:fs';
import { TandemError } from '../errors.js';
import { internetChecksum } from '../vrrp/checksum.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { NativeAddonError as PacketSocketError, loadAddon } from '../native.js';
import { parseIp, parseMac } from './inet.js';

const ETHERNET_HEADER_LENGTH = 14;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV6 = 0x86dd;
const BROADCAST_MAC = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

// RFC 826 / IANA ARP parameters.
const ARP_HARDWARE_ETHERNET = 1;
const ARP_PROTOCOL_IPV4 = 0x0800;
const ARP_OPERATION_REQUEST = 1;
const ARP_PAYLOAD_LENGTH = 28;

// RFC 8200 §3 header, RFC 4861 §4.4 Neighbor Advertisement, §4.6.1 Target Link-Layer Address option.
const IPV6_HEADER_LENGTH = 40;
const IP_PROTOCOL_ICMPV6 = 58;
const ICMPV6_NEIGHBOUR_ADVERTISEMENT = 136;
const NEIGHBOUR_ADVERT_LENGTH = 24;
const ND_OPTION_TARGET_LINK_LAYER_ADDRESS = 2;
const ND_OPTION_LINK_LAYER_LENGTH = 8;
/** RFC 4861 §7.1.2: a receiver drops any NA whose hop limit is not 255. */
const NDISC_HOP_LIMIT = 255;
const NA_FLAG_ROUTER = 0x80;
const NA_FLAG_OVERRIDE = 0x20;
/** RFC 4861 §7.2.6: unsolicited advertisements go to the all-nodes multicast address ff02::1 ... */
const ALL_NODES_ADDRESS = parseIp('ff02::1').bytes;
/** ... whose Ethernet mapping (RFC 2464 §7) is 33:33 followed by its last four bytes. */
const ALL_NODES_MAC = Uint8Array.of(0x33, 0x33, 0x00, 0x00, 0x00, 0x01);

/** keepalived's defaults (keepalived.conf(5), vrrp_instance / global_defs). */
export const GARP_DEFAULTS = {
  /** garp_master_repeat: rounds in each burst. */
  repeat: 5,
  /** garp_master_delay (5 s): microseconds after the first burst before the second one (0: no second burst). */
  delayUs: 5_000_000,
  /** garp_master_refresh: microseconds between periodic rounds while MASTER (0: none). */
  refreshUs: 0,
  /** garp_master_refresh_repeat: rounds in each periodic refresh. */
  refreshRepeat: 1,
} as const;

export class InvalidFrameInputError extends TandemError {
  constructor(message: string) {
    super('TANDEM_EFRAME', message);
  }
}

function requireFamily(ip: string, family: 4 | 6, what: string): Uint8Array {
  const parsed = parseIp(ip);
  if (parsed.family !== family) {
    throw new InvalidFrameInputError(`${what} needs an IPv${family} address, found ${JSON.stringify(ip)}`);
  }
  return parsed.bytes;
}

function writeEthernetHeader(frame: Buffer, destination: Uint8Array, source: Uint8Array, etherType: number) {
  frame.set(destination, 0);
  frame.set(source, 6);
  frame.writeUInt16BE(etherType, 12);
}

/**
 * A gratuitous ARP request announcing `ip` at `mac`, the form keepalived sends: Ethernet broadcast, sender and
 * target protocol address both the VIP, target hardware address all-ones. A request (not a reply) is what
 * every ARP implementation accepts to update an existing cache entry (RFC 5227 §3 "ARP Announcement").
 */
export function arpAnnouncementFrame({ mac, ip }: { mac: string; ip: string }): Buffer {
  const sender = parseMac(mac);
  const address = requireFamily(ip, 4, 'a gratuitous ARP');
  const frame = Buffer.alloc(ETHERNET_HEADER_LENGTH + ARP_PAYLOAD_LENGTH);
  writeEthernetHeader(frame, BROADCAST_MAC, sender, ETHERTYPE_ARP);
  let offset = ETHERNET_HEADER_LENGTH;
  offset = frame.writeUInt16BE(ARP_HARDWARE_ETHERNET, offset);
  offset = frame.writeUInt16BE(ARP_PROTOCOL_IPV4, offset);
  offset = frame.writeUInt8(6, offset);
  offset = frame.writeUInt8(4, offset);
  offset = frame.writeUInt16BE(ARP_OPERATION_REQUEST, offset);
  frame.set(sender, offset);
  frame.set(address, offset + 6);
  frame.set(BROADCAST_MAC, offset + 10);
  frame.set(address, offset + 16);
  return frame;
}

/** RFC 4443 §2.3: the Internet checksum over the RFC 8200 §8.1 pseudo-header and the ICMPv6 message. */
export function icmpv6Checksum(source: Uint8Array, destination: Uint8Array, message: Uint8Array): number {
  const pseudoHeader = Buffer.alloc(IPV6_HEADER_LENGTH);
  pseudoHeader.set(source, 0);
  pseudoHeader.set(destination, 16);
  pseudoHeader.writeUInt32BE(message.length, 32);
  pseudoHeader.writeUInt8(IP_PROTOCOL_ICMPV6, 39);
  return internetChecksum(pseudoHeader, message);
}

/**
 * An unsolicited Neighbour Advertisement (RFC 4861 §4.4, §7.2.6) for `ip` at `mac`: to ff02::1, hop limit 255,
 * Override set and Solicited clear, with a Target Link-Layer Address option. The source address defaults to
 * the VIP itself, as keepalived sends it; `router` sets the R flag (keepalived sets it when the interface
 * forwards IPv6, so that hosts keep using the VIP as their default router).
 */
export function unsolicitedNeighbourAdvertFrame({
  mac,
  ip,
  srcIp,
  router = false,
}: {
  mac: string;
  ip: string;
  srcIp?: string;
  router?: boolean;
}): Buffer {
  const sender = parseMac(mac);
  const target = requireFamily(ip, 6, 'a neighbour advertisement');
  const source = srcIp === undefined ? target : requireFamily(srcIp, 6, 'a neighbour advertisement source');
  const icmpLength = NEIGHBOUR_ADVERT_LENGTH + ND_OPTION_LINK_LAYER_LENGTH;
  const frame = Buffer.alloc(ETHERNET_HEADER_LENGTH + IPV6_HEADER_LENGTH + icmpLength);
  writeEthernetHeader(frame, ALL_NODES_MAC, sender, ETHERTYPE_IPV6);

  const ip6 = ETHERNET_HEADER_LENGTH;
  frame.writeUInt32BE(0x60000000, ip6); // version 6, traffic class 0, flow label 0
  frame.writeUInt16BE(icmpLength, ip6 + 4);
  frame.writeUInt8(IP_PROTOCOL_ICMPV6, ip6 + 6);
  frame.writeUInt8(NDISC_HOP_LIMIT, ip6 + 7);
  frame.set(source, ip6 + 8);
  frame.set(ALL_NODES_ADDRESS, ip6 + 24);

  const icmp = ip6 + IPV6_HEADER_LENGTH;
  frame.writeUInt8(ICMPV6_NEIGHBOUR_ADVERTISEMENT, icmp);
  frame.writeUInt8(0, icmp + 1); // code
  frame.writeUInt8(NA_FLAG_OVERRIDE | (router ? NA_FLAG_ROUTER : 0), icmp + 4);
  frame.set(target, icmp + 8);
  frame.writeUInt8(ND_OPTION_TARGET_LINK_LAYER_ADDRESS, icmp + 24);
  frame.writeUInt8(1, icmp + 25); // option length in units of 8 bytes
  frame.set(sender, icmp + 26);
  const checksum = icmpv6Checksum(source, ALL_NODES_ADDRESS, frame.subarray(icmp));
  frame.writeUInt16BE(checksum, icmp + 2);
  return frame;
}

/** A send-only link-layer socket: the frame carries its own Ethernet header. */
export interface PacketSocket {
  send(ifindex: number, frame: Buffer): void;
  close(): void;
}

export { NativeAddonError as PacketSocketError } from '../native.js';

/** Opens an AF_PACKET socket through the native addon (needs CAP_NET_RAW). */
export function openPacketSocket(): PacketSocket {
  const native = loadAddon();
  let fd: number | undefined = native.openPacketSocket();
  return {
    send(ifindex, frame) {
      if (fd === undefined) throw new PacketSocketError('expected an open packet socket, found it closed');
      native.sendFrame(fd, ifindex, frame);
    },
    close() {
      if (fd === undefined) return;
      const open = fd;
      fd = undefined;
      native.close(open);
    },
  };
}

export interface GarpInterface {
  name: string;
  index: number;
  mac: string;
}

export interface RoundResult {
  sent: number;
  failed: { ip: string; error: Error }[];
}

/** keepalived sets the NA router flag when the interface forwards IPv6. */
function ipv6Forwarding(interfaceName: string): boolean {
  try {
    return readFileSync(`/proc/sys/net/ipv6/conf/${interfaceName}/forwarding`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

export interface GarpSenderOptions {
  socket: PacketSocket;
  iface: GarpInterface;
  /** VIP addresses (no prefix), IPv4 and IPv6 mixed. */
  vips: readonly string[];
  logger?: Logger;
  /** Whether to set the NA router flag; read from the interface's IPv6 forwarding sysctl by default. */
  isRouter?: () => boolean;
}

/** Sends one round: one gratuitous ARP per IPv4 VIP and one unsolicited NA per IPv6 VIP. */
export class GarpSender {
  readonly #options: GarpSenderOptions;
  readonly #vips: { ip: string; family: 4 | 6 }[];
  /** Frames sent since creation: gratuitous ARPs and unsolicited NAs (FRR's garpTx and neighborAdverTx). */
  readonly sent = { garp: 0, neighbourAdvert: 0 };

  constructor(options: GarpSenderOptions) {
    this.#options = options;
    parseMac(options.iface.mac);
    this.#vips = options.vips.map((ip) => ({ ip, family: parseIp(ip).family }));
  }

  sendRound(): RoundResult {
    const { socket, iface, logger } = this.#options;
    const router = this.#vips.some((vip) => vip.family === 6)
      ? (this.#options.isRouter ?? (() => ipv6Forwarding(iface.name)))()
      : false;
    const result: RoundResult = { sent: 0, failed: [] };
    for (const { ip, family } of this.#vips) {
      const frame =
        family === 4
          ? arpAnnouncementFrame({ mac: iface.mac, ip })
          : unsolicitedNeighbourAdvertFrame({ mac: iface.mac, ip, router });
      try {
        socket.send(iface.index, frame);
        result.sent++;
        if (family === 4) this.sent.garp++;
        else this.sent.neighbourAdvert++;
      } catch (error) {
        // One failed frame (interface gone, queue full) must not stop the announcements of the others.
        result.failed.push({ ip, error: error as Error });
        logger?.warn(
          { interface: iface.name, vip: ip, err: error },
          'sending gratuitous announcement failed',
        );
      }
    }
    return result;
  }
}

/**
 * One round on the instance's interface and on every other interface a VIP names with `dev` (keepalived sends
 * each VIP's announcement on the VIP's own interface). The other interfaces are looked up at each round (they
 * may appear, vanish or be re-created); one that is missing or has no MAC is skipped, and logged once per
 * absence.
 */
export class InterfacesSender {
  readonly #missing = new Set<string>();

  constructor(
    private readonly own: Pick<GarpSender, 'sendRound'>,
    private readonly others: readonly { interfaceName: string; vips: readonly string[] }[],
    private readonly make: (iface: GarpInterface, vips: readonly string[]) => Pick<GarpSender, 'sendRound'>,
    private readonly resolve: (interfaceName: string) => GarpInterface | undefined,
    private readonly logger?: Logger,
  ) {}

  sendRound(): RoundResult {
    const result = this.own.sendRound();
    for (const { interfaceName, vips } of this.others) {
      const iface = this.resolve(interfaceName);
      if (iface === undefined || iface.mac === '') {
        if (!this.#missing.has(interfaceName))
          this.logger?.warn(
            { interface: interfaceName, vips },
            'no announcement for these VIPs: their interface is missing or has no MAC',
          );
        this.#missing.add(interfaceName);
        continue;
      }
      this.#missing.delete(interfaceName);
      const round = this.make(iface, vips).sendRound();
      result.sent += round.sent;
      result.failed.push(...round.failed);
    }
    return result;
  }
}

/**
 * The part of the agent's `Clock` (core/clock.ts: microseconds, monotonic) the scheduler uses, so one clock
 * serves every room: `systemClock` in production, a manual clock in tests.
 */
export type GarpClock = Pick<Clock, 'nowMicroseconds' | 'setTimer' | 'clearTimer'>;

export interface GarpTiming {
  /** Rounds in the burst on becoming MASTER and in the delayed second burst (garp_master_repeat). */
  repeat: number;
  /** Delay in microseconds from the first burst to the second (garp_master_delay); 0 for none. */
  delayUs: number;
  /** Period in microseconds of refresh rounds while MASTER (garp_master_refresh); 0 for none. */
  refreshUs: number;
  /** Rounds in each refresh (garp_master_refresh_repeat). */
  refreshRepeat: number;
  /** Spacing in microseconds between the rounds of one burst; 0 sends them back to back. */
  intervalUs?: number;
}

/**
 * When announcement rounds happen while MASTER: a burst at once, a second burst after `delayUs`, and a
 * refresh every `refreshUs`, each burst spaced by `intervalUs`. `stop()` (on leaving MASTER) cancels all of
 * it. Refreshes are anchored to the start time, so a late timer does not push every later refresh back.
 */
export class GarpScheduler {
  readonly #sender: Pick<GarpSender, 'sendRound'>;
  readonly #clock: GarpClock;
  readonly #timing: GarpTiming;
  readonly #timers = new Set<unknown>();
  #running = false;
  #generation = 0;

  constructor(options: { sender: Pick<GarpSender, 'sendRound'>; clock: GarpClock; timing: GarpTiming }) {
    this.#sender = options.sender;
    this.#clock = options.clock;
    this.#timing = options.timing;
  }

  get running(): boolean {
    return this.#running;
  }

  /** Starts announcing (entering MASTER); returns the result of the first round, sent before it returns. */
  start(): RoundResult {
    this.stop();
    this.#running = true;
    const generation = ++this.#generation;
    const startedAt = this.#clock.nowMicroseconds();
    const first = this.#burst(this.#timing.repeat, generation);
    if (this.#timing.delayUs > 0) {
      this.#arm(() => this.#burst(this.#timing.repeat, generation), this.#timing.delayUs, generation);
    }
    if (this.#timing.refreshUs > 0) this.#armRefresh(startedAt, 1, generation);
    return first;
  }

  /**
   * Entering MASTER starts the bursts; a MASTER that heard a lower-priority master (a split brain healing)
   * sends `lowerPriorityRounds` rounds at once instead, and as many again after `lowerPriorityDelayUs` when it
   * is not 0 (keepalived garp_lower_prio_repeat, garp_lower_prio_delay).
   */
  announce(lowerPriorityRounds: number, lowerPriorityDelayUs = 0): void {
    if (!this.#running) {
      this.start();
      return;
    }
    const generation = this.#generation;
    this.#burst(lowerPriorityRounds, generation);
    if (lowerPriorityDelayUs > 0)
      this.#arm(() => this.#burst(lowerPriorityRounds, generation), lowerPriorityDelayUs, generation);
  }

  /** Cancels every pending round (leaving MASTER, shutdown). */
  stop(): void {
    this.#running = false;
    this.#generation++;
    for (const handle of this.#timers) this.#clock.clearTimer(handle);
    this.#timers.clear();
  }

  #armRefresh(startedAt: number, count: number, generation: number): void {
    const due = startedAt + count * this.#timing.refreshUs;
    const now = this.#clock.nowMicroseconds();
    this.#arm(
      () => {
        this.#burst(this.#timing.refreshRepeat, generation);
        // After a stall, skip the refreshes already missed instead of firing them back to back.
        const elapsed = this.#clock.nowMicroseconds() - startedAt;
        const next = Math.floor(elapsed / this.#timing.refreshUs) + 1;
        this.#armRefresh(startedAt, Math.max(next, count + 1), generation);
      },
      Math.max(0, due - now),
      generation,
    );
  }

  /** Sends `rounds` rounds, the first now; returns the first round's result. */
  #burst(rounds: number, generation: number): RoundResult {
    const first = this.#sender.sendRound();
    const interval = this.#timing.intervalUs ?? 0;
    if (interval === 0) {
      for (let i = 1; i < rounds; i++) this.#sender.sendRound();
    } else if (rounds > 1) {
      const next = (remaining: number) => {
        this.#sender.sendRound();
        if (remaining > 1) this.#arm(() => next(remaining - 1), interval, generation);
      };
      this.#arm(() => next(rounds - 1), interval, generation);
    }
    return first;
  }

  #arm(callback: () => void, delayUs: number, generation: number): void {
    const handle = this.#clock.setTimer(() => {
      this.#timers.delete(handle);
      if (generation !== this.#generation) return;
      callback();
    }, delayUs);
    this.#timers.add(handle);
  }
}

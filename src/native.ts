/**
 * The native addon (`native/`, built by `npm ci` through node-gyp): AF_PACKET frames for gratuitous ARP and
 * unsolicited NA, and the VRRP sockets of both families (batch receive until the queue is empty, send without
 * per-packet poll churn). Loaded once, lazily, with a clear error when the build is missing.
 */
import { createRequire } from 'node:module';
import { TandemError } from './errors.js';

export class NativeAddonError extends TandemError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TANDEM_EPACKET', message, options);
  }
}

/** An opaque handle of a VRRP socket (`native/vrrp_socket.c`). */
export type VrrpSocketHandle = { readonly __brand: 'VrrpSocketHandle' };

/**
 * Called once per readable event with every datagram that was queued: `count` records back to back in
 * `batch`, each `VRRP_RECORD_HEADER_BYTES` of header then the data (see `readVrrpRecords`).
 */
export type VrrpBatchHandler = (batch: Buffer, count: number) => void;

export interface NativeAddon {
  openPacketSocket(): number;
  sendFrame(fd: number, ifindex: number, frame: Buffer): number;
  close(fd: number): void;
  openVrrpSocket(
    family: 4 | 6,
    ifname: string,
    ifindex: number,
    /** Multicast groups joined on the interface; empty for a unicast-only socket. */
    groups: readonly string[],
    onBatch: VrrpBatchHandler,
  ): VrrpSocketHandle;
  /** Sends one datagram; TTL / hop limit 255 unless `ttl` is given (tests send other values). */
  sendVrrp(
    handle: VrrpSocketHandle,
    payload: Uint8Array,
    destination: string,
    source?: string | null,
    ttl?: number,
  ): number;
  /** Sends many datagrams through sendmmsg; one errno per datagram, 0 for each one sent. */
  sendVrrpBatch(
    handle: VrrpSocketHandle,
    payloads: Uint8Array[],
    destinations: string[],
    sources: (string | null | undefined)[],
  ): number[];
  closeVrrpSocket(handle: VrrpSocketHandle): void;
}

/** The fixed part of a batch record: length, hop limit, flags, source, destination. */
export const VRRP_RECORD_HEADER_BYTES = 36;
const RECORD_FLAG_TTL = 1;
const RECORD_FLAG_TRUNCATED = 2;

/** Where one datagram of a batch sits; offsets into the batch buffer. */
export interface VrrpRecord {
  /** IPv4: the datagram with its IP header; IPv6: the VRRP message. */
  dataStart: number;
  dataEnd: number;
  /** The hop limit reported with an IPv6 datagram; `undefined` when the kernel did not report one (IPv4). */
  hopLimit: number | undefined;
  /** Longer than the addon's receive slot: not a VRRP packet. */
  truncated: boolean;
  /** 16 bytes (IPv4: the first 4 hold the address). */
  sourceOffset: number;
  /** 16 bytes; IPv6 only (IPV6_PKTINFO). */
  destinationOffset: number;
}

/**
 * Calls `visit` for each record of a batch, with one record object reused from call to call (a batch can hold
 * thousands of datagrams; copy what must outlive the call). A record that claims more bytes than the batch holds
 * ends the walk: the batch comes from the addon, so that would be a bug there, and reading past it a second one.
 * Returns the number of records visited.
 */
export function forEachVrrpRecord(batch: Buffer, count: number, visit: (record: VrrpRecord) => void): number {
  const record: VrrpRecord = {
    dataStart: 0,
    dataEnd: 0,
    hopLimit: undefined,
    truncated: false,
    sourceOffset: 0,
    destinationOffset: 0,
  };
  let offset = 0;
  let index = 0;
  for (; index < count; index++) {
    if (offset + VRRP_RECORD_HEADER_BYTES > batch.length) break;
    const start = offset + VRRP_RECORD_HEADER_BYTES;
    const end = start + batch.readUInt16LE(offset);
    if (end > batch.length) break;
    const flags = batch[offset + 3] as number;
    record.dataStart = start;
    record.dataEnd = end;
    record.hopLimit = flags & RECORD_FLAG_TTL ? (batch[offset + 2] as number) : undefined;
    record.truncated = (flags & RECORD_FLAG_TRUNCATED) !== 0;
    record.sourceOffset = offset + 4;
    record.destinationOffset = offset + 20;
    visit(record);
    offset = end;
  }
  return index;
}

let addon: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (addon !== undefined) return addon;
  // src/native.ts (tsx) sits one level below the repository root, dist/src/native.js (built) two.
  const path = import.meta.url.endsWith('.js')
    ? '../../build/Release/tandem_packet.node'
    : '../build/Release/tandem_packet.node';
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (error) {
    throw new NativeAddonError(
      `expected the native addon at ${new URL(path, import.meta.url).pathname} (built by npm ci / node-gyp), ` +
        `but it could not be loaded: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return addon;
}

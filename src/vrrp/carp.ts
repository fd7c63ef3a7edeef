/**
 * CARP advertisement codec: the 36-byte header of OpenBSD carp(4), FreeBSD carp(4) and ucarp, over IPv4 and
 * IPv6 (IP protocol 112, like VRRP). Codec trio in the dns-packet style: `encode`, `decode`, `encodingLength`.
 * Values are decoded once into host-order objects; `decode` never throws, every malformed input comes back as a
 * named reason so the receive path can count it. The HMAC that authenticates an advert lives in
 * `carp-auth.ts` (it needs node:crypto; this file stays pure).
 *
 * Header, OpenBSD sys/netinet/ip_carp.h (`struct carp_header`; ucarp's ip_carp.h names byte 4 "Reserved"):
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version| Type  | VirtualHostID |    AdvSkew    |    Auth Len   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |    Demote     |    AdvBase    |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         Counter (1)                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         Counter (2)                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                        SHA-1 HMAC (1)                         |
 *    |                             ...                               |
 *    |                        SHA-1 HMAC (5)                         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The checksum is the Internet checksum of these 36 bytes alone, without a pseudo-header, over IPv4 and IPv6
 * alike (ip_carp.c `carp_cksum(m, sizeof(*ch))` in carp6_proto_input_if). See docs/carp.md for the sources.
 */
import { addToChecksum, finishChecksum } from './checksum.js';
import { TandemError } from '../errors.js';

/** ip_carp.h CARP_VERSION. */
export const CARP_VERSION = 2;
/** ip_carp.h CARP_ADVERTISEMENT, the only type. */
export const CARP_TYPE_ADVERTISEMENT = 1;
/** ip_carp.h `struct carp_header`: 8 header bytes, a 64-bit counter, a 20-byte SHA-1 HMAC. */
export const CARP_HEADER_LENGTH = 36;
/** ip_carp.c carp_send_ad `ch.carp_authlen = 7`: counter + HMAC in 32-bit words, what every sender writes. */
export const CARP_AUTHLEN = 7;
/** Length of the SHA-1 HMAC (`carp_md[20]`). */
export const CARP_DIGEST_LENGTH = 20;
/** carp(4) / ucarp `--vhid`: a virtual host ID is 1-255 (0 is FreeBSD's loop marker, never configured). */
export const VHID_MIN = 1;
export const VHID_MAX = 255;
/** One byte each: advbase in seconds, advskew in 1/256 s, demote counter (capped at 255 by OpenBSD). */
export const BYTE_MAX = 255;
/** ip_carp.c carp_send_ad: a bowing-out master advertises advbase 255 and advskew 255 and stops. */
export const BOW_OUT_ADVBASE = 255;
export const BOW_OUT_ADVSKEW = 255;
/** ip_carp.h CARP_DFLTTL: sent with TTL / hop limit 255, checked on receipt for multicast adverts. */
export const CARP_TTL = 255;
const COUNTER_OFFSET = 8;
const DIGEST_OFFSET = 16;
const UINT64_MAX = (1n << 64n) - 1n;

/** A CARP advertisement in host order. */
export interface CarpAdvertisement {
  vhid: number;
  /** Skew added to advbase, in 1/256 s. */
  advskew: number;
  /** OpenBSD's demotion counter (carp_demote); ucarp and FreeBSD send 0 and ignore it. */
  demote: number;
  /** Base advertisement interval in seconds. */
  advbase: number;
  /** The 64-bit counter (OpenBSD: a fixed replay cookie; ucarp and FreeBSD: random, then incremented). */
  counter: bigint;
  /** The SHA-1 HMAC, 20 bytes (see carp-auth.ts). */
  digest: Uint8Array;
}

export interface DecodedCarpAdvertisement extends CarpAdvertisement {
  /** Auth Len as received; always CARP_AUTHLEN once decoded. */
  authlen: number;
  checksum: number;
}

export type CarpDecodeReason =
  'truncated' | 'oversized' | 'bad-checksum' | 'bad-version' | 'bad-type' | 'bad-vhid' | 'bad-authlen';

export type CarpDecodeResult =
  | { ok: true; value: DecodedCarpAdvertisement; bytes: number }
  | { ok: false; reason: CarpDecodeReason; detail: string };

/** Thrown by `encode` only: encoding our own values is a programming error when they are out of range. */
export class CarpEncodeError extends TandemError {
  constructor(message: string) {
    super('TANDEM_ECARP_ENCODE', message);
  }
}

/** Every CARP advertisement is 36 bytes; the argument is there for the codec trio's shape. */
export function encodingLength(_advert?: CarpAdvertisement): number {
  return CARP_HEADER_LENGTH;
}

function isByte(value: number, minimum = 0): boolean {
  return Number.isInteger(value) && value >= minimum && value <= BYTE_MAX;
}

function checkEncodable(advert: CarpAdvertisement): void {
  if (!isByte(advert.vhid, VHID_MIN))
    throw new CarpEncodeError(`vhid must be ${VHID_MIN}-${VHID_MAX}, got ${advert.vhid}`);
  if (!isByte(advert.advskew)) throw new CarpEncodeError(`advskew must be 0-255, got ${advert.advskew}`);
  if (!isByte(advert.advbase)) throw new CarpEncodeError(`advbase must be 0-255, got ${advert.advbase}`);
  if (!isByte(advert.demote)) throw new CarpEncodeError(`demote must be 0-255, got ${advert.demote}`);
  if (typeof advert.counter !== 'bigint' || advert.counter < 0n || advert.counter > UINT64_MAX)
    throw new CarpEncodeError(`counter must be a 64-bit unsigned bigint, got ${String(advert.counter)}`);
  if (advert.digest.length !== CARP_DIGEST_LENGTH)
    throw new CarpEncodeError(`digest must be ${CARP_DIGEST_LENGTH} bytes, got ${advert.digest.length}`);
}

/** Writes the 64-bit counter big-endian, as `htonl` of its two halves does in ip_carp.c. */
export function writeCounter(target: Uint8Array, offset: number, counter: bigint): void {
  for (let index = 0; index < 8; index++) {
    target[offset + index] = Number((counter >> BigInt(56 - index * 8)) & 0xffn);
  }
}

/** Reads the big-endian 64-bit counter at `offset`. */
export function readCounter(source: Uint8Array, offset: number): bigint {
  let counter = 0n;
  for (let index = 0; index < 8; index++)
    counter = (counter << 8n) | BigInt(source[offset + index] as number);
  return counter;
}

/** Encodes `advert` into `buf` at `offset` (a new buffer when none is given) with its checksum filled in. */
export function encode(advert: CarpAdvertisement, buf?: Uint8Array, offset = 0): Uint8Array {
  checkEncodable(advert);
  const target = buf ?? new Uint8Array(offset + CARP_HEADER_LENGTH);
  if (offset < 0 || target.length - offset < CARP_HEADER_LENGTH)
    throw new CarpEncodeError(`buffer too small: need ${CARP_HEADER_LENGTH} bytes at offset ${offset}`);
  const message = target.subarray(offset, offset + CARP_HEADER_LENGTH);
  message[0] = (CARP_VERSION << 4) | CARP_TYPE_ADVERTISEMENT;
  message[1] = advert.vhid;
  message[2] = advert.advskew;
  message[3] = CARP_AUTHLEN;
  message[4] = advert.demote;
  message[5] = advert.advbase;
  message[6] = 0;
  message[7] = 0;
  writeCounter(message, COUNTER_OFFSET, advert.counter);
  message.set(advert.digest, DIGEST_OFFSET);
  const checksum = finishChecksum(addToChecksum(0, message));
  message[6] = checksum >> 8;
  message[7] = checksum & 0xff;
  return target;
}

function fail(reason: CarpDecodeReason, detail: string): CarpDecodeResult {
  return { ok: false, reason, detail };
}

/**
 * Decodes one advertisement occupying `buf` from `offset` to its end (the IP payload). The checks follow the
 * order of ip_carp.c carp_proto_input_if / carp_proto_input_c where they concern the message itself: length,
 * checksum, version (then type, vhid range and auth length, which OpenBSD and ucarp leave unchecked and tandem
 * names). TTL, vhid match, HMAC and counter belong to the receiver.
 */
export function decode(buf: Uint8Array, offset = 0): CarpDecodeResult {
  if (!Number.isInteger(offset) || offset < 0 || offset > buf.length)
    return fail('truncated', `offset ${offset} outside a ${buf.length}-byte buffer`);
  const message = buf.subarray(offset);
  // ip_carp.c: "verify that the received packet length is equal to the CARP header" (it accepts more and
  // checksums 36 bytes; no CARP sender pads, so anything longer is named here).
  if (message.length < CARP_HEADER_LENGTH)
    return fail('truncated', `expected ${CARP_HEADER_LENGTH} bytes, got ${message.length}`);
  if (message.length > CARP_HEADER_LENGTH)
    return fail('oversized', `expected ${CARP_HEADER_LENGTH} bytes, got ${message.length}`);
  const byte = (index: number): number => message[index] as number;
  const checksum = (byte(6) << 8) | byte(7);
  // ip_carp.c: "verify the CARP checksum" (over the header only, no pseudo-header).
  if (finishChecksum(addToChecksum(0, message)) !== 0)
    return fail('bad-checksum', `checksum 0x${checksum.toString(16).padStart(4, '0')} does not verify`);
  const version = byte(0) >> 4;
  // ip_carp.c carp_proto_input_c: "verify the CARP version".
  if (version !== CARP_VERSION)
    return fail('bad-version', `expected version ${CARP_VERSION}, got ${version}`);
  const type = byte(0) & 0x0f;
  if (type !== CARP_TYPE_ADVERTISEMENT)
    return fail('bad-type', `expected type ${CARP_TYPE_ADVERTISEMENT} (ADVERTISEMENT), got ${type}`);
  const vhid = byte(1);
  if (vhid < VHID_MIN) return fail('bad-vhid', `expected vhid ${VHID_MIN}-${VHID_MAX}, got ${vhid}`);
  const authlen = byte(3);
  if (authlen !== CARP_AUTHLEN)
    return fail('bad-authlen', `expected auth length ${CARP_AUTHLEN} (counter + HMAC), got ${authlen}`);
  return {
    ok: true,
    bytes: CARP_HEADER_LENGTH,
    value: {
      vhid,
      advskew: byte(2),
      authlen,
      demote: byte(4),
      advbase: byte(5),
      counter: readCounter(message, COUNTER_OFFSET),
      digest: message.slice(DIGEST_OFFSET, DIGEST_OFFSET + CARP_DIGEST_LENGTH),
      checksum,
    },
  };
}

/** An advertisement that bows out (ip_carp.c sc_bow_out): advbase 255 and advskew 255, sent once on leaving. */
export function isBowOut(advert: Pick<CarpAdvertisement, 'advbase' | 'advskew'>): boolean {
  return advert.advbase === BOW_OUT_ADVBASE && advert.advskew === BOW_OUT_ADVSKEW;
}

export const carpPacket = { encode, decode, encodingLength };

/**
 * Which protocol an IP protocol 112 payload speaks. VRRP and CARP share the protocol number and the group
 * 224.0.0.18, so one socket sees both and hands each payload to the right codec (`packet.ts` or `carp.ts`).
 *
 * The first byte does not tell them apart: VRRPv2 and CARP both start with version 2, type 1 (0x21). The rule:
 *   - type other than 1: neither (both protocols define only ADVERTISEMENT, RFC 3768 §5.3.2, ip_carp.h);
 *   - version 3: VRRPv3 (RFC 5798; FreeBSD's carp(4) speaks it too when set to version 3);
 *   - version 2 over IPv6: CARP (VRRPv2 is IPv4 only, RFC 3768 §5.1);
 *   - version 2 over IPv4, exactly 36 bytes with byte 3 = 7: CARP. Byte 3 is CARP's Auth Len, 7 from every
 *     sender (OpenBSD, FreeBSD, ucarp), and VRRPv2's Count IP Addrs: a VRRPv2 advert is 16 + 4 x count bytes
 *     (RFC 3768 §5.1), so count 7 needs 44 bytes and a 36-byte VRRPv2 advert has count 5. No well-formed
 *     advert of one protocol matches the other's rule;
 *   - any other version 2 payload over IPv4: VRRPv2, whose decoder names what is wrong with it.
 * What stays ambiguous (see docs/carp.md): a CARP advert with another auth length or padding (no known
 * sender) is taken for a malformed VRRPv2 one, and a VRRPv2 advert with count 7 cut to 36 bytes for CARP (without
 * authentication its lost 8 bytes are zeros, so the checksum still holds; the HMAC refuses it). Either way it
 * is counted, never acted on.
 */
import type { Family } from './address.js';
import { CARP_AUTHLEN, CARP_HEADER_LENGTH, CARP_TYPE_ADVERTISEMENT, CARP_VERSION } from './carp.js';

export type Protocol112 =
  | { protocol: 'vrrp'; version: 2 | 3 }
  | { protocol: 'carp' }
  | { protocol: 'unknown'; reason: 'truncated' | 'unknown-version' | 'unknown-type'; detail: string };

/** Byte 3: CARP's Auth Len, VRRPv2's Count IP Addrs. */
const AUTHLEN_OR_COUNT_OFFSET = 3;

const VRRP3: Protocol112 = Object.freeze({ protocol: 'vrrp', version: 3 } as const);
const VRRP2: Protocol112 = Object.freeze({ protocol: 'vrrp', version: 2 } as const);
const CARP: Protocol112 = Object.freeze({ protocol: 'carp' } as const);

/**
 * Which protocol the payload in `buffer[start, end)` speaks (the whole buffer by default). The common answers
 * are shared constants, so a packet that the receive path recognises as a repeat allocates nothing here.
 */
export function classifyProtocol112(
  buffer: Uint8Array,
  family: Family,
  start = 0,
  end = buffer.length,
): Protocol112 {
  const first = end > start ? buffer[start] : undefined;
  if (first === undefined) return { protocol: 'unknown', reason: 'truncated', detail: 'empty payload' };
  const version = first >> 4;
  const type = first & 0x0f;
  if (type !== CARP_TYPE_ADVERTISEMENT) {
    return {
      protocol: 'unknown',
      reason: 'unknown-type',
      detail: `type ${type} is neither VRRP's nor CARP's`,
    };
  }
  if (version === 3) return VRRP3;
  if (version !== CARP_VERSION) {
    return {
      protocol: 'unknown',
      reason: 'unknown-version',
      detail: `version ${version} is neither VRRP (2, 3) nor CARP (2)`,
    };
  }
  if (family === 6) return CARP;
  if (end - start === CARP_HEADER_LENGTH && buffer[start + AUTHLEN_OR_COUNT_OFFSET] === CARP_AUTHLEN)
    return CARP;
  return VRRP2;
}

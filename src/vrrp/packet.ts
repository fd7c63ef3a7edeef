/**
 * VRRP advertisement codec: VRRPv2 (RFC 3768) over IPv4 and VRRPv3 (RFC 5798, with the RFC 9568
 * clarifications) over IPv4 and IPv6. Codec trio in the dns-packet style: `encode`, `decode`,
 * `encodingLength`. Values are decoded once into host-order objects; `decode` never throws, every malformed
 * input comes back as a named reason so the receive path can count it.
 *
 * VRRPv2, RFC 3768 §5.1:
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |   Auth Type   |   Adver Int   |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         IP Address (1)                        |
 *    |                            .....                              |
 *    |                         IP Address (n)                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                     Authentication Data (1)                   |
 *    |                     Authentication Data (2)                   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * VRRPv3, RFC 5798 §5.1:
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |(rsvd) |     Max Adver Int     |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                       IPvX Address(es)                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { ADDRESS_LENGTH, type Family, formatAddress, parseAddress } from './address.js';
import { addToChecksum, finishChecksum } from './checksum.js';
import { TandemError } from '../errors.js';
import {
  PRIORITY_OWNER,
  PRIORITY_STOPPED,
  VRID_MAX,
  VRID_MIN,
  VRRP_GROUP_IPV4,
  VRRP_PROTOCOL,
} from '../core/protocol.js';

// The protocol constants live in core/protocol.ts; the codec's users read them here too.
export {
  PRIORITY_OWNER,
  PRIORITY_STOPPED,
  VRID_MAX,
  VRID_MIN,
  VRRP_GROUP_IPV4,
  VRRP_GROUP_IPV6,
  VRRP_PROTOCOL,
} from '../core/protocol.js';

/** RFC 5798 §5.2.2: the only defined type, ADVERTISEMENT. */
export const VRRP_TYPE_ADVERTISEMENT = 1;
/** RFC 3768 §5.3.7 / RFC 5798 §5.2.5: an 8-bit count of addresses. */
export const MAX_ADDRESS_COUNT = 255;
/** RFC 3768 §5.3.7: Adver Int is 8 bits of whole seconds. */
export const V2_ADVERT_INTERVAL_MAX_SECONDS = 255;
/** RFC 5798 §5.2.7: Max Adver Int is 12 bits of centiseconds. */
export const V3_ADVERT_INTERVAL_MAX_CENTISECONDS = 0xfff;
/** RFC 3768 §5.3.10: two words of authentication data, always present in v2. */
export const V2_AUTH_DATA_LENGTH = 8;
/** RFC 5798 §5.1: the fixed part before the addresses. */
export const HEADER_LENGTH = 8;

/** RFC 3768 §5.3.6 (and RFC 2338 §5.3.6 before it): the v2 authentication types. */
export const AUTH_TYPE = { none: 0, simple: 1, ipAh: 2 } as const;

export type VrrpVersion = 2 | 3;

export type VrrpAuth = { type: 'none' } | { type: 'simple'; password: string };

/** A VRRP advertisement in host order. */
export interface VrrpAdvertisement {
  version: VrrpVersion;
  family: Family;
  vrid: number;
  priority: number;
  /** v2: Adver Int in seconds x 100; v3: Max Adver Int as sent (centiseconds). */
  advertIntervalCentiseconds: number;
  /** Canonical text (RFC 5952 for IPv6). */
  addresses: string[];
  /** v2 only; always `{ type: 'none' }` for v3, which has no authentication (RFC 5798 §9). */
  auth: VrrpAuth;
}

/**
 * How the checksum of a received advertisement was computed. RFC 5798 §5.2.8 includes the pseudo-header. Over
 * IPv4 two other forms exist in the field and are accepted: the VRRP message only, like v2 (the form the RFC 9568
 * erratum discussion and keepalived's `v3_checksum_as_v2` describe), and keepalived's `old_unicast_checksum`, a
 * unicast advert checksummed with the multicast group 224.0.0.18 as pseudo-header destination. v2 is always
 * 'message-only'.
 */
export type ChecksumMode = 'pseudo-header' | 'message-only' | 'multicast-destination';

export interface DecodedAdvertisement extends VrrpAdvertisement {
  checksum: number;
  checksumMode: ChecksumMode;
}

/** The IP addresses the checksum pseudo-header of v3 needs (RFC 5798 §5.2.8). */
export interface PseudoHeader {
  source: string;
  destination: string;
}

export type DecodeReason =
  | 'truncated'
  | 'oversized'
  | 'bad-version'
  | 'version-mismatch'
  | 'bad-type'
  | 'bad-vrid'
  | 'count-mismatch'
  | 'bad-checksum'
  | 'zero-interval'
  | 'auth-unsupported'
  | 'bad-auth-type'
  | 'bad-pseudo-header';

export type DecodeResult =
  | { ok: true; value: DecodedAdvertisement; bytes: number }
  | { ok: false; reason: DecodeReason; detail: string };

/** Options of a decode: the family of the socket it came from and, for v3, the pseudo-header addresses. */
export interface DecodeContext {
  family: Family;
  /** Needed to verify a v3 checksum; without it a v3 checksum is verified in message-only form only. */
  pseudoHeader?: PseudoHeader;
  /** When the kernel already verified the checksum (IPV6_CHECKSUM on a raw IPv6 socket), skip it. */
  checksumVerified?: boolean;
  /**
   * The version the receiver runs: another valid version is 'version-mismatch', refused right after the
   * version check (RFC 5798 §7.1: "MUST verify that the VRRP version is 3"; RFC 3768 §7.1: "is 2").
   */
  version?: VrrpVersion;
}

/**
 * The fixed fields of a checked advertisement, in host order, with the address list and the v2 authentication
 * data left as bytes (views into the message, nothing copied): what the receive ladder needs to compare a
 * packet with its configuration without building a string.
 */
export interface AdvertHeader {
  version: VrrpVersion;
  vrid: number;
  priority: number;
  count: number;
  /** v2: Adver Int in seconds x 100; v3: Max Adver Int as sent (centiseconds). */
  advertIntervalCentiseconds: number;
  checksum: number;
  checksumMode: ChecksumMode;
  /** v2 only: the Auth Type byte (RFC 3768 §5.3.6). */
  authType: number;
  /** The `count` addresses as they travel. */
  addressBytes: Uint8Array;
  /** v2 only: the eight bytes of Authentication Data (empty for v3). */
  authData: Uint8Array;
}

export type HeaderResult =
  { ok: true; value: AdvertHeader; bytes: number } | { ok: false; reason: DecodeReason; detail: string };

export interface EncodeOptions {
  pseudoHeader?: PseudoHeader;
  /**
   * v3 over IPv4 only: 'message-only' leaves the pseudo-header out (keepalived's `v3_checksum_as_v2`);
   * 'multicast-destination' uses 224.0.0.18 as the destination whatever it is (`old_unicast_checksum`).
   */
  checksumMode?: ChecksumMode;
}

export function encodingLength(advert: Pick<VrrpAdvertisement, 'version' | 'family' | 'addresses'>): number {
  const addressBytes = advert.addresses.length * ADDRESS_LENGTH[advert.family];
  return HEADER_LENGTH + addressBytes + (advert.version === 2 ? V2_AUTH_DATA_LENGTH : 0);
}

/** The largest legal message of a version and family: 255 addresses (and v2's auth data). */
function maximumLength(version: VrrpVersion, family: Family): number {
  return encodingLength({ version, family, addresses: new Array<string>(MAX_ADDRESS_COUNT).fill('') });
}

function pseudoHeaderBytes(family: Family, pseudo: PseudoHeader, length: number): Uint8Array | undefined {
  const source = parseAddress(pseudo.source);
  const destination = parseAddress(pseudo.destination);
  if (!source || !destination || source.family !== family || destination.family !== family) return undefined;
  if (family === 4) {
    // RFC 768 style IPv4 pseudo-header: source, destination, zero, protocol, length.
    const bytes = new Uint8Array(12);
    bytes.set(source.bytes, 0);
    bytes.set(destination.bytes, 4);
    bytes[9] = VRRP_PROTOCOL;
    bytes[10] = length >> 8;
    bytes[11] = length & 0xff;
    return bytes;
  }
  // RFC 8200 §8.1: source, destination, 32-bit length, three zero bytes, next header.
  const bytes = new Uint8Array(40);
  bytes.set(source.bytes, 0);
  bytes.set(destination.bytes, 16);
  new DataView(bytes.buffer).setUint32(32, length);
  bytes[39] = VRRP_PROTOCOL;
  return bytes;
}

function messageChecksum(message: Uint8Array, pseudo?: Uint8Array): number {
  let sum = pseudo ? addToChecksum(0, pseudo) : 0;
  sum = addToChecksum(sum, message);
  return finishChecksum(sum);
}

/** Thrown by `encode` only: encoding our own values is a programming error when they are out of range. */
export class VrrpEncodeError extends TandemError {
  constructor(message: string) {
    super('TANDEM_EVRRP_ENCODE', message);
  }
}

function checkEncodable(advert: VrrpAdvertisement): void {
  if (advert.version === 2 && advert.family !== 4)
    throw new VrrpEncodeError('VRRPv2 is IPv4 only (RFC 3768)');
  if (!Number.isInteger(advert.vrid) || advert.vrid < VRID_MIN || advert.vrid > VRID_MAX) {
    throw new VrrpEncodeError(`VRID must be ${VRID_MIN}-${VRID_MAX}, got ${advert.vrid}`);
  }
  if (
    !Number.isInteger(advert.priority) ||
    advert.priority < PRIORITY_STOPPED ||
    advert.priority > PRIORITY_OWNER
  ) {
    throw new VrrpEncodeError(`priority must be 0-255, got ${advert.priority}`);
  }
  if (advert.addresses.length > MAX_ADDRESS_COUNT) {
    throw new VrrpEncodeError(`at most ${MAX_ADDRESS_COUNT} addresses, got ${advert.addresses.length}`);
  }
  const interval = advert.advertIntervalCentiseconds;
  const valid =
    advert.version === 2
      ? Number.isInteger(interval / 100) &&
        interval >= 100 &&
        interval <= V2_ADVERT_INTERVAL_MAX_SECONDS * 100
      : Number.isInteger(interval) && interval >= 1 && interval <= V3_ADVERT_INTERVAL_MAX_CENTISECONDS;
  if (!valid)
    throw new VrrpEncodeError(`advert interval ${interval} cs is not valid for VRRPv${advert.version}`);
  if (advert.auth.type === 'simple') {
    if (advert.version !== 2) throw new VrrpEncodeError('authentication exists only in VRRPv2 (RFC 5798 §9)');
    if (new TextEncoder().encode(advert.auth.password).length > V2_AUTH_DATA_LENGTH) {
      throw new VrrpEncodeError(`a simple password is at most ${V2_AUTH_DATA_LENGTH} bytes`);
    }
  }
}

/** Encodes `advert` into `buf` at `offset` (a new buffer when none is given) with its checksum filled in. */
export function encode(
  advert: VrrpAdvertisement,
  options: EncodeOptions = {},
  buf?: Uint8Array,
  offset = 0,
): Uint8Array {
  checkEncodable(advert);
  const length = encodingLength(advert);
  const target = buf ?? new Uint8Array(offset + length);
  if (target.length - offset < length) throw new VrrpEncodeError(`buffer too small: need ${length} bytes`);
  const message = target.subarray(offset, offset + length);
  message.fill(0);
  message[0] = (advert.version << 4) | VRRP_TYPE_ADVERTISEMENT;
  message[1] = advert.vrid;
  message[2] = advert.priority;
  message[3] = advert.addresses.length;
  if (advert.version === 2) {
    message[4] = advert.auth.type === 'simple' ? AUTH_TYPE.simple : AUTH_TYPE.none;
    message[5] = advert.advertIntervalCentiseconds / 100;
  } else {
    // RFC 5798 §5.2.6: the four reserved bits are zero.
    message[4] = (advert.advertIntervalCentiseconds >> 8) & 0x0f;
    message[5] = advert.advertIntervalCentiseconds & 0xff;
  }
  const size = ADDRESS_LENGTH[advert.family];
  advert.addresses.forEach((text, index) => {
    const parsed = parseAddress(text);
    if (!parsed || parsed.family !== advert.family) {
      throw new VrrpEncodeError(`'${text}' is not an IPv${advert.family} address`);
    }
    message.set(parsed.bytes, HEADER_LENGTH + index * size);
  });
  if (advert.auth.type === 'simple') {
    // RFC 2338 §5.3.10: the password, padded with zeros to eight bytes.
    message.set(
      new TextEncoder().encode(advert.auth.password),
      HEADER_LENGTH + advert.addresses.length * size,
    );
  }
  let pseudo: Uint8Array | undefined;
  const mode =
    advert.version === 3 && advert.family === 4 ? (options.checksumMode ?? 'pseudo-header') : undefined;
  if (advert.version === 3 && mode !== 'message-only') {
    if (!options.pseudoHeader)
      throw new VrrpEncodeError('VRRPv3 needs the pseudo-header addresses to checksum');
    const header =
      mode === 'multicast-destination'
        ? { source: options.pseudoHeader.source, destination: VRRP_GROUP_IPV4 }
        : options.pseudoHeader;
    pseudo = pseudoHeaderBytes(advert.family, header, length);
    if (!pseudo) throw new VrrpEncodeError(`pseudo-header addresses are not IPv${advert.family}`);
  }
  const checksum = messageChecksum(message, pseudo);
  message[6] = checksum >> 8;
  message[7] = checksum & 0xff;
  return target;
}

/** keepalived `old_unicast_checksum`: a unicast v3 IPv4 advert checksummed as if sent to 224.0.0.18. */
function multicastDestinationValid(message: Uint8Array, pseudo: PseudoHeader): boolean {
  if (pseudo.destination === VRRP_GROUP_IPV4) return false;
  const header = pseudoHeaderBytes(
    4,
    { source: pseudo.source, destination: VRRP_GROUP_IPV4 },
    message.length,
  );
  return header !== undefined && messageChecksum(message, header) === 0;
}

function fail(reason: DecodeReason, detail: string): { ok: false; reason: DecodeReason; detail: string } {
  return { ok: false, reason, detail };
}

/**
 * Checks one advertisement occupying `buf` from `offset` to its end (the IP payload) in the order of RFC 5798
 * §7.1 where the checks concern the message itself (version, type, completeness, checksum), and reads its fixed
 * fields. Addresses and authentication data stay bytes. The instance-level checks (authentication, addresses
 * vs. configuration, interval) belong to the receive ladder (`vrrp/receive.ts`).
 */
export function decodeHeader(buf: Uint8Array, context: DecodeContext, offset = 0): HeaderResult {
  if (offset < 0 || offset > buf.length)
    return fail('truncated', `offset ${offset} outside a ${buf.length}-byte buffer`);
  const message = buf.subarray(offset);
  if (message.length === 0) return fail('truncated', `expected at least ${HEADER_LENGTH} bytes, got 0`);
  const byte = (index: number): number => message[index] as number;
  const version = byte(0) >> 4;
  const type = byte(0) & 0x0f;
  // RFC 5798 §7.1 checks the version before the completeness: "MUST verify that the VRRP version is 3"; v2 is
  // accepted on IPv4 only (RFC 3768).
  if (version !== 2 && version !== 3) return fail('bad-version', `expected version 2 or 3, got ${version}`);
  if (version === 2 && context.family !== 4)
    return fail('bad-version', 'VRRPv2 is IPv4 only, got it over IPv6');
  if (context.version !== undefined && version !== context.version) {
    return fail('version-mismatch', `expected VRRPv${context.version}, got VRRPv${version}`);
  }
  if (type !== VRRP_TYPE_ADVERTISEMENT)
    return fail('bad-type', `expected type 1 (ADVERTISEMENT), got ${type}`);
  if (message.length < HEADER_LENGTH) {
    return fail('truncated', `expected at least ${HEADER_LENGTH} bytes, got ${message.length}`);
  }
  const maximum = maximumLength(version, context.family);
  if (message.length > maximum) {
    return fail(
      'oversized',
      `a VRRPv${version} IPv${context.family} message is at most ${maximum} bytes, got ${message.length}`,
    );
  }
  const vrid = byte(1);
  if (vrid < VRID_MIN) return fail('bad-vrid', `expected VRID ${VRID_MIN}-${VRID_MAX}, got ${vrid}`);
  const count = byte(3);
  const size = ADDRESS_LENGTH[context.family];
  const addressEnd = HEADER_LENGTH + count * size;
  const expected = addressEnd + (version === 2 ? V2_AUTH_DATA_LENGTH : 0);
  if (message.length !== expected) {
    return fail('count-mismatch', `count ${count} needs ${expected} bytes, got ${message.length}`);
  }
  const checksum = (byte(6) << 8) | byte(7);
  let checksumMode: ChecksumMode = 'message-only';
  if (!context.checksumVerified) {
    const messageOnlyValid = messageChecksum(message) === 0;
    if (version === 2) {
      if (!messageOnlyValid)
        return fail('bad-checksum', `checksum 0x${checksum.toString(16)} does not verify`);
    } else {
      let pseudoValid = false;
      if (context.pseudoHeader) {
        const pseudo = pseudoHeaderBytes(context.family, context.pseudoHeader, message.length);
        if (!pseudo) return fail('bad-pseudo-header', `pseudo-header addresses are not IPv${context.family}`);
        pseudoValid = messageChecksum(message, pseudo) === 0;
      }
      if (pseudoValid) checksumMode = 'pseudo-header';
      // RFC 9568 erratum / keepalived v3_checksum_as_v2: an IPv4 v3 checksum without the pseudo-header.
      else if (context.family === 4 && messageOnlyValid) checksumMode = 'message-only';
      else if (
        context.family === 4 &&
        context.pseudoHeader &&
        multicastDestinationValid(message, context.pseudoHeader)
      ) {
        checksumMode = 'multicast-destination';
      } else {
        return fail(
          'bad-checksum',
          `checksum 0x${checksum.toString(16)} does not verify in any accepted form`,
        );
      }
    }
  } else if (version === 3) {
    checksumMode = 'pseudo-header';
  }
  const advertIntervalCentiseconds = version === 2 ? byte(5) * 100 : ((byte(4) & 0x0f) << 8) | byte(5);
  if (advertIntervalCentiseconds === 0)
    return fail('zero-interval', 'expected a non-zero advertisement interval');
  return {
    ok: true,
    bytes: message.length,
    value: {
      version,
      vrid,
      priority: byte(2),
      count,
      advertIntervalCentiseconds,
      checksum,
      checksumMode,
      authType: version === 2 ? byte(4) : AUTH_TYPE.none,
      addressBytes: message.subarray(HEADER_LENGTH, addressEnd),
      authData: message.subarray(addressEnd, expected),
    },
  };
}

/**
 * The v2 authentication of a checked header (RFC 3768 §5.3.6): type 0 or 1, with the simple password up to its
 * first zero byte; IP AH (type 2, RFC 2338) is refused as unsupported, anything higher as malformed.
 */
export function decodeAuth(
  header: Pick<AdvertHeader, 'authType' | 'authData'>,
): { ok: true; auth: VrrpAuth } | { ok: false; reason: DecodeReason; detail: string } {
  if (header.authType === AUTH_TYPE.ipAh)
    return {
      ok: false,
      reason: 'auth-unsupported',
      detail: 'authentication type 2 (IP AH) is not supported',
    };
  if (header.authType > AUTH_TYPE.ipAh) {
    return {
      ok: false,
      reason: 'bad-auth-type',
      detail: `expected authentication type 0-2, got ${header.authType}`,
    };
  }
  if (header.authType !== AUTH_TYPE.simple) return { ok: true, auth: { type: 'none' } };
  const end = header.authData.indexOf(0);
  const password = new TextDecoder().decode(end === -1 ? header.authData : header.authData.subarray(0, end));
  return { ok: true, auth: { type: 'simple', password } };
}

/**
 * Decodes one advertisement occupying `buf` from `offset` to its end (the IP payload) into host-order values:
 * `decodeHeader`'s checks, then the authentication and the addresses as canonical text.
 */
export function decode(buf: Uint8Array, context: DecodeContext, offset = 0): DecodeResult {
  const header = decodeHeader(buf, context, offset);
  if (!header.ok) return header;
  const { value } = header;
  const auth = decodeAuth(value);
  if (!auth.ok) return fail(auth.reason, auth.detail);
  const size = ADDRESS_LENGTH[context.family];
  const addresses: string[] = [];
  for (let index = 0; index < value.count; index++) {
    addresses.push(formatAddress(context.family, value.addressBytes, index * size));
  }
  return {
    ok: true,
    bytes: header.bytes,
    value: {
      version: value.version,
      family: context.family,
      vrid: value.vrid,
      priority: value.priority,
      advertIntervalCentiseconds: value.advertIntervalCentiseconds,
      addresses,
      auth: auth.auth,
      checksum: value.checksum,
      checksumMode: value.checksumMode,
    },
  };
}

export const vrrpPacket = { encode, decode, encodingLength };

/**
 * IP and MAC address text <-> bytes, for the adapters that put addresses on the wire (gratuitous ARP,
 * neighbour advertisements) or into netlink messages. Pure: no Node module, no I/O.
 */
import { TandemError } from '../errors.js';

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  /** Network byte order, 4 or 16 bytes. */
  bytes: Uint8Array;
}

export class InvalidAddressError extends TandemError {
  constructor(kind: string, text: string) {
    super('TANDEM_EADDRESS', `expected ${kind}, found ${JSON.stringify(text)}`);
  }
}

const IPV4_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV6_GROUP_PATTERN = /^[0-9a-fA-F]{1,4}$/;
const MAC_PATTERN = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function parseIpv4(text: string): Uint8Array | undefined {
  const match = IPV4_PATTERN.exec(text);
  if (match === null) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = match[i + 1] as string;
    // A leading zero is ambiguous (octal in inet_aton), so it is rejected rather than guessed.
    if (part.length > 1 && part.startsWith('0')) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

/** Parses the 16-bit groups of one side of an IPv6 address; the last group may be dotted IPv4. */
function parseIpv6Groups(text: string, allowTrailingIpv4: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (allowTrailingIpv4 && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      continue;
    }
    if (!IPV6_GROUP_PATTERN.test(part)) return undefined;
    groups.push(parseInt(part, 16));
  }
  return groups;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  let groups: number[];
  if (halves.length === 1) {
    const all = parseIpv6Groups(text, true);
    if (all === undefined || all.length !== 8) return undefined;
    groups = all;
  } else if (halves.length === 2) {
    const head = parseIpv6Groups(halves[0] as string, false);
    const tail = parseIpv6Groups(halves[1] as string, true);
    if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    return undefined;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

/** Parses an IPv4 (dotted quad) or IPv6 (RFC 4291 §2.2 text) address. */
export function parseIp(text: string): ParsedIp {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, bytes: v4 };
  const v6 = text.includes(':') ? parseIpv6(text) : undefined;
  if (v6 !== undefined) return { family: 6, bytes: v6 };
  throw new InvalidAddressError('an IPv4 or IPv6 address', text);
}

export function ipFamily(text: string): IpFamily {
  return parseIp(text).family;
}

/** Formats 4 or 16 bytes as text; IPv6 in the RFC 5952 canonical form (lower case, longest zero run as ::). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new InvalidAddressError('4 or 16 address bytes', `${bytes.length} bytes`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The canonical text of an address, so that two spellings of one address compare equal. */
export function canonicalIp(text: string): string {
  return formatIp(parseIp(text).bytes);
}

/** The IPv4 directed broadcast address of `address/prefixLength` (all host bits set). */
export function ipv4Broadcast(address: Uint8Array, prefixLength: number): Uint8Array {
  const result = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const networkBits = Math.max(0, Math.min(8, prefixLength - 8 * i));
    const hostMask = 0xff >> networkBits;
    result[i] = (address[i] as number) | hostMask;
  }
  return result;
}

/** The IPv4 network address of `address/prefixLength` (all host bits clear). */
export function ipv4Network(address: Uint8Array, prefixLength: number): Uint8Array {
  const result = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const networkBits = Math.max(0, Math.min(8, prefixLength - 8 * i));
    result[i] = (address[i] as number) & ~(0xff >> networkBits) & 0xff;
  }
  return result;
}

export function parseMac(text: string): Uint8Array {
  if (!MAC_PATTERN.test(text)) throw new InvalidAddressError('a MAC address like 02:00:5e:00:01:01', text);
  return Uint8Array.from(text.split(':').map((part) => parseInt(part, 16)));
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(':');
}

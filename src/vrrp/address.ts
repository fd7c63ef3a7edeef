/**
 * IP addresses as text and as bytes, without Node's `net` module so that the codecs and the state machine stay
 * pure. Text output is the canonical form (RFC 5952 for IPv6), so decoded addresses compare as strings.
 */

export type Family = 4 | 6;

/** Bytes of an address of each family. */
export const ADDRESS_LENGTH: Record<Family, number> = { 4: 4, 6: 16 };

const IPV4_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad IPv4 text; `undefined` when it is not exactly four decimal octets 0-255. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const match = IPV4_PATTERN.exec(text);
  if (!match) return undefined;
  const bytes = new Uint8Array(4);
  for (let index = 0; index < 4; index++) {
    const part = match[index + 1] as string;
    // Leading zeros are refused: "010" is octal to some parsers and decimal to others.
    if (part.length > 1 && part.startsWith('0')) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[index] = value;
  }
  return bytes;
}

/**
 * Parses IPv6 text (with `::` compression and an optional embedded IPv4 tail); no zone index. RFC 4291 §2.2
 * allows dotted IPv4 only as the low-order 32 bits, so only the last group of the whole text may be one.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string, endsAddress: boolean): number[] | undefined => {
    if (part === '') return [];
    const groups: number[] = [];
    const pieces = part.split(':');
    for (let index = 0; index < pieces.length; index++) {
      const piece = pieces[index] as string;
      if (endsAddress && index === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIPv4(piece);
        if (!v4) return undefined;
        groups.push(
          ((v4[0] as number) << 8) | (v4[1] as number),
          ((v4[2] as number) << 8) | (v4[3] as number),
        );
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
      groups.push(parseInt(piece, 16));
    }
    return groups;
  };
  const head = parseGroups(halves[0] as string, halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] as string, true) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  return bytes;
}

export interface ParsedAddress {
  family: Family;
  /** Network byte order, `ADDRESS_LENGTH[family]` bytes. */
  bytes: Uint8Array;
}

/** Parses an address of either family; the family is the one whose syntax matches. */
export function parseAddress(text: string): ParsedAddress | undefined {
  const v4 = parseIPv4(text);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseIPv6(text);
  if (v6) return { family: 6, bytes: v6 };
  return undefined;
}

export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/** RFC 5952 §4: lowercase, no leading zeros, the longest run (first if tied) of two or more zero groups as `::`. */
export function formatIPv6(bytes: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let index = 0; index < 8; index++) {
    groups.push(((bytes[offset + index * 2] as number) << 8) | (bytes[offset + index * 2 + 1] as number));
  }
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < 8;) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestLength < 2) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

export function formatAddress(family: Family, bytes: Uint8Array, offset = 0): string {
  return family === 4 ? formatIPv4(bytes, offset) : formatIPv6(bytes, offset);
}

/** The canonical text of an address, or `undefined` when it does not parse. */
export function canonicalAddress(text: string): string | undefined {
  const parsed = parseAddress(text);
  return parsed ? formatAddress(parsed.family, parsed.bytes) : undefined;
}

/**
 * Compares two addresses of one family as unsigned numbers in network order (RFC 5798 §6.4.3 breaks priority ties
 * by "the primary IPvX address of the sender ... greater than the local primary IPvX address"). Returns <0, 0, >0.
 */
export function compareAddresses(left: string, right: string): number {
  const a = parseAddress(left);
  const b = parseAddress(right);
  if (!a || !b) throw new TypeError(`cannot compare addresses '${left}' and '${right}': not both valid`);
  if (a.family !== b.family) return a.family - b.family;
  for (let index = 0; index < a.bytes.length; index++) {
    const difference = (a.bytes[index] as number) - (b.bytes[index] as number);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** fe80::/10: RFC 5798 §5.1.2.2 requires the IPv6 source of an advertisement to be link-local. */
export function isIPv6LinkLocal(text: string): boolean {
  const bytes = parseIPv6(text);
  return bytes !== undefined && bytes[0] === 0xfe && ((bytes[1] as number) & 0xc0) === 0x80;
}

/** The IPv4 directed broadcast address of `address/prefixLength`: all host bits set. */
export function ipv4Broadcast(address: Uint8Array, prefixLength: number): Uint8Array {
  const result = new Uint8Array(4);
  for (let index = 0; index < 4; index++) {
    result[index] = (address[index] as number) | (0xff & ~networkMask(prefixLength, index));
  }
  return result;
}

/** The IPv4 network address of `address/prefixLength`: all host bits clear. */
export function ipv4Network(address: Uint8Array, prefixLength: number): Uint8Array {
  const result = new Uint8Array(4);
  for (let index = 0; index < 4; index++) {
    result[index] = (address[index] as number) & networkMask(prefixLength, index);
  }
  return result;
}

/** The network part of byte `index` of a `prefixLength` mask (0xff for a byte wholly inside the prefix). */
function networkMask(prefixLength: number, index: number): number {
  const networkBits = Math.max(0, Math.min(8, prefixLength - 8 * index));
  return (0xff << (8 - networkBits)) & 0xff;
}

/**
 * Addresses as the adapters need them (gratuitous ARP, neighbour advertisements, netlink messages): throwing
 * forms of the parsers in `vrrp/address.ts`, which hold the only IP text <-> bytes code, plus MAC addresses.
 * A bad address here is a caller's mistake (config, API), so it is a `TandemError` rather than `undefined`.
 */
import { TandemError } from '../errors.js';
import {
  type ParsedAddress,
  canonicalAddress,
  formatIPv4,
  formatIPv6,
  parseAddress,
} from '../vrrp/address.js';

export class InvalidAddressError extends TandemError {
  constructor(kind: string, text: string) {
    super('TANDEM_EADDRESS', `expected ${kind}, found ${JSON.stringify(text)}`);
  }
}

const MAC_PATTERN = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** `parseAddress`, throwing `InvalidAddressError` for text that is neither IPv4 nor IPv6. */
export function parseIp(text: string): ParsedAddress {
  const parsed = parseAddress(text);
  if (parsed === undefined) throw new InvalidAddressError('an IPv4 or IPv6 address', text);
  return parsed;
}

/** Formats 4 or 16 bytes (the family taken from the length, as netlink hands them over) canonically. */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIPv4(bytes);
  if (bytes.length === 16) return formatIPv6(bytes);
  throw new InvalidAddressError('4 or 16 address bytes', `${bytes.length} bytes`);
}

/** `canonicalAddress`, throwing `InvalidAddressError`; two spellings of one address give the same text. */
export function canonicalIp(text: string): string {
  const canonical = canonicalAddress(text);
  if (canonical === undefined) throw new InvalidAddressError('an IPv4 or IPv6 address', text);
  return canonical;
}

export function parseMac(text: string): Uint8Array {
  if (!MAC_PATTERN.test(text)) throw new InvalidAddressError('a MAC address like 02:00:5e:00:01:01', text);
  return Uint8Array.from(text.split(':').map((part) => parseInt(part, 16)));
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join(':');
}

/**
 * Authentication of CARP advertisements: the SHA-1 HMAC as each peer computes it, compared in constant time, and
 * the counter check that spots replayed or looped-back adverts. Facts and sources: docs/carp.md ("Protocol facts
 * and sources").
 *
 * The HMAC is RFC 2104 HMAC-SHA1 keyed by the passphrase (a C string of at most 19 bytes, zero-padded to the
 * 20-byte CARP_KEY_LEN buffer, which is what HMAC's own zero padding does), over a message of
 *   OpenBSD carp_hmac_prepare_ctx: version (1 byte, 2), type (1 byte, 1), [a hand-set link-layer address],
 *     vhid (1 byte), every IPv4 address of the carp interface ascending (4 bytes each), every IPv6 address
 *     ascending with the embedded scope cleared (16 bytes each), then the counter (8 bytes as on the wire).
 *     It signs without IPv6 link-local addresses (HMAC_NOV6LL) and accepts either form. FreeBSD hashes the same
 *     fields (link-local included, no link-layer address).
 *   ucarp carp_hmac_prepare: version, type, vhid, its single `--addr` IPv4 address, then the counter.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseAddress } from './address.js';
import {
  CARP_DIGEST_LENGTH,
  CARP_TYPE_ADVERTISEMENT,
  CARP_VERSION,
  VHID_MAX,
  VHID_MIN,
  writeCounter,
} from './carp.js';
import { TandemError } from '../errors.js';

/** Whose HMAC inputs to use: OpenBSD's (also FreeBSD, pfSense, OPNsense) or ucarp's. */
export type CarpHmacVariant = 'openbsd' | 'ucarp';

/** ip_carp.h CARP_KEY_LEN: the key buffer; the passphrase is NUL-terminated in it, so at most 19 bytes. */
export const CARP_KEY_LENGTH = 20;
export const CARP_PASSPHRASE_MAX_BYTES = CARP_KEY_LENGTH - 1;
const COUNTER_LENGTH = 8;
const LINK_LAYER_ADDRESS_LENGTH = 6;

export class CarpAuthError extends TandemError {
  constructor(message: string) {
    super('TANDEM_ECARP_AUTH', message);
  }
}

export interface CarpAuthOptions {
  variant: CarpHmacVariant;
  /** Text is taken as UTF-8 bytes, as a shell passes it to ucarp or ifconfig. */
  passphrase: string | Uint8Array;
  vhid: number;
  /**
   * openbsd: every address on the carp interface, IPv4 and IPv6 (order does not matter, duplicates count once);
   * ucarp: exactly one IPv4 address, its `--addr`.
   */
  addresses: readonly string[];
  /**
   * openbsd only: the carp interface's link-layer address when it was set by hand (`ifconfig carpN lladdr`),
   * which carp_hmac_prepare_ctx hashes after the type; leave it out for the default 00:00:5e:00:01:vhid.
   */
  linkLayerAddress?: Uint8Array;
}

export interface CarpAuthenticator {
  readonly variant: CarpHmacVariant;
  /** The digest this router puts in an advert carrying `counter`. */
  sign(counter: bigint): Uint8Array;
  /** Whether `digest` authenticates an advert carrying `counter`; constant time in the digest. */
  verify(counter: bigint, digest: Uint8Array): boolean;
}

/**
 * The HMAC key of a passphrase. Both peers treat it as a C string (cut at a NUL byte). OpenBSD's ifconfig copies
 * it with strlcpy into the 20-byte key, keeping the first 19 bytes; ucarp refuses a longer one ("Password too
 * long") and `--pass` must not be empty ("You must supply a password"); OpenBSD without `pass` keys with zeros.
 */
export function carpKey(passphrase: string | Uint8Array, variant: CarpHmacVariant): Uint8Array {
  const bytes = typeof passphrase === 'string' ? new TextEncoder().encode(passphrase) : passphrase;
  const end = bytes.indexOf(0);
  const text = end === -1 ? bytes : bytes.subarray(0, end);
  if (variant === 'openbsd') return text.slice(0, CARP_PASSPHRASE_MAX_BYTES);
  if (text.length === 0) throw new CarpAuthError('ucarp needs a passphrase: expected 1-19 bytes, got none');
  if (text.length > CARP_PASSPHRASE_MAX_BYTES) {
    throw new CarpAuthError(
      `ucarp keys with at most ${CARP_PASSPHRASE_MAX_BYTES} bytes of passphrase ("Password too long"), got ${text.length}`,
    );
  }
  return text.slice();
}

/** netinet6/in6.h IN6_IS_SCOPE_EMBED: link-local unicast, link-local and interface-local multicast. */
function isScopeEmbedded(bytes: Uint8Array): boolean {
  const first = bytes[0] as number;
  const second = bytes[1] as number;
  if (first === 0xfe && (second & 0xc0) === 0x80) return true;
  return first === 0xff && ((second & 0x0f) === 0x01 || (second & 0x0f) === 0x02);
}

function compareBytes(left: Uint8Array, right: Uint8Array): number {
  for (let index = 0; index < left.length; index++) {
    const difference = (left[index] as number) - (right[index] as number);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * Ascending, each value once: what the "smallest greater than the last" walk of carp_hmac_prepare_ctx yields.
 * The walk starts above all-zeros and looks below all-ones, so neither of those two values is ever hashed.
 */
function sortedUnique(addresses: Uint8Array[]): Uint8Array[] {
  const sorted = addresses
    .filter((bytes) => bytes.some((value) => value !== 0) && bytes.some((value) => value !== 0xff))
    .sort(compareBytes);
  return sorted.filter(
    (bytes, index) => index === 0 || compareBytes(bytes, sorted[index - 1] as Uint8Array) !== 0,
  );
}

function parseAll(addresses: readonly string[]): { v4: Uint8Array[]; v6: Uint8Array[] } {
  const v4: Uint8Array[] = [];
  const v6: Uint8Array[] = [];
  for (const text of addresses) {
    const parsed = parseAddress(text.replace(/%.*$/, ''));
    if (!parsed) throw new CarpAuthError(`expected an IPv4 or IPv6 address, got '${text}'`);
    (parsed.family === 4 ? v4 : v6).push(parsed.bytes);
  }
  return { v4, v6 };
}

function checkVhid(vhid: number): void {
  if (!Number.isInteger(vhid) || vhid < VHID_MIN || vhid > VHID_MAX)
    throw new CarpAuthError(`vhid must be ${VHID_MIN}-${VHID_MAX}, got ${vhid}`);
}

/** The bytes hashed before the counter, ucarp's way: version, type, vhid, the one VIP. */
function ucarpPrefix(options: CarpAuthOptions): Uint8Array {
  const { v4, v6 } = parseAll(options.addresses);
  const [address] = v4;
  if (v4.length !== 1 || v6.length !== 0 || !address)
    throw new CarpAuthError(
      `ucarp hashes exactly one IPv4 address (--addr), got ${options.addresses.length}`,
    );
  return Uint8Array.from([CARP_VERSION, CARP_TYPE_ADVERTISEMENT, options.vhid, ...address]);
}

/**
 * The bytes hashed before the counter, OpenBSD's way, in one of its two contexts: HMAC_ORIG hashes IPv6
 * link-local addresses with the scope cleared, HMAC_NOV6LL leaves them out.
 */
function openbsdPrefix(options: CarpAuthOptions, withLinkLocal: boolean): Uint8Array {
  const { v4, v6 } = parseAll(options.addresses);
  const parts: number[] = [CARP_VERSION, CARP_TYPE_ADVERTISEMENT];
  if (options.linkLayerAddress) {
    if (options.linkLayerAddress.length !== LINK_LAYER_ADDRESS_LENGTH)
      throw new CarpAuthError(`a link-layer address is 6 bytes, got ${options.linkLayerAddress.length}`);
    parts.push(...options.linkLayerAddress);
  }
  parts.push(options.vhid);
  for (const address of sortedUnique(v4)) parts.push(...address);
  const v6Hashed = v6.flatMap((address) => {
    if (!isScopeEmbedded(address)) return [address];
    if (!withLinkLocal) return [];
    // KAME stacks keep the interface index in bytes 2-3 of a scoped address; the HMAC clears it.
    const cleared = address.slice();
    cleared[2] = 0;
    cleared[3] = 0;
    return [cleared];
  });
  for (const address of sortedUnique(v6Hashed)) parts.push(...address);
  return Uint8Array.from(parts);
}

function hmac(key: Uint8Array, prefix: Uint8Array, counter: bigint): Uint8Array {
  const counterBytes = new Uint8Array(COUNTER_LENGTH);
  writeCounter(counterBytes, 0, counter);
  return new Uint8Array(createHmac('sha1', key).update(prefix).update(counterBytes).digest());
}

/** Builds the signer/verifier of one virtual host; the key and the hashed prefix are computed once. */
export function createCarpAuthenticator(options: CarpAuthOptions): CarpAuthenticator {
  checkVhid(options.vhid);
  const key = carpKey(options.passphrase, options.variant);
  // The context a router signs with comes first: OpenBSD carp_prepare_ad uses HMAC_NOV6LL.
  const prefixes =
    options.variant === 'ucarp'
      ? [ucarpPrefix(options)]
      : [openbsdPrefix(options, false), openbsdPrefix(options, true)];
  const signing = prefixes[0] as Uint8Array;
  return {
    variant: options.variant,
    sign: (counter) => hmac(key, signing, counter),
    verify: (counter, digest) => {
      if (digest.length !== CARP_DIGEST_LENGTH) return false;
      let valid = false;
      // Every context is computed whatever the outcome, so the time taken does not tell which one matched.
      for (const prefix of prefixes) valid = timingSafeEqual(hmac(key, prefix, counter), digest) || valid;
      return valid;
    },
  };
}

/**
 * How a sender's counter behaves: OpenBSD sends one random "replay cookie" in every advert of a virtual host
 * (constant); ucarp draws a fresh random counter for every advert until it hears a peer, then increments from
 * the peer's counter, and FreeBSD increments from a random start (varying). Neither kernel checks the counters
 * it receives beyond OpenBSD's "is this my own cookie" ("replay or network loop detected"), so a strictly
 * increasing counter cannot be demanded; what can be refused is a varying sender's counter seen before.
 */
export type CounterPattern = 'unknown' | 'constant' | 'varying';

/** What is remembered of one sender (per source address and vhid). */
export interface CounterHistory {
  readonly pattern: CounterPattern;
  /** The counter of the last accepted advert. */
  readonly last: bigint;
  /** Counters accepted from this sender, most recent first, at most `capacity`. */
  readonly recent: readonly bigint[];
  readonly lastSeenMicroseconds: number;
}

export interface CounterPolicy {
  /**
   * A sender silent for longer than this (typically the master-down interval: it stopped being master, maybe
   * restarted) may change its pattern, so a varying sender replaced by a constant one is heard again.
   */
  forgetAfterMicroseconds: number;
  /** How many accepted counters of a sender are remembered to spot replays (default 256). */
  capacity?: number;
  /** Counters this router sent recently: an advert carrying one is its own, looped back. */
  ownCounters?: ReadonlySet<bigint>;
}

export type CounterVerdict =
  | {
      accept: true;
      reason: 'first' | 'constant' | 'new-cookie' | 'new-counter' | 'restarted';
      history: CounterHistory;
    }
  | { accept: false; reason: 'replayed' | 'own-counter'; detail: string };

const DEFAULT_COUNTER_CAPACITY = 256;

function remember(
  history: CounterHistory | undefined,
  pattern: CounterPattern,
  counter: bigint,
  now: number,
  capacity: number,
): CounterHistory {
  const recent = [counter, ...(history?.recent ?? []).filter((seen) => seen !== counter)].slice(0, capacity);
  return { pattern, last: counter, recent, lastSeenMicroseconds: now };
}

function counterText(counter: bigint): string {
  return `0x${counter.toString(16).padStart(16, '0')}`;
}

/**
 * Checks the counter of an advert whose HMAC verified. A rejection changes nothing: keep the old history. Pure;
 * `nowMicroseconds` comes from the caller's monotonic clock.
 */
export function checkCounter(
  history: CounterHistory | undefined,
  counter: bigint,
  nowMicroseconds: number,
  policy: CounterPolicy,
): CounterVerdict {
  const capacity = policy.capacity ?? DEFAULT_COUNTER_CAPACITY;
  // ip_carp.c carp_proto_input_c: a counter equal to this router's own "replay or network loop detected".
  if (policy.ownCounters?.has(counter))
    return {
      accept: false,
      reason: 'own-counter',
      detail: `counter ${counterText(counter)} is one this router sent`,
    };
  const accept = (
    reason: 'first' | 'constant' | 'new-cookie' | 'new-counter' | 'restarted',
    pattern: CounterPattern,
  ): CounterVerdict => ({
    accept: true,
    reason,
    history: remember(history, pattern, counter, nowMicroseconds, capacity),
  });
  if (history === undefined) return accept('first', 'unknown');
  const replayed = (): CounterVerdict => ({
    accept: false,
    reason: 'replayed',
    detail: `counter ${counterText(counter)} was already accepted from this sender, which changes it every advert`,
  });
  const stale = nowMicroseconds - history.lastSeenMicroseconds > policy.forgetAfterMicroseconds;
  switch (history.pattern) {
    case 'constant':
      // OpenBSD: the same cookie in every advert; a new one means the virtual host was re-created.
      return counter === history.last ? accept('constant', 'constant') : accept('new-cookie', 'unknown');
    case 'varying':
      if (history.recent.includes(counter)) return replayed();
      return stale ? accept('restarted', 'unknown') : accept('new-counter', 'varying');
    case 'unknown':
      if (counter === history.last) return accept('constant', 'constant');
      if (history.recent.includes(counter)) return replayed();
      return accept('new-counter', 'varying');
  }
}

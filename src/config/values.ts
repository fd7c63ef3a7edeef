/**
 * Value syntax shared by the sections: integers and decimals with ranges, keepalived's <BOOL>, IP addresses
 * and prefixes, interface names, and the splitting of script strings into argv.
 */
import net from 'node:net';
import type { Family } from './schema.js';

export interface ParsedAddress {
  /** Canonical text: dotted quad, or RFC 5952 compressed lower-case IPv6. */
  address: string;
  family: Family;
}

export interface ParsedPrefix extends ParsedAddress {
  /** Undefined when the text had no `/len`. */
  prefixLength?: number;
}

/** keepalived.conf(5), PARAMETER SYNTAX: <BOOL> is one of on|off|true|false|yes|no. */
const BOOLEANS: Record<string, boolean> = {
  on: true,
  true: true,
  yes: true,
  off: false,
  false: false,
  no: false,
};

export function parseBool(text: string): boolean | undefined {
  return BOOLEANS[text.toLowerCase()];
}

/** A decimal integer (optionally signed); no hex, no exponent, no fraction. */
export function parseInteger(text: string): number | undefined {
  if (!/^[-+]?\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}

/** A non-negative decimal number like `2.71828` or `3` (keepalived's <TIMER>, <DECIMAL>). */
export function parseDecimal(text: string): number | undefined {
  if (!/^\d{1,12}(\.\d{1,9})?$|^\.\d{1,9}$/.test(text)) return undefined;
  return Number(text);
}

export function parseAddress(text: string): ParsedAddress | undefined {
  if (net.isIPv4(text)) return { address: text, family: 4 };
  if (net.isIPv6(text) && !text.includes('%')) {
    // The WHATWG URL parser prints IPv6 hosts in RFC 5952 canonical form.
    const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
    return { address: canonical, family: 6 };
  }
  return undefined;
}

export function parsePrefix(text: string): ParsedPrefix | undefined {
  const slash = text.indexOf('/');
  const parsed = parseAddress(slash === -1 ? text : text.slice(0, slash));
  if (parsed === undefined) return undefined;
  if (slash === -1) return parsed;
  const length = /^\d{1,3}$/.test(text.slice(slash + 1)) ? Number(text.slice(slash + 1)) : NaN;
  if (!(length >= 0 && length <= (parsed.family === 4 ? 32 : 128))) return undefined;
  return { ...parsed, prefixLength: length };
}

/** 224.0.0.0/4 or ff00::/8. */
export function isMulticast(address: string): boolean {
  const parsed = parseAddress(address);
  if (parsed === undefined) return false;
  if (parsed.family === 6) return parsed.address.startsWith('ff');
  const first = Number(parsed.address.split('.')[0]);
  return first >= 224 && first <= 239;
}

export function familyName(family: Family): string {
  return family === 4 ? 'IPv4' : 'IPv6';
}

/** Linux IFNAMSIZ is 16 including the NUL; names have no '/', ':' is allowed for labels only. */
export const INTERFACE_NAME_MAX = 15;

export function isInterfaceName(text: string): boolean {
  return (
    text.length >= 1 &&
    text.length <= INTERFACE_NAME_MAX &&
    !/[\s/]/.test(text) &&
    text !== '.' &&
    text !== '..'
  );
}

/**
 * keepalived splits a script string into argv at unquoted whitespace; single or double quotes keep spaces
 * inside one argument (keepalived.conf(5), Quoted strings: "For specifying scripts with parameters").
 */
export function splitCommand(text: string): string[] {
  const argv: string[] = [];
  let current = '';
  let inWord = false;
  let quote: string | undefined;
  for (const ch of text) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) argv.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) argv.push(current);
  return argv;
}

/** Damerau-Levenshtein (optimal string alignment) distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The closest candidate within a distance that grows with the word's length, or undefined. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    // The distance is at least the difference in length: skip the quadratic work when that is over the limit.
    if (Math.abs(candidate.length - word.length) > limit) continue;
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** Longest word quoted whole in a message; longer ones are cut (a 64 KiB word helps nobody in an error). */
const QUOTED_WORD_MAX = 64;

/** `word` for a message: itself, or its start and a mark that it was cut. */
export function shown(word: string): string {
  return word.length <= QUOTED_WORD_MAX
    ? word
    : `${word.slice(0, QUOTED_WORD_MAX)}... (${word.length} characters)`;
}

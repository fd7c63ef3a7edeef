/**
 * File access for the loader, behind an interface so that tests can load configurations from memory, and the
 * glob expansion of `include` (keepalived uses glob(3) with csh-style braces; Node 20 has no fs.glob).
 *
 * Every access is asynchronous and bounded: reading the configuration happens on a running agent (SIGHUP), whose
 * event loop sends the adverts. A FIFO nobody writes to, a device like /dev/zero or a huge file must end in an
 * error at the include that names it, never in a blocked or exhausted process.
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface ConfigFileSystem {
  /**
   * Text of a regular file of at most `maxBytes` bytes. Rejects with an error whose `code` says why: an errno
   * code (ENOENT, EACCES, ...), ENOTREG (not a regular file: FIFO, device, socket, directory) or EFBIG.
   */
  readFile(file: string, maxBytes: number): Promise<string>;
  /** Names in a directory; [] if it cannot be listed. */
  readdir(dir: string): Promise<string[]>;
  /** Whether a glob may return this path: it exists and is not a directory (readFile judges the rest). */
  isCandidate(file: string): Promise<boolean>;
  /** A key that is equal for two paths naming the same file (include cycle detection). */
  identity(file: string): Promise<string>;
}

/** A file the loader refuses to read; `code` is ENOTREG or EFBIG (errno-style, as Node's own errors). */
export class ConfigReadError extends Error {
  constructor(
    readonly code: 'ENOTREG' | 'EFBIG',
    message: string,
  ) {
    super(message);
    this.name = 'ConfigReadError';
  }
}

/** What a non-regular file is, for messages: "a FIFO", "a character device", ... */
export function fileKind(
  stats: Pick<Stats, 'isDirectory' | 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket'>,
): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

function notRegular(stats: Stats): ConfigReadError {
  return new ConfigReadError('ENOTREG', `is ${fileKind(stats)}, not a regular file`);
}

function tooLarge(maxBytes: number): ConfigReadError {
  return new ConfigReadError(
    'EFBIG',
    `is larger than the ${maxBytes} bytes left of the configuration size bound`,
  );
}

/** Bytes asked of the kernel per read. */
const READ_CHUNK = 64 * 1024;

/**
 * stat first, so that nothing but a regular file is ever opened (opening a FIFO blocks until a writer comes,
 * opening some devices has effects); then open without blocking and check that the handle is still that file.
 */
async function readRegularFile(file: string, maxBytes: number): Promise<string> {
  const before = await fs.stat(file);
  if (!before.isFile()) throw notRegular(before);
  if (before.size > maxBytes) throw tooLarge(maxBytes);
  const handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notRegular(stats);
    if (stats.ino !== before.ino || stats.dev !== before.dev) {
      throw new ConfigReadError('ENOTREG', 'was replaced while being opened; try again');
    }
    const chunks: Buffer[] = [];
    let total = 0;
    // The size may change while reading: read to the end, but never more than the bound allows.
    while (true) {
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, maxBytes - total + 1));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(maxBytes);
      chunks.push(buffer.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await handle.close();
  }
}

export const nodeFileSystem: ConfigFileSystem = {
  readFile: readRegularFile,
  readdir: async (dir) => {
    try {
      return await fs.readdir(dir);
    } catch {
      return [];
    }
  },
  isCandidate: async (file) => {
    try {
      return !(await fs.stat(file)).isDirectory();
    } catch {
      return false;
    }
  },
  identity: async (file) => {
    try {
      return await fs.realpath(file);
    } catch {
      return path.resolve(file);
    }
  },
};

/** A file system over a map of path -> text, for tests and for checking text that is not on disk. */
export function memoryFileSystem(files: Record<string, string>): ConfigFileSystem {
  const normalized = new Map(Object.entries(files).map(([name, text]) => [path.normalize(name), text]));
  return {
    readFile: (file, maxBytes) => {
      const text = normalized.get(path.normalize(file));
      if (text === undefined) {
        return Promise.reject(
          Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), { code: 'ENOENT' }),
        );
      }
      if (Buffer.byteLength(text) > maxBytes) return Promise.reject(tooLarge(maxBytes));
      return Promise.resolve(text);
    },
    readdir: (dir) => {
      const prefix = path.normalize(dir) === '.' ? '' : path.normalize(dir) + path.sep;
      const names = new Set<string>();
      for (const name of normalized.keys()) {
        if (name.startsWith(prefix)) {
          const first = name.slice(prefix.length).split(path.sep)[0];
          if (first !== undefined && first !== '') names.add(first);
        }
      }
      return Promise.resolve([...names]);
    },
    isCandidate: (file) => Promise.resolve(normalized.has(path.normalize(file))),
    identity: (file) => Promise.resolve(path.resolve(file)),
  };
}

const GLOB_MAGIC = /[*?[]/;

/** A bound on the words one csh brace pattern may expand to: `{a,b}{a,b}...` doubles with each group. */
export const MAX_BRACE_EXPANSIONS = 1024;

export function hasGlobMagic(pattern: string): boolean {
  return GLOB_MAGIC.test(pattern) || expandBraces(pattern).length > 1;
}

/**
 * csh-style brace expansion: `a{b,c{d,e}}f` -> abf, acdf, acef. Unbalanced braces stay literal. At most
 * MAX_BRACE_EXPANSIONS words are returned (the loader reports a pattern that reaches the bound).
 */
export function expandBraces(pattern: string): string[] {
  const results: string[] = [];
  // An explicit stack of pending patterns keeps the expansion iterative, in the order written.
  const pending = [pattern];
  while (pending.length > 0 && results.length < MAX_BRACE_EXPANSIONS) {
    const current = pending.pop() as string;
    const group = firstBraceGroup(current);
    if (group === undefined) {
      results.push(current);
      continue;
    }
    const { head, alternatives, tail } = group;
    for (let k = alternatives.length - 1; k >= 0; k--) pending.push(head + (alternatives[k] ?? '') + tail);
  }
  return results;
}

/** The first `{...,...}` group with a comma at depth one, split into what is before, its words and the rest. */
function firstBraceGroup(
  pattern: string,
): { head: string; alternatives: string[]; tail: string } | undefined {
  let start = 0;
  while (start < pattern.length) {
    let depth = 0;
    let open = -1;
    const commas: number[] = [];
    let i = start;
    for (; i < pattern.length; i++) {
      const ch = pattern[i];
      if (ch === '\\') {
        i++;
      } else if (ch === '{') {
        if (depth === 0) open = i;
        depth++;
      } else if (ch === '}' && depth > 0) {
        depth--;
        if (depth === 0) break;
      } else if (ch === ',' && depth === 1) {
        commas.push(i);
      }
    }
    if (open === -1 || i >= pattern.length) return undefined;
    if (commas.length === 0) {
      // `{x}` without a comma is literal in csh; look for a group after it.
      start = i + 1;
      continue;
    }
    const bounds = [open, ...commas, i];
    const alternatives: string[] = [];
    for (let k = 0; k + 1 < bounds.length; k++) {
      alternatives.push(pattern.slice((bounds[k] ?? 0) + 1, bounds[k + 1]));
    }
    return { head: pattern.slice(0, open), alternatives, tail: pattern.slice(i + 1) };
  }
  return undefined;
}

/** One path segment of a glob as a regular expression: `*`, `?`, `[...]`; a leading dot must match literally. */
function segmentRegExp(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i] ?? '';
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close === -1) {
        source += '\\[';
      } else {
        let body = segment.slice(i + 1, close);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        source += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = close;
      }
    } else if (ch === '\\' && i + 1 < segment.length) {
      i++;
      source += (segment[i] ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else source += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * Paths matching a glob pattern, directories left out (a FIFO or device that matches is returned, so that
 * reading it reports it). As glob(3) with GLOB_BRACE, each brace alternative is expanded in the order written,
 * and the matches of each are sorted. `limit` bounds the matches (the loader's include count).
 */
export async function globFiles(pattern: string, files: ConfigFileSystem, limit: number): Promise<string[]> {
  const matches = new Set<string>();
  for (const expanded of expandBraces(pattern)) {
    if (matches.size > limit) break;
    if (!GLOB_MAGIC.test(expanded)) {
      if (await files.isCandidate(expanded)) matches.add(expanded);
      continue;
    }
    const found: string[] = [];
    const absolute = path.isAbsolute(expanded);
    const segments = expanded.split('/').filter((s) => s !== '');
    let candidates = [absolute ? '/' : ''];
    for (const segment of segments) {
      const next: string[] = [];
      for (const base of candidates) {
        if (!GLOB_MAGIC.test(segment)) {
          next.push(base === '' ? segment : path.join(base, segment));
          continue;
        }
        const regexp = segmentRegExp(segment);
        for (const name of (await files.readdir(base === '' ? '.' : base)).sort()) {
          if (name.startsWith('.') && !segment.startsWith('.')) continue;
          if (regexp.test(name)) next.push(base === '' ? name : path.join(base, name));
        }
        if (next.length > limit) break;
      }
      candidates = next;
    }
    for (const candidate of candidates) if (await files.isCandidate(candidate)) found.push(candidate);
    for (const match of found.sort()) matches.add(match);
  }
  return [...matches];
}

/**
 * File access for the loader, behind an interface so that tests can load configurations from memory, and the
 * glob expansion of `include` (keepalived uses glob(3) with csh-style braces; Node 20 has no fs.glob).
 */
import fs from 'node:fs';
import path from 'node:path';

export interface ConfigFileSystem {
  /** Text of a file; throws (any error) if it cannot be read. */
  readFile(file: string): string;
  /** Names in a directory; returns [] if it cannot be listed. */
  readdir(dir: string): string[];
  isFile(file: string): boolean;
  /** A key that is equal for two paths naming the same file (include cycle detection). */
  identity(file: string): string;
}

export const nodeFileSystem: ConfigFileSystem = {
  readFile: (file) => fs.readFileSync(file, 'utf8'),
  readdir: (dir) => {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  },
  isFile: (file) => {
    try {
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  },
  identity: (file) => {
    try {
      return fs.realpathSync(file);
    } catch {
      return path.resolve(file);
    }
  },
};

/** A file system over a map of path -> text, for tests and for checking text that is not on disk. */
export function memoryFileSystem(files: Record<string, string>): ConfigFileSystem {
  const normalized = new Map(Object.entries(files).map(([name, text]) => [path.normalize(name), text]));
  return {
    readFile: (file) => {
      const text = normalized.get(path.normalize(file));
      if (text === undefined) {
        throw Object.assign(new Error(`ENOENT: no such file or directory, open '${file}'`), {
          code: 'ENOENT',
        });
      }
      return text;
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
      return [...names];
    },
    isFile: (file) => normalized.has(path.normalize(file)),
    identity: (file) => path.resolve(file),
  };
}

const GLOB_MAGIC = /[*?[]/;

export function hasGlobMagic(pattern: string): boolean {
  return GLOB_MAGIC.test(pattern) || expandBraces(pattern).length > 1;
}

/** csh-style brace expansion: `a{b,c{d,e}}f` -> abf, acdf, acef. Unbalanced braces stay literal. */
export function expandBraces(pattern: string): string[] {
  let depth = 0;
  let open = -1;
  const commas: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      i++;
    } else if (ch === '{') {
      if (depth === 0) open = i;
      depth++;
    } else if (ch === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        if (commas.length === 0) {
          // `{x}` without a comma is literal in csh; keep expanding after it.
          return expandBraces(pattern.slice(i + 1)).map((rest) => pattern.slice(0, i + 1) + rest);
        }
        const head = pattern.slice(0, open);
        const tail = pattern.slice(i + 1);
        const bounds = [open, ...commas, i];
        const results: string[] = [];
        for (let k = 0; k + 1 < bounds.length; k++) {
          const alternative = pattern.slice((bounds[k] ?? 0) + 1, bounds[k + 1]);
          results.push(...expandBraces(head + alternative + tail));
        }
        return results;
      }
    } else if (ch === ',' && depth === 1) {
      commas.push(i);
    }
  }
  return [pattern];
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
 * Files matching a glob pattern; only regular files are returned. As glob(3) with GLOB_BRACE, each brace
 * alternative is expanded in the order written, and the matches of each are sorted.
 */
export function globFiles(pattern: string, files: ConfigFileSystem): string[] {
  const matches = new Set<string>();
  for (const expanded of expandBraces(pattern)) {
    if (!GLOB_MAGIC.test(expanded)) {
      if (files.isFile(expanded)) matches.add(expanded);
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
        for (const name of files.readdir(base === '' ? '.' : base).sort()) {
          if (name.startsWith('.') && !segment.startsWith('.')) continue;
          if (regexp.test(name)) next.push(base === '' ? name : path.join(base, name));
        }
      }
      candidates = next;
    }
    for (const candidate of candidates) if (files.isFile(candidate)) found.push(candidate);
    for (const match of found.sort()) matches.add(match);
  }
  return [...matches];
}

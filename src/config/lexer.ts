/**
 * The lexer: keepalived.conf text -> tokens, each with FILE:LINE:COL. Works line by line as keepalived does:
 * comments (`#`, `!`, anywhere outside quotes), `@id` / `@^id` conditional lines, `$NAME=value` definitions
 * (multi-line with trailing `\`), `$NAME` / `${NAME}` substitution (recursive, at use time), quoted strings
 * with shell-like escapes, and `include` with globs relative to the including file.
 * Facts from keepalived.conf(5), "Quoted strings", "Conditional configuration", "Parameter substitution".
 */
import path from 'node:path';
import { DiagnosticCodes, type DiagnosticSink, type Position } from './diagnostics.js';
import { globFiles, hasGlobMagic, type ConfigFileSystem } from './files.js';

export interface Token {
  text: string;
  /** Whether any part of the token was written in quotes (so `{` in quotes is not a brace). */
  quoted: boolean;
  at: Position;
  /** Tokens of one logical line share this number; a statement never spans two logical lines. */
  lineId: number;
}

export function isBrace(token: Token | undefined, brace: '{' | '}'): boolean {
  return token !== undefined && !token.quoted && token.text === brace;
}

interface Char {
  ch: string;
  column: number;
}

/** Bounds that keep a hostile or looping configuration from exhausting memory. */
const MAX_INCLUDE_DEPTH = 32;
const MAX_SUBSTITUTION_PASSES = 64;
const MAX_LINE_LENGTH = 1 << 20;

const INCLUDE_KEYWORDS = new Set(['include', 'includer', 'includem', 'includew', 'includeb', 'includea']);
/** The include variants whose checks make an empty wildcard match an error (keepalived.conf(5), include). */
const STRICT_WILDCARD_INCLUDES = new Set(['includew', 'includea']);

const INCLUDE_LINE = /^(\s*)(\S+)\s+/;
const DEFINITION = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;
const CONDITIONAL = /^\s*@(\^?)(\S*)/;

export interface LexerOptions {
  files: ConfigFileSystem;
  sink: DiagnosticSink;
  /** keepalived's `-i`: selects `@id` lines. */
  configId: string;
}

export class Lexer {
  private readonly tokens: Token[] = [];
  private readonly definitions = new Map<string, string>();
  private readonly includeStack: string[] = [];
  private nextLineId = 0;

  constructor(private readonly options: LexerOptions) {}

  /** Tokens of the main file and everything it includes; diagnostics go to the sink. */
  run(file: string): Token[] {
    this.readFile(file, undefined);
    return this.tokens;
  }

  private readFile(file: string, includedAt: Position | undefined): void {
    const { files, sink } = this.options;
    let text: string;
    try {
      text = files.readFile(file);
    } catch (error) {
      const reason = describeReadError(error);
      sink.error(
        includedAt ?? { file, line: 1, column: 1 },
        DiagnosticCodes.io,
        `cannot read '${file}': ${reason}`,
      );
      return;
    }
    const identity = files.identity(file);
    this.includeStack.push(identity);
    const lines = text.split(/\r?\n/);
    for (let index = 0; index < lines.length; index++) {
      const lineNumber = index + 1;
      const raw = lines[index] ?? '';
      if (raw.length > MAX_LINE_LENGTH) {
        sink.error(
          { file, line: lineNumber, column: 1 },
          DiagnosticCodes.syntax,
          'line is longer than 1 MiB',
        );
        continue;
      }
      const chars = this.applyConditional(stripComment(toChars(raw)));
      if (chars === undefined) continue;
      const definition = DEFINITION.exec(charsToString(chars));
      if (definition !== null && isMultiLineStart(definition[2] ?? '')) {
        // A multi-line definition: every line up to the first one without a trailing `\`.
        const valueLines = [stripContinuation(definition[2] ?? '')];
        while (index + 1 < lines.length) {
          index++;
          const continued = charsToString(stripComment(toChars(lines[index] ?? '')));
          if (isMultiLineStart(continued)) valueLines.push(stripContinuation(continued));
          else {
            valueLines.push(continued);
            break;
          }
        }
        this.definitions.set(definition[1] ?? '', valueLines.filter((l) => l.trim() !== '').join('\n'));
        continue;
      }
      this.processLine(chars, file, lineNumber, 0);
    }
    this.includeStack.pop();
  }

  /** Returns the line without its `@id` prefix, or undefined if the line is for another config id. */
  private applyConditional(chars: Char[] | undefined): Char[] | undefined {
    if (chars === undefined) return undefined;
    const match = CONDITIONAL.exec(charsToString(chars));
    if (match === null) return chars;
    const negated = match[1] === '^';
    const selected = (match[2] === this.options.configId) !== negated;
    return selected ? chars.slice(match[0].length) : undefined;
  }

  /** Definitions, substitution and tokenizing of one logical line (which substitution may split in several). */
  private processLine(chars: Char[], file: string, line: number, depth: number): void {
    const definition = DEFINITION.exec(charsToString(chars));
    if (definition !== null) {
      this.definitions.set(definition[1] ?? '', definition[2] ?? '');
      return;
    }
    const substituted = this.substitute(chars, file, line);
    if (substituted.some((c) => c.ch === '\n')) {
      if (depth >= MAX_SUBSTITUTION_PASSES) {
        this.options.sink.error(
          { file, line, column: 1 },
          DiagnosticCodes.syntax,
          'multi-line parameter substitution nests too deeply',
        );
        return;
      }
      for (const part of splitChars(substituted)) {
        const selected = this.applyConditional(part);
        if (selected !== undefined) this.processLine(selected, file, line, depth + 1);
      }
      return;
    }
    const lineId = this.nextLineId++;
    const include = INCLUDE_LINE.exec(charsToString(substituted));
    if (include !== null && INCLUDE_KEYWORDS.has(include[2] ?? '')) {
      // The rest of the line is the pattern: csh braces like {a,b} must not become block braces.
      const keywordStart = (include[1] ?? '').length;
      const patternStart = (include[0] ?? '').length;
      const keyword = tokenize(
        substituted.slice(keywordStart, patternStart),
        file,
        line,
        lineId,
        this.options.sink,
      );
      const pattern = tokenizePattern(substituted.slice(patternStart), file, line, lineId);
      if (keyword[0] !== undefined) this.include(keyword[0], pattern);
      return;
    }
    this.tokens.push(...tokenize(substituted, file, line, lineId, this.options.sink));
  }

  /** `$NAME` (followed by whitespace or end of line) and `${NAME}`, repeated until nothing defined is left. */
  private substitute(chars: Char[], file: string, line: number): Char[] {
    let current = chars;
    for (let pass = 0; pass < MAX_SUBSTITUTION_PASSES; pass++) {
      let changed = false;
      const out: Char[] = [];
      for (let i = 0; i < current.length; i++) {
        const c = current[i] as Char;
        if (c.ch !== '$') {
          out.push(c);
          continue;
        }
        const reference = readReference(current, i);
        const value = reference === undefined ? undefined : this.lookup(reference.name, file);
        if (reference === undefined || value === undefined) {
          out.push(c);
          continue;
        }
        for (const ch of value) out.push({ ch, column: c.column });
        i = reference.end - 1;
        changed = true;
        if (out.length > MAX_LINE_LENGTH) {
          this.options.sink.error(
            { file, line, column: c.column },
            DiagnosticCodes.syntax,
            'parameter substitution grows the line beyond 1 MiB',
          );
          return [];
        }
      }
      current = out;
      if (!changed) return current;
    }
    this.options.sink.error(
      { file, line, column: chars.find((c) => c.ch === '$')?.column ?? 1 },
      DiagnosticCodes.syntax,
      `parameter substitution does not terminate after ${MAX_SUBSTITUTION_PASSES} passes (a definition refers to itself?)`,
    );
    return [];
  }

  /** User definitions first, then keepalived's pre-defined ones (keepalived.conf(5), Pre-defined definitions). */
  private lookup(name: string, file: string): string | undefined {
    const defined = this.definitions.get(name);
    if (defined !== undefined) return defined;
    switch (name) {
      case '_PWD':
        return path.dirname(path.resolve(file));
      case '_INSTANCE':
        return this.options.configId;
      case '_HASH':
        return '#';
      case '_BANG':
        return '!';
      default:
        return undefined;
    }
  }

  private include(keyword: Token, args: Token[]): void {
    const { files, sink } = this.options;
    const pattern = args[0];
    if (pattern === undefined || args.length > 1) {
      sink.error(
        (args[1] ?? keyword).at,
        DiagnosticCodes.value,
        `'${keyword.text}' takes exactly one file name or pattern, found ${args.length}`,
      );
      return;
    }
    if (this.includeStack.length >= MAX_INCLUDE_DEPTH) {
      sink.error(pattern.at, DiagnosticCodes.io, `includes nest deeper than ${MAX_INCLUDE_DEPTH} files`);
      return;
    }
    // Relative paths are relative to the directory of the including file (keepalived.conf(5), include).
    const resolved = path.isAbsolute(pattern.text)
      ? pattern.text
      : path.join(path.dirname(keyword.at.file), pattern.text);
    if (!hasGlobMagic(pattern.text)) {
      if (this.includeStack.includes(files.identity(resolved))) {
        sink.error(pattern.at, DiagnosticCodes.io, `'${resolved}' includes itself (include cycle)`);
        return;
      }
      this.readFile(resolved, pattern.at);
      return;
    }
    const matches = globFiles(resolved, files);
    if (matches.length === 0) {
      const message = `'${keyword.text} ${pattern.text}' matches no file`;
      if (STRICT_WILDCARD_INCLUDES.has(keyword.text)) sink.error(pattern.at, DiagnosticCodes.io, message);
      else sink.warning(pattern.at, DiagnosticCodes.noEffect, message);
      return;
    }
    for (const match of matches) {
      if (this.includeStack.includes(files.identity(match))) {
        sink.error(pattern.at, DiagnosticCodes.io, `'${match}' includes itself (include cycle)`);
        continue;
      }
      this.readFile(match, pattern.at);
    }
  }
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a component of the path is not a directory',
};

function describeReadError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && READ_ERRORS[code] !== undefined) return READ_ERRORS[code];
  return error instanceof Error ? error.message : String(error);
}

function toChars(text: string): Char[] {
  return Array.from(text, (ch, index) => ({ ch, column: index + 1 }));
}

function charsToString(chars: Char[]): string {
  return chars.map((c) => c.ch).join('');
}

function splitChars(chars: Char[]): Char[][] {
  const parts: Char[][] = [[]];
  for (const c of chars) {
    if (c.ch === '\n') parts.push([]);
    else parts[parts.length - 1]?.push(c);
  }
  return parts;
}

function isMultiLineStart(value: string): boolean {
  return /\\\s*$/.test(value);
}

function stripContinuation(value: string): string {
  return value.replace(/\\\s*$/, '');
}

/** Cuts the line at the first `#` or `!` outside quotes. */
function stripComment(chars: Char[]): Char[] {
  let quote: string | undefined;
  for (let i = 0; i < chars.length; i++) {
    const ch = (chars[i] as Char).ch;
    if (quote !== undefined) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#' || ch === '!') return chars.slice(0, i);
  }
  return chars;
}

function readReference(chars: Char[], dollar: number): { name: string; end: number } | undefined {
  const next = chars[dollar + 1]?.ch;
  if (next === '{') {
    let name = '';
    for (let i = dollar + 2; i < chars.length; i++) {
      const ch = (chars[i] as Char).ch;
      if (ch === '}') return name === '' ? undefined : { name, end: i + 1 };
      if (!/[A-Za-z0-9_]/.test(ch)) return undefined;
      name += ch;
    }
    return undefined;
  }
  if (next === undefined || !/[A-Za-z_]/.test(next)) return undefined;
  let end = dollar + 1;
  while (end < chars.length && /[A-Za-z0-9_]/.test((chars[end] as Char).ch)) end++;
  const after = chars[end]?.ch;
  // keepalived substitutes a bare $NAME only when whitespace or the end of the line follows.
  if (after !== undefined && !/\s/.test(after)) return undefined;
  return {
    name: chars
      .slice(dollar + 1, end)
      .map((c) => c.ch)
      .join(''),
    end,
  };
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  E: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** Reads one escape after a backslash inside quotes; returns the text and how many chars it used. */
function readEscape(chars: Char[], index: number): { text: string; used: number } {
  const ch = chars[index]?.ch;
  if (ch === undefined) return { text: '\\', used: 0 };
  const simple = SIMPLE_ESCAPES[ch];
  if (simple !== undefined) return { text: simple, used: 1 };
  if (/[0-7]/.test(ch)) {
    let digits = '';
    while (digits.length < 3 && /[0-7]/.test(chars[index + digits.length]?.ch ?? '')) {
      digits += chars[index + digits.length]?.ch;
    }
    return { text: String.fromCharCode(parseInt(digits, 8) & 0xff), used: digits.length };
  }
  if (ch === 'x') {
    let digits = '';
    while (digits.length < 2 && /[0-9a-fA-F]/.test(chars[index + 1 + digits.length]?.ch ?? '')) {
      digits += chars[index + 1 + digits.length]?.ch;
    }
    return digits === ''
      ? { text: 'x', used: 1 }
      : { text: String.fromCharCode(parseInt(digits, 16)), used: 1 + digits.length };
  }
  if (ch === 'c') {
    const control = chars[index + 1]?.ch;
    if (control === undefined) return { text: 'c', used: 1 };
    return { text: String.fromCharCode(control.toUpperCase().charCodeAt(0) ^ 0x40), used: 2 };
  }
  return { text: ch, used: 1 };
}

/** The pattern of an include line: one word, or a quoted string (quotes removed), braces included. */
function tokenizePattern(chars: Char[], file: string, line: number, lineId: number): Token[] {
  const text = charsToString(chars).trimEnd();
  const first = chars[0];
  if (first === undefined || text === '') return [];
  const at = { file, line, column: first.column };
  const quoted = /^(["'])(.*)\1$/.exec(text);
  if (quoted !== null) return [{ text: quoted[2] ?? '', quoted: true, at, lineId }];
  const words = text.split(/\s+/);
  return words.map((word, index) => ({
    text: word,
    quoted: false,
    at: index === 0 ? at : { file, line, column: first.column + text.indexOf(word) },
    lineId,
  }));
}

/** Splits a logical line into words and braces; quotes group words and are removed (keepalived.conf(5)). */
export function tokenize(
  chars: Char[],
  file: string,
  line: number,
  lineId: number,
  sink: DiagnosticSink,
): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < chars.length) {
    const c = chars[i] as Char;
    if (/\s/.test(c.ch)) {
      i++;
      continue;
    }
    const at = { file, line, column: c.column };
    if (c.ch === '{' || c.ch === '}') {
      tokens.push({ text: c.ch, quoted: false, at, lineId });
      i++;
      continue;
    }
    let text = '';
    let quoted = false;
    let braceDepth = 0;
    while (i < chars.length) {
      const ch = (chars[i] as Char).ch;
      if (/\s/.test(ch)) break;
      // `{` inside a word is part of it only in `${NAME}`; `}` then closes it (an undefined ${NAME} stays).
      if (ch === '{') {
        if (text.endsWith('$') && !quoted) {
          braceDepth++;
          text += ch;
          i++;
          continue;
        }
        break;
      }
      if (ch === '}') {
        if (braceDepth > 0) {
          braceDepth--;
          text += ch;
          i++;
          continue;
        }
        break;
      }
      if (ch === '"' || ch === "'") {
        quoted = true;
        const open = chars[i] as Char;
        i++;
        let closed = false;
        while (i < chars.length) {
          const inner = (chars[i] as Char).ch;
          if (inner === ch) {
            closed = true;
            i++;
            break;
          }
          if (inner === '\\') {
            const escape = readEscape(chars, i + 1);
            text += escape.text;
            i += 1 + escape.used;
            continue;
          }
          text += inner;
          i++;
        }
        if (!closed) {
          sink.error({ file, line, column: open.column }, DiagnosticCodes.syntax, `unterminated ${ch} quote`);
        }
        continue;
      }
      text += ch;
      i++;
    }
    tokens.push({ text, quoted, at, lineId });
  }
  return tokens;
}

/**
 * The lexer: keepalived.conf text -> tokens, each with FILE:LINE:COL. Works line by line as keepalived does:
 * comments (`#`, `!`, anywhere outside quotes), `@id` / `@^id` conditional lines, `$NAME=value` definitions
 * (multi-line with trailing `\`), `$NAME` / `${NAME}` substitution (recursive, at use time) with the pre-defined
 * `${_PWD}`, `${_INSTANCE}`, `${_RANDOM [MIN [MAX]]}`, `${_ENV NAME}`, `${_HASH}`, `${_BANG}`, the `~SEQ(...)` /
 * `~LST(...)` line generators, quoted strings with shell-like escapes, and `include` with globs relative to the
 * including file.
 * Facts from keepalived.conf(5) ("Quoted strings", "Conditional configuration", "Parameter substitution",
 * "Pre-defined definitions", "Sequence blocks", "List blocks") and keepalived's lib/parser.c.
 *
 * Reading is asynchronous and bounded (CONFIG_LIMITS): the agent reloads on SIGHUP while it must keep sending
 * adverts, so files are read without blocking, the lexer yields to the event loop every few thousand lines,
 * and what a hostile or mistaken configuration can make it read or generate is bounded.
 */
import path from 'node:path';
import { setImmediate as nextTick } from 'node:timers/promises';
import { DiagnosticCodes, type DiagnosticSink, type Position } from './diagnostics.js';
import {
  globFiles,
  hasGlobMagic,
  expandBraces,
  MAX_BRACE_EXPANSIONS,
  type ConfigFileSystem,
} from './files.js';
import { GlibcRandom } from './random.js';

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

/** A line of text and, for each UTF-16 unit of it, the source column it came from (1-based, in characters). */
interface Line {
  text: string;
  columns: Int32Array;
}

/** The bounds that keep a hostile or mistaken configuration from blocking or exhausting the agent. */
export const CONFIG_LIMITS = {
  /** All files together (keepalived has no bound; 16 MiB is hundreds of times any real configuration). */
  maxTotalBytes: 16 * 1024 * 1024,
  /** Files read, the main one and every include. */
  maxFiles: 1024,
  /** Files open in one include chain. */
  maxIncludeDepth: 32,
  /** One physical line. */
  maxLineLength: 1 << 20,
  /** One line after parameter substitution (keepalived's whole line buffer is 1024 bytes, MAXBUF). */
  maxSubstitutedLength: 64 * 1024,
  /** Text produced by substitution and ~SEQ/~LST, over the whole configuration. */
  maxExpandedChars: 16 * 1024 * 1024,
  /** Words of the whole configuration (each costs memory until it is built); 1000 instances have ~40,000. */
  maxTokens: 500_000,
  /** Values one ~SEQ or ~LST may take. */
  maxSequenceValues: 65536,
  /** Passes of recursive substitution, and nesting of multi-line definitions and ~SEQ/~LST. */
  maxSubstitutionPasses: 64,
} as const;

/** Lines or generated lines handled between two yields to the event loop. */
const LINES_PER_SLICE = 2000;

const INCLUDE_KEYWORDS = new Set(['include', 'includer', 'includem', 'includew', 'includeb', 'includea']);
/** The include variants whose checks make an empty wildcard match an error (keepalived.conf(5), include). */
const STRICT_WILDCARD_INCLUDES = new Set(['includew', 'includea']);

const INCLUDE_LINE = /^(\s*)(\S+)\s+/;
const DEFINITION = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;
const CONDITIONAL = /^\s*@(\^?)(\S*)/;
const GENERATOR = /^\s*~(SEQ|LST)/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `${_RANDOM}` without parameters: keepalived.conf(5), Pre-defined definitions. */
const RANDOM_DEFAULT_MIN = 0;
const RANDOM_DEFAULT_MAX = 32767;
/** random_seed takes an unsigned int (keepalived's global_parser.c reads 0..UINT_MAX). */
export const RANDOM_SEED_MAX = 4294967295;

export interface LexerOptions {
  files: ConfigFileSystem;
  sink: DiagnosticSink;
  /** keepalived's `-i`: selects `@id` lines. */
  configId: string;
  /** Seed of `${_RANDOM}` until a `random_seed` line; default: a different one each time, as keepalived. */
  randomSeed?: number;
  /** What `${_ENV NAME}` reads; default: process.env. */
  environment?: Readonly<Record<string, string | undefined>>;
}

/** A reference `$NAME` / `${NAME PARAMS}` found in a line: its name, parameters and where it ends. */
interface Reference {
  name: string;
  params: string[];
  end: number;
}

export class Lexer {
  private readonly tokens: Token[] = [];
  private readonly definitions = new Map<string, string>();
  private readonly includeStack: string[] = [];
  private nextLineId = 0;
  private filesRead = 0;
  private bytesRead = 0;
  private expandedChars = 0;
  private linesInSlice = 0;
  /** Set when a bound is passed: nothing more is read, so that one error is not followed by thousands. */
  private stopped = false;
  private random: GlibcRandom;

  constructor(private readonly options: LexerOptions) {
    this.random = new GlibcRandom(options.randomSeed ?? Math.floor(Math.random() * (RANDOM_SEED_MAX + 1)));
  }

  /** Tokens of the main file and everything it includes; diagnostics go to the sink. */
  async run(file: string): Promise<Token[]> {
    await this.readFile(file, undefined);
    return this.tokens;
  }

  private stop(at: Position, message: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.options.sink.error(at, DiagnosticCodes.limit, message);
  }

  /** Lets pending I/O and timers run every LINES_PER_SLICE lines, so that adverts go out during a reload. */
  private async slice(): Promise<void> {
    if (++this.linesInSlice < LINES_PER_SLICE) return;
    this.linesInSlice = 0;
    await nextTick();
  }

  private async readFile(file: string, includedAt: Position | undefined): Promise<void> {
    const { files, sink } = this.options;
    const at = includedAt ?? { file, line: 1, column: 1 };
    if (this.filesRead >= CONFIG_LIMITS.maxFiles) {
      this.stop(at, `more than ${CONFIG_LIMITS.maxFiles} files are included; '${file}' is not read`);
      return;
    }
    this.filesRead++;
    let text: string;
    try {
      text = await files.readFile(file, CONFIG_LIMITS.maxTotalBytes - this.bytesRead);
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code === 'EFBIG') {
        this.stop(
          at,
          `cannot read '${file}': the configuration would exceed ${CONFIG_LIMITS.maxTotalBytes / 1024 / 1024} MiB (all files together)`,
        );
        return;
      }
      sink.error(at, DiagnosticCodes.io, `cannot read '${file}': ${describeReadError(error)}`);
      return;
    }
    this.bytesRead += Buffer.byteLength(text);
    const identity = await files.identity(file);
    this.includeStack.push(identity);
    const lines = text.split(/\r?\n/);
    for (let index = 0; index < lines.length && !this.stopped; index++) {
      await this.slice();
      const lineNumber = index + 1;
      const raw = lines[index] ?? '';
      if (raw.length > CONFIG_LIMITS.maxLineLength) {
        sink.error(
          { file, line: lineNumber, column: 1 },
          DiagnosticCodes.syntax,
          'line is longer than 1 MiB',
        );
        continue;
      }
      const chars = this.applyConditional(stripComment(toLine(raw)));
      if (chars === undefined) continue;
      const definition = DEFINITION.exec(chars.text);
      if (definition !== null && isMultiLineStart(definition[2] ?? '')) {
        // A multi-line definition: every line up to the first one without a trailing `\`.
        const valueLines = [stripContinuation(definition[2] ?? '')];
        while (index + 1 < lines.length) {
          index++;
          const continued = stripComment(toLine(lines[index] ?? '')).text;
          if (isMultiLineStart(continued)) valueLines.push(stripContinuation(continued));
          else {
            valueLines.push(continued);
            break;
          }
        }
        this.definitions.set(definition[1] ?? '', valueLines.filter((l) => l.trim() !== '').join('\n'));
        continue;
      }
      for (const logical of this.expand(chars, file, lineNumber, 0)) {
        await this.emit(logical, file, lineNumber);
        if (this.stopped) break;
      }
    }
    this.includeStack.pop();
  }

  /** Returns the line without its `@id` prefix, or undefined if the line is for another config id. */
  private applyConditional(chars: Line | undefined): Line | undefined {
    if (chars === undefined) return undefined;
    const match = CONDITIONAL.exec(chars.text);
    if (match === null) return chars;
    const negated = match[1] === '^';
    const selected = (match[2] === this.options.configId) !== negated;
    return selected ? sliceLine(chars, match[0].length) : undefined;
  }

  /**
   * The logical lines one source line stands for, in order: definitions are recorded as they come, `~SEQ` /
   * `~LST` repeat the rest of their line, substitution may produce several lines (multi-line definitions).
   * A generator, so that an include among the lines is read before the lines after it are expanded.
   */
  private *expand(chars: Line, file: string, line: number, depth: number): Generator<Line> {
    if (depth > CONFIG_LIMITS.maxSubstitutionPasses) {
      this.options.sink.error(
        { file, line, column: chars.columns[0] ?? 1 },
        DiagnosticCodes.syntax,
        'multi-line parameter substitution or ~SEQ/~LST nests too deeply',
      );
      return;
    }
    const text = chars.text;
    const definition = DEFINITION.exec(text);
    if (definition !== null) {
      this.definitions.set(definition[1] ?? '', definition[2] ?? '');
      return;
    }
    const generator = GENERATOR.exec(text);
    if (generator !== null) {
      const block = this.parseGenerator(
        sliceLine(chars, text.indexOf('~')),
        file,
        line,
        generator[1] === 'SEQ',
      );
      if (block === undefined) return;
      for (const assignment of block.values) {
        for (const [name, value] of assignment) this.definitions.set(name, value);
        const rest = this.applyConditional(block.rest);
        if (rest !== undefined) yield* this.expand(rest, file, line, depth + 1);
        if (this.stopped) return;
      }
      return;
    }
    const substituted = this.substitute(chars, file, line);
    if (substituted === undefined) return;
    if (!substituted.changed) {
      yield chars;
      return;
    }
    // What substitution produced is read again as a line of its own: it may be a conditional, a definition,
    // a generator, or several lines.
    for (const part of splitLine(substituted.chars)) {
      const selected = this.applyConditional(part);
      if (selected !== undefined) yield* this.expand(selected, file, line, depth + 1);
      if (this.stopped) return;
    }
  }

  /** One logical line: an include, or tokens. */
  private async emit(chars: Line, file: string, line: number): Promise<void> {
    await this.slice();
    this.expandedChars += chars.text.length;
    if (this.expandedChars > CONFIG_LIMITS.maxExpandedChars) {
      this.stop(
        { file, line, column: chars.columns[0] ?? 1 },
        `parameter substitution and ~SEQ/~LST expand the configuration beyond ${CONFIG_LIMITS.maxExpandedChars / 1024 / 1024} MiB`,
      );
      return;
    }
    const lineId = this.nextLineId++;
    const include = INCLUDE_LINE.exec(chars.text);
    if (include !== null && INCLUDE_KEYWORDS.has(include[2] ?? '')) {
      // The rest of the line is the pattern: csh braces like {a,b} must not become block braces.
      const keywordStart = (include[1] ?? '').length;
      const patternStart = (include[0] ?? '').length;
      const keyword = tokenize(
        sliceLine(chars, keywordStart, patternStart),
        file,
        line,
        lineId,
        this.options.sink,
      );
      const pattern = tokenizePattern(sliceLine(chars, patternStart), file, line, lineId);
      if (keyword[0] !== undefined) await this.include(keyword[0], pattern);
      return;
    }
    const tokens = tokenize(chars, file, line, lineId, this.options.sink);
    if (this.tokens.length + tokens.length > CONFIG_LIMITS.maxTokens) {
      this.stop(
        tokens[0]?.at ?? { file, line, column: 1 },
        `the configuration has more than ${CONFIG_LIMITS.maxTokens} words`,
      );
      return;
    }
    this.reseedOn(tokens);
    for (const token of tokens) this.tokens.push(token);
  }

  /**
   * `random_seed N` (global_defs) seeds `${_RANDOM}` for the lines after it. keepalived seeds the generator
   * before it reads the file again (its child processes re-read it), so there the seed acts on the whole file;
   * here it acts from its line on: write it first.
   */
  private reseedOn(tokens: Token[]): void {
    const [keyword, value, extra] = tokens;
    if (keyword?.text !== 'random_seed' || value === undefined || extra !== undefined) return;
    if (!/^\d{1,10}$/.test(value.text) || Number(value.text) > RANDOM_SEED_MAX) return;
    this.random = new GlibcRandom(Number(value.text));
  }

  /**
   * `$NAME` (followed by whitespace, `,`, `)` or the end of the line) and `${NAME}` / `${NAME PARAMS}`,
   * repeated until nothing defined is left. Undefined when the line must be dropped (an error was reported).
   */
  private substitute(chars: Line, file: string, line: number): { chars: Line; changed: boolean } | undefined {
    let current = chars;
    let changedAtAll = false;
    for (let pass = 0; pass < CONFIG_LIMITS.maxSubstitutionPasses; pass++) {
      const { text, columns } = current;
      // The pieces of the new line: runs of the old one ([start, end)) and values, each at a `$`'s column.
      const pieces: ({ start: number; end: number } | { value: string; column: number })[] = [];
      let length = 0;
      let copied = 0;
      for (let i = text.indexOf('$'); i !== -1; i = text.indexOf('$', i + 1)) {
        const reference = readReference(text, i);
        const column = columns[i] ?? 1;
        const value =
          reference === undefined ? undefined : this.lookup(reference, file, { file, line, column });
        if (reference === undefined || value === undefined) continue;
        length += i - copied + value.length;
        if (length > CONFIG_LIMITS.maxSubstitutedLength) {
          this.options.sink.error(
            { file, line, column },
            DiagnosticCodes.syntax,
            `parameter substitution grows the line beyond ${CONFIG_LIMITS.maxSubstitutedLength / 1024} KiB`,
          );
          return undefined;
        }
        pieces.push({ start: copied, end: i }, { value, column });
        copied = reference.end;
        i = reference.end - 1;
      }
      if (pieces.length === 0) return { chars: current, changed: changedAtAll };
      pieces.push({ start: copied, end: text.length });
      length += text.length - copied;
      let out = '';
      const outColumns = new Int32Array(length);
      let at = 0;
      for (const piece of pieces) {
        if ('value' in piece) {
          out += piece.value;
          outColumns.fill(piece.column, at, at + piece.value.length);
          at += piece.value.length;
        } else {
          out += text.slice(piece.start, piece.end);
          outColumns.set(columns.subarray(piece.start, piece.end), at);
          at += piece.end - piece.start;
        }
      }
      current = { text: out, columns: outColumns };
      changedAtAll = true;
    }
    this.options.sink.error(
      { file, line, column: chars.columns[chars.text.indexOf('$')] ?? 1 },
      DiagnosticCodes.syntax,
      `parameter substitution does not terminate after ${CONFIG_LIMITS.maxSubstitutionPasses} passes (a definition refers to itself?)`,
    );
    return undefined;
  }

  /**
   * User definitions first, then keepalived's pre-defined ones (keepalived.conf(5), Pre-defined definitions).
   * Only pre-defined names take parameters; a reference with parameters to any other name stays as written.
   */
  private lookup(reference: Reference, file: string, at: Position): string | undefined {
    const { name, params } = reference;
    const defined = this.definitions.get(name);
    if (defined !== undefined) return params.length === 0 ? defined : undefined;
    const simple = simpleDefinition(name, file, this.options.configId);
    if (simple !== undefined) return params.length === 0 ? simple : undefined;
    if (name === '_RANDOM') return this.randomValue(params, at);
    if (name === '_ENV') {
      if (params.length !== 1) {
        this.options.sink.error(
          at,
          DiagnosticCodes.value,
          `\${_ENV NAME} takes one parameter, found ${params.length}`,
        );
        return undefined;
      }
      return (this.options.environment ?? process.env)[params[0] as string] ?? '';
    }
    return undefined;
  }

  /** `${_RANDOM [MIN [MAX]]}`: random() % (MAX - MIN + 1) + MIN, as keepalived computes it. */
  private randomValue(params: string[], at: Position): string | undefined {
    const { sink } = this.options;
    if (params.length > 2) {
      sink.error(
        at,
        DiagnosticCodes.value,
        `\${_RANDOM [MIN [MAX]]} takes at most 2 parameters, found ${params.length}`,
      );
      return undefined;
    }
    if (!params.every((p) => /^\d{1,15}$/.test(p))) {
      sink.error(
        at,
        DiagnosticCodes.value,
        `\${_RANDOM [MIN [MAX]]} takes non-negative integers, found '${params.join(' ')}'`,
      );
      return undefined;
    }
    const min = params[0] === undefined ? RANDOM_DEFAULT_MIN : Number(params[0]);
    let max = params[1] === undefined ? RANDOM_DEFAULT_MAX : Number(params[1]);
    if (min > max) {
      sink.error(at, DiagnosticCodes.value, `\${_RANDOM ${min} ${max}}: MIN exceeds MAX`);
      max = min;
    }
    return String((this.random.next() % (max - min + 1)) + min);
  }

  /**
   * `~SEQ[x](VAR, [START,] [STEP,] END) REST` and `~LST(VAR, V1, V2...) REST` / `~LST({A, B}, {1, 2}, {3, 4}) REST`:
   * the assignments to make, in order, and REST. Reports and returns undefined when the specification is wrong.
   */
  private parseGenerator(
    chars: Line,
    file: string,
    line: number,
    sequence: boolean,
  ): { values: [string, string][][]; rest: Line } | undefined {
    const at = { file, line, column: chars.columns[0] ?? 1 };
    const text = chars.text;
    const close = text.indexOf(')');
    const invalid = (why: string) => {
      this.options.sink.error(
        at,
        DiagnosticCodes.syntax,
        `invalid ~${sequence ? 'SEQ' : 'LST'} specification '${close === -1 ? text : text.slice(0, close + 1)}': ${why}`,
      );
      return undefined;
    };
    if (close === -1) return invalid("no closing ')'");
    let restStart = close + 1;
    while (text[restStart] === ' ' || text[restStart] === '\t') restStart++;
    const rest = sliceLine(chars, restStart);
    let values: [string, string][][] | string;
    if (sequence) {
      const hex = text[4] === 'x';
      const open = text.indexOf('(');
      if (open === -1 || text.slice(hex ? 5 : 4, open).trim() !== '')
        return invalid("expected '(' after ~SEQ");
      // Parameters may be definitions: `~SEQ(N, $FIRST, $LAST)`.
      const substituted = this.substitute(sliceLine(chars, open + 1, close), file, line);
      if (substituted === undefined) return undefined;
      const inner = substituted.chars.text;
      if (inner.includes('\n')) return invalid('a parameter is a multi-line definition');
      values = sequenceValues(inner, hex);
    } else {
      values = listValues(text.slice(4, close + 1));
    }
    if (typeof values === 'string') return invalid(values);
    return { values, rest };
  }

  private async include(keyword: Token, args: Token[]): Promise<void> {
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
    if (this.includeStack.length >= CONFIG_LIMITS.maxIncludeDepth) {
      sink.error(
        pattern.at,
        DiagnosticCodes.io,
        `includes nest deeper than ${CONFIG_LIMITS.maxIncludeDepth} files`,
      );
      return;
    }
    // Relative paths are relative to the directory of the including file (keepalived.conf(5), include).
    const resolved = path.isAbsolute(pattern.text)
      ? pattern.text
      : path.join(path.dirname(keyword.at.file), pattern.text);
    if (!hasGlobMagic(pattern.text)) {
      if (this.includeStack.includes(await files.identity(resolved))) {
        sink.error(pattern.at, DiagnosticCodes.io, `'${resolved}' includes itself (include cycle)`);
        return;
      }
      await this.readFile(resolved, pattern.at);
      return;
    }
    if (expandBraces(resolved).length >= MAX_BRACE_EXPANSIONS) {
      this.stop(pattern.at, `'${pattern.text}' expands to more than ${MAX_BRACE_EXPANSIONS} patterns`);
      return;
    }
    const matches = await globFiles(resolved, files, CONFIG_LIMITS.maxFiles - this.filesRead);
    if (matches.length === 0) {
      const message = `'${keyword.text} ${pattern.text}' matches no file`;
      if (STRICT_WILDCARD_INCLUDES.has(keyword.text)) sink.error(pattern.at, DiagnosticCodes.io, message);
      else sink.warning(pattern.at, DiagnosticCodes.noEffect, message);
      return;
    }
    for (const match of matches) {
      if (this.stopped) return;
      if (this.includeStack.includes(await files.identity(match))) {
        sink.error(pattern.at, DiagnosticCodes.io, `'${match}' includes itself (include cycle)`);
        continue;
      }
      await this.readFile(match, pattern.at);
    }
  }
}

/** The pre-defined definitions without parameters; undefined for any other name. */
function simpleDefinition(name: string, file: string, configId: string): string | undefined {
  switch (name) {
    case '_PWD':
      return path.dirname(path.resolve(file));
    case '_INSTANCE':
      return configId;
    case '_HASH':
      return '#';
    case '_BANG':
      return '!';
    default:
      return undefined;
  }
}

/** A C-style integer as strtol(..., 0) reads it: decimal, 0x hexadecimal or 0 octal, with a sign. */
function parseCInteger(text: string): number | undefined {
  const match = /^([+-]?)(0[xX][0-9a-fA-F]{1,13}|0[0-7]{0,17}|[1-9]\d{0,15})$/.exec(text.trim());
  if (match === null) return undefined;
  const digits = match[2] as string;
  const magnitude = /^0[xX]/.test(digits)
    ? parseInt(digits.slice(2), 16)
    : digits.length > 1 && digits.startsWith('0')
      ? parseInt(digits, 8)
      : Number(digits);
  return match[1] === '-' ? -magnitude : magnitude;
}

/**
 * The values of `~SEQ(VAR, ...)` from what is between the parentheses (keepalived's add_seq): one number is END
 * (START 1, or -1 if END < 0; STEP 1, or -1 if END < 1), two are START and END, three are START, STEP, END.
 * Returns a message when the specification is wrong.
 */
function sequenceValues(inner: string, hex: boolean): [string, string][][] | string {
  const [variable, ...numbers] = inner.split(',').map((part) => part.trim());
  if (variable === undefined || !NAME.test(variable)) return 'the variable must be a name';
  if (numbers.length < 1 || numbers.length > 3) return 'expected 1 to 3 numbers after the variable';
  const parsed = numbers.map(parseCInteger);
  if (parsed.some((n) => n === undefined)) return 'the bounds and step must be integers';
  const [one, two, three] = parsed as number[];
  let start: number;
  let step: number;
  let end: number;
  if (two === undefined) {
    end = one as number;
    step = end < 1 ? -1 : 1;
    start = end < 0 ? -1 : 1;
  } else if (three === undefined) {
    start = one as number;
    end = two;
    step = start <= end ? 1 : -1;
  } else {
    [start, step, end] = [one as number, two, three];
    if (step === 0 || (start < end && step < 0) || (start > end && step > 0))
      return 'the step must be non-zero and go from the start towards the end';
  }
  if (hex && (start < 0 || end < 0)) return '~SEQx takes non-negative numbers only';
  const count = Math.floor(Math.abs(end - start) / Math.abs(step)) + 1;
  if (count > CONFIG_LIMITS.maxSequenceValues)
    return `it takes more than ${CONFIG_LIMITS.maxSequenceValues} values`;
  const values: [string, string][][] = [];
  for (let value = start; step > 0 ? value <= end : value >= end; value += step) {
    values.push([[variable, hex ? value.toString(16) : String(value)]]);
  }
  return values;
}

/**
 * The assignments of `~LST(...)` from `(` to `)` included (keepalived's add_lst): one variable and one value per
 * set, or `{A, B}` variables and `{1, 2}` value sets; a set with fewer values leaves the rest empty.
 */
function listValues(spec: string): [string, string][][] | string {
  let p = 0;
  const skipBlanks = () => {
    while (spec[p] === ' ' || spec[p] === '\t') p++;
  };
  /** Words up to `end`, separated by commas; `braced`: the list is in braces. */
  const readGroup = (stop: RegExp): { words: string[]; braced: boolean } | string => {
    skipBlanks();
    const braced = spec[p] === '{';
    if (braced) p++;
    const words: string[] = [];
    while (true) {
      skipBlanks();
      const start = p;
      while (p < spec.length && !stop.test(spec[p] as string)) p++;
      words.push(spec.slice(start, p));
      skipBlanks();
      if (!braced) return { words, braced };
      if (spec[p] === '}') {
        p++;
        return { words, braced };
      }
      if (spec[p] !== ',') return "expected ',' or '}' in a {...} group";
      p++;
    }
  };
  skipBlanks();
  if (spec[p] !== '(') return "expected '(' after ~LST";
  p++;
  const variables = readGroup(/[ \t,})]/);
  if (typeof variables === 'string') return variables;
  if (!variables.words.every((w) => NAME.test(w))) return 'the variables must be names';
  skipBlanks();
  if (spec[p] !== ',') return 'expected values after the variables';
  p++;
  const sets: [string, string][][] = [];
  while (true) {
    const set = readGroup(/[ \t,})]/);
    if (typeof set === 'string') return set;
    if (set.words.length > variables.words.length)
      return 'a value set has more values than there are variables';
    sets.push(variables.words.map((name, index) => [name, set.words[index] ?? '']));
    if (sets.length > CONFIG_LIMITS.maxSequenceValues)
      return `it takes more than ${CONFIG_LIMITS.maxSequenceValues} values`;
    skipBlanks();
    if (spec[p] === ')') return sets;
    if (spec[p] !== ',') return "expected ',' or ')' after a value";
    p++;
  }
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a component of the path is not a directory',
  ELOOP: 'too many symbolic links',
};

function describeReadError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && READ_ERRORS[code] !== undefined) return READ_ERRORS[code];
  return error instanceof Error ? error.message : String(error);
}

/** The line with the column of each UTF-16 unit: characters count one each (a surrogate pair is one). */
function toLine(text: string): Line {
  const columns = new Int32Array(text.length);
  let column = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // The second half of a surrogate pair belongs to the character the first half started.
    if (code < 0xdc00 || code > 0xdfff || i === 0) column++;
    columns[i] = column;
  }
  return { text, columns };
}

function sliceLine(line: Line, start: number, end?: number): Line {
  return { text: line.text.slice(start, end), columns: line.columns.slice(start, end) };
}

function splitLine(line: Line): Line[] {
  const parts: Line[] = [];
  let start = 0;
  for (let i = line.text.indexOf('\n'); i !== -1; i = line.text.indexOf('\n', start)) {
    parts.push(sliceLine(line, start, i));
    start = i + 1;
  }
  parts.push(sliceLine(line, start));
  return parts;
}

function isMultiLineStart(value: string): boolean {
  return /\\\s*$/.test(value);
}

function stripContinuation(value: string): string {
  return value.replace(/\\\s*$/, '');
}

/** Cuts the line at the first `#` or `!` outside quotes. */
function stripComment(line: Line): Line {
  const { text } = line;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote !== undefined) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#' || ch === '!') return sliceLine(line, 0, i);
  }
  return line;
}

/**
 * A reference at `dollar` (keepalived's find_definition): `${NAME}` or `${NAME P1 P2}` (parameters are words of
 * letters, digits and `_`, separated by blanks, with no blank before `}`), or a bare `$NAME` followed by
 * whitespace, `,`, `)` or the end of the line.
 */
function readReference(text: string, dollar: number): Reference | undefined {
  const next = text[dollar + 1];
  if (next === '{') {
    const close = text.indexOf('}', dollar + 2);
    if (close === -1) return undefined;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)((?:[ \t]+[A-Za-z0-9_]+)*)$/.exec(text.slice(dollar + 2, close));
    if (match === null) return undefined;
    const params = (match[2] ?? '').split(/[ \t]+/).filter((p) => p !== '');
    return { name: match[1] as string, params, end: close + 1 };
  }
  if (next === undefined || !/[A-Za-z_]/.test(next)) return undefined;
  let end = dollar + 1;
  while (end < text.length && /[A-Za-z0-9_]/.test(text[end] as string)) end++;
  const after = text[end];
  if (after !== undefined && !/[\s,)]/.test(after)) return undefined;
  return { name: text.slice(dollar + 1, end), params: [], end };
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

/** Reads one escape after a backslash inside quotes; returns the text and how many units it used. */
function readEscape(text: string, index: number): { text: string; used: number } {
  const ch = text[index];
  if (ch === undefined) return { text: '\\', used: 0 };
  const simple = SIMPLE_ESCAPES[ch];
  if (simple !== undefined) return { text: simple, used: 1 };
  if (/[0-7]/.test(ch)) {
    const digits = /^[0-7]{1,3}/.exec(text.slice(index, index + 3))?.[0] ?? ch;
    return { text: String.fromCharCode(parseInt(digits, 8) & 0xff), used: digits.length };
  }
  if (ch === 'x') {
    const digits = /^[0-9a-fA-F]{1,2}/.exec(text.slice(index + 1, index + 3))?.[0];
    return digits === undefined
      ? { text: 'x', used: 1 }
      : { text: String.fromCharCode(parseInt(digits, 16)), used: 1 + digits.length };
  }
  if (ch === 'c') {
    const control = text[index + 1];
    if (control === undefined) return { text: 'c', used: 1 };
    return { text: String.fromCharCode(control.toUpperCase().charCodeAt(0) ^ 0x40), used: 2 };
  }
  return { text: ch, used: 1 };
}

/** The pattern of an include line: one word, or a quoted string (quotes removed), braces included. */
function tokenizePattern(chars: Line, file: string, line: number, lineId: number): Token[] {
  const text = chars.text.trimEnd();
  const first = chars.columns[0];
  if (first === undefined || text === '') return [];
  const at = { file, line, column: first };
  const quoted = /^(["'])(.*)\1$/.exec(text);
  if (quoted !== null) return [{ text: quoted[2] ?? '', quoted: true, at, lineId }];
  const tokens: Token[] = [];
  for (const match of text.matchAll(/\S+/g)) {
    tokens.push({
      text: match[0],
      quoted: false,
      at: { file, line, column: chars.columns[match.index] ?? first },
      lineId,
    });
  }
  return tokens;
}

const WHITESPACE = /\s/;
/** What ends a run of plain characters in a word. */
const SPECIAL = /[\s{}"']/;

/** Splits a logical line into words and braces; quotes group words and are removed (keepalived.conf(5)). */
export function tokenize(
  chars: Line,
  file: string,
  line: number,
  lineId: number,
  sink: DiagnosticSink,
): Token[] {
  const { text: source, columns } = chars;
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (WHITESPACE.test(c)) {
      i++;
      continue;
    }
    const at = { file, line, column: columns[i] ?? 1 };
    if (c === '{' || c === '}') {
      tokens.push({ text: c, quoted: false, at, lineId });
      i++;
      continue;
    }
    let text = '';
    let quoted = false;
    let braceDepth = 0;
    while (i < source.length) {
      const ch = source[i] as string;
      if (WHITESPACE.test(ch)) break;
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
        const open = i;
        i++;
        let closed = false;
        while (i < source.length) {
          const inner = source[i] as string;
          if (inner === ch) {
            closed = true;
            i++;
            break;
          }
          if (inner === '\\') {
            const escape = readEscape(source, i + 1);
            text += escape.text;
            i += 1 + escape.used;
            continue;
          }
          text += inner;
          i++;
        }
        if (!closed) {
          sink.error(
            { file, line, column: columns[open] ?? 1 },
            DiagnosticCodes.syntax,
            `unterminated ${ch} quote`,
          );
        }
        continue;
      }
      // A run of plain characters is added in one piece.
      let end = i + 1;
      while (end < source.length && !SPECIAL.test(source[end] as string)) end++;
      text += source.slice(i, end);
      i = end;
    }
    tokens.push({ text, quoted, at, lineId });
  }
  return tokens;
}

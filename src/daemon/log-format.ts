/**
 * Logs for machines and for humans. pino JSON lines are the default (journald, log shippers); on a terminal,
 * or with `--log-format text`, each record becomes one readable line instead:
 *
 *   2025-03-04 10:15:02.117 INFO  VI_1: BACKUP -> MASTER reason=master-down-expired priority=100 master=192.0.2.2
 *
 * (local time, level word, instance or sync group, message, then the record's other fields as key=value, the
 * ones people look for first). The text form is a pino destination that runs in-process: pino serialises the
 * record, this parses the line back and writes the text, synchronously, with no worker thread or transport
 * (pino's transports start a worker; the agent's run path stays light).
 *
 * Levels: `--log-level LEVEL`; keepalived's `-D` (`--log-detail`, "detailed log messages") means debug unless
 * --log-level says otherwise. Logs go to stdout; under systemd that is the journal, and each line then starts
 * with its syslog severity (`<4>` for a warning), which journald keeps as the entry's priority (docs/logging.md).
 */
import { fstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { Argv } from 'yargs';

// pino through require(), not import: importing a CommonJS package from ESM makes Node lex its sources for
// named exports, a cost paid at every start of the agent (issue 11).
const pino = (createRequire(import.meta.url)('pino') as typeof import('pino')).default;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogDestination {
  write(text: string): unknown;
}

export interface LoggerOptions {
  /** `auto`: text on a terminal, JSON otherwise. */
  format: LogFormat;
  level: LogLevel;
  /** Whether the destination is a terminal (process.stdout.isTTY for stdout). */
  tty: boolean;
  /** Colour the level word (text format only); default: on a terminal unless NO_COLOR is set. */
  color?: boolean;
  /** Where lines go; default: stdout, written synchronously (a crash loses no line). */
  destination?: LogDestination;
  /**
   * Prefix each line with its syslog severity as `<N>` (sd-daemon(3)), which journald strips and keeps as the
   * entry's priority, so `journalctl -p warning` works. Default: when stdout is the journal (JOURNAL_STREAM).
   */
  journal?: boolean;
}

/** pino's levels as syslog severities (RFC 5424 §6.2.1): trace and debug 7, info 6, warn 4, error 3, fatal 2. */
const SYSLOG_SEVERITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

function journalPrefix(level: unknown): string {
  return `<${(typeof level === 'number' ? SYSLOG_SEVERITY[level] : undefined) ?? 6}>`;
}

/**
 * Whether stdout is connected to the journal: systemd sets JOURNAL_STREAM to the `DEVICE:INODE` of the stream
 * it gave the service (systemd.exec(5)); a redirection by the service's own command changes stdout's inode.
 */
export function isJournalStream(
  environment: NodeJS.ProcessEnv = process.env,
  stdout: () => { dev: number; ino: number } = () => fstatSync(1),
): boolean {
  const match = /^(\d+):(\d+)$/.exec(environment.JOURNAL_STREAM ?? '');
  if (!match) return false;
  try {
    const { dev, ino } = stdout();
    return dev === Number(match[1]) && ino === Number(match[2]);
  } catch {
    return false;
  }
}

/** JSON lines with the journal's `<N>` prefix; pino writes `{"level":N,` first, so no parse is needed. */
function journalJsonDestination(out: LogDestination): LogDestination {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        const level = /^\{"level":(\d+)/.exec(line)?.[1];
        out.write(journalPrefix(level === undefined ? undefined : Number(level)) + line + '\n');
      }
    },
  };
}

/** pino's level numbers and the words the text form prints (padded to one width). */
const LEVEL_WORDS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const LEVEL_COLORS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '31' };
const WORD_WIDTH = 5;

/** Fields the line shows in its own places (or that say nothing to a reader); not repeated as key=value. */
const PLACED_FIELDS = new Set([
  'level',
  'time',
  'msg',
  'pid',
  'hostname',
  'instance',
  'syncGroup',
  'vrid',
  'interface',
  'family',
]);
/** Fields shown first, in this order, when present. */
const KEY_FIELDS = ['from', 'to', 'reason', 'priority', 'state', 'master'];

function pad(number: number, width = 2): string {
  return String(number).padStart(width, '0');
}

/** `YYYY-MM-DD HH:MM:SS.mmm` in the local time zone (logs and `tandem events` share it). */
export function formatLocalTime(time: number | Date): string {
  const date = typeof time === 'number' ? new Date(time) : time;
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
  );
}

/** One value as key=value shows it: bare when it is a plain word, JSON otherwise. */
export function formatFieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value) ?? String(value);
}

/** `key=value` pairs, the key fields first. */
export function formatFields(fields: Record<string, unknown>, skip: ReadonlySet<string> = new Set()): string {
  const keys = Object.keys(fields).filter((key) => !skip.has(key) && fields[key] !== undefined);
  const ordered = [
    ...KEY_FIELDS.filter((key) => keys.includes(key)),
    ...keys.filter((key) => !KEY_FIELDS.includes(key)),
  ];
  return ordered.map((key) => `${key}=${formatFieldValue(fields[key])}`).join(' ');
}

/** pino's serialised error, shortened to one line: the message and its code (the stack stays in JSON logs). */
function errorText(error: unknown): string {
  if (typeof error !== 'object' || error === null) return formatFieldValue(error);
  const { message, code } = error as { message?: unknown; code?: unknown };
  const text = typeof message === 'string' ? message : JSON.stringify(error);
  return formatFieldValue(typeof code === 'string' ? `${text} (${code})` : text);
}

/** One pino record as one readable line (no newline). */
export function formatLogLine(record: Record<string, unknown>, options: { color?: boolean } = {}): string {
  const level = typeof record.level === 'number' ? record.level : 30;
  let word = (LEVEL_WORDS[level] ?? `L${level}`).padEnd(WORD_WIDTH);
  if (options.color) word = `\u001b[${LEVEL_COLORS[level] ?? '0'}m${word}\u001b[0m`;
  const time = typeof record.time === 'number' ? formatLocalTime(record.time) : formatLocalTime(Date.now());
  const owner =
    typeof record.instance === 'string'
      ? `${record.instance}: `
      : typeof record.syncGroup === 'string'
        ? `group ${record.syncGroup}: `
        : '';
  const message = typeof record.msg === 'string' ? record.msg : '';
  const skip = new Set([...PLACED_FIELDS, 'err']);
  // A transition's message is already "FROM -> TO".
  if (message === `${String(record.from)} -> ${String(record.to)}`) {
    skip.add('from');
    skip.add('to');
  }
  const fields = formatFields(record, skip);
  const error = record.err !== undefined ? ` err=${errorText(record.err)}` : '';
  return `${time} ${word} ${owner}${message}${fields ? ` ${fields}` : ''}${error}`;
}

/** A pino destination that writes each record as a text line to `out`. */
export function textDestination(
  out: LogDestination,
  options: { color?: boolean; journal?: boolean } = {},
): LogDestination {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (line === '') continue;
        let record: unknown;
        try {
          record = JSON.parse(line);
        } catch {
          out.write(line + '\n');
          continue;
        }
        if (typeof record !== 'object' || record === null) {
          out.write(line + '\n');
          continue;
        }
        const fields = record as Record<string, unknown>;
        out.write(
          (options.journal ? journalPrefix(fields.level) : '') + formatLogLine(fields, options) + '\n',
        );
      }
    },
  };
}

/** Whether `format` and the destination's kind make text lines. */
export function usesText(format: LogFormat, tty: boolean): boolean {
  return format === 'text' || (format === 'auto' && tty);
}

/** The agent's logger: JSON, or text lines (see above), at `level`. */
export function createLogger(options: LoggerOptions): Logger {
  const out = options.destination ?? pino.destination({ dest: 1, sync: true });
  const text = usesText(options.format, options.tty);
  const color = options.color ?? (options.tty && !process.env.NO_COLOR);
  const journal = options.journal ?? (options.destination === undefined && isJournalStream());
  const destination = text
    ? textDestination(out, { color, journal })
    : journal
      ? journalJsonDestination(out)
      : out;
  return pino({ level: options.level, base: { pid: process.pid } }, destination);
}

export interface LogArguments {
  'log-format': LogFormat;
  'log-level'?: LogLevel;
  'log-detail': boolean;
}

/** Adds --log-format, --log-level and keepalived's -D/--log-detail to a command's options. */
export function logOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('log-format', {
      type: 'string',
      choices: LOG_FORMATS,
      default: 'auto' as LogFormat,
      describe: 'json, text (one readable line per record), or auto: text on a terminal, JSON otherwise',
    })
    .option('log-level', {
      type: 'string',
      choices: LOG_LEVELS,
      describe: 'the least severe level logged (default info; debug with -D)',
    })
    .option('log-detail', {
      alias: 'D',
      type: 'boolean',
      default: false,
      describe: "detailed log messages (keepalived's -D): the debug level unless --log-level is given",
    });
}

/** --log-level wins; -D means debug; else info. */
export function logLevelOf(argv: Pick<LogArguments, 'log-level' | 'log-detail'>): LogLevel {
  return argv['log-level'] ?? (argv['log-detail'] ? 'debug' : 'info');
}

/** createLogger's options from the command line and the kind of stdout. */
export function loggerOptionsOf(argv: LogArguments, tty: boolean): LoggerOptions {
  return { format: argv['log-format'], level: logLevelOf(argv), tty };
}

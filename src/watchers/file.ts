/**
 * track_file (`vrrp_track_file`): a number kept in a file, re-read whenever the file changes. The directory is
 * watched (inotify through fs.watch), so a file replaced by rename, deleted or created later is seen too.
 *
 * The value is what keepalived reads (vrrp_track.c, facts only): C's strtol(text, NULL, 0) on the first 127
 * bytes, so leading blanks and a sign are allowed, 0x… is hexadecimal and a leading 0 octal, and reading stops
 * at the first character that does not fit; no number, a missing file or an unreadable one is 0. The value is
 * limited to -254..254.
 */
import {
  type FSWatcher,
  existsSync,
  readFileSync,
  realpathSync,
  statSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Track, TrackFileConfig } from '../config/schema.js';
import { fileContribution } from './contribution.js';
import type { TrackerKind } from './kinds.js';
import { TandemError } from '../errors.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';

/** keepalived reads at most this many bytes of a track file (a 128-byte buffer with its terminating NUL). */
export const TRACK_FILE_READ_BYTES = 127;
/** keepalived limits the value read from a track file to -254..254. */
export const TRACK_FILE_VALUE_LIMIT = 254;
/**
 * keepalived reads on IN_CLOSE_WRITE; fs.watch reports every write (IN_MODIFY) instead, and `echo 5 > file`
 * truncates before it writes. Reading once the file has been quiet this long avoids seeing the empty file.
 */
export const FILE_SETTLE_MICROSECONDS = 20_000;

export class FileTrackerError extends TandemError {
  constructor(message: string, cause?: unknown) {
    super('TANDEM_ETRACKFILE', message, cause === undefined ? undefined : { cause });
  }
}

/** C strtol(text, NULL, 0), limited to -254..254; no number is 0. */
export function parseTrackFileValue(text: string): number {
  const match = /^[ \t\n\v\f\r]*([+-]?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))/.exec(
    text.slice(0, TRACK_FILE_READ_BYTES),
  );
  if (match === null) return 0;
  const [, sign, hex, octal, decimal] = match;
  const magnitude =
    hex !== undefined ? parseInt(hex, 16) : octal !== undefined ? parseInt(octal, 8) : Number(decimal);
  const value = sign === '-' ? -magnitude : magnitude;
  return Math.max(-TRACK_FILE_VALUE_LIMIT, Math.min(TRACK_FILE_VALUE_LIMIT, value));
}

export type FileListener = (value: number) => void;

export interface FileTrackerOptions {
  clock?: Clock;
  log?: Logger;
}

export class FileTracker {
  readonly name: string;
  private path: string;
  private valueNow = 0;
  private readonly listeners = new Set<FileListener>();
  private readonly clock: Clock;
  private watcher: FSWatcher | undefined;
  private settleTimer: unknown;
  private readSequence = 0;

  constructor(
    readonly config: TrackFileConfig,
    private readonly options: FileTrackerOptions = {},
  ) {
    this.name = config.name;
    this.path = resolve(config.file);
    this.clock = options.clock ?? systemClock;
  }

  get value(): number {
    return this.valueNow;
  }

  /** Calls `listener` with each new value; returns the unsubscribe function. */
  onChange(listener: FileListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies init_file, reads the value and starts watching; throws FileTrackerError when it cannot. */
  start(): void {
    if (this.watcher !== undefined) return;
    const directory = dirname(this.path);
    if (!isDirectory(directory)) {
      throw new FileTrackerError(
        `track_file ${this.name}: expected directory ${directory} for ${this.config.file} to exist, found none`,
      );
    }
    const init = this.config.init;
    if (init !== undefined && (init.overwrite || !existsSync(this.path))) {
      try {
        writeFileSync(this.path, `${init.value}\n`);
      } catch (error) {
        throw new FileTrackerError(
          `track_file ${this.name}: expected to write init_file value ${init.value} to ${this.path}, found ${String(error)}`,
          error,
        );
      }
    }
    // keepalived follows a symbolic link once, at start: the real file's directory is the one to watch.
    if (existsSync(this.path)) this.path = realpathSync(this.path);
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        if (filename === null || filename.toString() === name) this.scheduleRead();
      });
    } catch (error) {
      throw new FileTrackerError(
        `track_file ${this.name}: cannot watch ${dirname(this.path)}: ${String(error)}`,
        error,
      );
    }
    this.watcher.on('error', (error) => {
      this.options.log?.warn({ trackFile: this.name, err: error }, 'track file watch failed; value is now 0');
      this.update(0);
    });
    this.valueNow = readValueSync(this.path);
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.settleTimer !== undefined) this.clock.clearTimer(this.settleTimer);
    this.settleTimer = undefined;
    this.readSequence++;
  }

  private scheduleRead(): void {
    if (this.settleTimer !== undefined) this.clock.clearTimer(this.settleTimer);
    this.settleTimer = this.clock.setTimer(() => {
      this.settleTimer = undefined;
      void this.read();
    }, FILE_SETTLE_MICROSECONDS);
  }

  private async read(): Promise<void> {
    const sequence = ++this.readSequence;
    const value = await readValue(this.path);
    // A later read (or a stop) supersedes this one.
    if (sequence === this.readSequence && this.watcher !== undefined) this.update(value);
  }

  private update(value: number): void {
    if (value === this.valueNow) return;
    this.valueNow = value;
    this.options.log?.info({ trackFile: this.name, value }, 'track file value changed');
    for (const listener of [...this.listeners]) listener(value);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function readValueSync(path: string): number {
  try {
    return parseTrackFileValue(readFileSync(path, 'utf8'));
  } catch {
    return 0;
  }
}

async function readValue(path: string): Promise<number> {
  try {
    return parseTrackFileValue(await readFile(path, 'utf8'));
  } catch {
    return 0;
  }
}

/** track_file as a tracker kind: the file's value times the weight. */
export const fileKind: TrackerKind<TrackFileConfig, FileTracker> = {
  block: 'track_file',
  list: 'trackFiles',
  faultCause: (name) => `file ${name}`,
  entries: (config) => config.trackFiles,
  create: (entry, context) =>
    new FileTracker(entry, {
      ...(context.clock ? { clock: context.clock } : {}),
      ...(context.log ? { log: context.log } : {}),
    }),
  contribution: (track: Track, tracker) => fileContribution(track, tracker.value),
};

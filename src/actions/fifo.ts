/**
 * keepalived's notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`): one line per event, written without ever
 * blocking the agent, for a reader that wants every transition in order.
 *
 * Facts from keepalived 2.2.7 (its vrrp_notify.c and notify.c, and lines captured from the real daemon, see
 * test/interop/keepalived-fifo.test.ts):
 * - a line is `INSTANCE "VI_1" MASTER 100\n` or `GROUP "G1" BACKUP 0\n`: the name in double quotes, as is;
 * - the state word is MASTER, BACKUP, FAULT or STOP (MASTER_RX_LOWER_PRI, MASTER_PRIORITY and BACKUP_PRIORITY
 *   are extra events of options tandem does not implement yet);
 * - an instance line carries its effective priority, also in its STOP line; a group line always carries 0;
 * - keepalived writes nothing else: no line at startup or shutdown besides the states themselves;
 * - `notify_fifo` and `vrrp_notify_fifo` receive the same VRRP lines;
 * - keepalived creates a missing FIFO (and removes it at exit), opens it O_RDWR|O_NONBLOCK, so that opening
 *   neither blocks nor fails without a reader and a full pipe drops the line; a FIFO script is started with the
 *   FIFO path appended to its arguments, in its own process group, and gets SIGTERM when keepalived stops.
 */
import type { ChildProcess } from 'node:child_process';
import {
  chownSync,
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { promisify } from 'node:util';
import { childProcess } from '../core/builtins.js';
import { TandemError } from '../errors.js';
import { HOOK_PATH, type HookLogger, type HookState } from './notify.js';
import type { FifoConfig, GlobalConfig } from '../config/schema.js';
import { type AccountFiles, insecurePathReason, resolveUser, scriptIdentity } from './script-security.js';

/** The state words keepalived writes; the last three belong to options tandem does not implement yet. */
export type FifoState = HookState | 'MASTER_RX_LOWER_PRI' | 'MASTER_PRIORITY' | 'BACKUP_PRIORITY';

export interface FifoEvent {
  kind: 'INSTANCE' | 'GROUP';
  name: string;
  state: FifoState;
  /** The instance's effective priority; keepalived writes 0 for every GROUP line whatever is passed here. */
  priority: number;
}

/**
 * POSIX: a write of at most PIPE_BUF bytes to a pipe is atomic, and with O_NONBLOCK it either writes all or
 * fails with EAGAIN. Linux's PIPE_BUF is 4096. A longer line could be cut in two, so it is dropped instead.
 */
export const PIPE_BUF_BYTES = 4096;

/**
 * At close() the FIFO script first gets end-of-file and this long to finish reading and exit, then its process
 * group gets SIGTERM and FIFO_SCRIPT_TERM_GRACE_MS more, then SIGKILL. Together they stay inside the stop bound
 * of docs/operations.md (1 s), alongside the hooks' 600 ms.
 */
export const FIFO_SCRIPT_GRACE_MS = 400;
export const FIFO_SCRIPT_TERM_GRACE_MS = 300;
/**
 * After SIGKILL the exit is waited for this long at most: a process stuck in the kernel (uninterruptible
 * sleep) dies when the kernel lets it, and must not hold the agent's stop.
 */
export const FIFO_SCRIPT_KILL_WAIT_MS = 200;

/** One line exactly as keepalived writes it. */
export function fifoLine(event: FifoEvent): string {
  const priority = event.kind === 'GROUP' ? 0 : event.priority;
  return `${event.kind} "${event.name}" ${event.state} ${priority}\n`;
}

/** A FIFO that cannot be created or opened safely. */
export class FifoError extends TandemError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TANDEM_EFIFO', message, options);
  }
}

export interface FifoWriterOptions {
  path: string;
  /** Owner of a FIFO this writer creates (keepalived's `notify_fifo FIFO [username [groupname]]`). */
  owner?: { uid: number; gid: number };
  /** Started once the FIFO is open, with the FIFO path appended (keepalived's `notify_fifo_script`). */
  script?: { argv: string[]; uid?: number; gid?: number; env?: NodeJS.ProcessEnv };
  log?: HookLogger;
  /** Overrides FIFO_SCRIPT_GRACE_MS and FIFO_SCRIPT_TERM_GRACE_MS. */
  scriptGraceMs?: number;
}

/**
 * FifoWriter options for `notify_fifo` / `vrrp_notify_fifo` as configured: the owner from `FIFO [user
 * [group]]`, the script (with the FIFO path appended at start) run as its user like every script. Throws
 * UnknownAccountError for a user or group that does not exist.
 */
export function fifoWriterOptions(
  fifo: FifoConfig,
  global: Pick<GlobalConfig, 'scriptUser'>,
  log?: HookLogger,
  accounts: AccountFiles = {},
): FifoWriterOptions {
  const options: FifoWriterOptions = { path: fifo.path };
  if (fifo.user !== undefined) options.owner = resolveUser(fifo.user, fifo.group, accounts);
  if (fifo.script !== undefined) {
    const { uid, gid } = scriptIdentity(fifo.script, global, accounts);
    options.script = { argv: [...fifo.script.argv], uid, gid };
  }
  if (log !== undefined) options.log = log;
  return options;
}

const silent: HookLogger = { info() {}, warn() {} };

const run = (file: string, args: string[]) => promisify(childProcess().execFile)(file, args);

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

/**
 * Writes event lines to one FIFO. `open` refuses an unsafe place with a FifoError; after that nothing throws:
 * a line that does not fit in the pipe (no reader, or a slow one) is dropped and counted.
 */
export class FifoWriter {
  #fd: number | undefined;
  #written = 0;
  #dropped = 0;
  #dropping = false;
  #script: ChildProcess | undefined;
  #scriptExited: Promise<void> = Promise.resolve();
  /** The FIFO's inode: at close only that file is removed, not one put in its place since. */
  readonly #ino: number;

  private constructor(
    readonly path: string,
    /** Whether this writer made the FIFO (then close() removes it, as keepalived does). */
    readonly created: boolean,
    fd: number,
    private readonly log: HookLogger,
    private readonly scriptGraceMs: number | undefined,
  ) {
    this.#fd = fd;
    this.#ino = fstatSync(fd).ino;
  }

  /**
   * Checks that only root can write the FIFO's directory and its parents, creates the FIFO if missing (mode
   * 0600, 0640 with an owner group), opens it without blocking, then starts the script if there is one.
   */
  static async open(options: FifoWriterOptions): Promise<FifoWriter> {
    const { path } = options;
    if (!isAbsolute(path)) throw new FifoError(`notify FIFO must be an absolute path, found '${path}'`);
    const directory = dirname(path);
    const unsafe = insecurePathReason(directory, { directoryItself: true });
    if (unsafe !== undefined)
      throw new FifoError(
        `notify FIFO ${path}: its directory must be writable by root only (a non-root user could replace ` +
          `the FIFO), but ${unsafe}`,
      );
    let created = false;
    const existing = statOrUndefined(path);
    if (existing === undefined) {
      const mode = options.owner !== undefined && options.owner.gid !== 0 ? '0640' : '0600';
      try {
        await run('mkfifo', ['-m', mode, path]);
      } catch (error) {
        throw new FifoError(`cannot create notify FIFO ${path} with mkfifo: ${describe(error)}`, {
          cause: error,
        });
      }
      created = true;
      if (options.owner !== undefined) {
        try {
          chownSync(path, options.owner.uid, options.owner.gid);
        } catch (error) {
          unlinkQuietly(path);
          throw new FifoError(
            `cannot give notify FIFO ${path} to ${options.owner.uid}:${options.owner.gid}`,
            {
              cause: error,
            },
          );
        }
      }
    } else if (!existing.isFIFO()) {
      throw new FifoError(`notify FIFO ${path} exists but is not a FIFO (${fileType(existing)})`);
    } else if (existing.uid !== 0 && existing.uid !== options.owner?.uid) {
      throw new FifoError(
        `notify FIFO ${path} exists and belongs to uid ${existing.uid}, expected root` +
          (options.owner !== undefined ? ` or uid ${options.owner.uid}` : ''),
      );
    }
    let fd: number;
    try {
      // O_RDWR: the open neither blocks nor fails with ENXIO while no reader is there, and writes never see
      // EPIPE. O_NOFOLLOW: a symbolic link planted in place of the FIFO is refused.
      fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    } catch (error) {
      if (created) unlinkQuietly(path);
      throw new FifoError(`cannot open notify FIFO ${path}: ${describe(error)}`, { cause: error });
    }
    const writer = new FifoWriter(path, created, fd, options.log ?? silent, options.scriptGraceMs);
    if (options.script !== undefined) writer.#startScript(options.script);
    return writer;
  }

  get written(): number {
    return this.#written;
  }

  /** Lines dropped because the pipe was full, too long, or the write failed. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The FIFO script's PID (its process group id) while it runs. */
  get scriptPid(): number | undefined {
    const script = this.#script;
    return script !== undefined && script.exitCode === null && script.signalCode === null
      ? script.pid
      : undefined;
  }

  /** Writes one event; returns whether its line went into the pipe whole. */
  writeEvent(event: FifoEvent): boolean {
    return this.writeLine(fifoLine(event));
  }

  /** Writes one whole line (it must end with '\n') with a single non-blocking write, or drops it. */
  writeLine(line: string): boolean {
    const fd = this.#fd;
    if (fd === undefined) return this.#drop(line, 'closed');
    const bytes = Buffer.from(line);
    if (bytes.length > PIPE_BUF_BYTES) return this.#drop(line, 'longer than PIPE_BUF');
    try {
      const count = writeSync(fd, bytes);
      if (count !== bytes.length) return this.#drop(line, `short write of ${count} bytes`);
    } catch (error) {
      return this.#drop(line, errorCode(error) === 'EAGAIN' ? 'pipe full' : describe(error));
    }
    if (this.#dropping) {
      this.#dropping = false;
      this.log.info({ fifo: this.path, dropped: this.#dropped }, 'notify FIFO accepts lines again');
    }
    this.#written++;
    return true;
  }

  /**
   * Closes the FIFO (the script reads what is left, then end-of-file), removes it if this writer made it, and
   * ends the script: it gets FIFO_SCRIPT_GRACE_MS to exit on its own, then its process group gets SIGTERM, then
   * SIGKILL. Resolves once the script is gone, or FIFO_SCRIPT_KILL_WAIT_MS after SIGKILL at the latest: about
   * 0.9 s in all whatever the script does. Safe to call twice.
   */
  async close(): Promise<void> {
    this.#closeFifo();
    const pid = this.scriptPid;
    if (pid === undefined) return this.#scriptExited;
    if (await this.#exitsWithin(this.scriptGraceMs ?? FIFO_SCRIPT_GRACE_MS)) return;
    signalGroup(pid, 'SIGTERM');
    if (await this.#exitsWithin(this.scriptGraceMs ?? FIFO_SCRIPT_TERM_GRACE_MS)) return;
    signalGroup(pid, 'SIGKILL');
    if (!(await this.#exitsWithin(FIFO_SCRIPT_KILL_WAIT_MS)))
      this.log.warn(
        { fifo: this.path, pid },
        'notify FIFO script not gone after SIGKILL; not waiting for it',
      );
  }

  /**
   * For an immediate exit (a second SIGTERM): at once and synchronously, closes and removes the FIFO (if this
   * writer made it) and kills the script's process group.
   */
  abandon(): void {
    this.#closeFifo();
    const pid = this.scriptPid;
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
  }

  #closeFifo(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return;
    try {
      closeSync(fd);
    } catch {
      // Nothing left to do with this descriptor.
    }
    if (!this.created) return;
    try {
      if (lstatSync(this.path).ino === this.#ino) unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }

  #drop(line: string, reason: string): false {
    this.#dropped++;
    if (!this.#dropping) {
      this.#dropping = true;
      this.log.warn(
        { fifo: this.path, line: line.trimEnd(), reason, dropped: this.#dropped },
        'notify FIFO line dropped (counting further drops quietly until a line goes through)',
      );
    }
    return false;
  }

  #startScript(script: { argv: string[]; uid?: number; gid?: number; env?: NodeJS.ProcessEnv }): void {
    const [file, ...args] = script.argv;
    if (file === undefined) return;
    const child = childProcess().spawn(file, [...args, this.path], {
      detached: true,
      stdio: 'ignore',
      env: script.env ?? { PATH: HOOK_PATH },
      ...(script.uid !== undefined ? { uid: script.uid } : {}),
      ...(script.gid !== undefined ? { gid: script.gid } : {}),
    });
    this.#script = child;
    this.#scriptExited = new Promise((resolve) => {
      child.once('error', (error) => {
        this.log.warn(
          { fifo: this.path, argv: script.argv, err: error },
          'notify FIFO script could not start',
        );
        resolve();
      });
      child.once('exit', (exitCode, signal) => {
        if (this.#fd !== undefined)
          this.log.warn(
            { fifo: this.path, argv: script.argv, exitCode, signal },
            'notify FIFO script exited while the FIFO is open',
          );
        resolve();
      });
    });
  }

  #exitsWithin(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      void this.#scriptExited.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

function statOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new FifoError(`cannot inspect notify FIFO ${path}: ${describe(error)}`, { cause: error });
  }
}

function fileType(stats: ReturnType<typeof lstatSync>): string {
  if (stats === undefined) return 'missing';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFile()) return 'a regular file';
  if (stats.isSocket()) return 'a socket';
  return 'a device';
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    return typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim() : error.message;
  }
  return String(error);
}

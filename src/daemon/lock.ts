/**
 * One agent per network stack (DESIGN.md), enforced at start by two locks, both taken before anything is
 * touched. Both are pid files created with O_EXCL in a directory only root can write:
 *
 * - the network namespace's: `/run/tandem/netns/net-INODE.pid`, named after the inode of /proc/self/ns/net
 *   (what identifies a network namespace), whatever the runtime directory. Its second line says where the
 *   agent's runtime directory and control socket are, which is how `tandem status` finds them. An abstract
 *   Unix socket would also be per namespace and vanish with its process, but any local user can bind one
 *   first: a squatter could keep the agent from starting, and its answers could not be trusted;
 * - the runtime directory's: `tandem.pid` inside it, holding just the PID (`kill $(cat tandem.pid)` works).
 *   Two namespaces may share a filesystem, and two agents must not share a control socket or dumps.
 *
 * A pid file whose process is gone, or whose PID now belongs to a process started after the file was written
 * (a reused PID), is stale and is taken over; a namespace lock is stale too when its process lives in another
 * namespace (the inode of a deleted namespace can be reused). Each file is removed only by the process that
 * created it, and only while it is still the file it created.
 */
import {
  closeSync,
  constants,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { TandemError } from '../errors.js';

/** Where the network namespace locks live (created mode 0700 under /run/tandem). */
export const NETNS_LOCK_DIR = '/run/tandem/netns';
/** The pid file inside the runtime directory. */
export const PID_FILE_NAME = 'tandem.pid';
/** Linux's USER_HZ: /proc/PID/stat counts a process's start in these ticks since boot. */
const CLOCK_TICKS_PER_SECOND = 100;
/** A contended stale pid file is retried this many times before giving up. */
const PID_LOCK_ATTEMPTS = 5;

/** Another agent holds this network namespace or this runtime directory. */
export class AgentLockError extends TandemError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TANDEM_ELOCKED', message, options);
  }
}

/** Where the agent holding a lock keeps its files (the namespace lock's second line). */
export interface AgentPlaces {
  runtimeDir: string;
  controlSocket: string;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** The network namespace of process `pid` ('self' for this one), as /proc names it: `net:[INODE]`. */
export function networkNamespaceOf(pid: number | 'self', proc = '/proc'): string | undefined {
  try {
    return readlinkSync(join(proc, String(pid), 'ns', 'net'));
  } catch {
    return undefined;
  }
}

/** When process `pid` started (epoch ms), from /proc; undefined if there is no such process. */
export function processStartedAt(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]);
    const bootLine = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (!bootLine || !Number.isFinite(startTicks)) return undefined;
    return Number(bootLine[1]) * 1000 + (startTicks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

export interface PidFileContent {
  pid: number | undefined;
  places: AgentPlaces | undefined;
  /** The pid file's inode and when it was last written (epoch ms). */
  ino: number;
  writtenAt: number;
}

/** Reads a pid file: the PID on the first line, where its agent keeps its files (JSON) on the second. */
export function readPidFile(path: string): PidFileContent | undefined {
  try {
    const stats = lstatSync(path);
    const [first = '', second = ''] = readFileSync(path, 'utf8').split('\n');
    const pid = /^\d+$/.test(first.trim()) ? Number(first.trim()) : undefined;
    let places: AgentPlaces | undefined;
    try {
      const parsed = JSON.parse(second) as Partial<AgentPlaces>;
      if (typeof parsed.runtimeDir === 'string' && typeof parsed.controlSocket === 'string')
        places = { runtimeDir: parsed.runtimeDir, controlSocket: parsed.controlSocket };
    } catch {
      places = undefined;
    }
    return { pid, places, ino: stats.ino, writtenAt: stats.mtimeMs };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Whether the pid file names a live process that wrote it: the process exists and started before the file
 * was written (not a later process that got the PID again). /proc's btime is in whole seconds, hence a second
 * of slack.
 */
function heldByLiveProcess(content: PidFileContent): boolean {
  if (content.pid === undefined || content.pid === process.pid) return false;
  const startedAt = processStartedAt(content.pid);
  return startedAt !== undefined && startedAt <= content.writtenAt + 1000;
}

/**
 * Removes the stale pid file `path` (read as `content`), unless it turns out to be live after all. It is moved
 * aside under a name of this process's first: of two processes that both found it stale, one rename wins and
 * the other finds nothing to move. Returns 'removed', 'gone' (someone else moved it first), or the PID of a
 * live holder whose fresh file was moved by mistake (it is put back).
 */
function removeStale(
  path: string,
  content: PidFileContent,
  live: (content: PidFileContent) => content is PidFileContent & { pid: number },
): 'removed' | 'gone' | number {
  const aside = `${path}.stale.${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'gone';
    throw error;
  }
  const moved = readPidFile(aside);
  if (moved !== undefined && moved.ino !== content.ino && live(moved)) {
    // Between the read and the rename another process took the lock: give its file back.
    try {
      linkSync(aside, path);
    } catch {
      // Replaced again meanwhile; whoever did so holds the lock.
    }
    unlinkSync(aside);
    return moved.pid;
  }
  unlinkSync(aside);
  return 'removed';
}

export interface PidLockOptions {
  /** Written on the second line (the namespace lock). */
  places?: AgentPlaces;
  /** A live holder counts only if this also says so (the namespace lock: it is in this namespace). */
  stillHolds?: (pid: number) => boolean;
  /** The refusal when a live agent holds the lock. */
  refusal: (pid: number) => string;
}

/** A lock held as a pid file; `release` removes it if it is still this process's. */
export class PidLock {
  private constructor(
    readonly path: string,
    private readonly ino: number,
  ) {}

  /** Takes the lock at `path` or throws AgentLockError with `options.refusal`. */
  static acquire(path: string, options: PidLockOptions): PidLock {
    const live = (content: PidFileContent): content is PidFileContent & { pid: number } =>
      heldByLiveProcess(content) && (options.stillHolds?.(content.pid as number) ?? true);
    const text = `${process.pid}\n${options.places ? JSON.stringify(options.places) + '\n' : ''}`;
    for (let attempt = 0; attempt < PID_LOCK_ATTEMPTS; attempt++) {
      let fd: number;
      try {
        fd = openSync(
          path,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          0o600,
        );
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
        const content = readPidFile(path);
        if (content === undefined) continue;
        if (live(content)) throw new AgentLockError(options.refusal(content.pid));
        const outcome = removeStale(path, content, live);
        if (typeof outcome === 'number') throw new AgentLockError(options.refusal(outcome));
        continue;
      }
      let ino: number;
      try {
        writeSync(fd, text);
        ino = lstatSync(path).ino;
      } finally {
        closeSync(fd);
      }
      return new PidLock(path, ino);
    }
    throw new AgentLockError(`cannot take ${path}: other processes keep replacing it`);
  }

  /** Removes the pid file if it is still the one this process wrote. */
  release(): void {
    try {
      const content = readPidFile(this.path);
      if (content?.ino === this.ino && content.pid === process.pid) unlinkSync(this.path);
    } catch {
      // Gone already, or no longer ours to remove.
    }
  }
}

/** The pid file that locks this process's network namespace, inside `directory`. */
export function netnsLockPath(directory = NETNS_LOCK_DIR): string {
  const namespace = networkNamespaceOf('self') ?? 'net:[unknown]';
  return join(directory, `${namespace.replace(/[^0-9a-z]+/g, '-').replace(/-$/, '')}.pid`);
}

/**
 * Removes the locks of other namespaces whose agent is gone (killed with -9, a crash, a deleted lab namespace)
 * so they do not pile up: a file counts as live while its PID runs in the namespace its name gives. A file
 * without a PID (being written this instant) is left alone.
 */
function sweepStaleNamespaceLocks(directory: string, own: string): void {
  for (const name of readdirSync(directory)) {
    const inode = /^net-(\d+)\.pid$/.exec(name)?.[1];
    const path = join(directory, name);
    if (inode === undefined || path === own) continue;
    try {
      const content = readPidFile(path);
      if (content?.pid === undefined) continue;
      const live = (candidate: PidFileContent): candidate is PidFileContent & { pid: number } =>
        heldByLiveProcess(candidate) && networkNamespaceOf(candidate.pid as number) === `net:[${inode}]`;
      if (!live(content)) removeStale(path, content, live);
    } catch {
      // Someone else's business meanwhile; the next start tries again.
    }
  }
}

/** Takes this network namespace's lock (the directory must exist and be private: runtime-dir.ts). */
export function lockNetworkNamespace(places: AgentPlaces, directory = NETNS_LOCK_DIR): PidLock {
  const lock = takeNamespaceLock(places, directory);
  sweepStaleNamespaceLocks(directory, lock.path);
  return lock;
}

function takeNamespaceLock(places: AgentPlaces, directory: string): PidLock {
  const own = networkNamespaceOf('self');
  return PidLock.acquire(netnsLockPath(directory), {
    places,
    stillHolds: (pid) => networkNamespaceOf(pid) === own,
    refusal: (pid) => {
      const held = readPidFile(netnsLockPath(directory))?.places;
      return (
        `another tandem agent (pid ${pid}) runs in this network namespace` +
        (held ? ` with runtime directory ${held.runtimeDir}` : '') +
        ': stop it first, or start this one in another network namespace'
      );
    },
  });
}

/** Takes the runtime directory's lock. */
export function lockRuntimeDir(runtimeDir: string): PidLock {
  return PidLock.acquire(join(runtimeDir, PID_FILE_NAME), {
    refusal: (pid) =>
      `another tandem agent (pid ${pid}) uses runtime directory ${runtimeDir}: stop it first, or give this ` +
      'one its own runtime directory (--runtime-dir or tandem_runtime_dir)',
  });
}

/** Where the agent of this network namespace keeps its files, from its lock; undefined if none runs. */
export function agentOfThisNamespace(directory = NETNS_LOCK_DIR): AgentPlaces | undefined {
  const content = readPidFile(netnsLockPath(directory));
  if (content === undefined || !heldByLiveProcess(content)) return undefined;
  if (networkNamespaceOf(content.pid as number) !== networkNamespaceOf('self')) return undefined;
  return content.places;
}

/** keepalived's command-line options that limit it to health checking (no VRRP, no addresses). */
const CHECKER_ONLY_OPTIONS = new Set(['-C', '--check']);
const VRRP_OPTIONS = new Set(['-P', '--vrrp']);

/**
 * keepalived processes (parent or children) that share this process's network namespace and may run VRRP
 * (all but those started with only `-C/--check`): the same /proc/PID/ns/net link as /proc/self/ns/net.
 * Processes that vanish or cannot be examined while this runs are skipped.
 */
export function keepalivedInThisNamespace(proc = '/proc'): number[] {
  const own = networkNamespaceOf('self', proc);
  if (own === undefined) return [];
  const found: number[] = [];
  for (const entry of readdirSync(proc)) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(join(proc, entry, 'comm'), 'utf8').trim() !== 'keepalived') continue;
      if (networkNamespaceOf(Number(entry), proc) !== own) continue;
      const argv = readFileSync(join(proc, entry, 'cmdline'), 'utf8').split('\0');
      const checkerOnly =
        argv.some((arg) => CHECKER_ONLY_OPTIONS.has(arg)) && !argv.some((arg) => VRRP_OPTIONS.has(arg));
      if (!checkerOnly) found.push(Number(entry));
    } catch {
      // Gone, or not ours to examine.
    }
  }
  return found;
}

/** Refuses to start next to a keepalived that runs VRRP on this network stack. */
export function refuseBesideKeepalived(proc = '/proc'): void {
  const pids = keepalivedInThisNamespace(proc);
  if (pids.length === 0) return;
  throw new AgentLockError(
    `keepalived (pid ${pids.join(', ')}) runs in this network namespace: two VRRP agents on one network ` +
      'stack would fight over the same addresses; stop keepalived first (systemctl stop keepalived)',
  );
}

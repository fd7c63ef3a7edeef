/**
 * The agent's private runtime directory (control socket, pid file, dumps): created mode 0700, owned by the
 * agent's user, never /tmp. Whoever can write the directory, or a directory above it, could swap the control
 * socket or plant a symbolic link that makes the agent chmod something else, so every component of the path is
 * examined with lstat(2) from `/` down, before anything is created or changed:
 * - each must be a directory owned by root or by the agent's user;
 * - above the runtime directory, none may be writable by anyone else (a group other than root, or everyone),
 *   unless it has the sticky bit (as /tmp has: nobody can rename or remove what they do not own there);
 * - a symbolic link above it is followed only when root owns it (then its target is examined the same way, as
 *   /var/run -> /run is); the runtime directory itself must not be one.
 * A missing component is created (mode 0755 above, 0700 for the directory itself) and then examined. The
 * directory's mode is tightened through a descriptor opened with O_NOFOLLOW, never through the path.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  realpathSync,
} from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import type { Stats } from 'node:fs';
import { DEFAULT_CONTROL_SOCKET } from '../config/defaults.js';
import type { GlobalConfig } from '../config/schema.js';
import { TandemError } from '../errors.js';

/** stat(2)'s sticky bit, which Node's fs.constants does not name. */
const S_ISVTX = 0o1000;
/** A symbolic link leading to another leads to a third...: this many are followed at most (Linux: 40). */
const MAX_LINKS = 40;
/** The control socket's name inside the runtime directory. */
export const CONTROL_SOCKET_NAME = 'tandem.sock';

export class RuntimeDirError extends TandemError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TANDEM_ERUNTIMEDIR', message, options);
  }
}

const WHAT_TO_DO =
  'use a directory that only root can write above it, such as /run/tandem (tandem_runtime_dir or --runtime-dir)';

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new RuntimeDirError(`cannot examine ${path} (${errorCode(error) ?? String(error)})`, {
      cause: error,
    });
  }
}

function modeText(stats: Stats): string {
  return `mode ${(stats.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

/**
 * Why a directory would let someone else swap what is in it, or undefined. A sticky directory is excused when
 * `stickyExcuses` (nobody can rename or remove what they do not own there).
 */
function untrusted(path: string, stats: Stats, uid: number, stickyExcuses: boolean): string | undefined {
  if (!stats.isDirectory()) return `${path} is not a directory`;
  if (stats.uid !== 0 && stats.uid !== uid) return `${path} belongs to uid ${stats.uid}`;
  if (stickyExcuses && (stats.mode & S_ISVTX) !== 0) return undefined;
  if (stats.gid !== 0 && (stats.mode & constants.S_IWGRP) !== 0)
    return `${path} is writable by group ${stats.gid} (${modeText(stats)})`;
  if ((stats.mode & constants.S_IWOTH) !== 0) return `${path} is writable by everyone (${modeText(stats)})`;
  return undefined;
}

interface WalkOptions {
  uid: number;
  /** Create missing components (0755 above, `mode` for the last). */
  create: boolean;
  mode: number;
  /**
   * What the last component is: the runtime directory (owned by the agent's user; its mode is fixed later), a
   * directory that must already be private (a socket's), or one more directory above (a link's target).
   */
  last: 'runtime' | 'private' | 'ancestor';
}

/**
 * Examines (and creates) every component of the absolute `path`; returns the path with root-owned links
 * resolved. Throws RuntimeDirError naming the component and why.
 */
function walk(path: string, options: WalkOptions, links = 0): string {
  const parts = normalize(path)
    .split('/')
    .filter((part) => part !== '');
  let current = '/';
  const root = lstatOrUndefined('/') as Stats;
  const rootProblem = untrusted('/', root, options.uid, parts.length > 0 || options.last === 'ancestor');
  if (rootProblem) throw new RuntimeDirError(rootProblem);
  for (const [index, part] of parts.entries()) {
    const last = index === parts.length - 1;
    const next = join(current, part);
    let stats = lstatOrUndefined(next);
    if (stats === undefined) {
      if (!options.create) throw new RuntimeDirError(`${next} does not exist`);
      try {
        mkdirSync(next, { mode: last ? options.mode : 0o755 });
      } catch (error) {
        if (errorCode(error) !== 'EEXIST')
          throw new RuntimeDirError(`cannot create ${next} (${errorCode(error) ?? String(error)})`, {
            cause: error,
          });
      }
      stats = lstatOrUndefined(next) as Stats;
    }
    if (stats.isSymbolicLink()) {
      if (last) throw new RuntimeDirError(`${next} is a symbolic link; tandem does not follow it there`);
      if (stats.uid !== 0) throw new RuntimeDirError(`${next} is a symbolic link owned by uid ${stats.uid}`);
      if (links >= MAX_LINKS) throw new RuntimeDirError(`${next}: too many symbolic links`);
      // Only root can have made it; where it leads must be as safe as any other directory above.
      let target: string;
      try {
        target = realpathSync(next);
      } catch (error) {
        throw new RuntimeDirError(`${next} is a symbolic link that leads nowhere (${errorCode(error)})`, {
          cause: error,
        });
      }
      current = walk(target, { ...options, create: false, last: 'ancestor' }, links + 1);
      continue;
    }
    if (last && options.last === 'runtime') {
      if (!stats.isDirectory()) throw new RuntimeDirError(`${next} is not a directory`);
      if (stats.uid !== options.uid)
        throw new RuntimeDirError(
          `${next} belongs to uid ${stats.uid}, not to the agent's uid ${options.uid}`,
        );
    } else {
      const problem = untrusted(next, stats, options.uid, !last || options.last === 'ancestor');
      if (problem) throw new RuntimeDirError(problem);
    }
    current = next;
  }
  return current;
}

function effectiveUid(): number {
  return process.geteuid?.() ?? 0;
}

/**
 * Creates the runtime directory if needed after examining every component of its path (see above), and makes
 * it mode 0700. Throws RuntimeDirError with one line: what is wrong and what to do.
 */
export function ensureRuntimeDir(path: string): void {
  if (!isAbsolute(path))
    throw new RuntimeDirError(`runtime directory must be an absolute path, found '${path}'; ${WHAT_TO_DO}`);
  const uid = effectiveUid();
  try {
    walk(path, { uid, create: true, mode: 0o700, last: 'runtime' });
  } catch (error) {
    if (!(error instanceof RuntimeDirError)) throw error;
    throw new RuntimeDirError(`runtime directory ${path}: ${error.message}; ${WHAT_TO_DO}`, { cause: error });
  }
  let fd: number;
  try {
    // O_NOFOLLOW: if the directory was swapped for a link after the walk, this fails instead of following it.
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    throw new RuntimeDirError(
      `runtime directory ${path} cannot be opened (${errorCode(error)}); ${WHAT_TO_DO}`,
      {
        cause: error,
      },
    );
  }
  try {
    const stats = fstatSync(fd);
    if (stats.uid !== uid)
      throw new RuntimeDirError(`runtime directory ${path} belongs to uid ${stats.uid}; ${WHAT_TO_DO}`);
    if ((stats.mode & 0o077) !== 0) fchmodSync(fd, 0o700);
  } finally {
    closeSync(fd);
  }
}

/**
 * Examines a directory the agent keeps a file in besides the runtime directory (a control socket set by
 * tandem_control_socket, the network namespace locks): created mode 0700 if missing, never changed otherwise,
 * refused if anyone else could swap what is in it. `what` starts the error message.
 */
export function ensurePrivateDirectory(directory: string, what = `directory ${directory}`): void {
  try {
    walk(directory, { uid: effectiveUid(), create: true, mode: 0o700, last: 'private' });
  } catch (error) {
    if (!(error instanceof RuntimeDirError)) throw error;
    throw new RuntimeDirError(`${what}: ${error.message}; use a directory only root can write`, {
      cause: error,
    });
  }
}

/** ensurePrivateDirectory for the directory of a control socket outside the runtime directory. */
export function ensureSocketDirectory(socketPath: string): void {
  ensurePrivateDirectory(dirname(socketPath), `control socket ${socketPath}`);
}

/**
 * Where the agent keeps its files: `--runtime-dir` over `tandem_runtime_dir`; the control socket is
 * `tandem_control_socket` when the configuration sets it (and no --runtime-dir is given), else `tandem.sock`
 * inside the runtime directory. `tandem run` and `tandem status` both ask here.
 */
export function runtimePaths(
  global: Pick<GlobalConfig, 'runtimeDir' | 'controlSocket'>,
  runtimeDirOverride?: string,
): { runtimeDir: string; controlSocket: string } {
  if (runtimeDirOverride !== undefined)
    return { runtimeDir: runtimeDirOverride, controlSocket: join(runtimeDirOverride, CONTROL_SOCKET_NAME) };
  // The loader fills in DEFAULT_CONTROL_SOCKET when tandem_control_socket is absent: that default means
  // "inside the runtime directory", wherever tandem_runtime_dir puts it.
  const controlSocket =
    global.controlSocket === DEFAULT_CONTROL_SOCKET
      ? join(global.runtimeDir, CONTROL_SOCKET_NAME)
      : global.controlSocket;
  return { runtimeDir: global.runtimeDir, controlSocket };
}

/**
 * Child processes in their own process group: hooks, health scripts and FIFO readers all run this way, so a
 * timeout or a stop kills the command and everything it started (docs/architecture.md, "Hooks"). The
 * deadline runs on the injected clock.
 */
import type { ChildProcess } from 'node:child_process';
import { childProcess } from './builtins.js';
import { type Clock, systemClock } from './clock.js';
import { MICROSECONDS_PER_MILLISECOND } from './time.js';

/** How much of a command's stderr is kept for the log: enough for its last words, never a flood. */
export const STDERR_TAIL_BYTES = 2048;

export interface RunResult {
  argv: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  error?: Error;
  /** The end of what the command wrote on stderr (at most STDERR_TAIL_BYTES), for the log when it fails. */
  stderr?: string;
}

export interface RunOptions {
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** Told the process group id (= the child's PID) while it runs, `undefined` once it is gone. */
  onGroup?: (pid: number | undefined) => void;
  clock?: Clock;
}

/** Runs one command; `runInProcessGroup`'s contract, injectable so the daemon harness records instead. */
export type CommandRunner = (argv: string[], options: RunOptions) => Promise<RunResult>;

/** SIGKILL to a whole process group: a command and everything it started. */
export function killProcessGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

/** The environment a command gets when the caller names none: a fixed PATH, nothing of the agent's own. */
export const DEFAULT_COMMAND_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Runs one command in its own process group; on timeout the whole group gets SIGKILL. */
export const runInProcessGroup: CommandRunner = (argv, options) => {
  const clock = options.clock ?? systemClock;
  return new Promise((resolve) => {
    const [file, ...args] = argv;
    if (!file) {
      resolve({
        argv,
        exitCode: null,
        signal: null,
        timedOut: false,
        error: new Error('expected a command to run, found an empty argv'),
        stderr: '',
      });
      return;
    }
    let timedOut = false;
    let child: ChildProcess;
    try {
      child = childProcess().spawn(file, args, {
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: options.env ?? { PATH: DEFAULT_COMMAND_PATH },
        ...(options.uid !== undefined ? { uid: options.uid } : {}),
        ...(options.gid !== undefined ? { gid: options.gid } : {}),
      });
    } catch (error) {
      // spawn throws at once for some failures (a bad uid, E2BIG): a failed command, not a broken caller.
      resolve({ argv, exitCode: null, signal: null, timedOut: false, error: error as Error });
      return;
    }
    if (child.pid !== undefined) options.onGroup?.(child.pid);
    // Keep the end of stderr for the log. A service the command starts in the background inherits the pipe: it
    // is drained for as long as that process lives (never closed under it, which would kill it with SIGPIPE).
    let stderr = '';
    let collecting = true;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (collecting) stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
    });
    child.stderr?.on('error', () => undefined);
    const timer = clock.setTimer(() => {
      timedOut = true;
      if (child.pid !== undefined) killProcessGroup(child.pid);
    }, options.timeoutMs * MICROSECONDS_PER_MILLISECOND);
    child.once('error', (error) => {
      clock.clearTimer(timer);
      options.onGroup?.(undefined);
      collecting = false;
      resolve({ argv, exitCode: null, signal: null, timedOut, error, stderr });
    });
    child.once('exit', (exitCode, signal) => {
      clock.clearTimer(timer);
      options.onGroup?.(undefined);
      // What the command wrote just before exiting may still be in the pipe: take it on the next turn.
      clock.defer(() => {
        collecting = false;
        resolve({ argv, exitCode, signal, timedOut, stderr: stderr.trim() });
      });
    });
  });
};

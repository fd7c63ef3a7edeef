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

/** How the registry signals (`process.kill`'s contract); injectable so its decisions can be tested alone. */
export type SignalSender = (pid: number, signal: NodeJS.Signals | 0) => void;

function delivered(send: SignalSender, pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    send(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every process group the agent started, so that a stop can kill what is left of each (issue 9). A hook that
 * runs `service &` and exits leaves that child in its group: the group outlives the command, and nothing else
 * would end it. A process that leaves the group on purpose (`setsid`, a daemon's double fork) is out of reach:
 * docs/hooks.md says so.
 *
 * A group's id is its leader's PID. Once the leader has exited the kernel does not give that PID to a new
 * process while the group has members; when the last member exits the PID may be reused. So a group is
 * forgotten as soon as it is found empty, and at the kill a group whose id is again a live process is not
 * ours any more and is left alone.
 */
export class ProcessGroups {
  /** Groups started whose command may have left something behind, with whether the command still runs. */
  readonly #groups = new Map<number, { running: boolean }>();

  constructor(private readonly send: SignalSender = (pid, signal) => process.kill(pid, signal)) {}

  /** How many groups are remembered (live, or not yet found empty). */
  get size(): number {
    return this.#groups.size;
  }

  /** `runner`, with every group it starts remembered until it is found empty. */
  track(runner: CommandRunner): CommandRunner {
    return async (argv, options) => {
      let group: number | undefined;
      const result = await runner(argv, {
        ...options,
        onGroup: (pid) => {
          if (pid !== undefined) {
            this.#forgetEmpty();
            group = pid;
            this.#groups.set(pid, { running: true });
          } else if (group !== undefined) {
            this.#groups.set(group, { running: false });
          }
          options.onGroup?.(pid);
        },
      });
      if (group !== undefined) {
        this.#groups.set(group, { running: false });
        if (!delivered(this.send, -group, 0)) this.#groups.delete(group);
      }
      return result;
    };
  }

  /** SIGKILL to what is left of every group this registry saw start; returns how many groups were killed. */
  killAll(): number {
    let killed = 0;
    for (const [group, { running }] of this.#groups) {
      // A finished command's id that names a live process again was reused: that group is someone else's.
      const ours = running || !delivered(this.send, group, 0);
      if (ours && delivered(this.send, -group, 'SIGKILL')) killed++;
    }
    this.#groups.clear();
    return killed;
  }

  /** Forgets the groups whose command is done and whose last member has exited. */
  #forgetEmpty(): void {
    for (const [group, { running }] of this.#groups)
      if (!running && !delivered(this.send, -group, 0)) this.#groups.delete(group);
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

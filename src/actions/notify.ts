/**
 * Notify hooks (keepalived-compatible arguments), run per instance strictly in transition order, never two at
 * once, each with a timeout that kills its whole process group. The queue never blocks the caller: the state
 * machine hands an event over and goes on.
 *
 * keepalived's arguments: `notify_master` / `_backup` / `_fault` / `_stop` run with exactly their configured
 * argv; the generic `notify` gets `INSTANCE|GROUP NAME STATE PRIORITY` appended.
 */
import { spawn } from 'node:child_process';

export type HookState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

/** The only PATH a hook gets (no variable of the agent's environment leaks into a script). */
export const HOOK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface HookCommand {
  argv: string[];
  /** Run as this user and group (resolved from the command's user, `script_user`, or keepalived_script). */
  uid?: number;
  gid?: number;
}

/** One process a hook event starts: its argv and whom it runs as. */
export interface HookRun {
  argv: string[];
  uid?: number;
  gid?: number;
  /** Its own timeout (a service's `timeout`); the queue's otherwise. */
  timeoutMs?: number;
}

/** What one event runs, in order: notify scripts, or everything an instance runs (LVS, services, notify). */
export type HookSource = NotifyCommands | ((event: HookEvent) => HookRun[]);

export interface NotifyCommands {
  master?: HookCommand;
  backup?: HookCommand;
  fault?: HookCommand;
  stop?: HookCommand;
  any?: HookCommand;
}

export interface HookLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface HookEvent {
  kind: 'INSTANCE' | 'GROUP';
  name: string;
  state: HookState;
  priority: number;
}

/** The argv lists one event runs, in keepalived's order: the state's own script, then the generic one. */
export function hookCommands(commands: NotifyCommands, event: HookEvent): string[][] {
  return hookRuns(commands, event).map((run) => run.argv);
}

/**
 * What one event runs, in keepalived's order, each with its user: the state's own script with exactly its
 * configured argv, then the generic one with `INSTANCE|GROUP NAME STATE PRIORITY` appended (keepalived passes
 * 0 as a group's priority: the caller puts it in the event).
 */
export function hookRuns(commands: NotifyCommands, event: HookEvent): HookRun[] {
  const specific = {
    MASTER: commands.master,
    BACKUP: commands.backup,
    FAULT: commands.fault,
    STOP: commands.stop,
  }[event.state];
  const runs: HookRun[] = [];
  if (specific) runs.push(withIdentity(specific, [...specific.argv]));
  if (commands.any) {
    const argv = [...commands.any.argv, event.kind, event.name, event.state, String(event.priority)];
    runs.push(withIdentity(commands.any, argv));
  }
  return runs;
}

function withIdentity(command: HookCommand, argv: string[]): HookRun {
  return {
    argv,
    ...(command.uid !== undefined ? { uid: command.uid } : {}),
    ...(command.gid !== undefined ? { gid: command.gid } : {}),
  };
}

/** SIGKILL to a whole process group: a hook and everything it started. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}

export interface RunResult {
  argv: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  error?: Error;
  /** The end of what the hook wrote on stderr (at most HOOK_STDERR_BYTES), for the log when it fails. */
  stderr?: string;
}

/** How much of a hook's stderr is kept for the log: enough for its last words, never a flood. */
export const HOOK_STDERR_BYTES = 2048;

/** Runs one command in its own process group; on timeout the whole group gets SIGKILL. */
export function runHook(
  argv: string[],
  options: {
    timeoutMs: number;
    env?: NodeJS.ProcessEnv;
    uid?: number;
    gid?: number;
    /** Told the process group id (= the child's PID) while it runs, `undefined` once it is gone. */
    onGroup?: (pid: number | undefined) => void;
  },
): Promise<RunResult> {
  return new Promise((resolve) => {
    const [file, ...args] = argv;
    if (!file) {
      resolve({
        argv,
        exitCode: null,
        signal: null,
        timedOut: false,
        error: new Error('empty command'),
        stderr: '',
      });
      return;
    }
    let timedOut = false;
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, args, {
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: options.env ?? { PATH: HOOK_PATH },
        ...(options.uid !== undefined ? { uid: options.uid } : {}),
        ...(options.gid !== undefined ? { gid: options.gid } : {}),
      });
    } catch (error) {
      // spawn throws at once for some failures (a bad uid, E2BIG): a failed hook, not a broken queue.
      resolve({ argv, exitCode: null, signal: null, timedOut: false, error: error as Error });
      return;
    }
    if (child.pid !== undefined) options.onGroup?.(child.pid);
    // Keep the end of stderr for the log. A service the hook starts in the background inherits the pipe: it is
    // drained for as long as that process lives (never closed under it, which would kill it with SIGPIPE).
    let stderr = '';
    let collecting = true;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (collecting) stderr = (stderr + chunk).slice(-HOOK_STDERR_BYTES);
    });
    child.stderr?.on('error', () => undefined);
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killGroup(child.pid);
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      options.onGroup?.(undefined);
      collecting = false;
      resolve({ argv, exitCode: null, signal: null, timedOut, error, stderr });
    });
    child.once('exit', (exitCode, signal) => {
      clearTimeout(timer);
      options.onGroup?.(undefined);
      // What the hook wrote just before exiting may still be in the pipe: take it on the next turn.
      setImmediate(() => {
        collecting = false;
        resolve({ argv, exitCode, signal, timedOut, stderr: stderr.trim() });
      });
    });
  });
}

/**
 * One instance's hook queue: events run one after another in the order given. When events pile up behind a
 * slow hook, every one still runs (a notify script may count transitions), but never two at once.
 */
export class HookQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private running: number | undefined;
  private terminated = false;

  constructor(
    private readonly source: HookSource,
    private readonly options: {
      timeoutMs: number;
      log: HookLogger;
      env?: (event: HookEvent) => NodeJS.ProcessEnv;
      /** Start only after this settles: the queue of the same instance before a reload, so order holds. */
      after?: Promise<unknown>;
    },
  ) {
    if (options.after)
      this.tail = options.after.then(
        () => undefined,
        () => undefined,
      );
  }

  get queued(): number {
    return this.pending;
  }

  push(event: HookEvent): void {
    let runs: HookRun[];
    try {
      runs = typeof this.source === 'function' ? this.source(event) : hookRuns(this.source, event);
    } catch (error) {
      this.options.log.warn(
        { state: event.state, err: error },
        'hooks for this transition could not be prepared',
      );
      return;
    }
    if (runs.length === 0) return;
    this.pending++;
    const run = async () => {
      for (const { argv, uid, gid, timeoutMs } of runs) {
        if (this.terminated) break;
        const result = await runHook(argv, {
          timeoutMs: timeoutMs ?? this.options.timeoutMs,
          ...(uid !== undefined ? { uid } : {}),
          ...(gid !== undefined ? { gid } : {}),
          onGroup: (pid) => (this.running = pid),
          ...(this.options.env ? { env: this.options.env(event) } : {}),
        });
        if (result.timedOut)
          this.options.log.warn({ argv, state: event.state }, 'notify script killed at its timeout');
        else if (result.error)
          this.options.log.warn({ argv, err: result.error }, 'notify script could not start');
        else if (result.exitCode !== 0) {
          this.options.log.warn(
            { argv, exitCode: result.exitCode, signal: result.signal, stderr: result.stderr },
            'notify script failed',
          );
        }
      }
    };
    // Whatever happens to one event's hooks, the queue goes on with the next, and `queued` stays true.
    this.tail = this.tail
      .then(run)
      .catch((error: unknown) => this.options.log.warn({ state: event.state, err: error }, 'hook run failed'))
      .finally(() => {
        this.pending--;
      });
  }

  /** Resolves when every queued hook has finished. */
  drain(): Promise<void> {
    return this.tail;
  }

  /**
   * The agent is exiting: kill the running hook's process group and run nothing more, so the stop leaves no
   * process behind. Returns whether a hook was still running.
   */
  terminate(): boolean {
    this.terminated = true;
    const running = this.running;
    if (running !== undefined) killGroup(running);
    return running !== undefined;
  }
}

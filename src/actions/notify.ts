/**
 * Notify hooks (keepalived-compatible arguments), run per instance strictly in transition order, never two at
 * once, each with a timeout that kills its whole process group. The queue never blocks the caller: the state
 * machine hands an event over and goes on.
 *
 * keepalived's arguments: `notify_master` / `_backup` / `_fault` / `_stop` run with exactly their configured
 * argv; the generic `notify` gets `INSTANCE|GROUP NAME STATE PRIORITY` appended.
 */
import type { Logger } from '../core/logger.js';
import {
  type CommandRunner,
  DEFAULT_COMMAND_PATH,
  killProcessGroup,
  runInProcessGroup,
} from '../core/process-group.js';

export type HookState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

/** The only PATH a hook gets (no variable of the agent's environment leaks into a script). */
export const HOOK_PATH = DEFAULT_COMMAND_PATH;

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
  /**
   * The configured hook it comes from (`notify_master`, `notify`, `lvs_sync_daemon`, a service's name): a
   * bounded set taken from the configuration, for events and metric labels.
   */
  hook?: string;
}

/** How one hook run ended, for its observer. */
export interface HookRunEnd {
  outcome: 'ok' | 'failed' | 'timeout';
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
}

/** Told when each hook process starts and ends (the agent's events and metrics); must not throw. */
export interface HookObserver {
  start(hook: string, event: HookEvent): void;
  end(hook: string, event: HookEvent, end: HookRunEnd): void;
}

/** keepalived's keyword for each hook state's own script. */
const NOTIFY_KEYWORD: Record<HookState, string> = {
  MASTER: 'notify_master',
  BACKUP: 'notify_backup',
  FAULT: 'notify_fault',
  STOP: 'notify_stop',
};

/** What one event runs, in order: notify scripts, or everything an instance runs (LVS, services, notify). */
export type HookSource = NotifyCommands | ((event: HookEvent) => HookRun[]);

export interface NotifyCommands {
  master?: HookCommand;
  backup?: HookCommand;
  fault?: HookCommand;
  stop?: HookCommand;
  any?: HookCommand;
}

/** The part of the Logger that hook queues and FIFO writers use. */
export type HookLogger = Pick<Logger, 'info' | 'warn'>;

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
  if (specific)
    runs.push({ ...withIdentity(specific, [...specific.argv]), hook: NOTIFY_KEYWORD[event.state] });
  if (commands.any) {
    const argv = [...commands.any.argv, event.kind, event.name, event.state, String(event.priority)];
    runs.push({ ...withIdentity(commands.any, argv), hook: 'notify' });
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
      /** How commands run (default: each in its own process group); the daemon harness records instead. */
      run?: CommandRunner;
      /** Told of each run's start and end. */
      observer?: HookObserver;
      /** Milliseconds from a monotonic clock, for run durations (default: performance.now). */
      now?: () => number;
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
    this.pushRuns(event, runs);
  }

  /**
   * Queues `runs` for an event that is not a transition (keepalived's notify_master_rx_lower_pri, notify_deleted):
   * in order with the transitions' hooks, `event` giving their environment.
   */
  pushRuns(event: HookEvent, runs: readonly HookRun[]): void {
    if (runs.length === 0) return;
    this.pending++;
    const run = async () => {
      for (const { argv, uid, gid, timeoutMs, hook = 'hook' } of runs) {
        if (this.terminated) break;
        const { observer } = this.options;
        const now = this.options.now ?? (() => performance.now());
        const startedAt = now();
        observer?.start(hook, event);
        const result = await (this.options.run ?? runInProcessGroup)(argv, {
          timeoutMs: timeoutMs ?? this.options.timeoutMs,
          ...(uid !== undefined ? { uid } : {}),
          ...(gid !== undefined ? { gid } : {}),
          onGroup: (pid) => (this.running = pid),
          ...(this.options.env ? { env: this.options.env(event) } : {}),
        });
        observer?.end(hook, event, {
          outcome: result.timedOut ? 'timeout' : result.error || result.exitCode !== 0 ? 'failed' : 'ok',
          exitCode: result.exitCode,
          signal: result.signal,
          durationMs: now() - startedAt,
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
    if (running !== undefined) killProcessGroup(running);
    return running !== undefined;
  }
}

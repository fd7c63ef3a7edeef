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

export interface HookCommand {
  argv: string[];
}

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
  const specific = {
    MASTER: commands.master,
    BACKUP: commands.backup,
    FAULT: commands.fault,
    STOP: commands.stop,
  }[event.state];
  const lists: string[][] = [];
  if (specific) lists.push([...specific.argv]);
  if (commands.any)
    lists.push([...commands.any.argv, event.kind, event.name, event.state, String(event.priority)]);
  return lists;
}

export interface RunResult {
  argv: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  error?: Error;
}

/** Runs one command in its own process group; on timeout the whole group gets SIGKILL. */
export function runHook(
  argv: string[],
  options: { timeoutMs: number; env?: NodeJS.ProcessEnv; uid?: number; gid?: number },
): Promise<RunResult> {
  return new Promise((resolve) => {
    const [file, ...args] = argv;
    if (!file) {
      resolve({ argv, exitCode: null, signal: null, timedOut: false, error: new Error('empty command') });
      return;
    }
    let timedOut = false;
    const child = spawn(file, args, {
      detached: true,
      stdio: 'ignore',
      env: options.env ?? { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
    });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // The group is already gone.
        }
      }
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ argv, exitCode: null, signal: null, timedOut, error });
    });
    child.once('exit', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ argv, exitCode, signal, timedOut });
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

  constructor(
    private readonly commands: NotifyCommands,
    private readonly options: {
      timeoutMs: number;
      log: HookLogger;
      env?: (event: HookEvent) => NodeJS.ProcessEnv;
    },
  ) {}

  get queued(): number {
    return this.pending;
  }

  push(event: HookEvent): void {
    const lists = hookCommands(this.commands, event);
    if (lists.length === 0) return;
    this.pending++;
    this.tail = this.tail.then(async () => {
      for (const argv of lists) {
        const result = await runHook(argv, {
          timeoutMs: this.options.timeoutMs,
          ...(this.options.env ? { env: this.options.env(event) } : {}),
        });
        if (result.timedOut)
          this.options.log.warn({ argv, state: event.state }, 'notify script killed at its timeout');
        else if (result.error)
          this.options.log.warn({ argv, err: result.error }, 'notify script could not start');
        else if (result.exitCode !== 0) {
          this.options.log.warn(
            { argv, exitCode: result.exitCode, signal: result.signal },
            'notify script failed',
          );
        }
      }
      this.pending--;
    });
  }

  /** Resolves when every queued hook has finished. */
  drain(): Promise<void> {
    return this.tail;
  }
}

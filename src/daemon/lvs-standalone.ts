/**
 * `lvs_sync_daemon INTERFACE` without an instance to follow: keepalived's checker process then runs BOTH sync
 * daemons (master and backup) for as long as it runs, bound to the interface and to no VRRP state
 * (check_daemon.c: `checker_ipvs_syncd_needed`, start_check, checker_terminate_phase2). tandem has no checker
 * process; the agent does the same at its own start, reload and stop:
 *
 * - start: stop both daemons first (ones an abnormal exit left running; errors ignored, as keepalived's
 *   `ignore_error`), then start master and backup, sync id 0 unless configured;
 * - reload: nothing when the setting is unchanged; otherwise stop both, then start them with the new setting
 *   (or leave them stopped when the setting is gone or now follows an instance);
 * - stop: stop both.
 *
 * The commands are `actions/lvs.ts`'s (`lvsStandaloneCommands`), run one after another in their own process
 * groups with the notify timeout, as the agent's user, with the hooks' fixed PATH.
 */
import { lvsStandaloneCommands } from '../actions/lvs.js';
import { HOOK_PATH } from '../actions/notify.js';
import type { LvsSyncDaemonConfig, TandemConfig } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { type CommandRunner, runInProcessGroup } from '../core/process-group.js';
import { MILLISECONDS_PER_SECOND } from '../core/time.js';

/** The sync daemon setting that runs standalone: one that names no instance. */
export function standaloneSyncDaemon(config: TandemConfig): LvsSyncDaemonConfig | undefined {
  const daemon = config.global.lvsSyncDaemon;
  return daemon !== undefined && daemon.instance === undefined ? daemon : undefined;
}

export interface LvsStandaloneOptions {
  log: Logger;
  run?: CommandRunner;
  /** The commands' environment (default: the hooks' fixed PATH only). */
  env?: NodeJS.ProcessEnv;
}

export class LvsStandalone {
  private current: LvsSyncDaemonConfig | undefined;
  private timeoutMs = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: LvsStandaloneOptions) {}

  /** At start, and at each reload: brings the daemons in line with `config`. */
  apply(config: TandemConfig): Promise<void> {
    const next = standaloneSyncDaemon(config);
    this.timeoutMs = config.global.notifyTimeoutSeconds * MILLISECONDS_PER_SECOND;
    return this.enqueue(async () => {
      const previous = this.current;
      if (JSON.stringify(previous) === JSON.stringify(next)) return;
      this.current = next;
      if (next === undefined) {
        await this.runAll(lvsStandaloneCommands(previous as LvsSyncDaemonConfig, 'stop'), 'stop');
        return;
      }
      await this.runAll(lvsStandaloneCommands(next, 'start'), 'start');
    });
  }

  /** At stop: both daemons stopped, if they were started. */
  stop(): Promise<void> {
    return this.enqueue(async () => {
      const previous = this.current;
      this.current = undefined;
      if (previous !== undefined) await this.runAll(lvsStandaloneCommands(previous, 'stop'), 'stop');
    });
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(work, work);
    return this.queue;
  }

  /** Runs the lists in order; a failing stop is expected (nothing was running), a failing start is an error. */
  private async runAll(lists: string[][], phase: 'start' | 'stop'): Promise<void> {
    const { log } = this.options;
    const run = this.options.run ?? runInProcessGroup;
    for (const argv of lists) {
      const result = await run(argv, {
        timeoutMs: this.timeoutMs,
        env: this.options.env ?? { PATH: HOOK_PATH },
      });
      const failed = result.exitCode !== 0;
      const starting = argv[1] === '--start-daemon';
      if (!failed) log.info({ argv }, 'lvs_sync_daemon (no instance): ran');
      else if (starting || phase === 'stop')
        log.error(
          { argv, exitCode: result.exitCode, timedOut: result.timedOut, stderr: result.stderr },
          'lvs_sync_daemon (no instance): command failed',
        );
      else log.info({ argv, stderr: result.stderr }, 'lvs_sync_daemon (no instance): nothing to stop');
    }
  }
}

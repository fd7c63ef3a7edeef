/**
 * vrrp_script: a health check run every `interval`, shared by every instance that tracks it. Each run gets its
 * own process group; one still running at `timeout` is killed with its whole group and counts as a failure.
 * Runs never overlap: a tick that finds the previous run still going is skipped (as keepalived does). Running
 * is asynchronous, so a slow script never delays adverts.
 *
 * The verdict follows keepalived's counter (vrrp_scheduler.c, facts only): it runs from 0 to rise+fall-1 and
 * the script is OK at rise or more. A success below rise-1 counts up; a success at rise-1 or above jumps to the
 * top (OK). A failure above rise counts down; a failure at rise or below drops to 0 (failed). The counter
 * starts at rise-1 ("one success is enough", the verdict 'unknown' until then), or at 0 with `init_fail`
 * (failed from the start, so `rise` successes are needed). The first run always decides an 'unknown' script.
 */
import type { VrrpScriptConfig } from '../config/schema.js';

/** A health check's verdict: 'unknown' until the first run decides (keepalived's script INIT state). */
export type CheckState = 'unknown' | 'ok' | 'fail';
import { type Clock, systemClock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import {
  type CommandRunner,
  type RunResult,
  killProcessGroup,
  runInProcessGroup,
} from '../core/process-group.js';
import { MICROSECONDS_PER_SECOND, MILLISECONDS_PER_SECOND } from '../core/time.js';
import type { Track } from '../config/schema.js';
import { type Contribution, binaryContribution, pendingContribution } from './contribution.js';
import type { TrackerKind } from './kinds.js';
import { type EntryLookup, type Identity, resolveIdentity, systemLookup } from './identity.js';

/** Runs one command in its own process group, killing the group at the timeout (`runInProcessGroup`). */
export type ScriptRunner = CommandRunner;

export interface ScriptTrackerOptions {
  clock?: Clock;
  run?: ScriptRunner;
  log?: Logger;
  /** global_defs script_user: who runs the script when it names no user of its own. */
  defaultUser?: { user: string; group?: string };
  /** How user and group names resolve (tests replace it). */
  lookup?: EntryLookup;
}

export interface ScriptStatus {
  name: string;
  state: CheckState;
  running: boolean;
  runs: number;
  timeouts: number;
  skipped: number;
  lastExitCode: number | null;
}

export type ScriptListener = (state: CheckState) => void;

export class ScriptTracker {
  readonly name: string;
  private stateValue: CheckState;
  private result: number;
  private readonly listeners = new Set<ScriptListener>();
  private readonly clock: Clock;
  private readonly run: ScriptRunner;
  private identity: Identity | undefined;
  private timer: unknown;
  private running = false;
  private runningGroup: number | undefined;
  private stopped = true;
  private generation = 0;
  private counters = { runs: 0, timeouts: 0, skipped: 0, lastExitCode: null as number | null };

  constructor(
    readonly config: VrrpScriptConfig,
    private readonly options: ScriptTrackerOptions = {},
  ) {
    this.name = config.name;
    this.clock = options.clock ?? systemClock;
    this.run = options.run ?? runInProcessGroup;
    this.stateValue = config.initFail ? 'fail' : 'unknown';
    this.result = config.initFail ? 0 : config.rise - 1;
  }

  get state(): CheckState {
    return this.stateValue;
  }

  status(): ScriptStatus {
    return { name: this.name, state: this.stateValue, running: this.running, ...this.counters };
  }

  /** Calls `listener` on each change of verdict; returns the unsubscribe function. */
  onChange(listener: ScriptListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves the user to run as (throws ScriptUserError when it does not exist), then runs the script at once
   * and every interval after.
   */
  start(): void {
    if (!this.stopped) return;
    const who = this.config.command.user !== undefined ? this.config.command : this.options.defaultUser;
    if (who?.user !== undefined) {
      this.identity = resolveIdentity(who.user, who.group, this.options.lookup ?? systemLookup);
    }
    this.stopped = false;
    this.generation++;
    this.tick();
  }

  /** Stops the schedule and kills a run still going (its whole group); its result is ignored. */
  stop(): void {
    this.stopped = true;
    this.generation++;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    if (this.runningGroup !== undefined) killProcessGroup(this.runningGroup);
  }

  private tick(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(
      () => this.tick(),
      this.config.intervalSeconds * MICROSECONDS_PER_SECOND,
    );
    if (this.running) {
      // keepalived skips a run while the previous one is still going: never two at once.
      this.counters.skipped++;
      this.options.log?.warn({ script: this.name }, 'script still running at its next interval; run skipped');
      return;
    }
    void this.runOnce();
  }

  private async runOnce(): Promise<void> {
    const generation = this.generation;
    this.running = true;
    this.counters.runs++;
    let result: RunResult;
    try {
      result = await this.run([...this.config.command.argv], {
        timeoutMs: this.config.timeoutSeconds * MILLISECONDS_PER_SECOND,
        ...(this.identity ? { uid: this.identity.uid, gid: this.identity.gid } : {}),
        onGroup: (pid) => (this.runningGroup = pid),
      });
    } catch (error) {
      result = {
        argv: this.config.command.argv,
        exitCode: null,
        signal: null,
        timedOut: false,
        error: error as Error,
      };
    }
    this.running = false;
    this.runningGroup = undefined;
    if (generation !== this.generation) return;
    this.counters.lastExitCode = result.exitCode;
    if (result.timedOut) {
      this.counters.timeouts++;
      this.options.log?.warn({ script: this.name }, 'script killed at its timeout; counted as a failure');
    } else if (result.error) {
      this.options.log?.warn(
        { script: this.name, err: result.error },
        'script could not start; counted as a failure',
      );
    }
    // A run that timed out, could not start or died of a signal has failed; only exit code 0 succeeds.
    this.record(!result.timedOut && result.error === undefined && result.exitCode === 0);
  }

  /** keepalived's rise/fall counter; see the file comment. */
  private record(success: boolean): void {
    const { rise, fall } = this.config;
    let next: CheckState = this.stateValue;
    if (success) {
      if (this.result < rise - 1) this.result++;
      else {
        this.result = rise + fall - 1;
        next = 'ok';
      }
    } else if (this.result > rise) this.result--;
    else {
      this.result = 0;
      next = 'fail';
    }
    if (next === this.stateValue) return;
    this.stateValue = next;
    this.options.log?.info(
      { script: this.name, state: next },
      `script ${next === 'ok' ? 'succeeded' : 'failed'}`,
    );
    for (const listener of [...this.listeners]) listener(next);
  }
}

/** vrrp_script as a tracker kind: OK or failed, and pending until the first run decides. */
export const scriptKind: TrackerKind<VrrpScriptConfig, ScriptTracker> = {
  block: 'vrrp_script',
  list: 'trackScripts',
  faultCause: (name) => `script ${name}`,
  entries: (config) => config.scripts,
  create: (entry, context) =>
    new ScriptTracker(entry, {
      ...(context.clock ? { clock: context.clock } : {}),
      ...(context.log ? { log: context.log } : {}),
      ...(context.run ? { run: context.run } : {}),
      ...(context.lookup ? { lookup: context.lookup } : {}),
      ...(context.config.global.scriptUser ? { defaultUser: context.config.global.scriptUser } : {}),
    }),
  contribution: (track: Track, tracker): Contribution =>
    tracker.state === 'unknown'
      ? pendingContribution(track)
      : binaryContribution(track, tracker.state === 'ok'),
};

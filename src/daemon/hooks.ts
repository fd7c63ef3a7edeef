/**
 * What an instance or a sync group runs on a transition, composed from the configuration, and the queues that
 * run it: strictly in transition order, one at a time, each with a timeout that kills its process group; a
 * reload chains the new queue behind the old one of the same name, so STOP of the old configuration runs before
 * MASTER of the new (docs/architecture.md, "Hooks").
 */
import type { FifoConfig, TandemConfig, VrrpInstanceConfig } from '../config/schema.js';
import type { FifoEvent } from '../actions/fifo.js';
import { lvsCommands } from '../actions/lvs.js';
import {
  HookQueue,
  type HookEvent,
  type HookObserver,
  type HookRun,
  type HookState,
  hookRuns,
} from '../actions/notify.js';
import { serviceHooks } from '../actions/proxy.js';
import { hookCommand, hookEnvironment, notifyCommands } from '../actions/script-security.js';
import { type Clock, within } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { CommandRunner } from '../core/process-group.js';
import { MICROSECONDS_PER_MILLISECOND, MILLISECONDS_PER_SECOND } from '../core/time.js';
import type { VrrpState } from '../vrrp/fsm.js';
import type { EventBus, HookOwner } from './events.js';

/** The hook state of a VRRP state; INIT has none (keepalived reports nothing before the first decision). */
export const HOOK_STATE: Partial<Record<VrrpState, HookState>> = {
  MASTER: 'MASTER',
  BACKUP: 'BACKUP',
  FAULT: 'FAULT',
  STOPPED: 'STOP',
};

/** Where a transition's line goes at once (a non-blocking write): the notify FIFOs. */
export interface FifoSink {
  writeEvent(event: FifoEvent): void;
  /** The FIFO's path and the lines it dropped (metrics); FifoWriter has both. */
  readonly path?: string;
  readonly dropped?: number;
  close(): Promise<void>;
  /** For an immediate exit: at once, remove a FIFO the agent made and kill its script (FifoWriter does). */
  abandon?(): void;
}

/** Opens one notify FIFO; the agent's production default is `FifoWriter.open`. */
export type FifoOpener = (fifo: FifoConfig, config: TandemConfig, log: Logger) => Promise<FifoSink>;

/**
 * Everything one instance runs on a transition, in this order, one at a time: the LVS sync daemon role switch
 * (connection state first), the services that follow the VIP, then the notify scripts (the state's own, then
 * the generic one), each as the user keepalived's rules give it.
 */
export function instanceHookSource(
  instance: VrrpInstanceConfig,
  config: TandemConfig,
): (event: HookEvent) => HookRun[] {
  const notify = notifyCommands(instance.notify, config.global);
  const lvs =
    config.global.lvsSyncDaemon?.instance === instance.name ? config.global.lvsSyncDaemon : undefined;
  let previous: HookState | undefined;
  return (event) => {
    const lvsRuns = lvs
      ? lvsCommands(lvs, event.state, previous, instance.vrid).map((argv) => ({
          argv,
          hook: 'lvs_sync_daemon',
        }))
      : [];
    previous = event.state;
    const serviceRuns = serviceHooks(config.services, instance.services, event.state).map((hook) => ({
      ...hookCommand(hook.command, config.global),
      timeoutMs: hook.timeoutMs,
      hook: hook.service,
    }));
    return [...lvsRuns, ...serviceRuns, ...hookRuns(notify, event)];
  };
}

export interface HookQueueOptions {
  config: TandemConfig;
  log: Logger;
  /** The VIPs exported to the hooks' environment. */
  vips: readonly string[];
  /** The queue of the same instance or group before a reload: the new one starts after it. */
  previous?: HookQueue;
  run?: CommandRunner;
  /** Told of each hook run's start and end (the agent's events and metrics). */
  observer?: HookObserver;
}

/** A hook queue for an instance (`source` from `instanceHookSource`) or a sync group (its notify commands). */
export function hookQueue(
  source: ConstructorParameters<typeof HookQueue>[0],
  options: HookQueueOptions,
): HookQueue {
  return new HookQueue(source, {
    timeoutMs: options.config.global.notifyTimeoutSeconds * MILLISECONDS_PER_SECOND,
    log: options.log,
    ...(options.previous ? { after: options.previous.drain() } : {}),
    ...(options.run ? { run: options.run } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
    env: (event) => hookEnvironment(event, options.vips),
  });
}

/** A sync group's hooks: its notify commands, with keepalived's group arguments. */
export function groupHookQueue(
  group: TandemConfig['syncGroups'][number],
  options: HookQueueOptions,
): HookQueue {
  return hookQueue(notifyCommands(group.notify, options.config.global), options);
}

/** Waits for a hook queue at most `timeoutMs` on `clock`, then ends what still runs. */
export async function drainWithin(hooks: HookQueue, clock: Clock, timeoutMs: number): Promise<void> {
  await within(clock, hooks.drain(), timeoutMs * MICROSECONDS_PER_MILLISECOND);
  hooks.terminate();
}

/** Publishes each hook run's start and end on the agent's event bus (`tandem events`, the hook metrics). */
export function busHookObserver(bus: EventBus, owner: HookOwner): HookObserver {
  return {
    start: (hook, event) => bus.publish({ type: 'hook-start', ...owner, hook, state: event.state }),
    end: (hook, event, end) => bus.publish({ type: 'hook-end', ...owner, hook, state: event.state, ...end }),
  };
}

/**
 * The hooks an instance may run, by the names its runs carry (`HookRun.hook`): its notify keywords, the LVS
 * sync daemon when it follows this instance, its services. The metrics list them from zero.
 */
export function configuredHooks(instance: VrrpInstanceConfig, config: TandemConfig): string[] {
  const hooks = notifyHookNames(instance.notify);
  if (config.global.lvsSyncDaemon?.instance === instance.name) hooks.push('lvs_sync_daemon');
  return [...hooks, ...instance.services];
}

/** The hook names of a notify block (an instance's or a sync group's). */
export function notifyHookNames(notify: VrrpInstanceConfig['notify']): string[] {
  const names = {
    master: 'notify_master',
    backup: 'notify_backup',
    fault: 'notify_fault',
    stop: 'notify_stop',
    any: 'notify',
  } as const;
  return (Object.keys(names) as (keyof typeof names)[])
    .filter((key) => notify[key] !== undefined)
    .map((key) => names[key]);
}

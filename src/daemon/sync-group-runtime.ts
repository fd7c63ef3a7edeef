/**
 * One configured vrrp_sync_group brought to life, wired like an instance (docs/architecture.md, "Rooms"): the
 * fate-sharing rules (`vrrp/sync-group.ts`) over its members' drivers, and its own hook queue and FIFO lines on
 * each change of the group's state. A reload that restarts the group chains its new hook queue behind the old
 * one, as it does for instances, so the old group's STOP runs before the new group's first hook.
 */
import type { Logger } from '../core/logger.js';
import type { HookQueue } from '../actions/notify.js';
import type { GroupState } from '../vrrp/sync-group.js';
import type { SyncGroupConfig, TandemConfig } from '../config/schema.js';
import type { CommandRunner } from '../core/process-group.js';
import { SyncGroup } from '../vrrp/sync-group.js';
import type { EventBus } from './events.js';
import { type FifoSink, busHookObserver, groupHookQueue } from './hooks.js';
import type { InstanceRuntime } from './instance-runtime.js';

export interface SyncGroupDependencies {
  config: TandemConfig;
  fifos: readonly FifoSink[];
  log: Logger;
  /** The queue of the group of the same name before a reload restarted it. */
  previousHooks?: HookQueue;
  run?: CommandRunner;
  /** The agent's event bus: the group's hook runs are published there. */
  bus?: EventBus;
}

export class SyncGroupRuntime {
  readonly hooks: HookQueue;
  readonly group: SyncGroup;
  /** The state the group last reported (keepalived's fifo_write_vrrp_states_on_reload writes it again). */
  lastState: GroupState | undefined;

  constructor(
    readonly config: SyncGroupConfig,
    members: readonly InstanceRuntime[],
    deps: SyncGroupDependencies,
  ) {
    const log = deps.log;
    this.hooks = groupHookQueue(config, {
      config: deps.config,
      log,
      vips: [],
      ...(deps.previousHooks ? { previous: deps.previousHooks } : {}),
      ...(deps.run ? { run: deps.run } : {}),
      ...(deps.bus ? { observer: busHookObserver(deps.bus, { syncGroup: config.name }) } : {}),
    });
    this.group = new SyncGroup(
      config.name,
      members.map((runtime) => runtime.instance),
      (state) => {
        this.lastState = state;
        log.info({ syncGroup: config.name, state }, `sync group ${config.name} is ${state}`);
        // keepalived reports a group's priority as 0 (there is no group priority).
        const event = { kind: 'GROUP' as const, name: config.name, state, priority: 0 };
        for (const fifo of deps.fifos) fifo.writeEvent(event);
        this.hooks.push(event);
      },
    );
  }

  get name(): string {
    return this.config.name;
  }
}

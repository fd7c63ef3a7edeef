/**
 * The agent's side of the metrics and events: the snapshot the metrics endpoint renders (`TelemetrySnapshot`,
 * built from the instances' counter tables, trackers and FIFOs when a scrape asks, never on the advert path),
 * and the tracker events of the bus (a tracked interface, script, file or process changing state).
 *
 * A virtual router of any protocol appears through `InstanceTelemetry`: `vrrpInstanceTelemetry` builds it for a
 * VRRP instance runtime; a CARP runtime builds the same record (protocol `carp`, `vrid` its vhid) and the agent
 * lists it beside the others. The counter table is passed whole (every event counter and every discard reason
 * of `vrrp/counters.ts`), so a counter added there appears in the metrics without a change here.
 */
import type { TandemConfig, VrrpInstanceConfig } from '../config/schema.js';
import { MICROSECONDS_PER_SECOND } from '../core/time.js';
import { EVENT_COUNTERS, type InstanceCounters } from '../vrrp/counters.js';
import type { AnyTrackerKind, Tracker } from '../watchers/kinds.js';
import type { LinkWatcher } from '../watchers/link.js';
import type { TrackerRegistry } from '../watchers/registry.js';
import { scriptKind, type ScriptTracker } from '../watchers/script.js';
import type { EventBus, TrackerState } from './events.js';
import { configuredHooks } from './hooks.js';
import type { InstanceRuntime } from './instance-runtime.js';
import type {
  InstanceCounterTable,
  InstanceTelemetry,
  ScriptTelemetry,
  TrackerTelemetry,
} from './metrics-snapshot.js';

/**
 * The event counter that counts split brain (a MASTER hearing another MASTER), when the counter table has one:
 * the first whose name starts with `splitBrain`. Until then the family reads zero.
 */
const SPLIT_BRAIN_COUNTER = (EVENT_COUNTERS as readonly string[]).find((name) => /^splitBrain/.test(name));

/** The counter table as one flat record: event counters and discard reasons side by side. */
export function flatCounters(counters: InstanceCounters): InstanceCounterTable {
  const { discarded, ...events } = counters;
  return { ...events, ...discarded } as unknown as InstanceCounterTable;
}

/** One VRRP instance as the metrics see it, at `nowMicroseconds` on the agent's clock. */
export function vrrpInstanceTelemetry(
  runtime: InstanceRuntime,
  config: TandemConfig,
  nowMicroseconds: number,
): InstanceTelemetry {
  const instance: VrrpInstanceConfig & { interface: string } = runtime.config;
  const snapshot = runtime.instance.snapshot();
  const counters = flatCounters(snapshot.counters);
  const vips = [
    ...instance.vips.map((vip) => ({ vip, excluded: false })),
    ...instance.excludedVips.map((vip) => ({ vip, excluded: true })),
  ].map(({ vip, excluded }) => ({
    address: vip.address,
    prefixLength: vip.prefixLength,
    interface: vip.dev ?? instance.interface,
    excluded,
  }));
  const heard =
    snapshot.state === 'BACKUP' && snapshot.lastMasterAdvertAtMicroseconds !== undefined
      ? (nowMicroseconds - snapshot.lastMasterAdvertAtMicroseconds) / MICROSECONDS_PER_SECOND
      : undefined;
  return {
    name: instance.name,
    protocol: 'vrrp',
    interface: instance.interface,
    vrid: instance.vrid,
    family: instance.family,
    version: instance.version,
    state: snapshot.state,
    priority: snapshot.priority,
    effectivePriority: snapshot.effectivePriority,
    vips,
    garpMasterDelaySeconds: instance.garp.masterDelaySeconds,
    counters,
    transitions: snapshot.transitionCounts.map(({ from, to, reason, count }) => ({
      from,
      to,
      reason,
      count,
    })),
    splitBrainEvents: SPLIT_BRAIN_COUNTER === undefined ? 0 : (counters[SPLIT_BRAIN_COUNTER] ?? 0),
    hooks: configuredHooks(instance, config),
    secondsSinceMasterAdvert: heard,
  };
}

/** The word a tracker kind goes by in metrics and events: the first word of its fault cause (`script`, ...). */
export function trackerKindName(kind: AnyTrackerKind): string {
  return kind.faultCause('').trim().split(' ')[0] ?? kind.block;
}

/**
 * A tracker's state by keepalived's own rule for an unweighted track: `down` when it would put the instance in
 * FAULT, `unknown` before its first result, `up` otherwise. The same rule for every kind.
 */
export function trackerState(kind: AnyTrackerKind, tracker: Tracker): TrackerState {
  const contribution = kind.contribution({ name: '', weight: 0, reverse: false }, tracker);
  if (contribution.pending) return 'unknown';
  return contribution.fault ? 'down' : 'up';
}

function linkState(links: LinkWatcher, name: string): TrackerState {
  return links.current(name).up ? 'up' : 'down';
}

/** keepalived's script words for one vrrp_script (GOOD once the check passes; running or idle). */
export function scriptTelemetry(tracker: ScriptTracker): ScriptTelemetry {
  const status = tracker.status();
  return {
    name: status.name,
    status: status.state === 'ok' ? 'GOOD' : 'BAD',
    state: status.running ? 'running' : 'idle',
  };
}

/**
 * Follows every tracked object of the running generations and publishes a `tracker` event on each change of
 * state; lists them for the metrics. Interfaces are those the instances run on or track.
 */
export class TrackerFollower {
  private readonly states = new Map<string, TrackerState>();
  private readonly followed = new Map<TrackerRegistry, (() => void)[]>();
  private readonly interfaces = new Map<string, () => void>();

  constructor(
    private readonly links: LinkWatcher,
    private readonly bus: EventBus,
  ) {}

  /** Starts following a generation's trackers and the interfaces of its configuration. */
  follow(registry: TrackerRegistry, config: TandemConfig): void {
    const unsubscribers: (() => void)[] = [];
    for (const { kind, name, tracker } of registry.list()) {
      const kindName = trackerKindName(kind);
      this.note(kindName, name, trackerState(kind, tracker));
      unsubscribers.push(tracker.onChange(() => this.note(kindName, name, trackerState(kind, tracker))));
    }
    this.followed.set(registry, unsubscribers);
    const names = new Set(
      [...config.instances, ...config.syncGroups].flatMap((list) => [
        ...('interface' in list && list.interface !== undefined ? [list.interface] : []),
        ...list.trackInterfaces.map((track) => track.name),
      ]),
    );
    for (const name of names) {
      if (this.interfaces.has(name)) continue;
      this.note('interface', name, linkState(this.links, name));
      this.interfaces.set(
        name,
        this.links.track(name, () => this.note('interface', name, linkState(this.links, name))),
      );
    }
  }

  /** A generation is gone: its trackers are no longer followed. */
  forget(registry: TrackerRegistry): void {
    for (const unsubscribe of this.followed.get(registry) ?? []) unsubscribe();
    this.followed.delete(registry);
  }

  close(): void {
    for (const registry of [...this.followed.keys()]) this.forget(registry);
    for (const unsubscribe of this.interfaces.values()) unsubscribe();
    this.interfaces.clear();
  }

  /** Every tracked object of the running generations, with its state now. */
  list(): { trackers: TrackerTelemetry[]; scripts: ScriptTelemetry[] } {
    const trackers: TrackerTelemetry[] = [];
    const scripts: ScriptTelemetry[] = [];
    const seen = new Set<string>();
    for (const registry of this.followed.keys()) {
      for (const { kind, name, tracker } of registry.list()) {
        const kindName = trackerKindName(kind);
        if (seen.has(`${kindName}\u0000${name}`)) continue;
        seen.add(`${kindName}\u0000${name}`);
        trackers.push({ kind: kindName, name, state: trackerState(kind, tracker) });
        if (kind === scriptKind) scripts.push(scriptTelemetry(tracker as ScriptTracker));
      }
    }
    for (const name of this.interfaces.keys())
      trackers.push({ kind: 'interface', name, state: linkState(this.links, name) });
    return { trackers, scripts };
  }

  private note(kind: string, name: string, state: TrackerState): void {
    const key = `${kind}\u0000${name}`;
    const from = this.states.get(key);
    this.states.set(key, state);
    if (from !== undefined && from !== state) this.bus.publish({ type: 'tracker', kind, name, from, state });
  }
}

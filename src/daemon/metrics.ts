/**
 * The Prometheus registry (prom-client): mehdy/keepalived-exporter's families with their exact names, help
 * texts, types and labels, so dashboards and alerts written for keepalived read tandem unchanged, plus tandem's
 * own `tandem_*` families and the process metrics of prom-client's collectDefaultMetrics.
 *
 * Every family is filled by a prom-client `collect()` callback from one snapshot taken per scrape, so nothing is
 * computed on the advert path. The one exception is the hook-run families (runs, failures, timeouts, duration
 * histogram): a histogram cannot be rebuilt from a snapshot through prom-client's API, so they are observed from
 * the event bus's `hook-end` events, which happen off the advert path, after a hook process exits.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { TandemError } from '../errors.js';
import type { HookEndEvent, TandemEvent } from './events.js';
import {
  INSTANCE_STATES,
  KEEPALIVED_COUNTER_FAMILIES,
  KEEPALIVED_DISCARD_FAMILIES,
  KEEPALIVED_SCRIPT_STATES,
  KEEPALIVED_SCRIPT_STATUSES,
  KEEPALIVED_STATE_NUMBER,
  type InstanceTelemetry,
  TRACKER_STATES,
  type TelemetrySnapshot,
  type TelemetrySource,
  keepalivedVipText,
} from './metrics-snapshot.js';

/** Hook durations: notify scripts take milliseconds to seconds; keepalived's default script timeout is 10 s. */
export const HOOK_DURATION_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

const MISNAMED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** mehdy/keepalived-exporter's per-instance labels. */
const INSTANCE_LABELS = ['iname', 'intf', 'vrid'] as const;
type InstanceLabels = Record<(typeof INSTANCE_LABELS)[number], string>;

export class MetricsError extends TandemError {}

export type RejectedRequest = 'not-found' | 'method-not-allowed' | 'overloaded' | 'render-failed';

export interface MetricsOptions {
  snapshot: TelemetrySource;
  /** Every discard reason the counter tables hold; each is rendered for each instance, at zero when unseen. */
  discardReasons: readonly string[];
  /**
   * Every event counter the counter tables hold (`vrrp/counters.ts` EVENT_COUNTERS), rendered whole in
   * tandem_instance_events_total, so a counter added to the table is exported without a change here.
   */
  eventCounters?: readonly string[];
  /** tandem's version, for tandem_build_info. */
  version: string;
  /** prom-client's process and Node.js metrics (process_*, nodejs_*); on unless false. */
  processMetrics?: boolean;
}

function instanceLabels(instance: InstanceTelemetry): InstanceLabels {
  return { iname: instance.name, intf: instance.interface, vrid: String(instance.vrid) };
}

type Labels = Record<string, string>;
type Emit = (labels: Labels, value: number) => void;

export class TandemMetrics {
  readonly registry = new Registry();
  /** The snapshot of the scrape being rendered; collect() callbacks read it so a scrape takes one. */
  private current: TelemetrySnapshot | undefined;
  private rendering: Promise<string> | undefined;
  private readonly hookRuns: Counter<string>;
  private readonly hookFailures: Counter<string>;
  private readonly hookTimeouts: Counter<string>;
  private readonly hookDuration: Histogram<string>;
  private readonly rejected: Counter<string>;

  constructor(private readonly options: MetricsOptions) {
    const reasons = new Set(options.discardReasons);
    for (const [family, mapped] of Object.entries(KEEPALIVED_DISCARD_FAMILIES)) {
      const unknown = mapped.filter((reason) => !reasons.has(reason));
      if (unknown.length > 0) {
        throw new MetricsError(
          'TANDEM_EMETRICS_REASON',
          `${family} sums discard reasons the counter table does not have: ${unknown.join(', ')}`,
        );
      }
    }
    this.defineKeepalivedFamilies();
    this.defineInstanceFamilies();
    this.defineAgentFamilies();
    const hookLabels = ['iname', 'hook'];
    this.hookRuns = this.zeroedHookCounter(
      'tandem_hook_runs_total',
      'Hook runs (notify scripts, LVS sync daemon, services) that ended',
    );
    this.hookFailures = this.zeroedHookCounter(
      'tandem_hook_failures_total',
      'Hook runs that exited non-zero, died of a signal, or could not start',
    );
    this.hookTimeouts = this.zeroedHookCounter(
      'tandem_hook_timeouts_total',
      'Hook runs killed (with their process group) at their timeout',
    );
    this.hookDuration = new Histogram({
      name: 'tandem_hook_duration_seconds',
      help: 'How long hook runs took, from start to exit or kill',
      labelNames: hookLabels,
      buckets: HOOK_DURATION_BUCKETS_SECONDS,
      registers: [this.registry],
    });
    this.rejected = new Counter({
      name: 'tandem_metrics_requests_rejected_total',
      help: 'Requests to the metrics endpoint answered with an error, by reason',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    for (const reason of ['not-found', 'method-not-allowed', 'overloaded', 'render-failed'])
      this.rejected.inc({ reason }, 0);
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names these gauges with a `_total` suffix, which Prometheus reserves for counters (promtool
      // check metrics refuses them); their data is in nodejs_active_handles / nodejs_active_requests by type.
      for (const name of MISNAMED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * The Prometheus text exposition of everything, from one snapshot. Renders asked for while one runs share it.
   * The families are rendered one at a time with the event loop free in between (setImmediate), so a scrape
   * of many instances never holds up an advert timer for the whole rendering, only for one family's.
   */
  render(): Promise<string> {
    this.rendering ??= this.renderFamilies().finally(() => {
      this.rendering = undefined;
    });
    return this.rendering;
  }

  private async renderFamilies(): Promise<string> {
    this.current = this.options.snapshot();
    try {
      const parts: string[] = [];
      for (const metric of this.registry.getMetricsAsArray()) {
        parts.push(await this.registry.getSingleMetricAsString(metric.name));
        await yieldToEventLoop();
      }
      // Registry.metrics()'s layout for the Prometheus text format.
      return parts.join('\n\n') + '\n';
    } finally {
      this.current = undefined;
    }
  }

  /** The bus listener for the hook families: `bus.listen((event) => metrics.observe(event))`. */
  observe(event: TandemEvent): void {
    if (event.type !== 'hook-end') return;
    this.observeHookEnd(event);
  }

  countRejected(reason: RejectedRequest): void {
    this.rejected.inc({ reason });
  }

  private observeHookEnd(event: HookEndEvent): void {
    const labels = { iname: event.instance ?? event.syncGroup, hook: event.hook };
    this.hookRuns.inc(labels);
    if (event.outcome === 'failed') this.hookFailures.inc(labels);
    if (event.outcome === 'timeout') this.hookTimeouts.inc(labels);
    this.hookDuration.observe(labels, Math.max(0, event.durationMs) / 1000);
  }

  private snapshot(): TelemetrySnapshot {
    return this.current ?? this.options.snapshot();
  }

  /** A gauge or counter family whose series are all rebuilt from the scrape's snapshot by `fill`. */
  private family(
    kind: 'gauge' | 'counter',
    name: string,
    help: string,
    labelNames: readonly string[],
    fill: (emit: Emit) => void,
  ): void {
    const configuration = { name, help, labelNames, registers: [this.registry] };
    if (kind === 'gauge') {
      new Gauge({
        ...configuration,
        collect() {
          this.reset();
          fill((labels, value) => this.set(labels, value));
        },
      });
    } else {
      new Counter({
        ...configuration,
        collect() {
          this.reset();
          fill((labels, value) => this.inc(labels, value));
        },
      });
    }
  }

  /** A family with one series per instance, from one counter-like value of each. */
  private perInstance(
    kind: 'gauge' | 'counter',
    name: string,
    help: string,
    value: (instance: InstanceTelemetry) => number | undefined,
  ): void {
    this.family(kind, name, help, INSTANCE_LABELS, (emit) => {
      for (const instance of this.snapshot().instances) {
        const number = value(instance);
        if (number !== undefined) emit(instanceLabels(instance), number);
      }
    });
  }

  /** mehdy/keepalived-exporter's families, names, help texts, types and labels as its collector.go has them. */
  private defineKeepalivedFamilies(): void {
    this.family('gauge', 'keepalived_up', 'Status', [], (emit) => emit({}, 1));
    const stateFamily = (name: string, help: string, excluded: boolean) =>
      this.family('gauge', name, help, [...INSTANCE_LABELS, 'ip_address'], (emit) => {
        for (const instance of this.snapshot().instances) {
          const state = KEEPALIVED_STATE_NUMBER[instance.state];
          const vips = instance.vips.filter((vip) => vip.excluded === excluded);
          for (const vip of vips) {
            emit(
              {
                iname: instance.name,
                intf: vip.interface,
                vrid: String(instance.vrid),
                ip_address: keepalivedVipText(vip),
              },
              state,
            );
          }
          // The exporter reports an instance without VIPs once, on its interface, with an empty ip_address.
          if (!excluded && instance.vips.every((vip) => vip.excluded))
            emit({ ...instanceLabels(instance), ip_address: '' }, state);
        }
      });
    stateFamily('keepalived_vrrp_state', 'State of vrrp', false);
    stateFamily('keepalived_vrrp_excluded_state', 'State of vrrp with excluded VIP', true);
    const keepalivedHelp: Record<string, string> = {
      keepalived_advertisements_received_total: 'Advertisements received',
      keepalived_advertisements_sent_total: 'Advertisements sent',
      keepalived_priority_zero_received_total: 'Priority zero received',
      keepalived_priority_zero_sent_total: 'Priority zero sent',
      keepalived_packet_length_errors_total: 'Packet length errors',
      keepalived_advertisements_interval_errors_total: 'Advertisement interval errors',
      keepalived_ip_ttl_errors_total: 'TTL errors',
      keepalived_invalid_type_received_total: 'Invalid type errors',
      keepalived_address_list_errors_total: 'Address list errors',
      keepalived_authentication_invalid_total: 'Authentication invalid',
      keepalived_authentication_mismatch_total: 'Authentication mismatch',
      keepalived_authentication_failure_total: 'Authentication failure',
    };
    for (const [name, counter] of Object.entries(KEEPALIVED_COUNTER_FAMILIES)) {
      this.perInstance(
        'counter',
        name,
        keepalivedHelp[name] as string,
        (instance) => instance.counters[counter],
      );
    }
    this.perInstance('counter', 'keepalived_become_master_total', 'Became master', (instance) =>
      sumTransitions(instance, (transition) => transition.to === 'MASTER'),
    );
    this.perInstance('counter', 'keepalived_release_master_total', 'Released master', (instance) =>
      sumTransitions(instance, (transition) => transition.from === 'MASTER'),
    );
    for (const [name, reasons] of Object.entries(KEEPALIVED_DISCARD_FAMILIES)) {
      this.perInstance('counter', name, keepalivedHelp[name] as string, (instance) =>
        reasons.reduce((sum, reason) => sum + (instance.counters[reason] ?? 0), 0),
      );
    }
    // The exporter declares keepalived's configured garp_master_delay (seconds) as a counter; kept as it is.
    this.perInstance(
      'counter',
      'keepalived_gratuitous_arp_delay_total',
      'Gratuitous ARP delay',
      (instance) => instance.garpMasterDelaySeconds,
    );
    this.family('gauge', 'keepalived_script_status', 'Tracker Script Status', ['name'], (emit) => {
      for (const script of this.snapshot().scripts)
        emit({ name: script.name }, KEEPALIVED_SCRIPT_STATUSES.indexOf(script.status));
    });
    this.family('gauge', 'keepalived_script_state', 'Tracker Script State', ['name'], (emit) => {
      for (const script of this.snapshot().scripts)
        emit({ name: script.name }, KEEPALIVED_SCRIPT_STATES.indexOf(script.state));
    });
  }

  private defineInstanceFamilies(): void {
    this.family(
      'gauge',
      'tandem_instance_info',
      'One series per instance: its protocol (vrrp or carp), address family and protocol version',
      [...INSTANCE_LABELS, 'protocol', 'family', 'version'],
      (emit) => {
        for (const instance of this.snapshot().instances) {
          emit(
            {
              ...instanceLabels(instance),
              protocol: instance.protocol,
              family: `ipv${instance.family}`,
              version: String(instance.version),
            },
            1,
          );
        }
      },
    );
    this.family(
      'gauge',
      'tandem_instance_state',
      'The instance state, one series per state, 1 for the current one (one series per instance, not per VIP)',
      [...INSTANCE_LABELS, 'state'],
      (emit) => {
        for (const instance of this.snapshot().instances) {
          for (const state of INSTANCE_STATES)
            emit({ ...instanceLabels(instance), state }, instance.state === state ? 1 : 0);
        }
      },
    );
    this.perInstance('gauge', 'tandem_priority', 'Configured priority', (instance) => instance.priority);
    this.perInstance(
      'gauge',
      'tandem_effective_priority',
      'Priority after tracking weights (the one advertised)',
      (instance) => instance.effectivePriority,
    );
    this.family(
      'counter',
      'tandem_discarded_total',
      'Packets refused for this instance, by reason; every reason present from zero',
      [...INSTANCE_LABELS, 'reason'],
      (emit) => {
        for (const instance of this.snapshot().instances) {
          const labels = instanceLabels(instance);
          for (const reason of this.options.discardReasons)
            emit({ ...labels, reason }, instance.counters[reason] ?? 0);
        }
      },
    );
    this.family(
      'counter',
      'tandem_instance_events_total',
      "The instance's event counters (tandem status counters), by name; every counter present from zero",
      [...INSTANCE_LABELS, 'event'],
      (emit) => {
        for (const instance of this.snapshot().instances) {
          const labels = instanceLabels(instance);
          for (const event of this.options.eventCounters ?? [])
            emit({ ...labels, event }, instance.counters[event] ?? 0);
        }
      },
    );
    this.family(
      'counter',
      'tandem_transitions_total',
      'State changes by from, to and reason',
      [...INSTANCE_LABELS, 'from', 'to', 'reason'],
      (emit) => {
        for (const instance of this.snapshot().instances) {
          const labels = instanceLabels(instance);
          for (const { from, to, reason, count } of instance.transitions)
            emit({ ...labels, from, to, reason }, count);
        }
      },
    );
    this.perInstance(
      'counter',
      'tandem_split_brain_events_total',
      'Times this instance, as MASTER, heard another MASTER of its VRID',
      (instance) => instance.splitBrainEvents,
    );
    this.perInstance(
      'gauge',
      'tandem_master_advert_age_seconds',
      'Seconds since the last advert accepted from the current master (only while one is being heard)',
      (instance) => instance.secondsSinceMasterAdvert,
    );
  }

  private defineAgentFamilies(): void {
    this.family('gauge', 'tandem_build_info', 'The running tandem version', ['version'], (emit) =>
      emit({ version: this.options.version }, 1),
    );
    this.family(
      'gauge',
      'tandem_tracker_state',
      'Tracked interfaces, scripts, files and processes: one series per state, 1 for the current one',
      ['kind', 'name', 'state'],
      (emit) => {
        for (const tracker of this.snapshot().trackers) {
          for (const state of TRACKER_STATES)
            emit({ kind: tracker.kind, name: tracker.name, state }, tracker.state === state ? 1 : 0);
        }
      },
    );
    this.family(
      'counter',
      'tandem_notify_fifo_dropped_total',
      'Notify FIFO lines dropped (pipe full, line too long, write failed)',
      ['fifo'],
      (emit) => {
        for (const fifo of this.snapshot().fifos) emit({ fifo: fifo.path }, fifo.dropped);
      },
    );
    this.family('counter', 'tandem_reloads_total', 'Configuration reloads applied', [], (emit) =>
      emit({}, this.snapshot().agent.reloads),
    );
    this.family(
      'counter',
      'tandem_control_bad_requests_total',
      'Control socket requests refused',
      [],
      (emit) => emit({}, this.snapshot().agent.controlBadRequests),
    );
    this.family(
      'counter',
      'tandem_event_subscribers_dropped_total',
      'tandem events subscribers dropped for falling behind',
      [],
      (emit) => emit({}, this.snapshot().agent.eventSubscribersDropped),
    );
  }

  /** A hook counter whose configured hooks are present at zero before their first run. */
  private zeroedHookCounter(name: string, help: string): Counter<string> {
    const configuredHooks = () => {
      const snapshot = this.snapshot();
      return [
        ...snapshot.instances.flatMap((instance) =>
          instance.hooks.map((hook) => ({ iname: instance.name, hook })),
        ),
        ...snapshot.groupHooks.flatMap((group) =>
          group.hooks.map((hook) => ({ iname: group.syncGroup, hook })),
        ),
      ];
    };
    return new Counter({
      name,
      help,
      labelNames: ['iname', 'hook'],
      registers: [this.registry],
      collect() {
        for (const labels of configuredHooks()) this.inc(labels, 0);
      },
    });
  }
}

function sumTransitions(
  instance: InstanceTelemetry,
  matches: (transition: InstanceTelemetry['transitions'][number]) => boolean,
): number {
  return instance.transitions.reduce(
    (sum, transition) => sum + (matches(transition) ? transition.count : 0),
    0,
  );
}

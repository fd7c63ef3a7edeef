/**
 * The dumps keepalived writes on its DATA, STATS and JSON signals, for tandem: `tandem.data` (instances,
 * states, priorities, timers, VIPs, trackers, readable), `tandem.stats` (every counter) and `tandem.json` (the
 * data as JSON), in the runtime directory, mode 0600 (keepalived writes /tmp/keepalived.data and friends;
 * DESIGN.md: never /tmp).
 *
 * Everything comes from the agent's status and configuration at the moment of the signal. The file is written
 * asynchronously to a fresh temporary name (O_EXCL, so nothing planted is followed) and renamed over the old
 * dump, so a reader sees the old dump or the new one, never half of one, and the adverts never wait for a disk.
 * A burst of signals writes each kind at most once more after the write in progress.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crypto } from '../core/builtins.js';
import type { SyncGroupConfig, VrrpInstanceConfig } from '../config/schema.js';
import { Coalesced } from '../core/coalesced.js';
import {
  type InstanceParameters,
  MICROSECONDS_PER_CENTISECOND,
  MICROSECONDS_PER_SECOND,
  masterDownInterval,
  skewTime,
} from '../vrrp/fsm.js';
import type { Contribution } from '../watchers/contribution.js';
import { InstanceTracking, type TrackerSource, type TrackingInputs } from '../watchers/tracking.js';
import type { AgentStatus, InstanceStatus } from './status.js';
import type { DumpKind } from './signals.js';

/** The file each dump goes to, inside the runtime directory. */
export const DUMP_FILES: Record<DumpKind, string> = {
  data: 'tandem.data',
  stats: 'tandem.stats',
  json: 'tandem.json',
};

/** One running instance as the agent knows it: its configuration, its trackers and its sync group. */
export interface DumpSource {
  config: VrrpInstanceConfig;
  trackers: TrackerSource;
  group: SyncGroupConfig | undefined;
}

/** What the agent hands over for a dump. */
export interface DumpInput {
  status: AgentStatus;
  sources: DumpSource[];
  runtimeDir: string;
  controlSocket: string;
}

/** Timers of one instance in seconds, as RFC 5798 §6.1 defines them for its configured interval. */
export interface DumpTimers {
  advertIntervalSeconds: number;
  skewTimeSeconds: number;
  masterDownIntervalSeconds: number;
  preempt: boolean;
  preemptDelaySeconds: number;
}

export interface InstanceDump extends InstanceStatus {
  /** Null only for an instance the agent reports but no longer runs (between a reload's steps). */
  timers: DumpTimers | null;
  trackers: TrackingInputs | null;
  syncGroup: string | null;
}

export interface DataDump {
  tandem: { pid: number; writtenAt: string; uptimeSeconds: number; reloads: number };
  routerId: string | null;
  runtimeDir: string;
  controlSocket: string;
  instances: InstanceDump[];
  sockets: AgentStatus['sockets'];
  control: AgentStatus['control'];
}

const noListener = { onPriority() {}, onFault() {}, onFaultCleared() {} };

/**
 * Skew_Time and Master_Down_Interval for the configured interval (a v3 backup that learned another
 * Master_Adver_Interval uses that one instead) and the current effective priority.
 */
function timersOf(config: VrrpInstanceConfig, effectivePriority: number): DumpTimers {
  // The RFC formulas read only the version and the interval of the parameters.
  const params = {
    version: config.version,
    advertIntervalCentiseconds: config.advertIntervalCentiseconds,
  } as InstanceParameters;
  const state = {
    params,
    effectivePriority,
    masterAdverIntervalCentiseconds: config.advertIntervalCentiseconds,
  };
  return {
    advertIntervalSeconds:
      (config.advertIntervalCentiseconds * MICROSECONDS_PER_CENTISECOND) / MICROSECONDS_PER_SECOND,
    skewTimeSeconds: skewTime(state) / MICROSECONDS_PER_SECOND,
    masterDownIntervalSeconds: masterDownInterval(state) / MICROSECONDS_PER_SECOND,
    preempt: config.preempt,
    preemptDelaySeconds: config.preemptDelaySeconds,
  };
}

/** The data dump as an object (also the content of tandem.json). */
export function dataDump(input: DumpInput, now: Date = new Date()): DataDump {
  const { status } = input;
  const instances = status.instances.map((instance): InstanceDump => {
    const source = input.sources.find((candidate) => candidate.config.name === instance.name);
    if (source === undefined) return { ...instance, timers: null, trackers: null, syncGroup: null };
    // A tracking view that is never started: it only reads the trackers' current values.
    const tracking = new InstanceTracking(
      source.config,
      source.trackers,
      noListener,
      source.group ? { group: source.group } : {},
    );
    return {
      ...instance,
      timers: timersOf(source.config, instance.effectivePriority),
      trackers: tracking.inputs(),
      syncGroup: source.group?.name ?? null,
    };
  });
  return {
    tandem: {
      pid: status.pid,
      writtenAt: now.toISOString(),
      uptimeSeconds: status.uptimeSeconds,
      reloads: status.reloads,
    },
    routerId: status.routerId ?? null,
    runtimeDir: input.runtimeDir,
    controlSocket: input.controlSocket,
    instances,
    sockets: status.sockets,
    control: status.control,
  };
}

function seconds(value: number): string {
  return `${Number(value.toFixed(6))} s`;
}

function weight(track: { weight: number; reverse: boolean }): string {
  return `weight ${track.weight}${track.reverse ? ' reverse' : ''}`;
}

/** What a tracked script, file or process does to the instance now. */
function effect(contribution: Contribution): string {
  if (contribution.pending) return 'no result yet';
  if (contribution.fault) return 'fault';
  if (contribution.delta === 0) return 'no effect';
  return `priority ${contribution.delta > 0 ? '+' : ''}${contribution.delta}`;
}

/** tandem.data: the data dump for a human. */
export function formatData(dump: DataDump): string {
  const lines = [
    `tandem data dump, pid ${dump.tandem.pid}, ${dump.tandem.writtenAt}`,
    `router_id ${dump.routerId ?? '-'}, up ${seconds(dump.tandem.uptimeSeconds)}, ${dump.tandem.reloads} reload(s)`,
    `runtime directory ${dump.runtimeDir}, control socket ${dump.controlSocket}`,
  ];
  for (const instance of dump.instances) {
    const { timers, trackers, lastTransition } = instance;
    lines.push(
      '',
      `VRRP instance ${instance.name}`,
      `  interface ${instance.interface}, IPv${instance.family}, VRID ${instance.vrid}, VRRPv${instance.version}` +
        (instance.syncGroup ? `, sync group ${instance.syncGroup}` : ''),
      `  state ${instance.state} for ${seconds(instance.timeInStateSeconds)}` +
        (lastTransition ? ` (${lastTransition.from} -> ${lastTransition.to}: ${lastTransition.reason})` : ''),
      `  priority ${instance.priority}, effective ${instance.effectivePriority}`,
      `  master ${instance.masterAddress ?? '-'}, advertising from ${instance.sourceAddress}`,
      ...(timers
        ? [
            `  advert interval ${seconds(timers.advertIntervalSeconds)}, skew time ${seconds(timers.skewTimeSeconds)}, ` +
              `master down interval ${seconds(timers.masterDownIntervalSeconds)}`,
            `  preempt ${timers.preempt ? `yes, delay ${seconds(timers.preemptDelaySeconds)}` : 'no'}`,
          ]
        : []),
      `  VIPs ${instance.vips.join(' ') || '-'}`,
      `  faults ${instance.faults.join(', ') || '-'}`,
    );
    const tracked = [
      ...(trackers?.interfaces ?? []).map(
        (t) => `interface ${t.name}: ${t.up ? 'up' : 'down'}, ${weight(t)}`,
      ),
      ...(trackers?.objects ?? []).map((t) => `${t.cause}: ${effect(t.contribution)}`),
    ];
    lines.push(`  trackers${tracked.length === 0 ? ' -' : ''}`, ...tracked.map((line) => `    ${line}`));
  }
  return lines.join('\n') + '\n';
}

function counterLines(counters: Record<string, unknown>, indent: string): string[] {
  return Object.entries(counters).flatMap(([name, value]) =>
    typeof value !== 'object' || value === null
      ? [`${indent}${name} ${String(value)}`]
      : Object.keys(value).length === 0
        ? [`${indent}${name} -`]
        : [`${indent}${name}`, ...counterLines(value as Record<string, unknown>, `${indent}  `)],
  );
}

/** tandem.stats: every counter of every instance, socket and the control socket. */
export function formatStats(status: AgentStatus, now: Date = new Date()): string {
  const lines = [`tandem statistics, pid ${status.pid}, ${now.toISOString()}`];
  for (const instance of status.instances) {
    lines.push(
      '',
      `${instance.protocol === 'carp' ? 'CARP' : 'VRRP'} instance ${instance.name} (${instance.state})`,
      ...counterLines(instance.counters, '  '),
    );
  }
  for (const socket of status.sockets) {
    lines.push(
      '',
      `socket ${socket.interface} IPv${socket.family}, VRIDs ${socket.vrids.join(' ') || '-'}`,
      ...counterLines(socket.counters as unknown as Record<string, unknown>, '  '),
    );
  }
  lines.push(
    '',
    'control socket',
    ...counterLines(status.control as unknown as Record<string, unknown>, '  '),
  );
  return lines.join('\n') + '\n';
}

/** The content of one dump. */
export function renderDump(kind: DumpKind, input: DumpInput, now: Date = new Date()): string {
  if (kind === 'stats') return formatStats(input.status, now);
  const dump = dataDump(input, now);
  return kind === 'json' ? JSON.stringify(dump, null, 2) + '\n' : formatData(dump);
}

/** Writes `content` to `directory/name`, mode 0600, through a fresh temporary file and a rename. */
export async function writeAtomically(directory: string, name: string, content: string): Promise<string> {
  const path = join(directory, name);
  const temporary = join(directory, `.${name}.${process.pid}.${crypto().randomBytes(4).toString('hex')}`);
  try {
    // 'wx': O_CREAT|O_EXCL, never an existing file or a symbolic link planted under that name.
    await writeFile(temporary, content, { mode: 0o600, flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return path;
}

export interface DumpLogger {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Writes dumps on request: one write per kind at a time, and at most one more queued behind it. */
export class DumpWriter {
  readonly #writes = new Map<DumpKind, Coalesced<string>>();

  constructor(
    private readonly directory: string,
    private readonly input: () => DumpInput,
    private readonly log: DumpLogger,
  ) {}

  /** Asks for a dump of `kind`; resolves once a dump taken after this request is written (or failed). */
  request(kind: DumpKind, signal: string): Promise<void> {
    let writes = this.#writes.get(kind);
    if (writes === undefined) {
      writes = new Coalesced((latest: string) => this.#write(kind, latest));
      this.#writes.set(kind, writes);
    }
    return writes.request(signal);
  }

  async #write(kind: DumpKind, signal: string): Promise<void> {
    try {
      // The content is taken now, at the signal; only the disk work is left to wait for.
      const content = renderDump(kind, this.input());
      const file = await writeAtomically(this.directory, DUMP_FILES[kind], content);
      this.log.info({ signal, dump: kind, file }, `${kind} dump written to ${file}`);
    } catch (error) {
      this.log.error({ signal, dump: kind, err: error }, `${kind} dump could not be written`);
    }
  }
}

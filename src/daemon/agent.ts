/**
 * The agent: turns a loaded configuration into running instances that share sockets, netlink and the
 * control socket; reloads without disturbing instances whose configuration did not change; stops them
 * cleanly (priority-0 adverts, VIPs released, hooks given a moment).
 *
 * Instances are started in generations: the first at start, one more at each reload for the instances it
 * adds or changes. A generation owns its trackers (scripts, files, processes) and its sync groups; it is
 * disposed of when none of its instances runs any more.
 */
import { join } from 'node:path';
import type { Logger as PinoLogger } from 'pino';
import { FifoWriter, fifoWriterOptions } from '../actions/fifo.js';
import { type PacketSocket, openPacketSocket } from '../actions/garp.js';
import { type LinkInfo, NetlinkAdapter, type RtNetlink } from '../actions/netlink.js';
import { HookQueue } from '../actions/notify.js';
import { hookEnvironment, notifyCommands } from '../actions/script-security.js';
import type { TandemConfig, VrrpInstanceConfig } from '../config/schema.js';
import { type Clock, systemClock } from '../vrrp/instance.js';
import { SyncGroup } from '../vrrp/sync-group.js';
import { VrrpSocket } from '../vrrp/transport.js';
import { TrackerRegistry } from '../watchers/registry.js';
import { ControlServer } from './control.js';
import { InstanceRuntime, type InstanceStatus, drainWithin } from './instance-runtime.js';
import { ensureRuntimeDir } from './runtime-dir.js';
import { TandemError } from '../errors.js';

/** DESIGN.md: a graceful stop finishes within 1 s; hooks get what is left of it after the critical work. */
const STOP_HOOK_BUDGET_MS = 600;

export interface AgentOptions {
  log: PinoLogger;
  /** Overrides global_defs runtime_dir (and puts the control socket inside it). */
  runtimeDir?: string;
  netlink?: RtNetlink;
  clock?: Clock;
}

export interface AgentStatus {
  pid: number;
  routerId: string | undefined;
  uptimeSeconds: number;
  reloads: number;
  instances: InstanceStatus[];
  sockets: { interface: string; family: number; vrids: number[]; counters: VrrpSocket['counters'] }[];
  control: ControlServer['counters'];
}

export interface ReloadResult {
  kept: string[];
  stopped: string[];
  started: string[];
}

interface Generation {
  config: TandemConfig;
  registry: TrackerRegistry;
  runtimes: InstanceRuntime[];
  groupHooks: HookQueue[];
}

/** Positions only say where text was; they do not change what runs. */
function withoutPositions(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, inner: unknown) => (key === 'source' ? undefined : inner)));
}

/**
 * Everything that decides how one instance runs: its own block, what it tracks, its services, global_defs, and
 * its sync group with every member's own part (members restart together, since they share one SyncGroup).
 */
export function instanceSignatures(config: TandemConfig): Map<string, string> {
  const own = new Map<string, unknown>();
  for (const instance of config.instances) {
    const group = config.syncGroups.find((candidate) => candidate.members.includes(instance.name));
    const tracked = (names: { name: string }[]) => new Set(names.map((track) => track.name));
    const scripts = tracked([...instance.trackScripts, ...(group?.trackScripts ?? [])]);
    const files = tracked([...instance.trackFiles, ...(group?.trackFiles ?? [])]);
    const processes = tracked([...instance.trackProcesses, ...(group?.trackProcesses ?? [])]);
    own.set(instance.name, {
      instance,
      group,
      scripts: config.scripts.filter((script) => scripts.has(script.name)),
      files: config.trackFiles.filter((file) => files.has(file.name)),
      processes: config.trackProcesses.filter((process) => processes.has(process.name)),
      services: config.services.filter((service) => instance.services.includes(service.name)),
      global: config.global,
    });
  }
  const signatures = new Map<string, string>();
  for (const instance of config.instances) {
    const group = config.syncGroups.find((candidate) => candidate.members.includes(instance.name));
    const parts = group ? group.members.map((member) => own.get(member)) : [own.get(instance.name)];
    signatures.set(instance.name, JSON.stringify(withoutPositions(parts)));
  }
  return signatures;
}

/** The part of `config` that concerns `instances`: the trackers and sync groups of a new generation. */
function configFor(config: TandemConfig, instances: readonly VrrpInstanceConfig[]): TandemConfig {
  const names = new Set(instances.map((instance) => instance.name));
  return {
    ...config,
    instances: [...instances],
    syncGroups: config.syncGroups.filter((group) => group.members.every((member) => names.has(member))),
  };
}

export class Agent {
  private generations: Generation[] = [];
  private readonly sockets = new Map<string, VrrpSocket>();
  private readonly followedInterfaces = new Set<string>();
  private packetSocket: PacketSocket | undefined;
  private control: ControlServer | undefined;
  private readonly netlink: RtNetlink;
  private readonly clock: Clock;
  private readonly startedAt: number;
  private stopping: Promise<void> | undefined;
  private reloading: Promise<unknown> = Promise.resolve();
  private reloads = 0;
  private readonly fifos: FifoWriter[] = [];
  /** Instances a reload stopped whose hooks may still run; a stop waits for (or ends) them too. */
  private retired: InstanceRuntime[] = [];
  readonly runtimeDir: string;
  readonly controlSocketPath: string;

  constructor(
    private config: TandemConfig,
    private readonly options: AgentOptions,
  ) {
    this.netlink = options.netlink ?? NetlinkAdapter.open();
    this.clock = options.clock ?? systemClock;
    this.startedAt = this.clock.nowMicroseconds();
    this.runtimeDir = options.runtimeDir ?? config.global.runtimeDir;
    this.controlSocketPath = options.runtimeDir
      ? join(options.runtimeDir, 'tandem.sock')
      : config.global.controlSocket;
  }

  private get runtimes(): InstanceRuntime[] {
    return this.generations.flatMap((generation) => generation.runtimes);
  }

  /** Starts every instance; a reload asked for meanwhile waits for it. */
  start(): Promise<void> {
    const started = this.startNow();
    this.reloading = started.catch(() => undefined);
    return started;
  }

  private async startNow(): Promise<void> {
    const { log } = this.options;
    ensureRuntimeDir(this.runtimeDir);
    this.packetSocket = openPacketSocket();
    for (const fifo of [this.config.global.notifyFifo, this.config.global.vrrpNotifyFifo]) {
      if (fifo) this.fifos.push(await FifoWriter.open(fifoWriterOptions(fifo, this.config.global, log)));
    }
    const generation = await this.launch(this.config, this.config.instances);
    this.control = new ControlServer(this.controlSocketPath, { status: () => this.status() });
    await this.control.listen();
    const delayMs = this.config.global.startupDelaySeconds * 1000;
    if (delayMs > 0) {
      log.info({ seconds: this.config.global.startupDelaySeconds }, 'vrrp_startup_delay');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    for (const runtime of generation.runtimes) runtime.start();
    log.info(
      { instances: generation.runtimes.length, controlSocket: this.controlSocketPath, pid: process.pid },
      'tandem started',
    );
  }

  /**
   * SIGHUP: instances whose configuration (signature) is unchanged keep running untouched; removed and changed
   * ones hand over and stop; added and changed ones start. Reloads run one after another.
   */
  reload(config: TandemConfig): Promise<ReloadResult> {
    if (this.stopping) {
      return Promise.reject(new TandemError('TANDEM_ESTOPPING', 'the agent is stopping; reload refused'));
    }
    const next = this.reloading.then(() => this.reloadNow(config));
    this.reloading = next.catch(() => undefined);
    return next;
  }

  private async reloadNow(config: TandemConfig): Promise<ReloadResult> {
    const { log } = this.options;
    const before = instanceSignatures(this.config);
    const after = instanceSignatures(config);
    const unchanged = (name: string) => before.has(name) && before.get(name) === after.get(name);
    const leaving = this.runtimes.filter((runtime) => !unchanged(runtime.config.name));
    await Promise.all(leaving.map((runtime) => runtime.stop()));
    for (const generation of this.generations) {
      generation.runtimes = generation.runtimes.filter((runtime) => !leaving.includes(runtime));
    }
    await this.disposeEmptyGenerations();
    this.closeIdleSockets();
    this.retired = [...this.retired.filter((runtime) => runtime.hooksPending), ...leaving];
    const previousHooks = new Map(leaving.map((runtime) => [runtime.config.name, runtime.hookQueue]));
    const arriving = config.instances.filter((instance) => !unchanged(instance.name));
    for (const [name, value] of Object.entries(config.global)) {
      const old = (this.config.global as unknown as Record<string, unknown>)[name];
      if (
        ['runtimeDir', 'controlSocket', 'notifyFifo', 'vrrpNotifyFifo'].includes(name) &&
        JSON.stringify(old) !== JSON.stringify(value)
      ) {
        log.warn(
          { setting: name },
          'this global_defs setting changes only with a restart; the running one stays',
        );
      }
    }
    const previousConfig = this.config;
    this.config = config;
    try {
      if (this.stopping)
        throw new TandemError('TANDEM_ESTOPPING', 'the agent began to stop during the reload');
      if (arriving.length > 0) {
        const generation = await this.launch(config, arriving, previousHooks);
        for (const runtime of generation.runtimes) runtime.start();
      }
    } catch (error) {
      // The new instances could not all start (an interface gone, an address missing...): bring back the ones
      // this reload stopped, as they were, so a failed reload leaves the box as it found it.
      this.config = previousConfig;
      if (!this.stopping && leaving.length > 0) {
        log.error({ err: error }, 'reload failed: restoring the instances it stopped');
        const hooks = new Map(leaving.map((runtime) => [runtime.config.name, runtime.hookQueue]));
        const restored = await this.launch(
          previousConfig,
          leaving.map((runtime) => runtime.config),
          hooks,
        );
        for (const runtime of restored.runtimes) runtime.start();
      }
      throw error;
    }
    this.reloads++;
    const result = {
      kept: config.instances.filter((instance) => unchanged(instance.name)).map((instance) => instance.name),
      stopped: leaving.map((runtime) => runtime.config.name),
      started: arriving.map((instance) => instance.name),
    };
    log.info(result, 'configuration reloaded');
    return result;
  }

  /** Creates, cleans and arms the instances of a new generation; they start when the caller says. */
  private async launch(
    config: TandemConfig,
    instances: readonly VrrpInstanceConfig[],
    previousHooks: ReadonlyMap<string, HookQueue> = new Map(),
  ): Promise<Generation> {
    const { log } = this.options;
    const scope = configFor(config, instances);
    const multicastOn = new Set(
      config.instances
        .filter((instance) => instance.unicastPeers.length === 0)
        .map((instance) => `${instance.interface}/${instance.family}`),
    );
    const socketFor = (link: LinkInfo, family: 4 | 6): VrrpSocket => {
      const key = `${link.name}/${family}`;
      let socket = this.sockets.get(key);
      if (!socket) {
        socket = new VrrpSocket(link.name, link.index, family, { multicast: multicastOn.has(key), log });
        this.sockets.set(key, socket);
      } else if (multicastOn.has(key) && !socket.multicast) {
        socket.rebind(socket.ifindex, { multicast: true });
      }
      return socket;
    };
    const runtimes: InstanceRuntime[] = [];
    let registry: TrackerRegistry | undefined;
    try {
      return await this.build(config, scope, instances, previousHooks, socketFor, runtimes, (created) => {
        registry = created;
      });
    } catch (error) {
      // Undo what was built: VRIDs unregistered, trackers stopped, sockets nobody uses closed.
      await Promise.all(runtimes.map((runtime) => runtime.stop().catch(() => undefined)));
      registry?.stop();
      this.generations = this.generations.filter((generation) => generation.registry !== registry);
      this.closeIdleSockets();
      throw error;
    }
  }

  private async build(
    config: TandemConfig,
    scope: TandemConfig,
    instances: readonly VrrpInstanceConfig[],
    previousHooks: ReadonlyMap<string, HookQueue>,
    socketFor: (link: LinkInfo, family: 4 | 6) => VrrpSocket,
    runtimes: InstanceRuntime[],
    onRegistry: (registry: TrackerRegistry) => void,
  ): Promise<Generation> {
    const { log } = this.options;
    for (const instanceConfig of instances) {
      runtimes.push(
        await InstanceRuntime.create(
          instanceConfig,
          socketFor,
          {
            netlink: this.netlink,
            packetSocket: this.packetSocket as PacketSocket,
            clock: this.clock,
            config,
            fifos: this.fifos,
            ...(previousHooks.has(instanceConfig.name)
              ? { previousHooks: previousHooks.get(instanceConfig.name) as HookQueue }
              : {}),
          },
          log,
        ),
      );
    }
    for (const runtime of runtimes) await runtime.removeStale();
    const registry = new TrackerRegistry(scope, this.netlink, { clock: this.clock, log });
    onRegistry(registry);
    await registry.start();
    const generation: Generation = { config: scope, registry, runtimes, groupHooks: [] };
    this.generations.push(generation);
    this.followInterfaces(registry);
    this.formSyncGroups(generation);
    // The first election waits for the first result of every tracked script (bounded by their timeouts).
    await Promise.all(
      runtimes.map((runtime) =>
        runtime.startTracking(
          registry,
          scope.syncGroups.find((group) => group.members.includes(runtime.config.name)),
        ),
      ),
    );
    return generation;
  }

  private async disposeEmptyGenerations(): Promise<void> {
    const empty = this.generations.filter((generation) => generation.runtimes.length === 0);
    this.generations = this.generations.filter((generation) => generation.runtimes.length > 0);
    for (const generation of empty) {
      generation.registry.stop();
      // Hooks of stopped instances and groups finish on their own; nothing waits for them here.
    }
  }

  private closeIdleSockets(): void {
    for (const [key, socket] of this.sockets) {
      if (socket.registeredVrids.length > 0) continue;
      socket.close();
      this.sockets.delete(key);
    }
  }

  /** A deleted and re-created interface gets a new index: sockets and announcements move to it. */
  private followInterfaces(registry: TrackerRegistry): void {
    const names = new Set([...this.sockets.values()].map((socket) => socket.interfaceName));
    for (const name of names) {
      if (this.followedInterfaces.has(name)) continue;
      this.followedInterfaces.add(name);
      registry.links.track(name, (state) => {
        if (!state.exists || state.ifindex === undefined) return;
        const ifindex = state.ifindex;
        const sockets = [...this.sockets.values()].filter((socket) => socket.interfaceName === name);
        if (sockets.every((socket) => socket.ifindex === ifindex)) return;
        void this.netlink.linkByName(name).then(
          (link) => {
            for (const socket of sockets) if (socket.ifindex !== link.index) socket.rebind(link.index);
            for (const runtime of this.runtimes)
              if (runtime.link.name === name) runtime.interfaceRecreated(link);
          },
          (error: unknown) =>
            this.options.log.error({ interface: name, err: error }, 'cannot follow a re-created interface'),
        );
      });
    }
  }

  /** keepalived vrrp_sync_group: members share fate; the group's own hooks run on its state changes. */
  private formSyncGroups(generation: Generation): void {
    const { config } = generation;
    for (const group of config.syncGroups) {
      const members = group.members.flatMap((name) =>
        generation.runtimes.filter((runtime) => runtime.config.name === name),
      );
      const hooks = new HookQueue(notifyCommands(group.notify, config.global), {
        timeoutMs: config.global.notifyTimeoutSeconds * 1000,
        log: this.options.log.child({ syncGroup: group.name }),
        env: (event) => hookEnvironment(event, []),
      });
      generation.groupHooks.push(hooks);
      new SyncGroup(
        group.name,
        members.map((runtime) => runtime.instance),
        (state) => {
          this.options.log.info({ syncGroup: group.name, state }, `sync group ${group.name} is ${state}`);
          // keepalived reports a group's priority as 0 (there is no group priority).
          const event = { kind: 'GROUP' as const, name: group.name, state, priority: 0 };
          for (const fifo of this.fifos) fifo.writeEvent(event);
          hooks.push(event);
        },
      );
    }
  }

  /** Hands over and cleans up; idempotent, so a second call waits for the first. */
  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    const { log } = this.options;
    await this.reloading;
    await Promise.all(this.runtimes.map((runtime) => runtime.stop()));
    for (const generation of this.generations) generation.registry.stop();
    await Promise.all([
      ...[...this.runtimes, ...this.retired].map((runtime) => runtime.drainHooks(STOP_HOOK_BUDGET_MS)),
      ...this.generations.flatMap((generation) =>
        generation.groupHooks.map((hooks) => drainWithin(hooks, STOP_HOOK_BUDGET_MS)),
      ),
    ]);
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
    await Promise.all(this.fifos.map((fifo) => fifo.close()));
    this.packetSocket?.close();
    await this.control?.close();
    this.netlink.close();
    log.info({}, 'tandem stopped');
  }

  /** For an immediate exit: kill running hooks so nothing outlives the agent. */
  abandonHooks(): void {
    for (const runtime of [...this.runtimes, ...this.retired]) runtime.abandonHooks();
    for (const generation of this.generations) for (const hooks of generation.groupHooks) hooks.terminate();
  }

  status(): AgentStatus {
    return {
      pid: process.pid,
      routerId: this.config.global.routerId,
      uptimeSeconds: Math.round((this.clock.nowMicroseconds() - this.startedAt) / 1000) / 1000,
      reloads: this.reloads,
      instances: this.runtimes.map((runtime) => runtime.status()),
      sockets: [...this.sockets.values()].map((socket) => ({
        interface: socket.interfaceName,
        family: socket.family,
        vrids: socket.registeredVrids,
        counters: socket.counters,
      })),
      control: this.control?.counters ?? { requests: 0, badRequests: 0 },
    };
  }
}

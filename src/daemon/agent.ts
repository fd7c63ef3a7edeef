/**
 * The agent: turns a loaded configuration into running instances that share sockets, netlink and the control
 * socket; reloads without disturbing instances whose configuration did not change; stops them cleanly
 * (priority-0 adverts, VIPs released, hooks given a moment). docs/architecture.md describes the rooms it wires.
 *
 * What the agent needs of the system comes in through seams (`AgentOptions`): netlink, the VRRP sockets, the
 * link-layer socket for announcements, the clock, the command runner, the FIFO opener. Production uses the real
 * ones; the daemon conformance harness (test/daemon-conformance) runs the whole agent on fakes, without root.
 *
 * The process has one netlink event subscription and one link watcher; they outlive every reload, so an
 * interface deleted and re-created is followed however many reloads came between.
 *
 * Instances are started in generations: the first at start, one more at each reload for the instances it adds
 * or changes. A generation owns its trackers (scripts, files, processes) and its sync groups; it is disposed of
 * when none of its instances runs any more.
 */
import type { Logger as PinoLogger } from 'pino';
import { AcceptFilter, acceptFilterSettings } from '../actions/accept-filter.js';
import { FifoWriter, fifoWriterOptions } from '../actions/fifo.js';
import { type PacketSocket, openPacketSocket } from '../actions/garp.js';
import { type LinkInfo, NetlinkAdapter, type RtNetlink } from '../actions/netlink.js';
import { NetlinkEvents } from '../actions/netlink-events.js';
import { PromoteSecondaries, type Sysctl, procSysctl } from '../actions/sysctl.js';
import { VmacManager } from '../actions/vmac.js';
import type { HookQueue } from '../actions/notify.js';
import type { TandemConfig, VrrpInstanceConfig } from '../config/schema.js';
import { type Clock, delay } from '../core/clock.js';
import { createTimerHeap } from '../core/timers.js';
import { type CommandRunner, ProcessGroups, runInProcessGroup } from '../core/process-group.js';
import { MICROSECONDS_PER_SECOND } from '../core/time.js';
import { TandemError } from '../errors.js';
import type { VrrpSocketFactory, VrrpTransport } from '../vrrp/demux.js';
import { canonicalAddress } from '../vrrp/address.js';
import { VrrpSocket } from '../vrrp/transport.js';
import type { EntryLookup } from '../watchers/identity.js';
import { LinkWatcher } from '../watchers/link.js';
import { TrackerRegistry } from '../watchers/registry.js';
import { ControlServer } from './control.js';
import { EventBus } from './events.js';
import { EVENTS_COMMAND, serveEvents } from './events-stream.js';
import { MetricsLifecycle } from './metrics-endpoint.js';
import type { TelemetrySnapshot } from './metrics-snapshot.js';
import { TrackerFollower, vrrpInstanceTelemetry } from './telemetry.js';
import { type FifoOpener, type FifoSink, HOOK_STATE, drainWithin, notifyHookNames } from './hooks.js';
import { advertInterface, filteredAddresses } from './instance-adapters.js';
import { HandoverCommands } from './handover-commands.js';
import { runnableConfig } from './carp-instances.js';
import { InstanceRuntime } from './instance-runtime.js';
import { LvsStandalone } from './lvs-standalone.js';
import type { DumpSource } from './dump.js';
import { ensureRuntimeDir, runtimePaths } from './runtime-dir.js';
import { instanceSignatures } from './signatures.js';
import { type AgentStatus, memoryStatus, seconds } from './status.js';
import { SyncGroupRuntime } from './sync-group-runtime.js';

export type { AgentStatus, InstanceStatus } from './status.js';
export { instanceSignatures } from './signatures.js';

/** docs/operations.md (SIGTERM): a graceful stop finishes within a second; hooks get 600 ms of it. */
const STOP_HOOK_BUDGET_MS = 600;

export interface AgentOptions {
  log: PinoLogger;
  /** Overrides global_defs runtime_dir (and puts the control socket inside it). */
  runtimeDir?: string;
  // ---- Seams (docs/architecture.md, "Seams"); each defaults to the real thing. ----
  netlink?: RtNetlink;
  clock?: Clock;
  /** Opens the VRRP socket of an interface and family (default: a raw socket, `VrrpSocket`). */
  sockets?: VrrpSocketFactory;
  /** Opens the link-layer socket gratuitous ARP and NA go out on (default: the addon's AF_PACKET socket). */
  packetSocket?: () => PacketSocket;
  /** Runs hooks and health scripts (default: each in its own process group). */
  run?: CommandRunner;
  /** Opens a notify FIFO (default: `FifoWriter`). */
  openFifo?: FifoOpener;
  /** Whether an interface forwards IPv6, for the NA router flag (default: its sysctl). */
  isRouter?: (interfaceName: string) => boolean;
  /** How script user and group names resolve (default: getent, then /etc/passwd and /etc/group). */
  lookup?: EntryLookup;
  /** Interface sysctls (promote_secondaries; default: /proc/sys of the agent's namespace). */
  sysctl?: Sysctl;
  /** The 64-bit counter of each CARP advert (default: 64 random bits from node:crypto). */
  carpCounter?: () => bigint;
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
  groups: SyncGroupRuntime[];
}

const defaultSockets: VrrpSocketFactory = (name, ifindex, family, options) =>
  new VrrpSocket(name, ifindex, family, options);

const defaultOpenFifo: FifoOpener = (fifo, config, log) =>
  FifoWriter.open(fifoWriterOptions(fifo, config.global, log));

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
  private readonly sockets = new Map<string, VrrpTransport>();
  private readonly followedInterfaces = new Map<string, () => void>();
  private packetSocket: PacketSocket | undefined;
  private readonly promoteSecondaries: PromoteSecondaries;
  private control: ControlServer | undefined;
  private readonly netlink: RtNetlink;
  private readonly events: NetlinkEvents;
  private readonly links: LinkWatcher;
  private readonly clock: Clock;
  private readonly startedAt: number;
  private stopping: Promise<void> | undefined;
  private reloading: Promise<unknown> = Promise.resolve();
  private reloads = 0;
  private readonly fifos: FifoSink[] = [];
  /** The no_accept filter: one nftables table for the agent's life (its name and shape change with a restart). */
  private readonly acceptFilter: AcceptFilter;
  /** lvs_sync_daemon without an instance: both sync daemons for the agent's life. */
  private readonly lvsStandalone: LvsStandalone;
  /** use_vmac: the VMACs of the instances (and the parents' ARP settings they change). */
  private readonly vmacs: VmacManager;
  /** Instances a reload stopped whose hooks may still run; a stop waits for (or ends) them too. */
  private retired: InstanceRuntime[] = [];
  /** Hook queues of sync groups a reload stopped, by group name, for the group that replaces them. */
  private retiredGroupHooks = new Map<string, HookQueue>();
  /** Every process group a hook or a health script started: what is left of them dies with the agent. */
  private readonly processGroups = new ProcessGroups();
  /** The command runner every room gets: the configured one, with its process groups remembered. */
  private readonly run: CommandRunner;
  readonly runtimeDir: string;
  readonly controlSocketPath: string;
  /** What happens, for `tandem events` and the hook metrics (docs/metrics.md, "Events"). */
  readonly bus: EventBus;
  private readonly trackerFollower: TrackerFollower;
  /** The /metrics endpoint while `tandem_metrics_listen` is set. */
  readonly metrics: MetricsLifecycle;
  /** `tandem switchover`, `resume` and `maintenance` through the control socket. */
  readonly handovers: HandoverCommands;

  constructor(
    private config: TandemConfig,
    private readonly options: AgentOptions,
  ) {
    // carp_instance blocks run through the same runtime as vrrp_instances (daemon/carp-instances.ts).
    this.config = runnableConfig(config);
    this.netlink = options.netlink ?? NetlinkAdapter.open();
    // One timer heap behind one Node timer serves every instance (docs/performance.md).
    this.clock = options.clock ?? createTimerHeap();
    this.events = new NetlinkEvents(this.netlink, options.log);
    this.links = new LinkWatcher(this.netlink, this.events, options.log);
    this.promoteSecondaries = new PromoteSecondaries(options.sysctl ?? procSysctl, options.log);
    this.startedAt = this.clock.nowMicroseconds();
    this.run = this.processGroups.track(options.run ?? runInProcessGroup);
    this.vmacs = new VmacManager(this.netlink, options.log);
    this.lvsStandalone = new LvsStandalone({ log: options.log, run: this.run });
    this.acceptFilter = new AcceptFilter({
      settings: acceptFilterSettings(config.global.nftables),
      log: options.log,
      run: this.run,
    });
    this.bus = new EventBus({ clock: this.clock });
    this.trackerFollower = new TrackerFollower(this.links, this.bus);
    this.metrics = new MetricsLifecycle({
      snapshot: () => this.telemetry(),
      bus: this.bus,
      log: options.log,
    });
    ({ runtimeDir: this.runtimeDir, controlSocket: this.controlSocketPath } = runtimePaths(
      config.global,
      options.runtimeDir,
    ));
    this.handovers = new HandoverCommands({
      runtimes: () => this.runtimes,
      groups: () =>
        new Map(this.config.syncGroups.map((group) => [group.name, group.members] as [string, string[]])),
      runtimeDir: this.runtimeDir,
      log: options.log,
    });
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
    this.packetSocket = (this.options.packetSocket ?? openPacketSocket)();
    const openFifo = this.options.openFifo ?? defaultOpenFifo;
    for (const fifo of [this.config.global.notifyFifo, this.config.global.vrrpNotifyFifo]) {
      if (fifo) this.fifos.push(await openFifo(fifo, this.config, log));
    }
    await this.links.start();
    // A table a crashed run left goes before anything is claimed; a new one is made when an instance needs it.
    await this.acceptFilter.prepare(
      this.config.instances.some((instance) => filteredAddresses(instance).length > 0),
    );
    await this.handovers.load();
    const generation = await this.launch(this.config, this.config.instances);
    await this.lvsStandalone.apply(this.config);
    this.handovers.apply(generation.runtimes);
    this.control = new ControlServer(
      this.controlSocketPath,
      {
        status: () => this.status(),
        switchover: (_command, request) => this.handovers.switchover(request),
        resume: (_command, request) => this.handovers.resume(request),
        maintenance: (_command, request) => this.handovers.maintenance(request),
      },
      { [EVENTS_COMMAND]: (connection, request) => serveEvents(connection, this.bus, request) },
    );
    await this.control.listen();
    await this.metrics.apply(this.config.global.metricsListen);
    const startupDelay = this.config.global.startupDelaySeconds;
    if (startupDelay > 0) {
      log.info({ seconds: startupDelay }, 'vrrp_startup_delay');
      await delay(this.clock, startupDelay * MICROSECONDS_PER_SECOND);
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

  private async reloadNow(loaded: TandemConfig): Promise<ReloadResult> {
    const { log } = this.options;
    const config = runnableConfig(loaded);
    const before = instanceSignatures(this.config);
    const after = instanceSignatures(config);
    const unchanged = (name: string) => before.has(name) && before.get(name) === after.get(name);
    const leaving = this.runtimes.filter((runtime) => !unchanged(runtime.config.name));
    await Promise.all(leaving.map((runtime) => runtime.stop()));
    for (const generation of this.generations) {
      generation.runtimes = generation.runtimes.filter((runtime) => !leaving.includes(runtime));
    }
    this.disposeEmptyGenerations();
    this.closeIdleSockets();
    this.retired = [...this.retired.filter((runtime) => runtime.hooksPending), ...leaving];
    const previousHooks = new Map(leaving.map((runtime) => [runtime.config.name, runtime.hookQueue]));
    const arriving = config.instances.filter((instance) => !unchanged(instance.name));
    for (const [name, value] of Object.entries(config.global)) {
      const old = (this.config.global as unknown as Record<string, unknown>)[name];
      if (
        ['runtimeDir', 'controlSocket', 'notifyFifo', 'vrrpNotifyFifo', 'nftables'].includes(name) &&
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
        this.handovers.apply(generation.runtimes);
        for (const runtime of generation.runtimes) runtime.start();
      }
    } catch (error) {
      // The new instances could not all start (an entry the actions cannot express, a socket that will not
      // open...): bring back the ones this reload stopped, as they were, so a failed reload leaves the box as
      // it found it.
      this.config = previousConfig;
      if (!this.stopping && leaving.length > 0) {
        log.error({ err: error }, 'reload failed: restoring the instances it stopped');
        const hooks = new Map(leaving.map((runtime) => [runtime.config.name, runtime.hookQueue]));
        const restored = await this.launch(
          previousConfig,
          leaving.map((runtime) => runtime.config),
          hooks,
        );
        this.handovers.apply(restored.runtimes);
        for (const runtime of restored.runtimes) runtime.start();
      }
      this.reloadRefused([error instanceof Error ? error.message : String(error)]);
      throw error;
    }
    await this.lvsStandalone.apply(config);
    this.reloads++;
    if (config.global.fifoWriteStatesOnReload)
      this.writeStatesAgain(new Set(config.instances.map((i) => i.name).filter(unchanged)));
    const result = {
      kept: config.instances.filter((instance) => unchanged(instance.name)).map((instance) => instance.name),
      stopped: leaving.map((runtime) => runtime.config.name),
      started: arriving.map((instance) => instance.name),
    };
    log.info(result, 'configuration reloaded');
    this.bus.publish({ type: 'reload', ok: true, ...result });
    // The endpoint follows tandem_metrics_listen; an address that cannot be bound keeps the one there was.
    await this.metrics
      .apply(config.global.metricsListen)
      .catch((error: unknown) =>
        log.error(
          { err: error },
          'metrics endpoint: the new tandem_metrics_listen cannot be used; kept the old one',
        ),
      );
    return result;
  }

  /**
   * keepalived fifo_write_vrrp_states_on_reload: after a reload, the groups and instances it kept running (whose
   * state did not change, so no transition line came) write their current state to the FIFOs again; groups
   * first, as keepalived does.
   */
  private writeStatesAgain(kept: ReadonlySet<string>): void {
    for (const generation of this.generations) {
      for (const group of generation.groups) {
        if (group.lastState === undefined || !group.config.members.every((name) => kept.has(name))) continue;
        for (const fifo of this.fifos)
          fifo.writeEvent({ kind: 'GROUP', name: group.name, state: group.lastState, priority: 0 });
      }
    }
    for (const runtime of this.runtimes) {
      if (!kept.has(runtime.config.name)) continue;
      const { state, effectivePriority } = runtime.instance.snapshot();
      const hookState = HOOK_STATE[state];
      if (hookState === undefined) continue;
      for (const fifo of this.fifos)
        fifo.writeEvent({
          kind: 'INSTANCE',
          name: runtime.config.name,
          state: hookState,
          priority: effectivePriority,
        });
    }
  }

  /** Creates, cleans and arms the instances of a new generation; they start when the caller says. */
  private async launch(
    config: TandemConfig,
    instances: readonly VrrpInstanceConfig[],
    previousHooks: ReadonlyMap<string, HookQueue> = new Map(),
  ): Promise<Generation> {
    const scope = configFor(config, instances);
    const runtimes: InstanceRuntime[] = [];
    let registry: TrackerRegistry | undefined;
    try {
      return await this.build(config, scope, instances, previousHooks, runtimes, (created) => {
        registry = created;
      });
    } catch (error) {
      // Undo what was built: VRIDs unregistered, trackers stopped, sockets nobody uses closed.
      await Promise.all(runtimes.map((runtime) => runtime.stop().catch(() => undefined)));
      if (registry) this.trackerFollower.forget(registry);
      registry?.stop();
      this.generations = this.generations.filter((generation) => generation.registry !== registry);
      this.closeIdleSockets();
      throw error;
    }
  }

  /**
   * The shared socket of an interface and family, opened on first use, member of every multicast group its
   * instances send to (the RFC 5798 group, or vrrp_mcast_group4/6, mcast_dst_ip): a socket that lacks one (a
   * reload added an instance with another group) is opened again with all of them.
   */
  private socketFor(config: TandemConfig, link: LinkInfo, family: 4 | 6): VrrpTransport {
    const key = `${link.name}/${family}`;
    const wanted = config.instances
      .filter(
        (instance) =>
          instance.unicastPeers.length === 0 &&
          advertInterface(instance) === link.name &&
          instance.family === family,
      )
      // One spelling per group: joining a group twice on one socket fails (EADDRINUSE).
      .map((instance) => canonicalAddress(instance.mcastDstIp) ?? instance.mcastDstIp);
    const multicast = wanted.length > 0;
    let socket = this.sockets.get(key);
    if (!socket) {
      const { log } = this.options;
      socket = (this.options.sockets ?? defaultSockets)(link.name, link.index, family, {
        multicast,
        ...(multicast ? { groups: [...new Set(wanted)] } : {}),
        log,
        // keepalived log_unknown_vrids: read at each packet, so that a reload turns it on or off.
        onUnknownVrid: (vrid, source) => {
          if (this.config.global.logUnknownVrids)
            log.info({ interface: link.name, family, vrid, source }, 'advert for an unknown VRID ignored');
        },
      });
      this.sockets.set(key, socket);
      return socket;
    }
    const joined = socket.multicast ? socket.groups : [];
    const missing = wanted.filter((group) => !joined.includes(group));
    if (socket.ifindex !== link.index || missing.length > 0) {
      socket.rebind(
        link.index,
        missing.length > 0 ? { multicast: true, groups: [...new Set([...joined, ...missing])] } : {},
      );
    }
    return socket;
  }

  private async build(
    config: TandemConfig,
    scope: TandemConfig,
    instances: readonly VrrpInstanceConfig[],
    previousHooks: ReadonlyMap<string, HookQueue>,
    runtimes: InstanceRuntime[],
    onRegistry: (registry: TrackerRegistry) => void,
  ): Promise<Generation> {
    const { log, isRouter, lookup, carpCounter } = this.options;
    const run = this.run;
    for (const instanceConfig of instances) {
      const previous = previousHooks.get(instanceConfig.name);
      runtimes.push(
        await InstanceRuntime.create(
          instanceConfig,
          {
            netlink: this.netlink,
            events: this.events,
            links: this.links,
            packetSocket: this.packetSocket as PacketSocket,
            clock: this.clock,
            config,
            fifos: this.fifos,
            socketFor: (link, family) => this.socketFor(config, link, family),
            acceptFilter: this.acceptFilter,
            bus: this.bus,
            vmacs: this.vmacs,
            ...(previous ? { previousHooks: previous } : {}),
            run,
            ...(isRouter ? { isRouter } : {}),
            promoteSecondaries: this.promoteSecondaries,
            ...(carpCounter ? { carpCounter } : {}),
          },
          log,
        ),
      );
    }
    for (const runtime of runtimes) await runtime.removeStale();
    const registry = new TrackerRegistry(scope, this.links, {
      clock: this.clock,
      log,
      run,
      ...(lookup ? { lookup } : {}),
    });
    onRegistry(registry);
    await registry.start();
    const generation: Generation = { config: scope, registry, runtimes, groups: [] };
    this.generations.push(generation);
    this.trackerFollower.follow(registry, scope);
    for (const runtime of runtimes) {
      const name = runtime.config.interface as string;
      this.followInterface(name);
      // The interface may have appeared between the instance's creation and now: no change will tell.
      const link = this.links.link(name);
      if (link) runtime.linkAppeared(link);
    }
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

  private disposeEmptyGenerations(): void {
    const empty = this.generations.filter((generation) => generation.runtimes.length === 0);
    this.generations = this.generations.filter((generation) => generation.runtimes.length > 0);
    // A retired group queue with nothing left to run has nothing for a successor to wait for.
    for (const [name, hooks] of this.retiredGroupHooks)
      if (hooks.queued === 0) this.retiredGroupHooks.delete(name);
    for (const generation of empty) {
      this.trackerFollower.forget(generation.registry);
      generation.registry.stop();
      // The group's hooks finish on their own; the group that replaces it at this reload runs after them.
      for (const group of generation.groups) this.retiredGroupHooks.set(group.name, group.hooks);
    }
  }

  private closeIdleSockets(): void {
    for (const [key, socket] of this.sockets) {
      if (socket.registeredVrids.length > 0 || socket.registeredVhids.length > 0) continue;
      socket.close();
      this.sockets.delete(key);
    }
  }

  /**
   * Follows one interface for as long as the agent runs: when it appears or comes back under a new index, the
   * sockets move to it and its instances attach or re-announce through it.
   */
  private followInterface(name: string): void {
    if (this.followedInterfaces.has(name)) return;
    const unsubscribe = this.links.track(name, (state) => {
      if (!state.exists || state.ifindex === undefined) return;
      const link = this.links.link(name);
      if (link === undefined) return;
      for (const socket of this.sockets.values()) {
        if (socket.interfaceName !== name || socket.ifindex === link.index) continue;
        try {
          socket.rebind(link.index);
        } catch (error) {
          this.options.log.error({ interface: name, err: error }, 'cannot follow a re-created interface');
        }
      }
      for (const runtime of this.runtimes) if (runtime.config.interface === name) runtime.linkAppeared(link);
    });
    this.followedInterfaces.set(name, unsubscribe);
  }

  /** keepalived vrrp_sync_group: members share fate; the group's own hooks run on its state changes. */
  private formSyncGroups(generation: Generation): void {
    const { config } = generation;
    for (const group of config.syncGroups) {
      const members = group.members.flatMap((name) =>
        generation.runtimes.filter((runtime) => runtime.config.name === name),
      );
      const previous = this.retiredGroupHooks.get(group.name);
      this.retiredGroupHooks.delete(group.name);
      generation.groups.push(
        new SyncGroupRuntime(group, members, {
          config,
          fifos: this.fifos,
          log: this.options.log.child({ syncGroup: group.name }),
          bus: this.bus,
          ...(previous ? { previousHooks: previous } : {}),
          run: this.run,
        }),
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
    await Promise.all(this.runtimes.map((runtime) => runtime.stop({ planned: true })));
    for (const generation of this.generations) generation.registry.stop();
    // Every VIP is released: the table goes, so nothing of tandem's stays in the firewall.
    await Promise.all([this.acceptFilter.close(), this.lvsStandalone.stop()]);
    // Every FIFO line is written by now: the FIFO scripts wind down while the hooks finish (docs/operations.md).
    const drain = (hooks: HookQueue) => drainWithin(hooks, this.clock, STOP_HOOK_BUDGET_MS);
    await Promise.all([
      ...[...this.runtimes, ...this.retired].map(async (runtime) => {
        await drain(runtime.hookQueue);
        if (runtime.hookQueue.queued > 0)
          log.warn({ instance: runtime.config.name }, 'notify hook killed: the agent is exiting');
      }),
      ...this.generations.flatMap((generation) => generation.groups.map((group) => drain(group.hooks))),
      ...[...this.retiredGroupHooks.values()].map(drain),
      ...this.fifos.map((fifo) => fifo.close()),
    ]);
    // The maintenance list a command just changed is on disk before the agent goes.
    await this.handovers.saved();
    this.killLeftovers();
    for (const unsubscribe of this.followedInterfaces.values()) unsubscribe();
    this.followedInterfaces.clear();
    this.links.stop();
    this.events.close();
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
    this.packetSocket?.close();
    await this.control?.close();
    await this.metrics.close().catch(() => undefined);
    this.trackerFollower.close();
    this.bus.close();
    this.netlink.close();
    log.info({}, 'tandem stopped');
  }

  /** For an immediate exit: kill running hooks so nothing outlives the agent. */
  abandonHooks(): void {
    for (const runtime of [...this.runtimes, ...this.retired]) {
      if (runtime.hookQueue.terminate())
        this.options.log.warn({ instance: runtime.config.name }, 'notify hook killed: the agent is exiting');
    }
    for (const generation of this.generations) for (const group of generation.groups) group.hooks.terminate();
    for (const hooks of this.retiredGroupHooks.values()) hooks.terminate();
    for (const fifo of this.fifos) fifo.abandon?.();
    this.killLeftovers();
  }

  /** What hooks and scripts left running in their process groups (a `service &`) ends with the agent. */
  private killLeftovers(): void {
    const groups = this.processGroups.killAll();
    if (groups > 0)
      this.options.log.warn({ groups }, 'killed what hooks left running in their process groups');
  }

  /** Each running instance with its trackers and sync group, for the signal dumps (dump.ts). */
  dumpSources(): DumpSource[] {
    return this.generations.flatMap((generation) =>
      generation.runtimes.map((runtime) => ({
        config: runtime.config,
        trackers: generation.registry,
        group: generation.config.syncGroups.find((group) => group.members.includes(runtime.config.name)),
      })),
    );
  }

  /** A reload refused (the configuration's errors, or instances that could not start): told to `tandem events`. */
  reloadRefused(errors: readonly string[]): void {
    this.bus.publish({
      type: 'reload',
      ok: false,
      kept: [],
      stopped: [],
      started: [],
      error: errors.join('; '),
    });
  }

  /** What a scrape renders: copies of every instance's counters and state, the trackers, the FIFOs. */
  telemetry(): TelemetrySnapshot {
    const now = this.clock.nowMicroseconds();
    const { trackers, scripts } = this.trackerFollower.list();
    return {
      instances: this.runtimes.map((runtime) => vrrpInstanceTelemetry(runtime, this.config, now)),
      groupHooks: this.generations.flatMap((generation) =>
        generation.groups.map((group) => ({
          syncGroup: group.name,
          hooks: notifyHookNames(group.config.notify),
        })),
      ),
      scripts,
      trackers,
      fifos: this.fifos.map((fifo) => ({ path: fifo.path ?? '', dropped: fifo.dropped ?? 0 })),
      agent: {
        reloads: this.reloads,
        controlBadRequests: this.control?.counters.badRequests ?? 0,
        eventSubscribersDropped: this.bus.counters.subscribersDropped,
      },
    };
  }

  status(): AgentStatus {
    return {
      pid: process.pid,
      routerId: this.config.global.routerId,
      uptimeSeconds: seconds(this.clock.nowMicroseconds() - this.startedAt),
      reloads: this.reloads,
      instances: this.runtimes.map((runtime) => runtime.status()),
      sockets: [...this.sockets.values()].map((socket) => ({
        interface: socket.interfaceName,
        family: socket.family,
        vrids: socket.registeredVrids,
        ...(socket.registeredVhids.length > 0 ? { vhids: socket.registeredVhids } : {}),
        counters: { ...socket.counters },
      })),
      control: this.control?.counters ?? { requests: 0, badRequests: 0 },
      memory: memoryStatus(),
    };
  }
}

/**
 * The agent: turns a loaded configuration into running instances that share sockets, netlink and the
 * control socket; stops them cleanly (priority-0 adverts, VIPs released, hooks given a moment).
 */
import { join } from 'node:path';
import type { Logger as PinoLogger } from 'pino';
import { type PacketSocket, openPacketSocket } from '../actions/garp.js';
import { type LinkInfo, NetlinkAdapter, type RtNetlink } from '../actions/netlink.js';
import type { TandemConfig } from '../config/schema.js';
import { type Clock, systemClock } from '../vrrp/instance.js';
import { VrrpSocket } from '../vrrp/transport.js';
import { ControlServer } from './control.js';
import { InstanceRuntime, type InstanceStatus, drainWithin } from './instance-runtime.js';
import { ensureRuntimeDir } from './runtime-dir.js';
import { FifoWriter, fifoWriterOptions } from '../actions/fifo.js';
import { HookQueue } from '../actions/notify.js';
import { hookEnvironment, notifyCommands } from '../actions/script-security.js';
import { SyncGroup } from '../vrrp/sync-group.js';
import { TrackerRegistry } from '../watchers/registry.js';

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
  instances: InstanceStatus[];
  sockets: { interface: string; family: number; vrids: number[]; counters: VrrpSocket['counters'] }[];
  control: ControlServer['counters'];
}

export class Agent {
  private readonly runtimes: InstanceRuntime[] = [];
  private readonly sockets = new Map<string, VrrpSocket>();
  private packetSocket: PacketSocket | undefined;
  private control: ControlServer | undefined;
  private readonly netlink: RtNetlink;
  private readonly clock: Clock;
  private readonly startedAt: number;
  private stopping: Promise<void> | undefined;
  private registry: TrackerRegistry | undefined;
  private readonly syncGroups: SyncGroup[] = [];
  private readonly groupHooks: HookQueue[] = [];
  private readonly fifos: FifoWriter[] = [];
  readonly runtimeDir: string;
  readonly controlSocketPath: string;

  constructor(
    private readonly config: TandemConfig,
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

  async start(): Promise<void> {
    const { log } = this.options;
    ensureRuntimeDir(this.runtimeDir);
    this.packetSocket = openPacketSocket();
    for (const fifo of [this.config.global.notifyFifo, this.config.global.vrrpNotifyFifo]) {
      if (fifo) this.fifos.push(await FifoWriter.open(fifoWriterOptions(fifo, this.config.global, log)));
    }
    const multicastOn = new Set(
      this.config.instances
        .filter((instance) => instance.unicastPeers.length === 0)
        .map((instance) => `${instance.interface}/${instance.family}`),
    );
    const socketFor = (link: LinkInfo, family: 4 | 6): VrrpSocket => {
      const key = `${link.name}/${family}`;
      let socket = this.sockets.get(key);
      if (!socket) {
        socket = new VrrpSocket(link.name, link.index, family, { multicast: multicastOn.has(key), log });
        this.sockets.set(key, socket);
      }
      return socket;
    };
    for (const instanceConfig of this.config.instances) {
      const runtime = await InstanceRuntime.create(
        instanceConfig,
        socketFor,
        {
          netlink: this.netlink,
          packetSocket: this.packetSocket,
          clock: this.clock,
          config: this.config,
          fifos: this.fifos,
        },
        log,
      );
      this.runtimes.push(runtime);
    }
    for (const runtime of this.runtimes) await runtime.removeStale();
    this.registry = new TrackerRegistry(this.config, this.netlink, { clock: this.clock, log });
    await this.registry.start();
    this.followInterfaces(this.registry);
    this.formSyncGroups();
    // The first election waits for the first result of every tracked script (bounded by their timeouts).
    await Promise.all(
      this.runtimes.map((runtime) =>
        runtime.startTracking(
          this.registry as TrackerRegistry,
          this.config.syncGroups.find((group) => group.members.includes(runtime.config.name)),
        ),
      ),
    );
    this.control = new ControlServer(this.controlSocketPath, { status: () => this.status() });
    await this.control.listen();
    const delayMs = this.config.global.startupDelaySeconds * 1000;
    if (delayMs > 0) {
      log.info({ seconds: this.config.global.startupDelaySeconds }, 'vrrp_startup_delay');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    for (const runtime of this.runtimes) runtime.start();
    log.info(
      { instances: this.runtimes.length, controlSocket: this.controlSocketPath, pid: process.pid },
      'tandem started',
    );
  }

  /** A deleted and re-created interface gets a new index: sockets and announcements move to it. */
  private followInterfaces(registry: TrackerRegistry): void {
    const names = new Set([...this.sockets.values()].map((socket) => socket.interfaceName));
    for (const name of names) {
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
  private formSyncGroups(): void {
    for (const group of this.config.syncGroups) {
      const members = group.members.flatMap((name) =>
        this.runtimes.filter((runtime) => runtime.config.name === name),
      );
      const hooks = new HookQueue(notifyCommands(group.notify, this.config.global), {
        timeoutMs: this.config.global.notifyTimeoutSeconds * 1000,
        log: this.options.log.child({ syncGroup: group.name }),
        env: (event) => hookEnvironment(event, []),
      });
      this.groupHooks.push(hooks);
      this.syncGroups.push(
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
        ),
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
    await Promise.all(this.runtimes.map((runtime) => runtime.stop()));
    this.registry?.stop();
    await Promise.all([
      ...this.runtimes.map((runtime) => runtime.drainHooks(STOP_HOOK_BUDGET_MS)),
      ...this.groupHooks.map((hooks) => drainWithin(hooks, STOP_HOOK_BUDGET_MS)),
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
    for (const runtime of this.runtimes) runtime.abandonHooks();
    for (const hooks of this.groupHooks) hooks.terminate();
  }

  status(): AgentStatus {
    return {
      pid: process.pid,
      routerId: this.config.global.routerId,
      uptimeSeconds: Math.round((this.clock.nowMicroseconds() - this.startedAt) / 1000) / 1000,
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

/**
 * One configured vrrp_instance brought to life: the wiring of its rooms, and nothing else (docs/architecture.md,
 * "Rooms"). The driver (`VrrpInstance`) runs the state machine; the advert channel sends and receives; the VIP
 * controller claims, releases and retries; the GARP scheduler announces; the hook queue runs the scripts. What
 * they are made from comes from pure adapters (`instance-adapters.ts`), what they need of the system (netlink,
 * sockets, the clock, the hook runner) from the agent.
 *
 * An interface that does not exist yet (a VLAN or bond created late at boot), or has no address to send from,
 * holds the instance in FAULT with a log line that says so, as keepalived does; the instance attaches when
 * netlink reports the link (and an address), at start and after a reload alike.
 */
import type { Logger as PinoLogger } from 'pino';
import { GarpScheduler, GarpSender, type PacketSocket } from '../actions/garp.js';
import type { LinkInfo, RtNetlink } from '../actions/netlink.js';
import type { NetlinkEvents } from '../actions/netlink-events.js';
import type { HookQueue } from '../actions/notify.js';
import { VipManager } from '../actions/vip.js';
import { VipController } from '../actions/vip-controller.js';
import type { TandemConfig, TrackLists, VrrpInstanceConfig } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { CommandRunner } from '../core/process-group.js';
import { TandemError } from '../errors.js';
import { AdvertChannel, ChannelClosedError } from '../vrrp/advert-channel.js';
import { createCarpAuthenticator } from '../vrrp/carp-auth.js';
import { CarpChannel } from '../vrrp/carp-channel.js';
import { snapshotCounters } from '../vrrp/counters.js';
import type { VrrpTransport } from '../vrrp/demux.js';
import { VrrpInstance } from '../vrrp/instance.js';
import type { LinkWatcher } from '../watchers/link.js';
import type { TrackerRegistry } from '../watchers/registry.js';
import { InstanceTracking } from '../watchers/tracking.js';
import { HOOK_STATE, type FifoSink, hookQueue, instanceHookSource } from './hooks.js';
import {
  advertAuth,
  advertDestinations,
  advertisedAddresses,
  allVips,
  announcedAddresses,
  garpTiming,
  instanceParameters,
  toRouteConfig,
  toRuleConfig,
  toVipConfig,
  vipText,
} from './instance-adapters.js';
import {
  type CarpSettings,
  carpParameters,
  carpSettingsOf,
  demotionOf,
  loadPassphrase,
  neutralStart,
  ucarpHookSource,
} from './carp-instances.js';
import { waitForSourceAddress } from './source-address.js';
import { type InstanceStatus, seconds } from './status.js';

export type { InstanceStatus } from './status.js';

export class InstanceSetupError extends TandemError {
  constructor(instance: string, message: string) {
    super('TANDEM_EINSTANCE', `vrrp_instance ${instance}: ${message}`);
  }
}

/** What the agent shares between instances. */
export interface RuntimeDependencies {
  netlink: RtNetlink;
  /** The process's one netlink subscription. */
  events: NetlinkEvents;
  /** The agent's one link watcher: where an interface's existence and index come from. */
  links: LinkWatcher;
  packetSocket: PacketSocket;
  clock: Clock;
  /** The whole configuration: global_defs (script_user, lvs_sync_daemon, notify timeout) and the services. */
  config: TandemConfig;
  /** notify_fifo / vrrp_notify_fifo writers, each told every transition as keepalived writes it. */
  fifos: readonly FifoSink[];
  /** The hook queue of the same instance before a reload restarted it. */
  previousHooks?: HookQueue;
  /** The shared socket of an interface and family. */
  socketFor(link: LinkInfo, family: 4 | 6): VrrpTransport;
  /** How hooks run (default: each in its own process group). */
  run?: CommandRunner;
  /** Whether an interface forwards IPv6 (sets the NA router flag); read from /proc by default. */
  isRouter?: (interfaceName: string) => boolean;
  /** The counter of each CARP advert (default: random, carp-channel.ts). */
  carpCounter?: () => bigint;
}

/** Why an instance cannot take part yet: its interface is missing, or has no address to send adverts from. */
type Detached = { cause: string; message: string };

export class InstanceRuntime {
  readonly instance: VrrpInstance;
  readonly vips: VipController;
  private readonly hooks: HookQueue;
  /** Where announcements go; updated in place when the interface is (re-)created. */
  private readonly garpInterface = { name: '', index: 0, mac: '' };
  private channel: AdvertChannel | CarpChannel | undefined;
  /** A carp_instance (daemon/carp-instances.ts): its settings and its passphrase, read at creation. */
  private readonly carp: CarpSettings | undefined;
  private carpPassphrase: string | Uint8Array = '';
  private garp: GarpScheduler | undefined;
  private currentLink: LinkInfo | undefined;
  private detached: Detached | undefined;
  private attaching: Promise<void> | undefined;
  private waitingForAddress: (() => void) | undefined;
  private tracking: InstanceTracking | undefined;
  private stopped = false;

  private constructor(
    readonly config: VrrpInstanceConfig & { interface: string },
    private readonly deps: RuntimeDependencies,
    private readonly log: PinoLogger,
  ) {
    this.garpInterface.name = config.interface;
    this.carp = carpSettingsOf(config);
    this.vips = new VipController(
      new VipManager({
        netlink: deps.netlink,
        events: deps.events,
        interface: config.interface,
        vips: allVips(config).map(toVipConfig),
        routes: config.routes.map(toRouteConfig),
        rules: config.rules.map(toRuleConfig),
        logger: log,
      }),
      deps.clock,
      log,
    );
    this.hooks = hookQueue(this.hookSource(), {
      config: deps.config,
      log,
      vips: allVips(config).map(vipText),
      ...(deps.previousHooks ? { previous: deps.previousHooks } : {}),
      ...(deps.run ? { run: deps.run } : {}),
    });
    this.instance = new VrrpInstance(
      config.name,
      this.carp
        ? { ...instanceParameters(config, ''), carp: carpParameters(this.carp) }
        : instanceParameters(config, ''),
      deps.clock,
      {
        sendAdvert: (priority, demote) =>
          this.channel
            ? this.channel.send(priority, demote)
            : Promise.reject(new ChannelClosedError(config.vrid)),
        claimVips: () => this.vips.claim(),
        releaseVips: async () => {
          this.garp?.stop();
          await this.vips.release();
        },
        announce: async () => this.garp?.announce(config.garp.lowerPrioRepeat),
        notify: (event) => {
          const state = HOOK_STATE[event.state];
          if (!state) return;
          const hookEvent = { kind: 'INSTANCE' as const, name: config.name, state, priority: event.priority };
          // The FIFO line goes out at once (a non-blocking write); the scripts wait their turn in the queue.
          for (const fifo of deps.fifos) fifo.writeEvent(hookEvent);
          this.hooks.push(hookEvent);
        },
      },
      log,
    );
  }

  /**
   * Builds the instance and attaches it to its interface when the interface and an address exist; otherwise
   * the instance starts in FAULT and attaches later. Throws for what no wait can fix: an entry the actions
   * cannot express, a VRID already in use, a socket that cannot open.
   */
  static async create(
    config: VrrpInstanceConfig,
    deps: RuntimeDependencies,
    parentLog: PinoLogger,
  ): Promise<InstanceRuntime> {
    const { interface: name } = config;
    if (!name) throw new InstanceSetupError(config.name, 'an interface is required');
    const carp = carpSettingsOf(config);
    const log = parentLog.child({
      instance: config.name,
      vrid: config.vrid,
      interface: name,
      family: config.family,
      ...(carp ? { protocol: 'carp' } : {}),
    });
    const runtime = new InstanceRuntime({ ...config, interface: name }, deps, log);
    if (carp) runtime.carpPassphrase = await loadPassphrase(config.name, carp);
    const link = deps.links.link(name);
    if (link === undefined) {
      runtime.detach({
        cause: `interface ${name} missing`,
        message: `interface ${name} does not exist; vrrp_instance ${config.name} stays in FAULT until it appears`,
      });
      return runtime;
    }
    const source = await waitForSourceAddress(deps.netlink, deps.clock, config, link.index);
    if (source === undefined) {
      runtime.waitForAddress(link);
      return runtime;
    }
    runtime.open(link, source);
    return runtime;
  }

  /** The interface the instance is attached to, or `undefined` while it waits for one. */
  get link(): LinkInfo | undefined {
    return this.currentLink;
  }

  get sourceAddress(): string {
    return this.channel?.source ?? '';
  }

  /**
   * The interface exists with `link`'s index: attach to it when waiting, follow a new index (the interface was
   * deleted and created again; the agent has moved the shared socket already) when attached.
   */
  linkAppeared(link: LinkInfo): void {
    if (this.stopped) return;
    if (this.detached !== undefined) {
      void this.attach(link);
      return;
    }
    if (this.currentLink && this.currentLink.index !== link.index) {
      this.currentLink = link;
      this.garpInterface.index = link.index;
      this.garpInterface.mac = link.mac;
      this.log.warn({ ifindex: link.index }, 'interface re-created; socket and announcements moved to it');
    }
  }

  /** VIPs a crashed earlier run left on the interface go before the first election (they would answer ARP). */
  async removeStale(): Promise<void> {
    await this.vips.removeStale();
  }

  /**
   * Follows the instance's tracked interfaces, scripts, files and processes (and its sync group's): priority
   * changes and faults go to the state machine. Resolves once every tracked script has a first result, so the
   * first election uses real health, not a guess.
   */
  startTracking(registry: TrackerRegistry, group: TrackLists | undefined): Promise<void> {
    this.tracking = new InstanceTracking(
      this.config,
      registry,
      {
        onPriority: (priority) =>
          this.carp
            ? this.instance.setDemote(demotionOf(priority))
            : this.instance.setEffectivePriority(priority),
        onFault: (cause) => this.instance.raiseFault(cause),
        onFaultCleared: (cause) => this.instance.clearFault(cause),
      },
      group ? { group } : {},
    );
    this.tracking.start();
    return this.tracking.settled();
  }

  start(): void {
    this.instance.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.waitingForAddress?.();
    this.waitingForAddress = undefined;
    this.tracking?.stop();
    await this.instance.stop();
    this.vips.stop();
    this.garp?.stop();
    this.channel?.close();
  }

  /** Hooks queued or running. */
  get hooksPending(): boolean {
    return this.hooks.queued > 0;
  }

  /** This instance's hook queue, for the instance that replaces it at a reload. */
  get hookQueue(): HookQueue {
    return this.hooks;
  }

  status(): InstanceStatus {
    const snapshot = this.instance.snapshot();
    return {
      name: this.config.name,
      interface: this.config.interface,
      vrid: this.config.vrid,
      version: this.config.version,
      family: this.config.family,
      state: snapshot.state,
      priority: snapshot.priority,
      effectivePriority: snapshot.effectivePriority,
      masterAddress: snapshot.masterAddress ?? null,
      sourceAddress: this.sourceAddress,
      vips: allVips(this.config).map(vipText),
      timeInStateSeconds: seconds(this.deps.clock.nowMicroseconds() - snapshot.enteredStateAtMicroseconds),
      lastTransition: snapshot.lastTransition ?? null,
      faults: snapshot.faults,
      counters: snapshotCounters(snapshot.counters),
      ...(this.carp
        ? {
            protocol: 'carp' as const,
            carp: {
              vhid: this.carp.vhid,
              advbase: this.carp.advbase,
              advskew: this.carp.advskew,
              demote: snapshot.demote ?? 0,
              flavour: this.carp.flavour,
            },
          }
        : {}),
    };
  }

  /** The channel of a vrrp_instance: prebuilt adverts, the RFC 5798 §7.1 ladder. */
  private vrrpChannel(socket: VrrpTransport, source: string): AdvertChannel {
    const { config, deps } = this;
    const channel = new AdvertChannel({
      version: config.version,
      family: config.family,
      vrid: config.vrid,
      advertIntervalCentiseconds: config.advertIntervalCentiseconds,
      addresses: advertisedAddresses(config),
      auth: advertAuth(config),
      source,
      destinations: advertDestinations(config),
      receive: {
        skipCheckAdvAddr: config.skipCheckAdvAddr,
        unicastPeers: config.unicastPeers,
        priority: config.priority,
      },
      counters: this.instance.counters,
      clock: deps.clock,
      log: this.log,
      deliver: (advert, from) => this.instance.receive(advert, from),
    });
    channel.open(socket);
    return channel;
  }

  /** What a transition runs: the instance's hooks; ucarp's scripts for `tandem carp`; none at a neutral start. */
  private hookSource() {
    const { carp, config } = this;
    if (carp?.ucarp) return ucarpHookSource(carp.ucarp, config.interface);
    const source = instanceHookSource(config, this.deps.config);
    return carp?.neutral ? neutralStart(source) : source;
  }

  /** The channel of a carp_instance: CARP adverts signed with its HMAC, the CARP ladder. */
  private carpChannel(settings: CarpSettings, socket: VrrpTransport, source: string): CarpChannel {
    const channel = new CarpChannel({
      vhid: settings.vhid,
      advbase: settings.advbase,
      advskew: settings.advskew,
      source,
      destinations: advertDestinations(this.config),
      unicastPeers: this.config.unicastPeers,
      authenticator: createCarpAuthenticator({
        variant: settings.hmac,
        passphrase: this.carpPassphrase,
        vhid: settings.vhid,
        addresses: settings.hashedAddresses,
      }),
      forgetAfterMicroseconds: () => this.instance.masterDownMicroseconds(),
      ...(this.deps.carpCounter ? { randomCounter: this.deps.carpCounter } : {}),
      counters: this.instance.counters,
      clock: this.deps.clock,
      log: this.log,
      deliver: (advert, from) => this.instance.receive(advert, from),
    });
    channel.open(socket);
    return channel;
  }

  /** Opens the advert channel on the interface's shared socket and prepares the announcements. */
  private open(link: LinkInfo, source: string): void {
    const { config, deps } = this;
    const socket = deps.socketFor(link, config.family);
    const channel = this.carp
      ? this.carpChannel(this.carp, socket, source)
      : this.vrrpChannel(socket, source);
    this.garpInterface.index = link.index;
    this.garpInterface.mac = link.mac;
    this.garp = new GarpScheduler({
      sender: new GarpSender({
        socket: deps.packetSocket,
        iface: this.garpInterface,
        // ucarp announces its -a address (its scripts put it on the interface).
        vips: this.carp?.ucarp ? [this.carp.ucarp.virtualAddress] : announcedAddresses(config, link.name),
        logger: this.log,
        ...(deps.isRouter ? { isRouter: () => (deps.isRouter as (name: string) => boolean)(link.name) } : {}),
      }),
      clock: deps.clock,
      timing: garpTiming(config),
    });
    this.channel = channel;
    this.currentLink = link;
    this.instance.setPrimaryAddress(source);
  }

  /** Holds the instance in FAULT for `why` (once), logging it. */
  private detach(why: Detached): void {
    if (this.detached?.cause === why.cause) return;
    const previous = this.detached;
    this.detached = why;
    this.log.warn({ fault: why.cause }, why.message);
    this.instance.raiseFault(why.cause);
    if (previous) this.instance.clearFault(previous.cause);
  }

  /** The interface has no address to send from yet: FAULT, and try again when an address arrives on it. */
  private waitForAddress(link: LinkInfo): void {
    const name = this.config.interface;
    this.detach({
      cause: `no address on ${name}`,
      message: `no IPv${this.config.family} ${this.config.family === 6 ? 'link-local ' : ''}address on ${name} to send adverts from; vrrp_instance ${this.config.name} stays in FAULT until one appears`,
    });
    this.waitingForAddress?.();
    this.waitingForAddress = this.deps.events.onInterfaceAddress(link.index, (change) => {
      if (change.action === 'new') void this.attach(link);
    });
    // An address that arrived between the listing that found none and the subscription sends no event now.
    void waitForSourceAddress(this.deps.netlink, this.deps.clock, this.config, link.index).then(
      (source) => {
        if (source !== undefined) void this.attach(link);
      },
      () => undefined,
    );
  }

  /** Tries to attach to `link` (one attempt at a time); on success the FAULT it held is cleared. */
  private attach(link: LinkInfo): Promise<void> {
    this.attaching ??= (async () => {
      try {
        const source = await waitForSourceAddress(
          this.deps.netlink,
          this.deps.clock,
          this.config,
          link.index,
        );
        if (this.stopped || this.detached === undefined) return;
        if (source === undefined) {
          this.waitForAddress(link);
          return;
        }
        this.waitingForAddress?.();
        this.waitingForAddress = undefined;
        this.open(link, source);
        const { cause } = this.detached;
        this.detached = undefined;
        this.instance.clearFault(cause);
        this.log.info(
          { ifindex: link.index, source },
          `interface ${link.name} usable; leaving the FAULT it held`,
        );
      } catch (error) {
        this.log.error({ err: error }, `cannot attach to interface ${link.name}; staying in FAULT`);
      } finally {
        this.attaching = undefined;
      }
    })();
    return this.attaching;
  }
}

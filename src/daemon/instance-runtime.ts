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
import type { AcceptFilter } from '../actions/accept-filter.js';
import {
  type GarpInterface,
  GarpScheduler,
  GarpSender,
  InterfacesSender,
  type PacketSocket,
} from '../actions/garp.js';
import type { LinkInfo, RtNetlink } from '../actions/netlink.js';
import type { PromoteSecondaries } from '../actions/sysctl.js';
import type { NetlinkEvents } from '../actions/netlink-events.js';
import type { HookCommand, HookQueue } from '../actions/notify.js';
import { VipManager } from '../actions/vip.js';
import { VipController } from '../actions/vip-controller.js';
import type { VmacManager } from '../actions/vmac.js';
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
import type { EventBus } from './events.js';
import { HOOK_STATE, type FifoSink, busHookObserver, hookQueue, instanceHookSource } from './hooks.js';
import {
  advertAuth,
  advertDestinations,
  advertisedAddresses,
  advertTtl,
  allVips,
  announcedAddresses,
  filteredAddresses,
  garpTiming,
  instanceParameters,
  otherInterfaceAddresses,
  toRouteConfig,
  toRuleConfig,
  toVipConfig,
  vipText,
  vmacOf,
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
import { hookCommand } from '../actions/script-security.js';
import { secondsToMicroseconds } from '../core/time.js';
import { waitForSourceAddress } from './source-address.js';
import { type InstanceStatus, discardWarnings, frrFields, seconds } from './status.js';

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
  /** The agent's no_accept filter (nftables): the VIPs of an instance without accept mode, while MASTER. */
  acceptFilter?: AcceptFilter;
  /** The agent's promote_secondaries holder (keepalived `promote_secondaries`). */
  promoteSecondaries?: PromoteSecondaries;
  /** The agent's event bus: transitions, hook runs and discards are published there. */
  bus?: EventBus;
  /** The counter of each CARP advert (default: random, carp-channel.ts). */
  carpCounter?: () => bigint;
  /** Creates and removes VMACs (use_vmac). */
  vmacs?: VmacManager;
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
  /** notify_master_rx_lower_pri with its user, resolved once. */
  private readonly rxLowerPriorityRun: HookCommand | undefined;
  /** The interface this instance set promote_secondaries on, to release at stop. */
  private promotedOn: string | undefined;
  private garpSender: GarpSender | undefined;
  /** Announcements sent by earlier senders (the interface was re-created): FRR's garpTx keeps counting. */
  private readonly announcedBefore = { garp: 0, neighbourAdvert: 0 };
  /** The last discard of each reason (status warns while adverts are being refused). */
  private readonly lastDiscards = new Map<string, { at: number; source: string; detail: string }>();
  /** use_vmac: the VMAC's name and MAC, and its link once created (on attaching to the interface). */
  private readonly vmac: { name: string; mac: string } | undefined;
  private vmacLink: LinkInfo | undefined;

  private constructor(
    readonly config: VrrpInstanceConfig & { interface: string },
    private readonly deps: RuntimeDependencies,
    private readonly log: PinoLogger,
  ) {
    this.carp = carpSettingsOf(config);
    this.vmac = vmacOf(config);
    this.garpInterface.name = this.vmac?.name ?? config.interface;
    this.vips = new VipController(
      new VipManager({
        netlink: deps.netlink,
        events: deps.events,
        // use_vmac: the VIPs (and routes) without a `dev` of their own live on the VMAC.
        interface: this.vmac?.name ?? config.interface,
        vips: allVips(config).map(toVipConfig),
        routes: config.routes.map(toRouteConfig),
        rules: config.rules.map(toRuleConfig),
        logger: log,
      }),
      deps.clock,
      log,
    );
    this.rxLowerPriorityRun = config.notify.masterRxLowerPri
      ? hookCommand(config.notify.masterRxLowerPri, deps.config.global)
      : undefined;
    this.hooks = hookQueue(this.hookSource(), {
      config: deps.config,
      log,
      vips: allVips(config).map(vipText),
      ...(deps.previousHooks ? { previous: deps.previousHooks } : {}),
      ...(deps.run ? { run: deps.run } : {}),
      ...(deps.bus ? { observer: busHookObserver(deps.bus, { instance: config.name }) } : {}),
    });
    const filtered = filteredAddresses(config);
    const filter = filtered.length > 0 ? deps.acceptFilter : undefined;
    this.instance = new VrrpInstance(
      config.name,
      this.carp
        ? { ...instanceParameters(config, '', deps.config.global.handover), carp: carpParameters(this.carp) }
        : instanceParameters(config, '', deps.config.global.handover),
      deps.clock,
      {
        sendAdvert: (priority, demote) =>
          this.channel
            ? this.channel.send(priority, demote)
            : Promise.reject(new ChannelClosedError(config.vrid)),
        claimVips: async () => {
          // RFC 5798 §6.4.3: the drop is in place before the first VIP appears, so none is accepted meanwhile.
          await filter?.drop(filtered);
          await this.vips.claim();
        },
        releaseVips: async () => {
          this.garp?.stop();
          await this.vips.release();
          await filter?.allow(filtered);
        },
        announce: async () => this.garp?.announce(config.garp.lowerPrioRepeat),
        masterRxLowerPriority: async () => this.masterRxLowerPriority(),
        priorityChanged: ({ state, priority }) => {
          // keepalived notify_priority_changes: a FIFO line only (no script), MASTER_PRIORITY while MASTER.
          if (!config.notifyPriorityChanges) return;
          const fifoState = state === 'MASTER' ? 'MASTER_PRIORITY' : 'BACKUP_PRIORITY';
          for (const fifo of deps.fifos)
            fifo.writeEvent({ kind: 'INSTANCE', name: config.name, state: fifoState, priority });
        },
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
    const { bus } = deps;
    if (bus) {
      this.instance.onTransition(({ from, to, reason }, state) =>
        bus.publish({
          type: 'transition',
          instance: config.name,
          vrid: config.vrid,
          interface: config.interface,
          family: config.family,
          from,
          to,
          reason,
          priority: state.effectivePriority,
          ...(state.masterAddress !== undefined ? { master: state.masterAddress } : {}),
        }),
      );
    }
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
    await runtime.createVmac(link);
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
      if (this.vmac === undefined) {
        this.garpInterface.index = link.index;
        this.garpInterface.mac = link.mac;
      }
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

  /**
   * Stops the instance; `planned` (SIGTERM) hands over make-before-break when `tandem_handover` says so: the VIPs
   * stay until the new master is heard or the handover bound passes (docs/operations.md, "Planned maintenance").
   */
  async stop(options: { planned?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.waitingForAddress?.();
    this.waitingForAddress = undefined;
    this.tracking?.stop();
    await this.instance.stop(options);
    this.vips.stop();
    this.garp?.stop();
    this.channel?.close();
    if (this.promotedOn !== undefined) await this.deps.promoteSecondaries?.release(this.promotedOn);
    this.promotedOn = undefined;
    // The VIPs are released: the VMAC goes (the parent's ARP settings come back with the last one on it).
    if (this.vmacLink !== undefined && this.deps.vmacs !== undefined) {
      const link = this.vmacLink;
      this.vmacLink = undefined;
      await this.deps.vmacs.remove(link, this.config.interface, this.config.family);
    }
  }

  /** use_vmac: creates the VMAC on `parent` (once); its link is where VIPs, GARPs and adverts go. */
  private async createVmac(parent: LinkInfo): Promise<void> {
    if (this.vmac === undefined || this.vmacLink !== undefined) return;
    if (this.deps.vmacs === undefined)
      throw new InstanceSetupError(this.config.name, 'use_vmac needs the VMAC manager');
    this.vmacLink = await this.deps.vmacs.create({
      ...this.vmac,
      parent,
      family: this.config.family,
      sendsAdverts: !this.config.vmacXmitBase,
    });
  }

  /** Hooks queued or running. */
  get hooksPending(): boolean {
    return this.hooks.queued > 0;
  }

  /** This instance's hook queue, for the instance that replaces it at a reload. */
  get hookQueue(): HookQueue {
    return this.hooks;
  }

  /** Gratuitous ARPs and unsolicited NAs sent since the instance started. */
  get announcements(): { garp: number; neighbourAdvert: number } {
    const now = this.garpSender?.sent ?? { garp: 0, neighbourAdvert: 0 };
    return {
      garp: this.announcedBefore.garp + now.garp,
      neighbourAdvert: this.announcedBefore.neighbourAdvert + now.neighbourAdvert,
    };
  }

  status(): InstanceStatus {
    const snapshot = this.instance.snapshot();
    const now = this.deps.clock.nowMicroseconds();
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
      ...frrFields(snapshot, this.announcements),
      warnings: [
        ...(snapshot.splitBrain
          ? [
              {
                kind: 'split-brain',
                message: `split brain: another MASTER ${snapshot.splitBrain.address} (priority ${snapshot.splitBrain.priority}) is advertising`,
                peer: snapshot.splitBrain.address,
                peerPriority: snapshot.splitBrain.priority,
              },
            ]
          : []),
        ...discardWarnings(
          this.lastDiscards,
          snapshot.counters,
          now,
          snapshot.masterDownIntervalMicroseconds,
        ),
      ],
      splitBrain: snapshot.splitBrain
        ? {
            peer: snapshot.splitBrain.address,
            peerPriority: snapshot.splitBrain.priority,
            sinceSeconds: seconds(this.deps.clock.nowMicroseconds() - snapshot.splitBrain.sinceMicroseconds),
          }
        : null,
      handover: snapshot.handover ?? null,
      yielded: snapshot.yielded,
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
        checkUnicastSource: config.checkUnicastSrc,
        ...(config.oldUnicastChecksum ? { oldUnicastChecksum: config.oldUnicastChecksum } : {}),
      },
      ...advertTtl(config),
      counters: this.instance.counters,
      clock: deps.clock,
      log: this.log,
      deliver: (advert, from) => this.instance.receive(advert, from),
      onDiscard: (reason, from, detail) => this.discarded(reason, from, detail),
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
    // use_vmac: adverts leave (and arrive) on the VMAC with the virtual MAC, unless vmac_xmit_base.
    const announceLink = this.vmacLink ?? link;
    const socket = deps.socketFor(config.vmacXmitBase ? link : announceLink, config.family);
    const channel = this.carp
      ? this.carpChannel(this.carp, socket, source)
      : this.vrrpChannel(socket, source);
    this.garpInterface.index = announceLink.index;
    this.garpInterface.mac = announceLink.mac;
    if (this.garpSender) {
      this.announcedBefore.garp += this.garpSender.sent.garp;
      this.announcedBefore.neighbourAdvert += this.garpSender.sent.neighbourAdvert;
    }
    const sender = (iface: GarpInterface, vips: readonly string[]) =>
      new GarpSender({
        socket: deps.packetSocket,
        iface,
        vips,
        logger: this.log,
        ...(deps.isRouter
          ? { isRouter: () => (deps.isRouter as (name: string) => boolean)(iface.name) }
          : {}),
      });
    // ucarp announces its -a address (its scripts put it on the interface).
    this.garpSender = sender(
      this.garpInterface,
      this.carp?.ucarp ? [this.carp.ucarp.virtualAddress] : announcedAddresses(config, announceLink.name),
    );
    this.garp = new GarpScheduler({
      sender: new InterfacesSender(
        this.garpSender,
        otherInterfaceAddresses(config, link.name),
        sender,
        (name) => deps.links.link(name),
        this.log,
      ),
      clock: deps.clock,
      timing: garpTiming(config),
    });
    this.channel = channel;
    this.currentLink = link;
    if (config.promoteSecondaries && this.promotedOn === undefined && deps.promoteSecondaries) {
      this.promotedOn = link.name;
      void deps.promoteSecondaries.acquire(link.name);
    }
    this.instance.setPrimaryAddress(source);
  }

  /** A packet the receive ladder refused (already counted): remembered for status, published (rate-limited). */
  private discarded(reason: string, source: string, detail: string): void {
    this.lastDiscards.set(reason, { at: this.deps.clock.nowMicroseconds(), source, detail });
    this.deps.bus?.publishDiscard({
      instance: this.config.name,
      vrid: this.config.vrid,
      reason,
      source,
      detail,
      count: (this.instance.counters.discarded as Record<string, number>)[reason] ?? 0,
    });
  }

  /**
   * keepalived, on a lower-priority advert as MASTER: GARP bursts (none in strict mode), the
   * notify_master_rx_lower_pri script (its argv alone), and a MASTER_RX_LOWER_PRI line on the FIFOs.
   */
  private masterRxLowerPriority(): void {
    const { config, deps } = this;
    if (!config.strictMode)
      this.garp?.announce(
        config.garp.lowerPrioRepeat,
        secondsToMicroseconds(config.garp.lowerPrioDelaySeconds),
      );
    const priority = this.instance.snapshot().effectivePriority;
    for (const fifo of deps.fifos)
      fifo.writeEvent({ kind: 'INSTANCE', name: config.name, state: 'MASTER_RX_LOWER_PRI', priority });
    if (this.rxLowerPriorityRun)
      this.hooks.pushRuns({ kind: 'INSTANCE', name: config.name, state: 'MASTER', priority }, [
        this.rxLowerPriorityRun,
      ]);
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
        await this.createVmac(link);
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

/**
 * One configured vrrp_instance brought to life: the driver (`VrrpInstance`) wired to its socket, its VIPs,
 * its announcements and its hooks. Everything about the system it needs (netlink, sockets) comes in from the
 * agent, so one process runs any number of instances.
 */
import type { Logger as PinoLogger } from 'pino';
import { GarpScheduler, GarpSender, type PacketSocket } from '../actions/garp.js';
import type { AddressInfo, LinkInfo, RtNetlink } from '../actions/netlink.js';
import type { FifoWriter } from '../actions/fifo.js';
import { lvsCommands } from '../actions/lvs.js';
import { HookQueue, type HookEvent, type HookRun, type HookState, hookRuns } from '../actions/notify.js';
import { serviceHooks } from '../actions/proxy.js';
import { hookCommand, hookEnvironment, notifyCommands } from '../actions/script-security.js';
import {
  type VipConfig,
  VipManager,
  type VirtualRouteConfig,
  type VirtualRuleConfig,
} from '../actions/vip.js';
import type {
  TandemConfig,
  TrackLists,
  VirtualAddress,
  VirtualRoute,
  VirtualRule,
  VrrpInstanceConfig,
} from '../config/schema.js';
import type { TrackerRegistry } from '../watchers/registry.js';
import { InstanceTracking } from '../watchers/tracking.js';
import { TandemError } from '../errors.js';
import { canonicalAddress, isIPv6LinkLocal } from '../vrrp/address.js';
import type { InstanceParameters, VrrpState } from '../vrrp/fsm.js';
import { type Clock, VrrpInstance } from '../vrrp/instance.js';
import { type VrrpAdvertisement, type VrrpAuth, V2_AUTH_DATA_LENGTH, encode } from '../vrrp/packet.js';
import { type ReceivePolicy, receiveAdvert } from '../vrrp/receive.js';
import type { ReceivedPacket } from '../vrrp/receive.js';
import type { VrrpSocket } from '../vrrp/transport.js';

const MICROSECONDS_PER_SECOND = 1_000_000;
/** How long a start waits for a tentative address to finish DAD (RFC 4862 §5.4: about a second by default). */
const SOURCE_ADDRESS_WAIT_MS = 5000;
const SOURCE_ADDRESS_POLL_MS = 100;
/** A failed VIP claim is tried again after this, then twice as long each time, up to the maximum. */
const CLAIM_RETRY_FIRST_MS = 500;
const CLAIM_RETRY_MAX_MS = 10_000;
/** At most one log line per discard reason and instance in this window (DESIGN.md: rate-limited). */
const DISCARD_LOG_INTERVAL_MICROSECONDS = 10 * MICROSECONDS_PER_SECOND;

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
      ? lvsCommands(lvs, event.state, previous, instance.vrid).map((argv) => ({ argv }))
      : [];
    previous = event.state;
    const serviceRuns = serviceHooks(config.services, instance.services, event.state).map((hook) => ({
      ...hookCommand(hook.command, config.global),
      timeoutMs: hook.timeoutMs,
    }));
    return [...lvsRuns, ...serviceRuns, ...hookRuns(notify, event)];
  };
}

/** Waits for a hook queue at most `timeoutMs`, then ends what still runs. */
export async function drainWithin(hooks: HookQueue, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    hooks.drain(),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
  hooks.terminate();
}

export class InstanceSetupError extends TandemError {
  constructor(instance: string, message: string) {
    super('TANDEM_EINSTANCE', `vrrp_instance ${instance}: ${message}`);
  }
}

/** What the agent shares between instances. */
export interface RuntimeDependencies {
  netlink: RtNetlink;
  packetSocket: PacketSocket;
  clock: Clock;
  /** The whole configuration: global_defs (script_user, lvs_sync_daemon, notify timeout) and the services. */
  config: TandemConfig;
  /** notify_fifo / vrrp_notify_fifo writers, each told every transition as keepalived writes it. */
  fifos: readonly FifoWriter[];
  /** The hook queue of the same instance before a reload restarted it. */
  previousHooks?: HookQueue;
}

export interface InstanceStatus {
  name: string;
  interface: string;
  vrid: number;
  version: number;
  family: number;
  state: VrrpState;
  priority: number;
  effectivePriority: number;
  masterAddress: string | null;
  sourceAddress: string;
  vips: string[];
  timeInStateSeconds: number;
  lastTransition: { from: string; to: string; reason: string } | null;
  faults: readonly string[];
  counters: Record<string, number | Record<string, number>>;
}

function vipText(vip: VirtualAddress): string {
  return `${vip.address}/${vip.prefixLength}`;
}

function toVipConfig(vip: VirtualAddress): VipConfig {
  return {
    address: vip.address,
    prefixLength: vip.prefixLength,
    noTrack: vip.noTrack,
    ...(vip.dev !== undefined ? { dev: vip.dev } : {}),
    ...(vip.label !== undefined ? { label: vip.label } : {}),
    ...(vip.scope !== undefined ? { scope: vip.scope } : {}),
    ...(vip.brd !== undefined ? { brd: vip.brd } : {}),
  };
}

/** keepalived's `virtual_routes` entry as the VIP manager takes it; a CIDR or `default` destination. */
function toRouteConfig(route: VirtualRoute): VirtualRouteConfig {
  if (route.options.length > 0 || (route.via?.length ?? 0) > 1) {
    throw new TandemError(
      'TANDEM_EROUTE',
      `route '${route.raw}': multipath and extra route options are not supported yet`,
    );
  }
  const [address, prefix] =
    route.destination === 'default'
      ? [route.family === 4 ? '0.0.0.0' : '::', '0']
      : route.destination.split('/');
  const table = route.table !== undefined ? Number(route.table) : undefined;
  if (table !== undefined && !Number.isInteger(table)) {
    throw new TandemError(
      'TANDEM_EROUTE',
      `route '${route.raw}': only numeric tables are supported, found ${route.table}`,
    );
  }
  return {
    dst: address as string,
    prefixLength: prefix !== undefined ? Number(prefix) : route.family === 4 ? 32 : 128,
    ...(route.via?.[0] !== undefined ? { via: route.via[0] } : {}),
    ...(route.dev !== undefined ? { dev: route.dev } : {}),
    ...(route.src !== undefined ? { src: route.src } : {}),
    ...(table !== undefined ? { table } : {}),
    ...(route.metric !== undefined ? { metric: route.metric } : {}),
    ...(route.scope !== undefined ? { scope: route.scope } : {}),
  };
}

function numericTable(table: string | undefined, what: string): number | undefined {
  if (table === undefined) return undefined;
  const number = Number(table);
  if (!Number.isInteger(number) || number < 0) {
    throw new TandemError('TANDEM_EROUTE', `${what}: only numeric tables are supported, found ${table}`);
  }
  return number;
}

function prefixOf(text: string | undefined, family: 4 | 6) {
  if (text === undefined) return undefined;
  const [address, prefix] = text === 'all' ? [family === 4 ? '0.0.0.0' : '::', '0'] : text.split('/');
  return {
    address: address as string,
    prefixLength: prefix !== undefined ? Number(prefix) : family === 4 ? 32 : 128,
  };
}

/** keepalived's `virtual_rules` entry as the VIP manager takes it (from/to prefixes, table, preference). */
function toRuleConfig(rule: VirtualRule): VirtualRuleConfig {
  // Never ignore part of a rule silently: what the VIP manager cannot express stops the start, with the entry.
  if ((rule.action !== undefined && rule.action !== 'table') || rule.options.length > 0) {
    throw new TandemError(
      'TANDEM_EROUTE',
      `rule '${rule.raw}': only from/to/table/preference are supported yet`,
    );
  }
  const from = prefixOf(rule.from, rule.family);
  const to = prefixOf(rule.to, rule.family);
  const table = numericTable(rule.table, `rule '${rule.raw}'`);
  return {
    family: rule.family,
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(table !== undefined ? { table } : {}),
    ...(rule.preference !== undefined ? { priority: rule.preference } : {}),
  };
}

function toAuth(config: VrrpInstanceConfig): VrrpAuth {
  if (config.auth.type === 'none' || config.version === 3) return { type: 'none' };
  // keepalived sends the first eight bytes of a longer auth_pass (RFC 2338 §5.3.10: eight bytes of data).
  const bytes = new TextEncoder().encode(config.auth.password).subarray(0, V2_AUTH_DATA_LENGTH);
  return { type: 'simple', password: new TextDecoder().decode(bytes) };
}

const HOOK_STATE: Partial<Record<VrrpState, HookState>> = {
  MASTER: 'MASTER',
  BACKUP: 'BACKUP',
  FAULT: 'FAULT',
  STOPPED: 'STOP',
};

/** The address adverts go out from: configured, else the interface's primary (v4) or link-local (v6) address. */
export function chooseSourceAddress(
  config: VrrpInstanceConfig,
  addresses: readonly AddressInfo[],
  vips: ReadonlySet<string>,
): string | undefined {
  const configured = config.unicastSrcIp ?? config.mcastSrcIp;
  if (configured) return canonicalAddress(configured);
  const candidates = addresses.filter(
    (address) => address.family === config.family && !address.tentative && !vips.has(address.address),
  );
  if (config.family === 6) return candidates.find((address) => isIPv6LinkLocal(address.address))?.address;
  return (candidates.find((address) => !address.secondary) ?? candidates[0])?.address;
}

export class InstanceRuntime {
  readonly instance: VrrpInstance;
  readonly vips: VipManager;
  private readonly garp: GarpScheduler;
  private readonly hooks: HookQueue;
  private readonly advertAddresses: string[];
  private readonly policy: ReceivePolicy;
  private readonly lastDiscardLog = new Map<string, number>();
  /** Where announcements go; updated in place when the interface is re-created with a new index. */
  private readonly garpInterface: { name: string; index: number; mac: string };
  private tracking: InstanceTracking | undefined;

  private constructor(
    readonly config: VrrpInstanceConfig,
    readonly link: LinkInfo,
    readonly sourceAddress: string,
    private readonly socket: VrrpSocket,
    private readonly deps: RuntimeDependencies,
    private readonly log: PinoLogger,
  ) {
    this.garpInterface = { name: link.name, index: link.index, mac: link.mac };
    const params: InstanceParameters = {
      version: config.version,
      family: config.family,
      vrid: config.vrid,
      priority: config.priority,
      advertIntervalCentiseconds: config.advertIntervalCentiseconds,
      preempt: config.preempt,
      preemptDelayMicroseconds: config.preemptDelaySeconds * MICROSECONDS_PER_SECOND,
      primaryAddress: sourceAddress,
      acceptMode: config.acceptMode,
      lowerPriorityNoAdvert: config.lowerPrioNoAdvert,
      higherPrioritySendAdvert: config.higherPrioSendAdvert,
    };
    // keepalived advertises the VIPs of the instance's family; virtual_ipaddress_excluded are never advertised.
    this.advertAddresses = config.vips
      .filter((vip) => vip.family === config.family)
      .map((vip) => canonicalAddress(vip.address) ?? vip.address);
    this.policy = {
      version: config.version,
      family: config.family,
      vrid: config.vrid,
      auth: toAuth(config),
      addresses: this.advertAddresses,
      skipCheckAdvAddr: config.skipCheckAdvAddr,
      unicastPeers: config.unicastPeers,
    };
    const allVips = [...config.vips, ...config.excludedVips];
    this.vips = new VipManager({
      netlink: deps.netlink,
      interface: link.name,
      vips: allVips.map(toVipConfig),
      routes: config.routes.map(toRouteConfig),
      rules: config.rules.map(toRuleConfig),
      logger: log,
    });
    const sender = new GarpSender({
      socket: deps.packetSocket,
      iface: this.garpInterface,
      vips: allVips.filter((vip) => vip.dev === undefined || vip.dev === link.name).map((vip) => vip.address),
      logger: log,
    });
    this.garp = new GarpScheduler({
      sender,
      clock: deps.clock,
      timing: {
        repeat: config.garp.masterRepeat,
        delayUs: Math.round(config.garp.masterDelaySeconds * MICROSECONDS_PER_SECOND),
        refreshUs: Math.round(config.garp.masterRefreshSeconds * MICROSECONDS_PER_SECOND),
        refreshRepeat: config.garp.masterRefreshRepeat,
      },
    });
    this.hooks = new HookQueue(instanceHookSource(config, deps.config), {
      timeoutMs: deps.config.global.notifyTimeoutSeconds * 1000,
      log,
      // A reload that restarts this instance: its old hooks (STOP, LVS stop) run before the new ones.
      ...(deps.previousHooks ? { after: deps.previousHooks.drain() } : {}),
      env: (event) => hookEnvironment(event, allVips.map(vipText)),
    });
    this.instance = new VrrpInstance(
      config.name,
      params,
      deps.clock,
      {
        sendAdvert: (priority) => this.sendAdvert(priority),
        claimVips: async () => {
          try {
            const result = await this.vips.claim();
            if (result.failed.length > 0) {
              throw new TandemError(
                'TANDEM_EVIP',
                result.failed.map((failure) => `${failure.what}: ${failure.error.message}`).join('; '),
              );
            }
          } catch (error) {
            // A MASTER without its VIPs black-holes the traffic its GARP draws: keep trying until they are on.
            this.retryClaim(CLAIM_RETRY_FIRST_MS);
            throw error;
          } finally {
            this.vips.watch();
          }
        },
        releaseVips: async () => {
          this.cancelClaimRetry();
          this.garp.stop();
          this.vips.unwatch();
          const result = await this.vips.release();
          if (result.failed.length > 0) {
            throw new TandemError(
              'TANDEM_EVIP',
              result.failed.map((failure) => `${failure.what}: ${failure.error.message}`).join('; '),
            );
          }
        },
        announce: async () => {
          // Becoming MASTER starts the bursts. A re-announcement while MASTER (a lower-priority advert: a split
          // brain healing) sends keepalived's garp_lower_prio_repeat rounds at once.
          if (!this.garp.running) this.garp.start();
          else for (let round = 0; round < config.garp.lowerPrioRepeat; round++) sender.sendRound();
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
    socket.register(config.vrid, (packet) => this.onPacket(packet));
  }

  static async create(
    config: VrrpInstanceConfig,
    socketFor: (link: LinkInfo, family: 4 | 6) => VrrpSocket,
    deps: RuntimeDependencies,
    parentLog: PinoLogger,
  ): Promise<InstanceRuntime> {
    if (!config.interface) throw new InstanceSetupError(config.name, 'an interface is required');
    const link = await deps.netlink.linkByName(config.interface).catch((error: unknown) => {
      throw new InstanceSetupError(config.name, `interface ${config.interface} not found: ${String(error)}`);
    });
    const log = parentLog.child({
      instance: config.name,
      vrid: config.vrid,
      interface: link.name,
      family: config.family,
    });
    const vipSet = new Set(config.vips.map((vip) => canonicalAddress(vip.address) ?? vip.address));
    let source: string | undefined;
    // An interface that just came up may still run duplicate address detection on its link-local address
    // (tentative, RFC 4862 §5.4): wait for it rather than fail the start.
    for (const deadline = Date.now() + SOURCE_ADDRESS_WAIT_MS; ;) {
      const addresses = await deps.netlink.listAddresses({ ifindex: link.index, family: config.family });
      source = chooseSourceAddress(config, addresses, vipSet);
      const tentative = addresses.some((address) => address.tentative);
      if (source || !tentative || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, SOURCE_ADDRESS_POLL_MS));
    }
    if (!source) {
      throw new InstanceSetupError(
        config.name,
        `no IPv${config.family} ${config.family === 6 ? 'link-local ' : ''}address on ${link.name} to send adverts from`,
      );
    }
    return new InstanceRuntime(config, link, source, socketFor(link, config.family), deps, log);
  }

  private encodeAdvert(priority: number, destination: string): Uint8Array {
    const advert: VrrpAdvertisement = {
      version: this.config.version,
      family: this.config.family,
      vrid: this.config.vrid,
      priority,
      advertIntervalCentiseconds: this.config.advertIntervalCentiseconds,
      addresses: this.advertAddresses,
      auth: this.policy.auth,
    };
    return encode(advert, { pseudoHeader: { source: this.sourceAddress, destination } });
  }

  private async sendAdvert(priority: number): Promise<void> {
    const destinations =
      this.config.unicastPeers.length > 0
        ? this.config.unicastPeers.map((peer) => peer.address)
        : [this.config.mcastDstIp];
    await Promise.all(
      destinations.map((destination) =>
        this.socket.send(this.encodeAdvert(priority, destination), destination, this.sourceAddress),
      ),
    );
  }

  private onPacket(packet: ReceivedPacket): void {
    const result = receiveAdvert(packet, this.policy);
    if (result.ok) {
      this.instance.receive(result.advert, packet.source);
      return;
    }
    this.instance.countDiscard(result.reason);
    const now = this.deps.clock.nowMicroseconds();
    const last = this.lastDiscardLog.get(result.reason);
    if (last === undefined || now - last >= DISCARD_LOG_INTERVAL_MICROSECONDS) {
      this.lastDiscardLog.set(result.reason, now);
      this.log.warn(
        {
          reason: result.reason,
          source: packet.source,
          detail: result.detail,
          count: this.instance.counters.discarded[result.reason],
        },
        'advert discarded',
      );
    }
  }

  /** VIPs a crashed earlier run left on the interface go before the first election (they would answer ARP);
   * the VIP manager logs each one it removes. */
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
        onPriority: (priority) => this.instance.setEffectivePriority(priority),
        onFault: (cause) => this.instance.raiseFault(cause),
        onFaultCleared: (cause) => this.instance.clearFault(cause),
      },
      group ? { group } : {},
    );
    this.tracking.start();
    return this.tracking.settled();
  }

  /** The interface came back under a new index (and maybe a new MAC): announce through the new one. */
  interfaceRecreated(link: LinkInfo): void {
    this.garpInterface.index = link.index;
    this.garpInterface.mac = link.mac;
    this.log.warn({ ifindex: link.index }, 'interface re-created; socket and announcements moved to it');
  }

  start(): void {
    this.instance.start();
  }

  async stop(): Promise<void> {
    this.cancelClaimRetry();
    this.tracking?.stop();
    await this.instance.stop();
    this.garp.stop();
    this.vips.unwatch();
    this.socket.unregister(this.config.vrid);
  }

  private claimRetry: NodeJS.Timeout | undefined;

  /** Claims the VIPs again after `delayMs`, doubling the delay up to CLAIM_RETRY_MAX_MS while it fails. */
  private retryClaim(delayMs: number): void {
    this.cancelClaimRetry();
    this.claimRetry = setTimeout(() => {
      this.claimRetry = undefined;
      if (!this.vips.claimed) return;
      this.vips.claim().then(
        (result) => {
          if (result.failed.length > 0) this.retryClaim(Math.min(delayMs * 2, CLAIM_RETRY_MAX_MS));
          else this.log.info({}, 'VIPs claimed on retry');
        },
        () => this.retryClaim(Math.min(delayMs * 2, CLAIM_RETRY_MAX_MS)),
      );
    }, delayMs);
  }

  private cancelClaimRetry(): void {
    if (this.claimRetry) clearTimeout(this.claimRetry);
    this.claimRetry = undefined;
  }

  /** Hooks queued or running. */
  get hooksPending(): boolean {
    return this.hooks.queued > 0;
  }

  /** This instance's hook queue, for the instance that replaces it at a reload. */
  get hookQueue(): HookQueue {
    return this.hooks;
  }

  /** Waits up to `timeoutMs` for the queued hooks, then ends whatever still runs: a stop leaves nothing behind. */
  async drainHooks(timeoutMs: number): Promise<void> {
    await drainWithin(this.hooks, timeoutMs);
    if (this.hooks.queued > 0)
      this.log.warn({ queued: this.hooks.queued }, 'notify hook killed: the agent is exiting');
  }

  /** Kills a hook still running (its whole process group) and drops the queue; for exiting. */
  abandonHooks(): void {
    if (this.hooks.terminate())
      this.log.warn({ queued: this.hooks.queued }, 'notify hook killed: the agent is exiting');
  }

  status(): InstanceStatus {
    const snapshot = this.instance.snapshot();
    const { discarded, ...counters } = snapshot.counters;
    return {
      name: this.config.name,
      interface: this.link.name,
      vrid: this.config.vrid,
      version: this.config.version,
      family: this.config.family,
      state: snapshot.state,
      priority: snapshot.priority,
      effectivePriority: snapshot.effectivePriority,
      masterAddress: snapshot.masterAddress ?? null,
      sourceAddress: this.sourceAddress,
      vips: [...this.config.vips, ...this.config.excludedVips].map(vipText),
      timeInStateSeconds:
        Math.round((this.deps.clock.nowMicroseconds() - snapshot.enteredStateAtMicroseconds) / 1000) / 1000,
      lastTransition: snapshot.lastTransition ?? null,
      faults: snapshot.faults,
      counters: { ...counters, discarded: { ...discarded } },
    };
  }
}

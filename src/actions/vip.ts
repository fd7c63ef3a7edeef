/**
 * The virtual IPs, virtual routes and virtual rules of one VRRP instance: put on the system when it becomes
 * MASTER (`claim`), taken off when it stops being MASTER (`release`), cleaned up at start after a crash
 * (`removeStale`), and defended while MASTER (`watch`: a VIP removed from outside is put back and logged). The
 * defence listens to the process's one netlink subscription (`NetlinkEvents`), for its own addresses only,
 * and ignores the deletions tandem itself makes.
 *
 * All kernel access goes through the injected `RtNetlink` adapter. Operations run one at a time, in call
 * order, so a restore triggered by an event can never interleave with a release.
 */
import { TandemError } from '../errors.js';
import { type Family, formatIPv4, ipv4Broadcast, ipv4Network } from '../vrrp/address.js';
import { canonicalIp, parseIp } from './inet.js';
import type { Logger } from '../core/logger.js';
import { type AddressChange, NetlinkEvents } from './netlink-events.js';
import {
  NetlinkError,
  type AddressSpec,
  type RouteSpec,
  type RtNetlink,
  type RuleSpec,
  type ScopeName,
} from './netlink.js';

/** One `virtual_ipaddress` entry (keepalived: `IP/PREFIX [brd B] [dev D] [scope S] [label L] [no_track]`). */
export interface VipConfig {
  address: string;
  prefixLength: number;
  /** Interface; the instance's interface when absent. */
  dev?: string;
  /** IPv4 only. */
  label?: string;
  scope?: string;
  /** IPv4 only: an address, or '+' / '-' to set / clear the host bits of address/prefix (as ip-address(8)). */
  brd?: string;
  /** The VIP's interface state does not affect the instance (consumed by the link watcher, not here). */
  noTrack?: boolean;
  /** Point-to-point peer; `prefixLength` is the peer's (ip-address(8)). */
  peer?: string;
  /** IPv6: preferred lifetime in seconds, or forever (keepalived's default: 0 for a /128, else forever). */
  preferredLifetime?: number | 'forever';
  /** IPv6: false (`-nodad`) lets the kernel run duplicate address detection; keepalived skips it by default. */
  nodad?: boolean;
  home?: boolean;
  manageTempAddress?: boolean;
  noPrefixRoute?: boolean;
}

/** One `virtual_routes` entry. */
export interface VirtualRouteConfig {
  dst: string;
  prefixLength: number;
  via?: string;
  dev?: string;
  src?: string;
  table?: number;
  metric?: number;
  scope?: string;
  type?: RouteSpec['type'];
  onlink?: boolean;
}

/** One `virtual_rules` entry; the family follows from `from`/`to` when not given. */
export interface VirtualRuleConfig extends Omit<RuleSpec, 'family'> {
  family?: Family;
}

export interface VipManagerOptions {
  netlink: RtNetlink;
  /** The instance's interface: where VIPs and routes without `dev` go. */
  interface: string;
  vips: readonly VipConfig[];
  routes?: readonly VirtualRouteConfig[];
  rules?: readonly VirtualRuleConfig[];
  logger: Logger;
  /** The process's one event subscription; without it, the manager opens its own when it starts watching. */
  events?: NetlinkEvents;
}

export interface ClaimResult {
  /** Entries added, or found already present. */
  applied: number;
  failed: { what: string; error: Error }[];
}

export class VipConfigError extends TandemError {
  constructor(message: string) {
    super('TANDEM_EVIPCONFIG', message);
  }
}

/** The kernel's answers that mean "already there" on add and "not there" on delete. */
const ALREADY_PRESENT = new Set(['EEXIST']);
const NOT_PRESENT = new Set(['EADDRNOTAVAIL', 'ESRCH', 'ENOENT', 'ENODEV']);

function isNetlinkErrno(error: unknown, names: Set<string>): boolean {
  return error instanceof NetlinkError && error.errno !== undefined && names.has(error.errno);
}

const SCOPE_NAMES = new Set<string>(['global', 'site', 'link', 'host', 'nowhere']);

function parseScope(scope: string | undefined, what: string): ScopeName | number | undefined {
  if (scope === undefined) return undefined;
  if (SCOPE_NAMES.has(scope)) return scope as ScopeName;
  if (/^\d+$/.test(scope) && Number(scope) <= 255) return Number(scope);
  throw new VipConfigError(
    `expected ${what} scope to be global, site, link, host, nowhere or 0..255, found ${scope}`,
  );
}

function vipText(vip: VipConfig): string {
  return `${vip.address}/${vip.prefixLength}`;
}

export class VipManager {
  readonly #netlink: RtNetlink;
  readonly #interface: string;
  readonly #vips: readonly VipConfig[];
  readonly #routes: readonly VirtualRouteConfig[];
  readonly #rules: readonly VirtualRuleConfig[];
  readonly #logger: Logger;
  #claimed = false;
  #queue: Promise<unknown> = Promise.resolve();
  #events: NetlinkEvents | undefined;
  #unsubscribers: (() => void)[] | undefined;
  #reconcilePending = false;

  constructor(options: VipManagerOptions) {
    this.#netlink = options.netlink;
    this.#interface = options.interface;
    this.#vips = options.vips;
    this.#routes = options.routes ?? [];
    this.#rules = options.rules ?? [];
    this.#logger = options.logger;
    this.#events = options.events;
    // Validate everything up front, so a bad entry fails at load time and not halfway through a takeover.
    for (const vip of this.#vips) this.#addressSpec(vip, 0);
    for (const route of this.#routes) this.#routeSpec(route, new Map());
    for (const rule of this.#rules) ruleSpec(rule);
  }

  /** True between `claim()` and `release()`: the VIPs are meant to be on the system. */
  get claimed(): boolean {
    return this.#claimed;
  }

  /** Adds every VIP, then routes (which may use a VIP as source), then rules. */
  claim(): Promise<ClaimResult> {
    return this.#serialize(async () => {
      this.#claimed = true;
      const result: ClaimResult = { applied: 0, failed: [] };
      const ifindexes = await this.#ifindexes();
      for (const vip of this.#vips) {
        await this.#apply(result, `address ${vipText(vip)}`, () =>
          this.#netlink.addAddress(this.#addressSpec(vip, this.#ifindexOf(vip.dev, ifindexes))),
        );
      }
      for (const route of this.#routes) {
        await this.#apply(result, `route ${route.dst}/${route.prefixLength}`, () =>
          this.#netlink.addRoute(this.#routeSpec(route, ifindexes)),
        );
      }
      for (const rule of this.#rules) {
        await this.#apply(result, `rule ${describeRule(rule)}`, () => this.#netlink.addRule(ruleSpec(rule)));
      }
      return result;
    });
  }

  /** Removes rules, routes, then VIPs; entries already gone are not errors. */
  release(): Promise<ClaimResult> {
    return this.#serialize(async () => {
      this.#claimed = false;
      return this.#removeAll('released');
    });
  }

  /**
   * At start, before the first election: removes this configuration's VIPs, routes and rules that a previous
   * run (crashed, killed) left behind, so a BACKUP never holds a VIP.
   */
  removeStale(): Promise<ClaimResult> {
    return this.#serialize(async () => {
      if (this.#claimed) return { applied: 0, failed: [] };
      const result: ClaimResult = { applied: 0, failed: [] };
      const ifindexes = await this.#ifindexes();
      const present = new Set(
        (await this.#netlink.listAddresses()).map((a) => `${a.ifindex} ${a.address}/${a.prefixLength}`),
      );
      for (const vip of this.#vips) {
        const ifindex = ifindexes.get(vip.dev ?? this.#interface);
        if (ifindex === undefined) continue;
        if (!present.has(`${ifindex} ${canonicalIp(vip.address)}/${vip.prefixLength}`)) continue;
        this.#logger.info({ vip: vipText(vip), dev: vip.dev ?? this.#interface }, 'removing stale VIP');
        await this.#removeAddress(result, vip, ifindex);
      }
      // Routes and rules cannot be told apart from an administrator's identical ones; deleting by exact spec
      // removes only what this configuration would have added.
      for (const rule of this.#rules) {
        await this.#remove(result, `rule ${describeRule(rule)}`, () =>
          this.#netlink.deleteRule(ruleSpec(rule)),
        );
      }
      for (const route of this.#routes) {
        await this.#remove(result, `route ${route.dst}/${route.prefixLength}`, () =>
          this.#netlink.deleteRoute(this.#routeSpec(route, ifindexes)),
        );
      }
      return result;
    });
  }

  /**
   * Defends the VIPs while claimed: a VIP deleted from outside (an admin, a DHCP client, a flushed link) is
   * re-added and logged. A lost-events error or a recreated interface triggers a full re-check.
   */
  watch(): void {
    if (this.#unsubscribers !== undefined) return;
    this.#events ??= new NetlinkEvents(this.#netlink, this.#logger);
    const events = this.#events;
    const interfaces = new Set([
      ...this.#vips.map((vip) => vip.dev ?? this.#interface),
      ...this.#routes.map((route) => route.dev ?? this.#interface),
    ]);
    this.#unsubscribers = [...new Set(this.#vips.map((vip) => canonicalIp(vip.address))).values()].map(
      (address) => events.onAddress(address, (change) => this.#onAddressChange(change)),
    );
    for (const name of interfaces) {
      // An interface that was deleted and created again has lost its addresses, under a new index.
      this.#unsubscribers.push(
        events.onLinkNamed(name, (change) => {
          if (change.action === 'new' && this.#claimed) this.#scheduleReconcile();
        }),
      );
    }
    this.#unsubscribers.push(
      events.onLost(() => {
        this.#logger.warn({}, 'netlink events lost; re-checking VIPs');
        this.#scheduleReconcile();
      }),
    );
  }

  /** Stops watching; does not release anything. */
  unwatch(): void {
    for (const unsubscribe of this.#unsubscribers ?? []) unsubscribe();
    this.#unsubscribers = undefined;
  }

  /** Puts back any claimed VIP that is missing; resolves to how many were restored. */
  reconcile(): Promise<number> {
    return this.#serialize(() => this.#reconcileNow());
  }

  async #reconcileNow(): Promise<number> {
    if (!this.#claimed) return 0;
    const ifindexes = await this.#ifindexes();
    const present = new Set(
      (await this.#netlink.listAddresses()).map((a) => `${a.ifindex} ${a.address}/${a.prefixLength}`),
    );
    let restored = 0;
    for (const vip of this.#vips) {
      const ifindex = ifindexes.get(vip.dev ?? this.#interface);
      if (ifindex === undefined) continue;
      if (present.has(`${ifindex} ${canonicalIp(vip.address)}/${vip.prefixLength}`)) continue;
      if (await this.#restore(vip, ifindex)) restored++;
    }
    return restored;
  }

  #onAddressChange(change: AddressChange): void {
    // Only a deletion from outside is news: tandem's own (a release, a clean-up) are marked `own`.
    if (!this.#claimed || change.action !== 'del' || change.own) return;
    const { address } = change;
    const vip = this.#vips.find(
      (candidate) =>
        canonicalIp(candidate.address) === address.address && candidate.prefixLength === address.prefixLength,
    );
    if (vip === undefined) return;
    this.#serialize(async () => {
      if (!this.#claimed) return;
      const ifindex = (await this.#ifindexes()).get(vip.dev ?? this.#interface);
      if (ifindex !== address.ifindex) return;
      await this.#restore(vip, ifindex);
    }).catch((error: unknown) =>
      this.#logger.error({ vip: vipText(vip), err: error }, 'restoring VIP failed'),
    );
  }

  async #restore(vip: VipConfig, ifindex: number): Promise<boolean> {
    const dev = vip.dev ?? this.#interface;
    this.#logger.warn({ vip: vipText(vip), dev }, 'VIP removed from outside while MASTER; restoring it');
    try {
      await this.#netlink.addAddress(this.#addressSpec(vip, ifindex));
      return true;
    } catch (error) {
      if (isNetlinkErrno(error, ALREADY_PRESENT)) return false;
      this.#logger.error({ vip: vipText(vip), dev, err: error }, 'restoring VIP failed');
      return false;
    }
  }

  /** Coalesces bursts of triggers (a flapping link) into one re-check queued behind current work. */
  #scheduleReconcile(): void {
    if (this.#reconcilePending) return;
    this.#reconcilePending = true;
    this.#serialize(() => {
      this.#reconcilePending = false;
      return this.#reconcileNow();
    }).catch((error: unknown) => this.#logger.error({ err: error }, 're-checking VIPs failed'));
  }

  async #removeAll(reason: string): Promise<ClaimResult> {
    const result: ClaimResult = { applied: 0, failed: [] };
    const ifindexes = await this.#ifindexes();
    for (const rule of this.#rules) {
      await this.#remove(result, `rule ${describeRule(rule)}`, () =>
        this.#netlink.deleteRule(ruleSpec(rule)),
      );
    }
    for (const route of this.#routes) {
      await this.#remove(result, `route ${route.dst}/${route.prefixLength}`, () =>
        this.#netlink.deleteRoute(this.#routeSpec(route, ifindexes)),
      );
    }
    for (const vip of this.#vips) {
      const ifindex = ifindexes.get(vip.dev ?? this.#interface);
      if (ifindex === undefined) continue; // the interface is gone, and its addresses with it
      await this.#removeAddress(result, vip, ifindex);
    }
    this.#logger.info({ applied: result.applied, failed: result.failed.length }, `VIPs ${reason}`);
    return result;
  }

  async #apply(result: ClaimResult, what: string, add: () => Promise<void>): Promise<void> {
    try {
      await add();
      result.applied++;
    } catch (error) {
      if (isNetlinkErrno(error, ALREADY_PRESENT)) {
        result.applied++;
        return;
      }
      // Keep going: one bad entry must not leave the other VIPs of a takeover unclaimed.
      result.failed.push({ what, error: error as Error });
      this.#logger.error({ what, err: error }, 'claiming failed');
    }
  }

  /** Deletes one VIP, announced to the event dispatch first so that its deletion event is known as tandem's. */
  async #removeAddress(result: ClaimResult, vip: VipConfig, ifindex: number): Promise<void> {
    const cancel = this.#events?.expectRemoval(ifindex, vip.address, vip.prefixLength);
    const before = result.applied;
    await this.#remove(result, `address ${vipText(vip)}`, () =>
      this.#netlink.deleteAddress(this.#addressSpec(vip, ifindex)),
    );
    // No deletion happened (already gone, or refused): no event will come for it.
    if (result.applied === before) cancel?.();
  }

  async #remove(result: ClaimResult, what: string, remove: () => Promise<void>): Promise<void> {
    try {
      await remove();
      result.applied++;
    } catch (error) {
      if (isNetlinkErrno(error, NOT_PRESENT)) return;
      result.failed.push({ what, error: error as Error });
      this.#logger.error({ what, err: error }, 'releasing failed');
    }
  }

  #serialize<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(operation, operation);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #ifindexes(): Promise<Map<string, number>> {
    return new Map((await this.#netlink.listLinks()).map((link) => [link.name, link.index]));
  }

  #ifindexOf(dev: string | undefined, ifindexes: Map<string, number>): number {
    const name = dev ?? this.#interface;
    const ifindex = ifindexes.get(name);
    if (ifindex === undefined) {
      throw new VipConfigError(`expected interface ${JSON.stringify(name)} to exist, found none`);
    }
    return ifindex;
  }

  #addressSpec(vip: VipConfig, ifindex: number): AddressSpec {
    const { family, bytes } = parseIp(vip.address);
    const spec: AddressSpec = { ifindex, address: vip.address, prefixLength: vip.prefixLength };
    const scope = parseScope(vip.scope, `VIP ${vipText(vip)}`);
    if (scope !== undefined) spec.scope = scope;
    if (vip.peer !== undefined) spec.peer = vip.peer;
    if (vip.home === true) spec.home = true;
    if (vip.manageTempAddress === true) spec.manageTempAddress = true;
    if (vip.noPrefixRoute === true) spec.noPrefixRoute = true;
    if (family === 6) {
      // keepalived adds IPv6 VIPs with nodad (unless `-nodad`): a takeover cannot wait a second for DAD, and
      // the old MASTER may still hold the address for a moment.
      spec.nodad = vip.nodad ?? true;
      // keepalived: a /128 VIP is deprecated (preferred lifetime 0, RFC 3484) so that it is not chosen as a
      // source address (health checks from the VIP would follow it); a prefix is preferred for ever.
      const preferred = vip.preferredLifetime ?? (vip.prefixLength === 128 ? 0 : 'forever');
      if (preferred !== 'forever') spec.preferredLifetime = preferred;
      return spec;
    }
    if (vip.label !== undefined) spec.label = vip.label;
    if (vip.brd === '+') spec.broadcast = formatIPv4(ipv4Broadcast(bytes, vip.prefixLength));
    else if (vip.brd === '-') spec.broadcast = formatIPv4(ipv4Network(bytes, vip.prefixLength));
    else if (vip.brd !== undefined) spec.broadcast = vip.brd;
    return spec;
  }

  #routeSpec(route: VirtualRouteConfig, ifindexes: Map<string, number>): RouteSpec {
    const spec: RouteSpec = { dst: route.dst, prefixLength: route.prefixLength };
    if (route.via !== undefined) spec.via = route.via;
    if (route.src !== undefined) spec.src = route.src;
    if (route.table !== undefined) spec.table = route.table;
    if (route.metric !== undefined) spec.metric = route.metric;
    if (route.type !== undefined) spec.type = route.type;
    if (route.onlink !== undefined) spec.onlink = route.onlink;
    const scope = parseScope(route.scope, `route ${route.dst}/${route.prefixLength}`);
    if (scope !== undefined) spec.scope = scope;
    // Blackhole-like routes have no device; every other route goes out of `dev` or the instance's interface.
    const needsDevice = route.type === undefined || route.type === 'unicast' || route.type === 'local';
    if (route.dev !== undefined || needsDevice) {
      // While validating (no links known yet) only the shape matters.
      if (ifindexes.size > 0) spec.ifindex = this.#ifindexOf(route.dev, ifindexes);
    }
    parseIp(route.dst);
    return spec;
  }
}

function ruleFamily(rule: VirtualRuleConfig): Family {
  const families = [rule.from, rule.to]
    .filter((prefix) => prefix !== undefined)
    .map((prefix) => parseIp(prefix.address).family);
  const family = rule.family ?? families[0];
  if (family === undefined) {
    throw new VipConfigError(`expected a family for rule ${describeRule(rule)} (no from/to), found none`);
  }
  if (families.some((other) => other !== family)) {
    throw new VipConfigError(`expected one address family in rule ${describeRule(rule)}, found both`);
  }
  return family;
}

function ruleSpec(rule: VirtualRuleConfig): RuleSpec {
  return { ...rule, family: ruleFamily(rule) };
}

function describeRule(rule: VirtualRuleConfig): string {
  const parts: string[] = [];
  if (rule.from) parts.push(`from ${rule.from.address}/${rule.from.prefixLength}`);
  if (rule.to) parts.push(`to ${rule.to.address}/${rule.to.prefixLength}`);
  if (rule.fwmark !== undefined) parts.push(`fwmark ${rule.fwmark}`);
  if (rule.table !== undefined) parts.push(`table ${rule.table}`);
  if (rule.priority !== undefined) parts.push(`priority ${rule.priority}`);
  return parts.join(' ') || '(any)';
}

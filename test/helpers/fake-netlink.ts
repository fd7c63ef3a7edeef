/**
 * An in-memory kernel for tests that need rtnetlink without root: links, addresses, routes and rules kept in
 * maps, every write recorded as one line in `operations`, failures on demand, and link/address events
 * delivered to every subscriber as the kernel would (an add is RTM_NEWADDR, a delete RTM_DELADDR).
 *
 * The daemon conformance harness runs the whole agent on it; unit tests of the VIP manager and the link watcher
 * use it too.
 */
import {
  type AddressInfo,
  type AddressSpec,
  type LinkInfo,
  NetlinkError,
  type NetlinkEvent,
  type RouteInfo,
  type RouteSpec,
  type RtNetlink,
  type RuleInfo,
  type RuleSpec,
  type SubscribeOptions,
} from '../../src/actions/netlink.js';
import { canonicalAddress } from '../../src/vrrp/address.js';

export function fakeLink(name: string, index: number, overrides: Partial<LinkInfo> = {}): LinkInfo {
  const mac = `02:00:00:00:00:${index.toString(16).padStart(2, '0')}`;
  return { name, index, mac, up: true, lowerUp: true, operstate: 'up', ...overrides };
}

type Operation =
  | 'addAddress'
  | 'deleteAddress'
  | 'addRoute'
  | 'deleteRoute'
  | 'addRule'
  | 'deleteRule'
  | 'listAddresses'
  | 'listLinks';

function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

function addressKey(ifindex: number, address: string, prefixLength: number): string {
  return `${ifindex} ${canonicalAddress(address) ?? address}/${prefixLength}`;
}

function rejected(operation: string, errno: string): NetlinkError {
  return new NetlinkError(operation, new Error(`Request rejected: ${errno}`));
}

export class FakeNetlink implements RtNetlink {
  readonly links = new Map<number, LinkInfo>();
  readonly addresses = new Map<string, AddressInfo>();
  readonly routes = new Map<string, RouteSpec>();
  readonly rules = new Map<string, RuleSpec>();
  /** Every write, in order: `add 192.0.2.100/24 dev eth0`, `del route 198.51.100.0/24`, ... */
  readonly operations: string[] = [];
  /** Operations that fail, by name, with the errno the kernel would give (consumed per failure when counted). */
  readonly failures = new Map<Operation, { errno: string; times: number; match?: string }>();
  readonly subscribers = new Set<SubscribeOptions>();
  /** Subscriptions opened so far (one per process is the rule). */
  subscriptions = 0;
  closed = false;

  constructor(links: readonly LinkInfo[] = []) {
    for (const link of links) this.links.set(link.index, { ...link });
  }

  /** Makes the next `times` calls of `operation` (whose description contains `match`) fail with `errno`. */
  fail(operation: Operation, errno: string, times = 1, match?: string): void {
    this.failures.set(operation, { errno, times, ...(match !== undefined ? { match } : {}) });
  }

  private check(operation: Operation, description: string): void {
    const failure = this.failures.get(operation);
    if (!failure || (failure.match !== undefined && !description.includes(failure.match))) return;
    failure.times--;
    if (failure.times <= 0) this.failures.delete(operation);
    throw rejected(description, failure.errno);
  }

  private nameOf(ifindex: number | undefined): string {
    return ifindex === undefined ? '-' : (this.links.get(ifindex)?.name ?? `#${ifindex}`);
  }

  async listLinks(): Promise<LinkInfo[]> {
    this.check('listLinks', 'listing links');
    return [...this.links.values()].map((link) => ({ ...link }));
  }

  async linkByName(name: string): Promise<LinkInfo> {
    const link = [...this.links.values()].find((candidate) => candidate.name === name);
    if (!link) throw new NetlinkError(`finding ${name}`, new Error('Request rejected: ENODEV'));
    return { ...link };
  }

  async listAddresses(filter: { ifindex?: number; family?: 4 | 6 } = {}): Promise<AddressInfo[]> {
    this.check('listAddresses', 'listing addresses');
    return [...this.addresses.values()]
      .filter((address) => filter.ifindex === undefined || address.ifindex === filter.ifindex)
      .filter((address) => filter.family === undefined || address.family === filter.family)
      .map((address) => ({ ...address }));
  }

  async addAddress(spec: AddressSpec): Promise<void> {
    const description = `add ${spec.address}/${spec.prefixLength} dev ${this.nameOf(spec.ifindex)}`;
    this.check('addAddress', description);
    const key = addressKey(spec.ifindex, spec.address, spec.prefixLength);
    if (this.addresses.has(key)) throw rejected(description, 'EEXIST');
    if (!this.links.has(spec.ifindex)) throw rejected(description, 'ENODEV');
    this.operations.push(description);
    const info: AddressInfo = {
      ifindex: spec.ifindex,
      family: familyOf(spec.address),
      address: canonicalAddress(spec.address) ?? spec.address,
      prefixLength: spec.prefixLength,
      scope: 0,
      secondary: false,
      tentative: false,
      nodad: spec.nodad === true,
      ...(spec.label !== undefined ? { label: spec.label } : {}),
    };
    this.addresses.set(key, info);
    this.emit({ kind: 'address', action: 'new', address: { ...info } });
  }

  async deleteAddress(spec: AddressSpec): Promise<void> {
    const description = `del ${spec.address}/${spec.prefixLength} dev ${this.nameOf(spec.ifindex)}`;
    this.check('deleteAddress', description);
    const key = addressKey(spec.ifindex, spec.address, spec.prefixLength);
    const info = this.addresses.get(key);
    if (!info) throw rejected(description, 'EADDRNOTAVAIL');
    this.operations.push(description);
    this.addresses.delete(key);
    this.emit({ kind: 'address', action: 'del', address: { ...info } });
  }

  async listRoutes(): Promise<RouteInfo[]> {
    return [...this.routes.values()].map((route) => ({
      family: familyOf(route.dst),
      dst: route.dst,
      prefixLength: route.prefixLength,
      table: route.table ?? 254,
      scope: 0,
      type: 1,
      ...(route.via !== undefined ? { via: route.via } : {}),
      ...(route.ifindex !== undefined ? { ifindex: route.ifindex } : {}),
    }));
  }

  private routeKey(spec: RouteSpec): string {
    return `${spec.dst}/${spec.prefixLength} table ${spec.table ?? 254}`;
  }

  async addRoute(spec: RouteSpec): Promise<void> {
    const description = `add route ${this.routeKey(spec)}${spec.via ? ` via ${spec.via}` : ''} dev ${this.nameOf(spec.ifindex)}`;
    this.check('addRoute', description);
    if (this.routes.has(this.routeKey(spec))) throw rejected(description, 'EEXIST');
    this.operations.push(description);
    this.routes.set(this.routeKey(spec), spec);
  }

  async deleteRoute(spec: RouteSpec): Promise<void> {
    const description = `del route ${this.routeKey(spec)}`;
    this.check('deleteRoute', description);
    if (!this.routes.delete(this.routeKey(spec))) throw rejected(description, 'ESRCH');
    this.operations.push(description);
  }

  async listRules(): Promise<RuleInfo[]> {
    return [...this.rules.values()].map((rule) => ({
      family: rule.family,
      table: rule.table ?? 254,
      action: 1,
      ...(rule.from ? { from: rule.from } : {}),
      ...(rule.to ? { to: rule.to } : {}),
      ...(rule.priority !== undefined ? { priority: rule.priority } : {}),
    }));
  }

  private ruleKey(spec: RuleSpec): string {
    const from = spec.from ? ` from ${spec.from.address}/${spec.from.prefixLength}` : '';
    const to = spec.to ? ` to ${spec.to.address}/${spec.to.prefixLength}` : '';
    return `${from}${to} table ${spec.table ?? '-'}`.trim();
  }

  async addRule(spec: RuleSpec): Promise<void> {
    const description = `add rule ${this.ruleKey(spec)}`;
    this.check('addRule', description);
    if (this.rules.has(this.ruleKey(spec))) throw rejected(description, 'EEXIST');
    this.operations.push(description);
    this.rules.set(this.ruleKey(spec), spec);
  }

  async deleteRule(spec: RuleSpec): Promise<void> {
    const description = `del rule ${this.ruleKey(spec)}`;
    this.check('deleteRule', description);
    if (!this.rules.delete(this.ruleKey(spec))) throw rejected(description, 'ENOENT');
    this.operations.push(description);
  }

  subscribe(options: SubscribeOptions) {
    this.subscriptions++;
    this.subscribers.add(options);
    return { close: () => this.subscribers.delete(options) };
  }

  close(): void {
    this.closed = true;
  }

  emit(event: NetlinkEvent): void {
    for (const subscriber of [...this.subscribers]) subscriber.onEvent(event);
  }

  /** The kernel dropped events (ENOBUFS). */
  loseEvents(): void {
    for (const subscriber of [...this.subscribers]) subscriber.onError?.(new Error('ENOBUFS'));
  }

  // ---- What happens outside tandem ----

  /** A link appears, changes (up/down, rename) or is re-created under another index. */
  setLink(link: LinkInfo): void {
    for (const [index, existing] of this.links) {
      // A re-created interface: the old index is gone (with its addresses).
      if (existing.name === link.name && index !== link.index) this.removeLink(index);
    }
    this.links.set(link.index, { ...link });
    this.emit({ kind: 'link', action: 'new', link: { ...link } });
  }

  removeLink(index: number): void {
    const link = this.links.get(index);
    if (!link) return;
    this.links.delete(index);
    for (const [key, address] of this.addresses) if (address.ifindex === index) this.addresses.delete(key);
    this.emit({ kind: 'link', action: 'del', link: { ...link } });
  }

  /** An address added by someone else (an administrator, DHCP, the boot scripts). */
  putAddress(ifindex: number, text: string, options: Partial<AddressInfo> = {}): void {
    const [address, prefix] = text.split('/');
    const family = familyOf(address as string);
    const info: AddressInfo = {
      ifindex,
      family,
      address: canonicalAddress(address as string) ?? (address as string),
      prefixLength: Number(prefix ?? (family === 4 ? 32 : 128)),
      scope: 0,
      secondary: false,
      tentative: false,
      nodad: false,
      ...options,
    };
    this.addresses.set(addressKey(ifindex, info.address, info.prefixLength), info);
    this.emit({ kind: 'address', action: 'new', address: { ...info } });
  }

  /** An address removed by someone else. */
  dropAddress(ifindex: number, text: string): void {
    const [address, prefix] = text.split('/');
    const key = addressKey(ifindex, address as string, Number(prefix));
    const info = this.addresses.get(key);
    if (!info) throw new Error(`no address ${text} on #${ifindex} to drop`);
    this.addresses.delete(key);
    this.emit({ kind: 'address', action: 'del', address: { ...info } });
  }

  /** The addresses on the interface named `name`, as `ADDR/PREFIX`, sorted. */
  addressesOn(name: string): string[] {
    const link = [...this.links.values()].find((candidate) => candidate.name === name);
    if (!link) return [];
    return [...this.addresses.values()]
      .filter((address) => address.ifindex === link.index)
      .map((address) => `${address.address}/${address.prefixLength}`)
      .sort();
  }
}

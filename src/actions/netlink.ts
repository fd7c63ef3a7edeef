/**
 * The one adapter around the `netlink` package (rtnetlink): links, addresses, routes, rules and link/address
 * events, in tandem's own plain types (text addresses, names for scopes and route types). Nothing else in
 * tandem imports `netlink`; everything else takes the `RtNetlink` interface so tests can fake it.
 *
 * The package (pinned, see package.json) covers everything needed here, so there is no iproute2 fallback.
 * Two gaps are worked around inside this file:
 * - its request errors are plain `Error('Request rejected: EEXIST')`; `NetlinkError` parses the errno name
 *   back out so callers can tell "already there" from a real failure;
 * - its high-level `message` event drops the message type (new vs. deleted), so events are read from the
 *   underlying socket and parsed with the package's own parsers.
 *
 * Every call acts on the network namespace of the calling process.
 */
import { createRequire } from 'node:module';
import type { rt as rtTypes, ifla as iflaTypes, NetlinkMessage, RtNetlinkSocket } from 'netlink';
import { TandemError } from '../errors.js';
import type { Family } from '../vrrp/address.js';
import { formatIp, formatMac, parseIp, parseMac } from './inet.js';

// Loaded with require(), not import: importing a CommonJS package from ESM makes Node lex its sources for named
// exports, at every start (issue 11). And only the rtnetlink part: the package's index also loads its generic
// netlink, nl80211 and WireGuard modules, which tandem never uses and which cost about a third of its load time.
// The package is pinned (package.json) and has no `exports` map, so these paths are part of what is pinned.
const requireNetlink = createRequire(import.meta.url);
const { createRtNetlink } = requireNetlink('netlink/dist/rt/rt') as typeof import('netlink');
const rt = requireNetlink('netlink/dist/rt/structs') as typeof import('netlink').rt;
const { FlagsNew } = requireNetlink('netlink/dist/constants') as typeof import('netlink');
const { AttrStream } = requireNetlink('netlink/dist/structs') as typeof import('netlink');
const ifla = requireNetlink('netlink/dist/rt/ifla') as typeof import('netlink').ifla;

const AF_INET = 2;
const AF_INET6 = 10;

// linux/rtnetlink.h message types.
const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;

/** linux/rtnetlink.h RT_TABLE_MAIN: the table `ip route` uses when none is named. */
export const MAIN_TABLE = 254;
/** rtm_table is one byte; larger table ids travel only in the RTA_TABLE / FRA_TABLE attribute. */
const MAX_SHORT_TABLE = 255;
/** RTPROT_BOOT, what `ip route add` and `ip rule add` mark their entries with. */
const PROTOCOL_BOOT = 3;
/** SO_RCVBUF of the event socket: room for a burst of address events (a flush of hundreds of VIPs). */
const EVENT_RECEIVE_BUFFER_BYTES = 1 << 20;
/** Keep requests from hanging forever if the kernel never answers (it always should). */
const REQUEST_TIMEOUT_MS = 5000;

/** RFC 2863 operational states, as IFLA_OPERSTATE numbers them (linux/if.h IF_OPER_*). */
const OPERSTATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'] as const;
export type OperState = (typeof OPERSTATES)[number];

/** Address and route scopes (linux/rtnetlink.h RT_SCOPE_*), with the names `ip` prints. */
const SCOPES = { global: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;
export type ScopeName = keyof typeof SCOPES;

export type RouteType = 'unicast' | 'local' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw';
const ROUTE_TYPES: Record<RouteType, number> = {
  unicast: 1,
  local: 2,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
  throw: 9,
};

export type RuleAction = 'table' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';
const RULE_ACTIONS: Record<RuleAction, number> = {
  table: 1,
  goto: 2,
  nop: 3,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
};

export class NetlinkError extends TandemError {
  /** The kernel's errno name (EEXIST, EADDRNOTAVAIL, ...) when the kernel rejected the request. */
  readonly errno: string | undefined;

  constructor(operation: string, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    const errno = /Request rejected: (E[A-Z0-9]+)/.exec(message)?.[1];
    super('TANDEM_ENETLINK', `${operation}: expected the kernel to accept it, found ${message}`, { cause });
    this.errno = errno;
  }
}

export class InvalidNetlinkRequestError extends TandemError {
  constructor(message: string) {
    super('TANDEM_ENETLINKREQ', message);
  }
}

export interface LinkInfo {
  name: string;
  index: number;
  /** Hardware address as aa:bb:cc:dd:ee:ff ('' when the link has none). */
  mac: string;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** IFF_LOWER_UP: carrier present. */
  lowerUp: boolean;
  operstate: OperState;
}

export interface AddressInfo {
  ifindex: number;
  family: Family;
  address: string;
  prefixLength: number;
  label?: string;
  scope: number;
  broadcast?: string;
  secondary: boolean;
  tentative: boolean;
  nodad: boolean;
}

export interface AddressSpec {
  ifindex: number;
  address: string;
  prefixLength: number;
  /** IPv4 only: the kernel keeps no label for IPv6 addresses. */
  label?: string;
  scope?: ScopeName | number;
  /** IPv4 only: explicit broadcast address. */
  broadcast?: string;
  /** IPv6 only: skip duplicate address detection, so the VIP is usable at once (keepalived does the same). */
  nodad?: boolean;
  /** Point-to-point peer (IFA_ADDRESS; the address itself is IFA_LOCAL); `prefixLength` is the peer's. */
  peer?: string;
  /** IPv6 only: preferred lifetime in seconds (0: deprecated, RFC 4862 §5.5.4); forever when absent. */
  preferredLifetime?: number;
  /** IFA_F_HOMEADDRESS (Mobile IPv6). */
  home?: boolean;
  /** IFA_F_MANAGETEMPADDR: the kernel makes privacy addresses from this prefix. */
  manageTempAddress?: boolean;
  /** IFA_F_NOPREFIXROUTE: no route for the address's prefix. */
  noPrefixRoute?: boolean;
}

/** ip-address(8)'s "forever": the 32-bit lifetime that never expires. */
const INFINITE_LIFETIME = 0xffffffff;

export interface RouteSpec {
  /** Destination network address; 0.0.0.0 or :: with prefix 0 for a default route. */
  dst: string;
  prefixLength: number;
  via?: string;
  ifindex?: number;
  src?: string;
  table?: number;
  metric?: number;
  scope?: ScopeName | number;
  type?: RouteType;
  onlink?: boolean;
}

export interface RouteInfo {
  family: Family;
  dst: string;
  prefixLength: number;
  via?: string;
  ifindex?: number;
  src?: string;
  table: number;
  metric?: number;
  scope: number;
  type: number;
}

export interface RulePrefix {
  address: string;
  prefixLength: number;
}

export interface RuleSpec {
  family: Family;
  from?: RulePrefix;
  to?: RulePrefix;
  table?: number;
  priority?: number;
  fwmark?: number;
  fwmask?: number;
  iif?: string;
  oif?: string;
  tos?: number;
  action?: RuleAction;
  /** Target priority for action 'goto'. */
  goto?: number;
  invert?: boolean;
}

export interface RuleInfo {
  family: Family;
  from?: RulePrefix;
  to?: RulePrefix;
  table: number;
  priority?: number;
  fwmark?: number;
  iif?: string;
  oif?: string;
  action: number;
}

export type NetlinkEvent =
  | { kind: 'link'; action: 'new' | 'del'; link: LinkInfo }
  | { kind: 'address'; action: 'new' | 'del'; address: AddressInfo };

export interface NetlinkSubscription {
  close(): void;
}

export interface SubscribeOptions {
  /** Called for each link or address change. */
  onEvent(event: NetlinkEvent): void;
  /**
   * Called when the event socket fails, typically ENOBUFS: the kernel dropped events because we read too
   * slowly. State may have changed unseen, so the subscriber must re-read what it depends on.
   */
  onError?(error: Error): void;
  /** Keep the event loop alive while subscribed (default false: other sockets keep a daemon alive). */
  ref?: boolean;
}

/** What the rest of tandem needs from rtnetlink. */
export interface RtNetlink {
  listLinks(): Promise<LinkInfo[]>;
  linkByName(name: string): Promise<LinkInfo>;
  listAddresses(filter?: { ifindex?: number; family?: Family }): Promise<AddressInfo[]>;
  addAddress(spec: AddressSpec): Promise<void>;
  deleteAddress(spec: AddressSpec): Promise<void>;
  listRoutes(filter?: { family?: Family; table?: number }): Promise<RouteInfo[]>;
  addRoute(spec: RouteSpec): Promise<void>;
  deleteRoute(spec: RouteSpec): Promise<void>;
  listRules(filter?: { family?: Family }): Promise<RuleInfo[]>;
  addRule(spec: RuleSpec): Promise<void>;
  deleteRule(spec: RuleSpec): Promise<void>;
  subscribe(options: SubscribeOptions): NetlinkSubscription;
  close(): void;
  /**
   * Link management for VMACs (use_vmac); optional, so a fake without it reports VMACs as unsupported. Creates a
   * macvlan in private mode on `parent` with `mac`, without an automatic IPv6 link-local address, and up.
   */
  createMacvlan?(spec: MacvlanSpec): Promise<LinkInfo>;
  deleteLink?(ifindex: number): Promise<void>;
}

export interface MacvlanSpec {
  name: string;
  parentIndex: number;
  mac: string;
}

/** linux/if_link.h: MACVLAN_MODE_PRIVATE, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE. */
const MACVLAN_MODE_PRIVATE = 1;
const IFLA_INET6_ADDR_GEN_MODE = 8;
const IN6_ADDR_GEN_MODE_NONE = 1;

/** The bytes of a nested attribute stream the package builds (formatInfo, formatMacvlan, ...). */
function streamBytes(data: Parameters<InstanceType<typeof AttrStream>['emit']>[0]): Buffer {
  const stream = new AttrStream();
  stream.emit(data);
  return Buffer.concat(stream.bufs);
}

function familyNumber(family: Family): number {
  return family === 4 ? AF_INET : AF_INET6;
}

function familyOf(number: number | undefined): Family | undefined {
  if (number === AF_INET) return 4;
  if (number === AF_INET6) return 6;
  return undefined;
}

function scopeNumber(scope: ScopeName | number): number {
  if (typeof scope === 'number') return scope;
  const value = SCOPES[scope];
  if (value === undefined) {
    throw new InvalidNetlinkRequestError(
      `expected a scope (${Object.keys(SCOPES).join(', ')} or a number), found ${JSON.stringify(scope)}`,
    );
  }
  return value;
}

function bytesOf(address: string, family: Family, what: string): Buffer {
  const parsed = parseIp(address);
  if (parsed.family !== family) {
    throw new InvalidNetlinkRequestError(
      `expected ${what} to be an IPv${family} address, found ${JSON.stringify(address)}`,
    );
  }
  return Buffer.from(parsed.bytes);
}

function checkPrefixLength(prefixLength: number, family: Family, what: string): void {
  const max = family === 4 ? 32 : 128;
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > max) {
    throw new InvalidNetlinkRequestError(`expected ${what} prefix length 0..${max}, found ${prefixLength}`);
  }
}

function toLinkInfo(message: { data: rtTypes.Link; attrs: iflaTypes.LinkAttrs }): LinkInfo {
  const flags = message.data.flags ?? {};
  return {
    name: message.attrs.ifname ?? '',
    index: message.data.index ?? 0,
    mac: message.attrs.address ? formatMac(message.attrs.address) : '',
    up: flags.up === true,
    lowerUp: flags.lowerUp === true,
    operstate: OPERSTATES[message.attrs.operstate ?? 0] ?? 'unknown',
  };
}

function toAddressInfo(message: {
  data: rtTypes.Address;
  attrs: rtTypes.AddressAttrs;
}): AddressInfo | undefined {
  const family = familyOf(message.data.family);
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links.
  const bytes = message.attrs.local ?? message.attrs.address;
  if (family === undefined || bytes === undefined) return undefined;
  const flags = { ...message.data.flags, ...message.attrs.flags };
  const info: AddressInfo = {
    ifindex: message.data.index ?? 0,
    family,
    address: formatIp(bytes),
    prefixLength: message.data.prefixlen ?? 0,
    scope: message.data.scope ?? 0,
    secondary: flags.secondary === true,
    tentative: flags.tentative === true,
    nodad: flags.nodad === true,
  };
  if (message.attrs.label !== undefined) info.label = message.attrs.label;
  if (message.attrs.broadcast !== undefined) info.broadcast = formatIp(message.attrs.broadcast);
  return info;
}

function prefixOf(bytes: Buffer | undefined, length: number | undefined): RulePrefix | undefined {
  if (bytes === undefined) return undefined;
  return { address: formatIp(bytes), prefixLength: length ?? 0 };
}

export class NetlinkAdapter implements RtNetlink {
  readonly #socket: RtNetlinkSocket;

  private constructor(socket: RtNetlinkSocket) {
    this.#socket = socket;
  }

  /** Opens an rtnetlink socket in the calling process's network namespace. */
  static open(): NetlinkAdapter {
    try {
      return new NetlinkAdapter(createRtNetlink());
    } catch (error) {
      throw new NetlinkError('opening an rtnetlink socket', error);
    }
  }

  /** The request in flight; requests wait for it (see `#call`). */
  #tail: Promise<unknown> = Promise.resolve();

  /**
   * One request at a time on the socket: the netlink package matches replies to requests by sequence number,
   * but two dumps in flight interleave their multipart replies and it fails with "Multipart message not
   * terminated properly" (seen with two instances claiming VIPs while the link watcher re-listed links).
   */
  async #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const turn = this.#tail.then(run, run);
    this.#tail = turn.catch(() => undefined);
    try {
      return await turn;
    } catch (error) {
      throw new NetlinkError(operation, error);
    }
  }

  async listLinks(): Promise<LinkInfo[]> {
    const links = await this.#call('listing links', () =>
      this.#socket.getLinks(undefined, undefined, { timeout: REQUEST_TIMEOUT_MS }),
    );
    return links.map(toLinkInfo);
  }

  async linkByName(name: string): Promise<LinkInfo> {
    const link = (await this.listLinks()).find((candidate) => candidate.name === name);
    if (link === undefined) {
      throw new InvalidNetlinkRequestError(`expected an interface named ${JSON.stringify(name)}, found none`);
    }
    return link;
  }

  async createMacvlan(spec: MacvlanSpec): Promise<LinkInfo> {
    const linkinfo = streamBytes(
      ifla.formatInfo({
        kind: 'macvlan',
        data: streamBytes(ifla.formatMacvlan({ mode: MACVLAN_MODE_PRIVATE })),
      }),
    );
    const parent = Buffer.alloc(4);
    parent.writeUInt32LE(spec.parentIndex);
    await this.#call(`creating macvlan ${spec.name}`, () =>
      this.#socket.newLink(
        {},
        { ifname: spec.name, link: parent, address: Buffer.from(parseMac(spec.mac)), linkinfo },
        { flags: FlagsNew.CREATE | FlagsNew.EXCL, timeout: REQUEST_TIMEOUT_MS },
      ),
    );
    const created = await this.linkByName(spec.name);
    // RFC 5798 §7.4 wants no address made from the virtual MAC: no automatic link-local (the kernel takes
    // IFLA_AF_SPEC only on an existing link), then up.
    const inet6 = streamBytes((out) =>
      out.push(IFLA_INET6_ADDR_GEN_MODE, Buffer.from([IN6_ADDR_GEN_MODE_NONE])),
    );
    await this.#call(`setting addrgenmode none on ${spec.name}`, () =>
      this.#socket.setLink(
        { index: created.index },
        { afSpec: new Map([[AF_INET6, inet6]]) },
        { timeout: REQUEST_TIMEOUT_MS },
      ),
    );
    await this.#call(`setting ${spec.name} up`, () =>
      this.#socket.setLink({ index: created.index, flags: { up: true }, change: { up: true } }, undefined, {
        timeout: REQUEST_TIMEOUT_MS,
      }),
    );
    return this.linkByName(spec.name);
  }

  async deleteLink(ifindex: number): Promise<void> {
    await this.#call(`deleting ifindex ${ifindex}`, () =>
      this.#socket.delLink({ index: ifindex }, undefined, { timeout: REQUEST_TIMEOUT_MS }),
    );
  }

  async listAddresses(filter: { ifindex?: number; family?: Family } = {}): Promise<AddressInfo[]> {
    const request: rtTypes.Address =
      filter.family === undefined ? {} : { family: familyNumber(filter.family) };
    const messages = await this.#call('listing addresses', () =>
      this.#socket.getAddresses(request, undefined, { timeout: REQUEST_TIMEOUT_MS }),
    );
    return messages
      .map(toAddressInfo)
      .filter((info): info is AddressInfo => info !== undefined)
      .filter((info) => filter.ifindex === undefined || info.ifindex === filter.ifindex);
  }

  #addressMessage(spec: AddressSpec): { data: rtTypes.Address; attrs: rtTypes.AddressAttrs } {
    const { family } = parseIp(spec.address);
    checkPrefixLength(spec.prefixLength, family, 'an address');
    const bytes = bytesOf(spec.address, family, 'the address');
    const data: rtTypes.Address = {
      family: familyNumber(family),
      prefixlen: spec.prefixLength,
      index: spec.ifindex,
      scope: scopeNumber(spec.scope ?? 'global'),
    };
    const flags: rtTypes.AddressFlags = {};
    if (spec.nodad === true && family === 6) flags.nodad = true;
    if (spec.home === true) flags.homeaddress = true;
    if (spec.manageTempAddress === true) flags.managetempaddr = true;
    if (spec.noPrefixRoute === true) flags.noprefixroute = true;
    const peer = spec.peer === undefined ? bytes : bytesOf(spec.peer, family, 'the peer address');
    const attrs: rtTypes.AddressAttrs = { local: bytes, address: peer };
    if (Object.keys(flags).length > 0) {
      // ifa_flags has 8 bits; IFA_FLAGS (32 bits) carries managetempaddr and noprefixroute, and wins when present.
      data.flags = {
        ...(flags.nodad ? { nodad: true } : {}),
        ...(flags.homeaddress ? { homeaddress: true } : {}),
      };
      attrs.flags = flags;
    }
    if (spec.preferredLifetime !== undefined && family === 6)
      attrs.cacheInfo = {
        ifaPrefered: spec.preferredLifetime,
        ifaValid: INFINITE_LIFETIME,
        cstamp: 0,
        tstamp: 0,
      };
    if (family === 4) {
      if (spec.label !== undefined) attrs.label = spec.label;
      if (spec.broadcast !== undefined) attrs.broadcast = bytesOf(spec.broadcast, 4, 'the broadcast address');
    }
    return { data, attrs };
  }

  async addAddress(spec: AddressSpec): Promise<void> {
    const { data, attrs } = this.#addressMessage(spec);
    await this.#call(`adding ${spec.address}/${spec.prefixLength} to ifindex ${spec.ifindex}`, () =>
      this.#socket.newAddress(data, attrs, {
        flags: FlagsNew.CREATE | FlagsNew.EXCL,
        timeout: REQUEST_TIMEOUT_MS,
      }),
    );
  }

  async deleteAddress(spec: AddressSpec): Promise<void> {
    const { data, attrs } = this.#addressMessage(spec);
    // The kernel matches on the address (and peer) itself; scope, broadcast, flags and lifetimes must not
    // narrow the match.
    delete data.scope;
    delete data.flags;
    delete attrs.broadcast;
    delete attrs.flags;
    delete attrs.cacheInfo;
    await this.#call(`deleting ${spec.address}/${spec.prefixLength} from ifindex ${spec.ifindex}`, () =>
      this.#socket.delAddress(data, attrs, { timeout: REQUEST_TIMEOUT_MS }),
    );
  }

  async listRoutes(filter: { family?: Family; table?: number } = {}): Promise<RouteInfo[]> {
    const request: rtTypes.Route = filter.family === undefined ? {} : { family: familyNumber(filter.family) };
    const messages = await this.#call('listing routes', () =>
      this.#socket.getRoutes(request, undefined, { timeout: REQUEST_TIMEOUT_MS }),
    );
    const routes: RouteInfo[] = [];
    for (const { data, attrs } of messages) {
      const family = familyOf(data.family);
      if (family === undefined) continue;
      const table = attrs.table ?? data.table ?? 0;
      if (filter.table !== undefined && table !== filter.table) continue;
      const route: RouteInfo = {
        family,
        dst: attrs.dst ? formatIp(attrs.dst) : family === 4 ? '0.0.0.0' : '::',
        prefixLength: data.dstLen ?? 0,
        table,
        scope: typeof data.scope === 'number' ? data.scope : rt.RouteScope[data.scope ?? 'UNIVERSE'],
        type: typeof data.type === 'number' ? data.type : rt.RouteType[data.type ?? 'UNSPEC'],
      };
      if (attrs.gateway) route.via = formatIp(attrs.gateway);
      if (attrs.oif !== undefined) route.ifindex = attrs.oif;
      if (attrs.prefsrc) route.src = formatIp(attrs.prefsrc);
      if (attrs.priority !== undefined) route.metric = attrs.priority;
      routes.push(route);
    }
    return routes;
  }

  #routeMessage(spec: RouteSpec, forDelete: boolean): { data: rtTypes.Route; attrs: rtTypes.RouteAttrs } {
    const { family } = parseIp(spec.dst);
    checkPrefixLength(spec.prefixLength, family, 'a route destination');
    const type = spec.type ?? 'unicast';
    const typeNumber = ROUTE_TYPES[type];
    if (typeNumber === undefined) {
      throw new InvalidNetlinkRequestError(
        `expected a route type (${Object.keys(ROUTE_TYPES).join(', ')}), found ${JSON.stringify(type)}`,
      );
    }
    const table = spec.table ?? MAIN_TABLE;
    // The scope `ip route` picks when none is given: host for local routes, link for a unicast route with no
    // gateway (the destination is on the link), universe otherwise; on delete, "nowhere" matches any scope.
    let scope: number;
    if (spec.scope !== undefined) scope = scopeNumber(spec.scope);
    else if (forDelete) scope = SCOPES.nowhere;
    else if (type === 'local') scope = SCOPES.host;
    else if (type === 'unicast' && spec.via === undefined) scope = SCOPES.link;
    else scope = SCOPES.global;
    const data: rtTypes.Route = {
      family: familyNumber(family),
      dstLen: spec.prefixLength,
      table: table > MAX_SHORT_TABLE ? 0 : table,
      protocol: PROTOCOL_BOOT,
      scope,
      type: typeNumber,
    };
    const attrs: rtTypes.RouteAttrs = { table };
    if (spec.prefixLength > 0) attrs.dst = bytesOf(spec.dst, family, 'the route destination');
    if (spec.via !== undefined) attrs.gateway = bytesOf(spec.via, family, 'the gateway');
    if (spec.ifindex !== undefined) attrs.oif = spec.ifindex;
    if (spec.src !== undefined) attrs.prefsrc = bytesOf(spec.src, family, 'the route source');
    if (spec.metric !== undefined) attrs.priority = spec.metric;
    if (forDelete) delete data.protocol;
    return { data, attrs };
  }

  async addRoute(spec: RouteSpec): Promise<void> {
    const { data, attrs } = this.#routeMessage(spec, false);
    // RTNH_F_ONLINK travels in rtm_flags; the package's RouteFlags type has no name for it.
    const onlink = spec.onlink === true ? { __unknown: 4 } : undefined;
    if (onlink !== undefined) data.flags = onlink;
    await this.#call(`adding route ${spec.dst}/${spec.prefixLength}`, () =>
      this.#socket.newRoute(data, attrs, {
        flags: FlagsNew.CREATE | FlagsNew.EXCL,
        timeout: REQUEST_TIMEOUT_MS,
      }),
    );
  }

  async deleteRoute(spec: RouteSpec): Promise<void> {
    const { data, attrs } = this.#routeMessage(spec, true);
    await this.#call(`deleting route ${spec.dst}/${spec.prefixLength}`, () =>
      this.#socket.delRoute(data, attrs, { timeout: REQUEST_TIMEOUT_MS }),
    );
  }

  async listRules(filter: { family?: Family } = {}): Promise<RuleInfo[]> {
    const request: rtTypes.Rule = filter.family === undefined ? {} : { family: familyNumber(filter.family) };
    const messages = await this.#call('listing rules', () =>
      this.#socket.getRules(request, undefined, { timeout: REQUEST_TIMEOUT_MS }),
    );
    const rules: RuleInfo[] = [];
    for (const { data, attrs } of messages) {
      const family = familyOf(data.family);
      if (family === undefined) continue;
      const rule: RuleInfo = {
        family,
        table: attrs.table ?? data.table ?? 0,
        action: typeof data.action === 'number' ? data.action : rt.RuleAction[data.action ?? 'unspec'],
      };
      const from = prefixOf(attrs.src, data.srcLen);
      const to = prefixOf(attrs.dst, data.dstLen);
      if (from) rule.from = from;
      if (to) rule.to = to;
      if (attrs.priority !== undefined) rule.priority = attrs.priority;
      if (attrs.fwmark !== undefined) rule.fwmark = attrs.fwmark;
      if (attrs.iifname !== undefined) rule.iif = attrs.iifname;
      if (attrs.oifname !== undefined) rule.oif = attrs.oifname;
      rules.push(rule);
    }
    return rules;
  }

  #ruleMessage(spec: RuleSpec): { data: rtTypes.Rule; attrs: rtTypes.RuleAttrs } {
    const action = spec.action ?? 'table';
    const actionNumber = RULE_ACTIONS[action];
    if (actionNumber === undefined) {
      throw new InvalidNetlinkRequestError(
        `expected a rule action (${Object.keys(RULE_ACTIONS).join(', ')}), found ${JSON.stringify(action)}`,
      );
    }
    if (action === 'table' && spec.table === undefined) {
      throw new InvalidNetlinkRequestError('expected a table for a rule whose action is "table", found none');
    }
    const data: rtTypes.Rule = {
      family: familyNumber(spec.family),
      action: actionNumber,
      table: spec.table !== undefined && spec.table <= MAX_SHORT_TABLE ? spec.table : 0,
    };
    if (spec.tos !== undefined) data.tos = spec.tos;
    if (spec.invert === true) data.flags = { invert: true };
    const attrs: rtTypes.RuleAttrs = {};
    if (spec.table !== undefined) attrs.table = spec.table;
    if (spec.from !== undefined) {
      checkPrefixLength(spec.from.prefixLength, spec.family, 'a rule source');
      data.srcLen = spec.from.prefixLength;
      attrs.src = bytesOf(spec.from.address, spec.family, 'the rule source');
    }
    if (spec.to !== undefined) {
      checkPrefixLength(spec.to.prefixLength, spec.family, 'a rule destination');
      data.dstLen = spec.to.prefixLength;
      attrs.dst = bytesOf(spec.to.address, spec.family, 'the rule destination');
    }
    if (spec.priority !== undefined) attrs.priority = spec.priority;
    if (spec.fwmark !== undefined) attrs.fwmark = spec.fwmark;
    if (spec.fwmask !== undefined) attrs.fwmask = spec.fwmask;
    if (spec.iif !== undefined) attrs.iifname = spec.iif;
    if (spec.oif !== undefined) attrs.oifname = spec.oif;
    if (spec.goto !== undefined) attrs.goto = spec.goto;
    attrs.protocol = PROTOCOL_BOOT;
    return { data, attrs };
  }

  async addRule(spec: RuleSpec): Promise<void> {
    const { data, attrs } = this.#ruleMessage(spec);
    await this.#call('adding rule', () =>
      this.#socket.newRule(data, attrs, {
        flags: FlagsNew.CREATE | FlagsNew.EXCL,
        timeout: REQUEST_TIMEOUT_MS,
      }),
    );
  }

  async deleteRule(spec: RuleSpec): Promise<void> {
    const { data, attrs } = this.#ruleMessage(spec);
    delete attrs.protocol;
    await this.#call('deleting rule', () =>
      this.#socket.delRule(data, attrs, { timeout: REQUEST_TIMEOUT_MS }),
    );
  }

  subscribe(options: SubscribeOptions): NetlinkSubscription {
    // A socket of its own, so that event traffic never interleaves with request replies.
    let socket: RtNetlinkSocket;
    try {
      // A larger receive buffer makes ENOBUFS (events dropped while we were busy) rarer; a send buffer of
      // 0 keeps the kernel default (the package's typings require both fields).
      socket = createRtNetlink({
        ref: options.ref === true,
        recvBufferSize: EVENT_RECEIVE_BUFFER_BYTES,
        sendBufferSize: 0,
      });
      socket.addMembership('LINK');
      socket.addMembership('IPV4_IFADDR');
      socket.addMembership('IPV6_IFADDR');
    } catch (error) {
      throw new NetlinkError('subscribing to link and address events', error);
    }
    const onMessages = (messages: NetlinkMessage[]) => {
      for (const message of messages) {
        const event = parseEvent(message);
        if (event !== undefined) options.onEvent(event);
      }
    };
    const onError = (error: Error) =>
      options.onError?.(new NetlinkError('reading link and address events', error));
    socket.socket.on('message', onMessages);
    socket.socket.on('error', onError);
    return {
      close: () => {
        socket.socket.off('message', onMessages);
        socket.socket.off('error', onError);
        socket.socket.close();
      },
    };
  }

  close(): void {
    this.#socket.socket.close();
  }
}

function parseEvent(message: NetlinkMessage): NetlinkEvent | undefined {
  switch (message.type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      return {
        kind: 'link',
        action: message.type === RTM_NEWLINK ? 'new' : 'del',
        link: toLinkInfo(rt.parseLinkMessage(message.data)),
      };
    case RTM_NEWADDR:
    case RTM_DELADDR: {
      const address = toAddressInfo(rt.parseAddressMessage(message.data));
      if (address === undefined) return undefined;
      return { kind: 'address', action: message.type === RTM_NEWADDR ? 'new' : 'del', address };
    }
    default:
      return undefined;
  }
}

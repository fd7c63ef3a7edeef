/**
 * Pure adapters from one vrrp_instance's configuration to what the rooms take: the state machine's parameters,
 * the advert channel's advert and policy, the VIP manager's entries, the GARP timing. No I/O; a value the
 * actions cannot express is an error here, at start or reload, never halfway through a takeover
 * (docs/architecture.md, "Rooms").
 */
import type { FilteredAddress } from '../actions/accept-filter.js';
import type { GarpTiming } from '../actions/garp.js';
import { defaultVmacName, virtualRouterMac } from '../actions/vmac.js';
import type { VipConfig, VirtualRouteConfig, VirtualRuleConfig } from '../actions/vip.js';
import type {
  HandoverMode,
  VirtualAddress,
  VirtualRoute,
  VirtualRule,
  VrrpInstanceConfig,
} from '../config/schema.js';
import { PRIORITY_OWNER } from '../core/protocol.js';
import { secondsToMicroseconds } from '../core/time.js';
import { TandemError } from '../errors.js';
import { canonicalAddress } from '../vrrp/address.js';
import type { InstanceParameters } from '../vrrp/fsm.js';
import { type VrrpAuth, V2_AUTH_DATA_LENGTH } from '../vrrp/packet.js';

export class RouteConfigError extends TandemError {
  constructor(message: string) {
    super('TANDEM_EROUTE', message);
  }
}

export function vipText(vip: Pick<VirtualAddress, 'address' | 'prefixLength'>): string {
  return `${vip.address}/${vip.prefixLength}`;
}

/** The state machine's parameters; `primaryAddress` is the advert source ('' until the interface has one). */
export function instanceParameters(
  config: VrrpInstanceConfig,
  primaryAddress: string,
  handover: HandoverMode = 'make-before-break',
): InstanceParameters {
  return {
    version: config.version,
    family: config.family,
    vrid: config.vrid,
    priority: config.priority,
    advertIntervalCentiseconds: config.advertIntervalCentiseconds,
    preempt: config.preempt,
    preemptDelayMicroseconds: secondsToMicroseconds(config.preemptDelaySeconds),
    primaryAddress,
    acceptMode: config.acceptMode,
    lowerPriorityNoAdvert: config.lowerPrioNoAdvert,
    higherPrioritySendAdvert: config.higherPrioSendAdvert,
    masterDownAdverts: config.downTimerAdverts,
    handover,
  };
}

/** keepalived advertises the VIPs of the instance's family; virtual_ipaddress_excluded are never advertised. */
export function advertisedAddresses(config: VrrpInstanceConfig): string[] {
  return config.vips
    .filter((vip) => vip.family === config.family)
    .map((vip) => canonicalAddress(vip.address) ?? vip.address);
}

/** Where adverts go: every unicast peer, else the multicast group. */
export function advertDestinations(config: VrrpInstanceConfig): string[] {
  return config.unicastPeers.length > 0
    ? config.unicastPeers.map((peer) => peer.address)
    : [config.mcastDstIp];
}

/**
 * keepalived `unicast_ttl`: the TTL / hop limit of unicast adverts; keepalived ignores it without peers (and
 * says so), so does tandem: multicast adverts keep RFC 5798 §5.1.1.3's 255.
 */
export function advertTtl(config: VrrpInstanceConfig): { unicastTtl?: number } {
  return config.unicastPeers.length > 0 && config.unicastTtl !== undefined
    ? { unicastTtl: config.unicastTtl }
    : {};
}

export function advertAuth(config: VrrpInstanceConfig): VrrpAuth {
  if (config.auth.type === 'none' || config.version === 3) return { type: 'none' };
  // keepalived sends the first eight bytes of a longer auth_pass (RFC 2338 §5.3.10: eight bytes of data).
  const bytes = new TextEncoder().encode(config.auth.password).subarray(0, V2_AUTH_DATA_LENGTH);
  return { type: 'simple', password: new TextDecoder().decode(bytes) };
}

/**
 * The addresses the no_accept filter drops packets to while the instance is MASTER (RFC 5798 §6.4.3): every VIP
 * when accept mode is off, none for the address owner (priority 255), which always accepts (keepalived the same).
 */
export function filteredAddresses(config: VrrpInstanceConfig): FilteredAddress[] {
  if (config.acceptMode || config.priority === PRIORITY_OWNER) return [];
  return allVips(config).map((vip) => ({
    address: vip.address,
    family: vip.family,
    interface: vip.dev ?? config.interface ?? '',
  }));
}

/** The instance's VMAC (use_vmac): its name and MAC (5 configured octets take the VRID as the sixth). */
export function vmacOf(config: VrrpInstanceConfig): { name: string; mac: string } | undefined {
  if (config.useVmac === undefined) return undefined;
  const configured = config.useVmac.mac;
  const mac =
    configured === undefined
      ? virtualRouterMac(config.vrid, config.family)
      : configured.split(':').length === 5
        ? `${configured}:${config.vrid.toString(16).padStart(2, '0')}`
        : configured;
  return { name: config.useVmac.name ?? defaultVmacName(config.vrid), mac };
}

/** Where adverts leave and arrive: the VMAC, unless vmac_xmit_base (or no VMAC): the interface. */
export function advertInterface(config: VrrpInstanceConfig): string | undefined {
  const vmac = vmacOf(config);
  return vmac !== undefined && !config.vmacXmitBase ? vmac.name : config.interface;
}

/** Every address the instance puts on the system: virtual_ipaddress, then virtual_ipaddress_excluded. */
export function allVips(config: VrrpInstanceConfig): VirtualAddress[] {
  return [...config.vips, ...config.excludedVips];
}

export function toVipConfig(vip: VirtualAddress): VipConfig {
  return {
    address: vip.address,
    prefixLength: vip.prefixLength,
    noTrack: vip.noTrack,
    ...(vip.dev !== undefined ? { dev: vip.dev } : {}),
    ...(vip.label !== undefined ? { label: vip.label } : {}),
    ...(vip.scope !== undefined ? { scope: vip.scope } : {}),
    ...(vip.brd !== undefined ? { brd: vip.brd } : {}),
    ...(vip.peer !== undefined ? { peer: vip.peer } : {}),
    ...(vip.preferredLifetime !== undefined ? { preferredLifetime: vip.preferredLifetime } : {}),
    ...(vip.duplicateAddressDetection === true ? { nodad: false } : {}),
    ...(vip.home === true ? { home: true } : {}),
    ...(vip.manageTempAddress === true ? { manageTempAddress: true } : {}),
    ...(vip.noPrefixRoute === true ? { noPrefixRoute: true } : {}),
  };
}

/** keepalived's `virtual_routes` entry as the VIP manager takes it; a CIDR or `default` destination. */
export function toRouteConfig(route: VirtualRoute): VirtualRouteConfig {
  if (route.options.length > 0 || (route.via?.length ?? 0) > 1) {
    throw new RouteConfigError(
      `route '${route.raw}': multipath and extra route options are not supported yet`,
    );
  }
  const [address, prefix] =
    route.destination === 'default'
      ? [route.family === 4 ? '0.0.0.0' : '::', '0']
      : route.destination.split('/');
  const table = numericTable(route.table, `route '${route.raw}'`);
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
    throw new RouteConfigError(`${what}: only numeric tables are supported, found ${table}`);
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
export function toRuleConfig(rule: VirtualRule): VirtualRuleConfig {
  // Never ignore part of a rule silently: what the VIP manager cannot express stops the start, with the entry.
  if ((rule.action !== undefined && rule.action !== 'table') || rule.options.length > 0) {
    throw new RouteConfigError(`rule '${rule.raw}': only from/to/table/preference are supported yet`);
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

/** keepalived's garp_master_* settings as the GARP scheduler takes them. */
export function garpTiming(config: VrrpInstanceConfig): GarpTiming {
  return {
    repeat: config.garp.masterRepeat,
    delayUs: secondsToMicroseconds(config.garp.masterDelaySeconds),
    refreshUs: secondsToMicroseconds(config.garp.masterRefreshSeconds),
    refreshRepeat: config.garp.masterRefreshRepeat,
  };
}

/** The VIPs announced on `interfaceName`: those without `dev` or with it naming the instance's interface. */
export function announcedAddresses(config: VrrpInstanceConfig, interfaceName: string): string[] {
  return allVips(config)
    .filter((vip) => vip.dev === undefined || vip.dev === interfaceName)
    .map((vip) => vip.address);
}

/**
 * The VIPs with a `dev` other than the instance's interface, by that interface in configured order: keepalived
 * announces each VIP on its own interface.
 */
export function otherInterfaceAddresses(
  config: VrrpInstanceConfig,
  interfaceName: string,
): { interfaceName: string; vips: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const vip of allVips(config)) {
    if (vip.dev === undefined || vip.dev === interfaceName) continue;
    const list = groups.get(vip.dev) ?? [];
    list.push(vip.address);
    groups.set(vip.dev, list);
  }
  return [...groups].map(([name, vips]) => ({ interfaceName: name, vips }));
}

/**
 * The entries of list blocks (virtual_ipaddress, virtual_routes, virtual_rules, track_*, unicast_peer) and
 * the script/FIFO values. Each entry is one line: its first word and its options. Syntax from
 * keepalived.conf(5), VRRP instance(s) and Static routes/addresses/rules.
 */
import type { Context } from './context.js';
import { DiagnosticCodes, type Position } from './diagnostics.js';
import type { PeerDraft, TrackDraft } from './drafts.js';
import type { Token } from './lexer.js';
import type { Statement } from './parser.js';
import type {
  AddressScope,
  Command,
  FifoConfig,
  VirtualAddress,
  VirtualRoute,
  VirtualRule,
} from './schema.js';
import { ROUTE_METRIC_MAX, RULE_PREFERENCE_MAX, TTL_MAX } from './defaults.js';
import { isRefused, type Support } from './support.js';
import { closest, familyName, parsePrefix, splitCommand, type ParsedPrefix } from './values.js';

/** The words of an entry: its first token and its arguments. */
function words(entry: Statement): Token[] {
  return [entry.keyword, ...entry.args];
}

function raw(entry: Statement): string {
  return words(entry)
    .map((t) => t.text)
    .join(' ');
}

/** Reports an entry's block (entries are single lines) and returns false. */
function isLine(ctx: Context, entry: Statement, list: string): boolean {
  if (entry.block !== undefined && entry.open !== undefined) {
    ctx.sink.error(entry.open.at, DiagnosticCodes.syntax, `an entry of ${list} takes no block`);
    return false;
  }
  return true;
}

function unknownOption(ctx: Context, token: Token, list: string, known: Iterable<string>): void {
  const suggestion = closest(token.text, known);
  ctx.sink.error(
    token.at,
    DiagnosticCodes.unknownKeyword,
    `unknown option '${token.text}' in ${list}${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}`,
  );
}

function unsupportedOption(ctx: Context, token: Token, list: string): void {
  ctx.sink.error(
    token.at,
    DiagnosticCodes.unsupported,
    `unsupported keepalived option '${token.text}' in ${list} (tandem does not implement it; ignored)`,
    token.text,
  );
}

function valueAfter(ctx: Context, list: Token[], index: number, list_name: string): Token | undefined {
  const value = list[index + 1];
  if (value === undefined) {
    const option = list[index] as Token;
    ctx.error(option.at, `option '${option.text}' in ${list_name} needs a value`);
  }
  return value;
}

/**
 * Steps through the words of an entry: `value()` takes the word after the current option as its value and
 * reports a missing one. `ok` turns false on a wrong value; the entry is then dropped after the walk, so that
 * one entry reports each of its problems.
 */
class EntryCursor {
  index = 0;
  ok = true;

  constructor(
    private readonly ctx: Context,
    readonly tokens: Token[],
    private readonly list: string,
  ) {}

  value(): Token | undefined {
    const value = valueAfter(this.ctx, this.tokens, this.index, this.list);
    if (value === undefined) this.ok = false;
    else this.index++;
    return value;
  }

  /** An ip-route / ip-rule option kept as written, `word VALUE` or a flag, onto `into`; false for other words. */
  passThrough(
    word: string,
    withValue: ReadonlySet<string>,
    flags: ReadonlySet<string>,
    into: string[],
  ): boolean {
    if (withValue.has(word)) {
      const value = this.value();
      if (value !== undefined) into.push(word, value.text);
    } else if (flags.has(word)) into.push(word);
    else return false;
    return true;
  }
}

const SCOPES: ReadonlySet<string> = new Set(['global', 'site', 'link', 'host', 'nowhere']);

/** One option of a virtual_ipaddress entry, as the keyword table describes keywords (docs are made of these). */
export interface VipOption {
  name: string;
  /** The value after the option; empty for a flag. */
  syntax: string;
  support: Support;
  description: string;
  /** Schema properties of VirtualAddress the runtime reads (see KeywordSpec.reads). */
  reads?: readonly string[];
  /** keepalived spells it this way too. */
  alias?: string;
}

/**
 * The options of a virtual_ipaddress / virtual_ipaddress_excluded entry (keepalived.conf(5); keepalived's
 * vrrp_ipaddress.c alloc_ipaddress), with their support levels.
 */
export const VIP_OPTIONS: readonly VipOption[] = [
  {
    name: 'brd',
    alias: 'broadcast',
    syntax: '<IP>|+|-',
    support: 'implemented',
    description: 'IPv4 broadcast address; + / - set or clear the host bits (as ip-address(8))',
    reads: ['brd'],
  },
  {
    name: 'dev',
    syntax: '<IFNAME>',
    support: 'implemented',
    description: 'interface of the address',
    reads: ['dev'],
  },
  {
    name: 'scope',
    syntax: '<global|site|link|host|nowhere>',
    support: 'implemented',
    description: 'address scope',
    reads: ['scope'],
  },
  {
    name: 'label',
    syntax: '<LABEL>',
    support: 'implemented',
    description: 'address label (eth0:1)',
    reads: ['label'],
  },
  {
    name: 'no_track',
    syntax: '',
    support: 'implemented',
    description: 'the address going missing does not take the instance out of MASTER',
    reads: ['noTrack'],
  },
  {
    name: 'peer',
    syntax: '<IP>[/<LEN>]',
    support: 'implemented',
    reads: ['peer'],
    description: "point-to-point peer address; the prefix length is the peer's",
  },
  {
    name: 'preferred_lft',
    syntax: '<seconds>|forever',
    support: 'implemented',
    reads: ['preferredLifetime'],
    description:
      'preferred lifetime of an IPv6 address (keepalived: 0, deprecated, for a /128; else forever)',
  },
  {
    name: '-nodad',
    syntax: '',
    support: 'implemented',
    reads: ['duplicateAddressDetection'],
    description: 'let the kernel run duplicate address detection (IPv6 VIPs are added with nodad by default)',
  },
  {
    name: 'home',
    syntax: '',
    support: 'implemented',
    reads: ['home'],
    description: 'IFA_F_HOMEADDRESS (Mobile IPv6)',
  },
  {
    name: 'mngtmpaddr',
    syntax: '',
    support: 'implemented',
    reads: ['manageTempAddress'],
    description: 'IFA_F_MANAGETEMPADDR: temporary addresses from this prefix',
  },
  {
    name: 'noprefixroute',
    syntax: '',
    support: 'implemented',
    reads: ['noPrefixRoute'],
    description: 'IFA_F_NOPREFIXROUTE: no route for the prefix',
  },
  {
    name: 'autojoin',
    syntax: '',
    support: 'refused: tandem does not implement multicast VIPs (IFA_F_MCAUTOJOIN)',
    description: 'join the multicast group of a multicast address',
  },
  {
    name: 'use_vmac',
    syntax: '',
    support: 'refused: tandem does not implement VMACs per VIP interface',
    description: 'a VMAC on the interface of this VIP',
  },
  {
    name: 'track_group',
    syntax: '<GROUP>',
    support: 'refused: tandem does not implement static track groups',
    description: 'static addresses only in keepalived',
  },
];

const VIP_OPTION_BY_NAME = new Map(
  VIP_OPTIONS.flatMap((option) =>
    option.alias === undefined
      ? [[option.name, option]]
      : [
          [option.name, option],
          [option.alias, option],
        ],
  ) as [string, VipOption][],
);

/**
 * `<IPADDR>[/<MASK>] [brd <IPADDR>] [dev <STRING>] [scope <SCOPE>] [label <LABEL>] [peer <IPADDR>] [home]
 * [-nodad] [mngtmpaddr] [noprefixroute] [preferred_lft <N>|forever] [no_track]`
 */
export function parseVirtualAddress(
  ctx: Context,
  entry: Statement,
  list: string,
): VirtualAddress | undefined {
  if (!isLine(ctx, entry, list)) return undefined;
  const tokens = words(entry);
  const first = entry.keyword;
  const prefix = ctx.prefix(first, `address in ${list}`);
  const vip: Partial<VirtualAddress> = { noTrack: false };
  let ok = prefix !== undefined;
  for (let i = 1; i < tokens.length; i++) {
    const option = tokens[i] as Token;
    const spec = VIP_OPTION_BY_NAME.get(option.text);
    if (spec === undefined) {
      // The rest of the entry is likely the value of the misspelt option: one error per entry.
      unknownOption(ctx, option, list, VIP_OPTION_BY_NAME.keys());
      return undefined;
    }
    const value = spec.syntax === '' ? undefined : valueAfter(ctx, tokens, i, list);
    if (spec.syntax !== '') {
      if (value === undefined) return undefined;
      i++;
    }
    if (isRefused(spec.support)) {
      unsupportedOption(ctx, option, list);
      continue;
    }
    ok &&= applyVipOption(ctx, spec.name, value, vip, prefix, first, list);
    ctx.recordUnimplemented(spec.support, {
      section: 'virtual_ipaddress',
      keyword: spec.name,
      where: `${list} (${first.text})`,
      what: spec.description,
      source: option.at,
    });
  }
  if (!ok || prefix === undefined) return undefined;
  if (prefix.family === 4 && (vip.preferredLifetime !== undefined || vip.duplicateAddressDetection)) {
    // keepalived applies both to IPv6 addresses only (IPv4 has no DAD and no preferred lifetime to set).
    ctx.sink.warning(
      first.at,
      DiagnosticCodes.noEffect,
      `${first.text} in ${list}: preferred_lft and -nodad apply to IPv6 addresses only; ignored`,
    );
  }
  if (vip.peer !== undefined && vip.brd !== undefined) {
    // keepalived: "Cannot specify broadcast and peer addresses".
    ctx.sink.error(
      first.at,
      DiagnosticCodes.conflict,
      `${first.text} in ${list}: brd and peer exclude each other`,
    );
    return undefined;
  }
  const result: VirtualAddress = {
    address: prefix.address,
    // keepalived: a bare address is a host address, /32 or /128; with a peer, the peer's length.
    prefixLength: vip.prefixLength ?? prefix.prefixLength ?? (prefix.family === 4 ? 32 : 128),
    family: prefix.family,
    noTrack: vip.noTrack ?? false,
    source: first.at,
  };
  for (const key of [
    'dev',
    'label',
    'scope',
    'brd',
    'peer',
    'preferredLifetime',
    'duplicateAddressDetection',
    'home',
    'manageTempAddress',
    'noPrefixRoute',
  ] as const) {
    if (vip[key] !== undefined) Object.assign(result, { [key]: vip[key] });
  }
  return result;
}

/** One option's value into `vip`; false when it is wrong (reported). */
function applyVipOption(
  ctx: Context,
  name: string,
  value: Token | undefined,
  vip: Partial<VirtualAddress>,
  prefix: ParsedPrefix | undefined,
  first: Token,
  list: string,
): boolean {
  switch (name) {
    case 'no_track':
      vip.noTrack = true;
      return true;
    case '-nodad':
      vip.duplicateAddressDetection = true;
      return true;
    case 'home':
      vip.home = true;
      return true;
    case 'mngtmpaddr':
      vip.manageTempAddress = true;
      return true;
    case 'noprefixroute':
      vip.noPrefixRoute = true;
      return true;
  }
  const token = value as Token;
  switch (name) {
    case 'dev':
      vip.dev = ctx.interfaceName(token, `dev of ${first.text}`);
      return vip.dev !== undefined;
    case 'label':
      vip.label = ctx.interfaceName(token, `label of ${first.text}`);
      return vip.label !== undefined;
    case 'scope':
      if (SCOPES.has(token.text)) {
        vip.scope = token.text as AddressScope;
        return true;
      }
      ctx.error(token.at, `scope must be one of global, site, link, host, nowhere, found '${token.text}'`);
      return false;
    case 'brd': {
      if (token.text === '+' || token.text === '-') {
        vip.brd = token.text;
        return true;
      }
      const brd = ctx.address(token, `brd of ${first.text}`, prefix?.family);
      if (brd !== undefined) vip.brd = brd.address;
      return brd !== undefined;
    }
    case 'peer': {
      const peer = ctx.prefix(token, `peer of ${first.text}`);
      if (peer === undefined) return false;
      if (prefix !== undefined && peer.family !== prefix.family) {
        ctx.sink.error(
          token.at,
          DiagnosticCodes.conflict,
          `peer ${peer.address} of ${first.text} in ${list} is ${familyName(peer.family)}, the address is ${familyName(prefix.family)}`,
        );
        return false;
      }
      if (prefix?.prefixLength !== undefined) {
        // ip-address(8): with a peer, the prefix length belongs to the peer.
        ctx.error(
          first.at,
          `${first.text}: give the prefix length on the peer, not on the address (${list})`,
        );
        return false;
      }
      vip.peer = peer.address;
      if (peer.prefixLength !== undefined) vip.prefixLength = peer.prefixLength;
      return true;
    }
    case 'preferred_lft': {
      if (token.text === 'forever') {
        vip.preferredLifetime = 'forever';
        return true;
      }
      const seconds = ctx.integer(token, 0, PREFERRED_LIFETIME_MAX, 'preferred_lft');
      if (seconds !== undefined) vip.preferredLifetime = seconds;
      return seconds !== undefined;
    }
    default:
      return true;
  }
}

/** ip-address(8) lifetimes are 32-bit seconds; 0xffffffff is "forever", written as such. */
const PREFERRED_LIFETIME_MAX = 4294967294;

const ROUTE_TYPES = new Set([
  'unicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'local',
  'broadcast',
  'multicast',
  'anycast',
  'nat',
]);
/** ip-route options (keepalived.conf(5), static_routes) passed through with their value. */
const ROUTE_VALUE_OPTIONS = new Set([
  'tos',
  'dsfield',
  'protocol',
  'proto',
  'mtu',
  'hoplimit',
  'advmss',
  'rtt',
  'rttvar',
  'reordering',
  'window',
  'cwnd',
  'ssthresh',
  'realms',
  'rto_min',
  'initcwnd',
  'initrwnd',
  'features',
  'quickack',
  'congctl',
  'pref',
  'expires',
  'fastopen_no_cookie',
  'vrf',
  'weight',
  'encap',
]);
const ROUTE_FLAGS = new Set(['onlink', 'append', 'lock', 'nexthop', 'ecn', 'pervasive', 'inet']);
const ROUTE_OPTIONS = [
  'src',
  'to',
  'via',
  'gw',
  'or',
  'dev',
  'oif',
  'table',
  'metric',
  'priority',
  'preference',
  'scope',
  'no_track',
  'inet6',
  ...ROUTE_VALUE_OPTIONS,
  ...ROUTE_FLAGS,
];

function keepalivedSkips(ctx: Context, at: Position, message: string): void {
  ctx.sink.error(
    at,
    DiagnosticCodes.keepalivedSkips,
    `${message} (keepalived skips this entry; so does --lenient)`,
  );
}

/** `[type] [src <IP>] [to] <PREFIX> [via|gw <IP>] [or <IP>] [dev <IF>] [scope S] [table T] [metric N] [no_track] ...` */
export function parseVirtualRoute(ctx: Context, entry: Statement, list: string): VirtualRoute | undefined {
  if (!isLine(ctx, entry, list)) return undefined;
  const cursor = new EntryCursor(ctx, words(entry), list);
  const tokens = cursor.tokens;
  const route: Partial<VirtualRoute> & { via: string[]; options: string[] } = {
    via: [],
    options: [],
    noTrack: false,
  };
  let forcedFamily6 = false;
  let destinationToken: Token | undefined;
  for (; cursor.index < tokens.length; cursor.index++) {
    const token = tokens[cursor.index] as Token;
    const text = token.text;
    if (cursor.index === 0 && ROUTE_TYPES.has(text)) {
      route.type = text;
      continue;
    }
    const takeAddress = (what: string): string | undefined => {
      const value = cursor.value();
      if (value === undefined) return undefined;
      const parsed = ctx.prefix(value, what);
      if (parsed === undefined) cursor.ok = false;
      return parsed?.address;
    };
    switch (text) {
      case 'src':
        route.src = takeAddress(`src of route`);
        break;
      case 'to': {
        const value = cursor.value();
        if (value !== undefined) destinationToken = value;
        break;
      }
      case 'via':
      case 'gw':
      case 'or': {
        if (text !== 'via') {
          ctx.sink.warning(
            token.at,
            DiagnosticCodes.deprecated,
            `'${text}' in routes is deprecated in keepalived; use '${text === 'gw' ? 'via' : 'nexthop'}'`,
          );
        }
        const next = tokens[cursor.index + 1]?.text;
        if (next === 'inet6' || next === 'inet') cursor.index++;
        const via = takeAddress(`gateway of route`);
        if (via !== undefined) route.via.push(via);
        break;
      }
      case 'dev':
      case 'oif': {
        const value = cursor.value();
        if (value !== undefined) route.dev = ctx.interfaceName(value, 'dev of route');
        break;
      }
      case 'table':
      case 'scope': {
        const value = cursor.value();
        if (value !== undefined) route[text] = value.text;
        break;
      }
      case 'metric':
      case 'priority':
      case 'preference': {
        const value = cursor.value();
        if (value !== undefined) route.metric = ctx.integer(value, 0, ROUTE_METRIC_MAX, `${text} of route`);
        break;
      }
      case 'no_track':
        route.noTrack = true;
        break;
      case 'inet6':
        forcedFamily6 = true;
        break;
      case 'track_group':
        unsupportedOption(ctx, token, list);
        cursor.index++;
        break;
      default:
        if (cursor.passThrough(text, ROUTE_VALUE_OPTIONS, ROUTE_FLAGS, route.options)) break;
        if (destinationToken === undefined && (!/^[a-z_]+$/.test(text) || text === 'default')) {
          destinationToken = token;
        } else {
          unknownOption(ctx, token, list, ROUTE_OPTIONS);
          return undefined;
        }
    }
  }
  if (destinationToken === undefined) {
    ctx.error(entry.keyword.at, `route '${raw(entry)}' has no destination`);
    return undefined;
  }
  let family: 4 | 6 = forcedFamily6 ? 6 : 4;
  if (destinationToken.text === 'default') {
    route.destination = 'default';
  } else {
    const destination = /^[0-9a-fA-F:.]+(\/\d+)?$/.test(destinationToken.text)
      ? parsePrefixLoose(destinationToken.text)
      : undefined;
    if (destination === undefined) {
      keepalivedSkips(ctx, destinationToken.at, `invalid route destination '${destinationToken.text}'`);
      return undefined;
    }
    route.destination = destination.text;
    family = destination.family;
  }
  if (!cursor.ok) return undefined;
  const result: VirtualRoute = {
    raw: raw(entry),
    family,
    destination: route.destination,
    noTrack: route.noTrack ?? false,
    options: route.options,
    source: entry.keyword.at,
  };
  if (route.type !== undefined) result.type = route.type;
  if (route.src !== undefined) result.src = route.src;
  if (route.via.length > 0) result.via = route.via;
  if (route.dev !== undefined) result.dev = route.dev;
  if (route.table !== undefined) result.table = route.table;
  if (route.metric !== undefined) result.metric = route.metric;
  if (route.scope !== undefined) result.scope = route.scope;
  return result;
}

function parsePrefixLoose(text: string): { text: string; family: 4 | 6 } | undefined {
  const parsed = parsePrefix(text);
  if (parsed === undefined) return undefined;
  return {
    text: parsed.prefixLength === undefined ? parsed.address : `${parsed.address}/${parsed.prefixLength}`,
    family: parsed.family,
  };
}

const RULE_ACTIONS = new Set(['blackhole', 'prohibit', 'unreachable', 'nop']);
const RULE_VALUE_OPTIONS = new Set([
  'iif',
  'oif',
  'tos',
  'dsfield',
  'fwmark',
  'realms',
  'goto',
  'uidrange',
  'protocol',
  'ip_proto',
  'sport',
  'dport',
  'suppress_prefixlength',
  'suppress_ifgroup',
]);
const RULE_FLAGS = new Set(['not', 'l3mdev']);
const RULE_OPTIONS = [
  'from',
  'to',
  'table',
  'lookup',
  'preference',
  'priority',
  'pref',
  'prio',
  'no_track',
  'inet6',
  ...RULE_ACTIONS,
  ...RULE_VALUE_OPTIONS,
  ...RULE_FLAGS,
];

/** ip-rule syntax: `from <PREFIX>|all to <PREFIX>|all table T preference N ...` */
export function parseVirtualRule(ctx: Context, entry: Statement, list: string): VirtualRule | undefined {
  if (!isLine(ctx, entry, list)) return undefined;
  const cursor = new EntryCursor(ctx, words(entry), list);
  const tokens = cursor.tokens;
  const rule: Partial<VirtualRule> & { options: string[] } = { options: [], noTrack: false };
  let family: 4 | 6 | undefined;
  for (; cursor.index < tokens.length; cursor.index++) {
    const token = tokens[cursor.index] as Token;
    const text = token.text;
    switch (text) {
      case 'from':
      case 'to': {
        const value = cursor.value();
        if (value === undefined) break;
        if (value.text === 'all') {
          rule[text] = 'all';
          break;
        }
        const parsed = parsePrefixLoose(value.text);
        if (parsed === undefined) {
          keepalivedSkips(ctx, value.at, `invalid rule ${text} address '${value.text}'`);
          return undefined;
        }
        rule[text] = parsed.text;
        family = parsed.family;
        break;
      }
      case 'table':
      case 'lookup': {
        const value = cursor.value();
        if (value !== undefined) rule.table = value.text;
        break;
      }
      case 'preference':
      case 'priority':
      case 'pref':
      case 'prio': {
        const value = cursor.value();
        if (value !== undefined)
          rule.preference = ctx.integer(value, 0, RULE_PREFERENCE_MAX, `${text} of rule`);
        break;
      }
      case 'no_track':
        rule.noTrack = true;
        break;
      case 'inet6':
        family = 6;
        break;
      case 'track_group':
        unsupportedOption(ctx, token, list);
        cursor.index++;
        break;
      default:
        if (RULE_ACTIONS.has(text)) rule.action = text;
        else if (!cursor.passThrough(text, RULE_VALUE_OPTIONS, RULE_FLAGS, rule.options)) {
          unknownOption(ctx, token, list, RULE_OPTIONS);
          return undefined;
        }
    }
  }
  if (!cursor.ok) return undefined;
  if (rule.preference === undefined) {
    // keepalived assigns one and warns "This is probably not what you want" (keepalived.conf(5), NOTE).
    ctx.sink.warning(
      entry.keyword.at,
      DiagnosticCodes.adjusted,
      `rule '${raw(entry)}' has no preference; rules are reordered on transitions, give it one`,
    );
  }
  const result: VirtualRule = {
    raw: raw(entry),
    family: family ?? 4,
    noTrack: rule.noTrack ?? false,
    options: rule.options,
    source: entry.keyword.at,
  };
  if (rule.from !== undefined) result.from = rule.from;
  if (rule.to !== undefined) result.to = rule.to;
  if (rule.table !== undefined) result.table = rule.table;
  if (rule.preference !== undefined) result.preference = rule.preference;
  if (rule.action !== undefined) result.action = rule.action;
  return result;
}

/** The weights a track entry takes: priority changes for VRRP, demotions for CARP. */
export interface WeightRange {
  min: number;
  max: number;
}

/** `NAME [weight N] [reverse|noreverse|no_reverse]` in track_interface/script/file/process blocks. */
export function parseTrack(
  ctx: Context,
  entry: Statement,
  list: string,
  weights: WeightRange,
): TrackDraft | undefined {
  if (!isLine(ctx, entry, list)) return undefined;
  const track: TrackDraft = { name: entry.keyword.text, at: entry.keyword.at };
  const tokens = entry.args;
  let ok = true;
  const options = ['weight', 'reverse', 'noreverse', 'no_reverse'];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as Token;
    if (token.text === 'weight') {
      const value = valueAfter(ctx, tokens, i, list);
      if (value === undefined) return undefined;
      i++;
      track.weight = ctx.integer(value, weights.min, weights.max, `weight of ${entry.keyword.text}`);
      ok &&= track.weight !== undefined;
    } else if (token.text === 'reverse') track.reverse = true;
    else if (token.text === 'noreverse' || token.text === 'no_reverse') track.reverse = false;
    else {
      unknownOption(ctx, token, list, options);
      return undefined;
    }
  }
  return ok ? track : undefined;
}

/** `<IPADDR> [min_ttl {0..255}] [max_ttl {0..255}]` */
export function parsePeer(ctx: Context, entry: Statement, list: string): PeerDraft | undefined {
  if (!isLine(ctx, entry, list)) return undefined;
  const address = ctx.address(entry.keyword, `unicast peer`);
  let ok = address !== undefined;
  const peer: Partial<PeerDraft> = {};
  const tokens = entry.args;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as Token;
    if (token.text === 'min_ttl' || token.text === 'max_ttl') {
      const value = valueAfter(ctx, tokens, i, list);
      if (value === undefined) return undefined;
      i++;
      const ttl = ctx.integer(value, 0, TTL_MAX, token.text);
      if (ttl === undefined) ok = false;
      else if (token.text === 'min_ttl') peer.minTtl = ttl;
      else peer.maxTtl = ttl;
    } else {
      unknownOption(ctx, token, list, ['min_ttl', 'max_ttl']);
      return undefined;
    }
  }
  if (!ok || address === undefined) return undefined;
  if (peer.minTtl !== undefined && peer.maxTtl !== undefined && peer.minTtl > peer.maxTtl) {
    ctx.error(entry.keyword.at, `min_ttl ${peer.minTtl} is above max_ttl ${peer.maxTtl}`);
    return undefined;
  }
  return { ...peer, address: address.address, family: address.family, at: entry.keyword.at };
}

/** `SCRIPT [username [groupname]]` where SCRIPT is split into argv (notify_*, notify). */
export function parseCommandWithUser(ctx: Context, statement: Statement): Command | undefined {
  if (!ctx.noBlock(statement)) return undefined;
  if (!ctx.args(statement, 1, 3, `${statement.keyword.text} SCRIPT [username [groupname]]`)) return undefined;
  const [script, user, group] = statement.args;
  const argv = splitCommand((script as Token).text);
  if (argv.length === 0) {
    ctx.error((script as Token).at, `${statement.keyword.text} needs a command, found an empty string`);
    return undefined;
  }
  const command: Command = { argv, source: statement.keyword.at };
  if (user !== undefined) command.user = user.text;
  if (group !== undefined) command.group = group.text;
  return command;
}

/** `FIFO_NAME [username [groupname]]` */
export function parseFifo(ctx: Context, statement: Statement): FifoConfig | undefined {
  if (!ctx.noBlock(statement)) return undefined;
  if (!ctx.args(statement, 1, 3, `${statement.keyword.text} FIFO_NAME [username [groupname]]`))
    return undefined;
  const [fifo, user, group] = statement.args;
  const config: FifoConfig = { path: (fifo as Token).text };
  if (user !== undefined) config.user = user.text;
  if (group !== undefined) config.group = group.text;
  return config;
}

/**
 * Accept mode off (RFC 5798 §6.4.3): a MASTER that does not own its VIPs (priority below 255) "MUST NOT accept"
 * packets addressed to them. tandem drops them with nftables, in a table of its own (`inet tandem`, or the name
 * keepalived's `nftables TABLE` gives): the table is created when the agent starts (after deleting one a crashed
 * run left), each VIP is an element of a set while its instance is MASTER, and the table is deleted at stop.
 * Nothing of it lives outside that one table, so nothing else on the box is touched and nothing is left behind.
 *
 * The rules, read from keepalived's vrrp_nftables.c for what they mean (their shape is tandem's own):
 * - input: packets to a VIP are dropped; neighbour solicitations and adverts are accepted first, since a MASTER
 *   must still answer neighbour discovery for its VIPs (RFC 5798 §6.4.3, "MUST respond to ND").
 * - output: packets from a VIP are dropped, so the box originates nothing from an address it must not accept on.
 * - IPv6 link-local VIPs are scoped: their set keys are address . interface (name, or index with
 *   `nftables_ifindex`), since the same link-local address may exist on another link.
 *
 * Why the `nft` binary and not netlink: nf_tables' netlink protocol is a batch of nested attributes per
 * expression (payload, lookup, cmp, verdict), about 1,000 lines to write and keep in step with the kernel, and
 * the `netlink` package speaks only rtnetlink. The `nft` command speaks it for us in one transaction per change,
 * and a change happens at a transition, never on the advert path. Commands run one after another, each with a
 * timeout, through the agent's command runner (core/process-group.ts).
 */
import type { Logger as PinoLogger } from 'pino';
import type { NftablesConfig } from '../config/schema.js';
import { type CommandRunner, runInProcessGroup } from '../core/process-group.js';
import { canonicalAddress, isIPv6LinkLocal } from '../vrrp/address.js';

/** The nft binary, resolved from the runner's PATH. */
export const NFT = 'nft';
/** tandem's table when `nftables TABLE` does not name one. */
export const DEFAULT_ACCEPT_FILTER_TABLE = 'tandem';
/** keepalived's base-chain priority (`nftables_priority`): just before the default filter chains (0). */
export const DEFAULT_ACCEPT_FILTER_PRIORITY = -1;
/** One nft transaction is a few set elements: far below this, unless the system is broken. */
const NFT_TIMEOUT_MS = 5000;

export interface AcceptFilterSettings {
  table: string;
  priority: number;
  /** `nftables_counters`: a counter on each drop rule. */
  counters: boolean;
  /** `nftables_ifindex`: link-local VIPs keyed by interface index instead of name. */
  ifindex: boolean;
}

/** The filter's settings from keepalived's `nftables [TABLE]`, `nftables_priority`, `_counters`, `_ifindex`. */
export function acceptFilterSettings(nftables: NftablesConfig | undefined): AcceptFilterSettings {
  return {
    table: nftables?.table ?? DEFAULT_ACCEPT_FILTER_TABLE,
    priority: nftables?.priority ?? DEFAULT_ACCEPT_FILTER_PRIORITY,
    counters: nftables?.counters ?? false,
    ifindex: nftables?.ifindex ?? false,
  };
}

/** A VIP to drop packets to: link-local IPv6 ones are keyed with their interface. */
export interface FilteredAddress {
  address: string;
  family: 4 | 6;
  interface: string;
}

export interface AcceptFilterOptions {
  settings: AcceptFilterSettings;
  log: PinoLogger;
  run?: CommandRunner;
}

/** The set an address goes in. */
function setOf(entry: FilteredAddress): 'vips4' | 'vips6' | 'vips6ll' {
  if (entry.family === 4) return 'vips4';
  return isIPv6LinkLocal(entry.address) ? 'vips6ll' : 'vips6';
}

/** The element of its set: the address, or address . "interface" for a link-local one. */
function elementOf(entry: FilteredAddress): string {
  return setOf(entry) === 'vips6ll' ? `${entry.address} . "${entry.interface}"` : entry.address;
}

/** The nft lines that (re)create the table, empty sets, chains and rules. */
export function acceptFilterRuleset(settings: AcceptFilterSettings): string[] {
  const t = `inet ${settings.table}`;
  const drop = settings.counters ? 'counter drop' : 'drop';
  const interfaceType = settings.ifindex ? 'iface_index' : 'ifname';
  const nd = 'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept';
  const lines = [
    `add table ${t}`,
    `add set ${t} vips4 { type ipv4_addr; }`,
    `add set ${t} vips6 { type ipv6_addr; }`,
    `add set ${t} vips6ll { type ipv6_addr . ${interfaceType}; }`,
  ];
  for (const [chain, hook, address, direction] of [
    ['in', 'input', 'daddr', settings.ifindex ? 'iif' : 'iifname'],
    ['out', 'output', 'saddr', settings.ifindex ? 'oif' : 'oifname'],
  ] as const) {
    lines.push(
      `add chain ${t} ${chain} { type filter hook ${hook} priority ${settings.priority}; policy accept; }`,
      `add rule ${t} ${chain} ${nd}`,
      `add rule ${t} ${chain} ip ${address} @vips4 ${drop}`,
      `add rule ${t} ${chain} ip6 ${address} . ${direction} @vips6ll ${drop}`,
      `add rule ${t} ${chain} ip6 ${address} @vips6 ${drop}`,
    );
  }
  return lines;
}

/**
 * `add table; delete table`: deletes the table whether or not it exists (nft has no "delete if present" before
 * 1.0.8), in one transaction.
 */
export function acceptFilterRemoval(table: string): string[] {
  return [`add table inet ${table}`, `delete table inet ${table}`];
}

/**
 * The agent's one filter. Instances add their VIPs when they become MASTER and remove them when they leave it;
 * a VIP two instances share stays dropped until both have left (counted per address).
 */
export class AcceptFilter {
  private readonly run: CommandRunner;
  private readonly holders = new Map<string, number>();
  /** Changes run one after another, in the order they were asked for. */
  private queue: Promise<unknown> = Promise.resolve();
  private created = false;
  /** Failed nft transactions, for the log and status. */
  failures = 0;

  constructor(private readonly options: AcceptFilterOptions) {
    this.run = options.run ?? runInProcessGroup;
  }

  get table(): string {
    return this.options.settings.table;
  }

  /**
   * At start: deletes a table an earlier run left (it crashed, or was killed), and creates a fresh one when
   * `needed` (some instance runs without accept mode).
   */
  prepare(needed: boolean): Promise<boolean> {
    return this.enqueue(async () => {
      const lines = acceptFilterRemoval(this.table);
      if (needed) lines.push(...acceptFilterRuleset(this.options.settings));
      const ok = await this.nft(
        lines,
        needed ? 'create the no_accept table' : 'remove a stale table',
        needed,
      );
      this.created = ok && needed;
      return ok;
    });
  }

  /** Drops packets to (and from) `entries` until `allow` is called for them. */
  drop(entries: readonly FilteredAddress[]): Promise<boolean> {
    return this.enqueue(async () => {
      const fresh = entries.filter((entry) => this.count(entry, +1) === 1);
      if (fresh.length === 0) return true;
      const lines = this.created ? [] : acceptFilterRuleset(this.options.settings);
      lines.push(
        ...fresh.map((entry) => `add element inet ${this.table} ${setOf(entry)} { ${elementOf(entry)} }`),
      );
      const ok = await this.nft(lines, 'drop packets to the VIPs', true);
      if (ok) this.created = true;
      else for (const entry of fresh) this.count(entry, -1);
      return ok;
    });
  }

  /** Accepts packets to `entries` again. */
  allow(entries: readonly FilteredAddress[]): Promise<boolean> {
    return this.enqueue(async () => {
      const gone = entries.filter((entry) => this.holders.has(key(entry)) && this.count(entry, -1) === 0);
      if (gone.length === 0 || !this.created) return true;
      return this.nft(
        gone.map((entry) => `delete element inet ${this.table} ${setOf(entry)} { ${elementOf(entry)} }`),
        'accept packets to the VIPs again',
        true,
      );
    });
  }

  /** At stop: the table goes, with every rule and element in it. */
  close(): Promise<boolean> {
    return this.enqueue(async () => {
      if (!this.created) return true;
      this.created = false;
      this.holders.clear();
      return this.nft([`delete table inet ${this.table}`], 'remove the no_accept table', true);
    });
  }

  private count(entry: FilteredAddress, change: 1 | -1): number {
    const k = key(entry);
    const next = (this.holders.get(k) ?? 0) + change;
    if (next <= 0) this.holders.delete(k);
    else this.holders.set(k, next);
    return next;
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Runs one nft transaction; a failure is logged (an error when it matters) and counted, never thrown. */
  private async nft(lines: string[], what: string, matters: boolean): Promise<boolean> {
    const argv = [NFT, lines.join('\n')];
    const result = await this.run(argv, { timeoutMs: NFT_TIMEOUT_MS });
    if (result.exitCode === 0) return true;
    if (!matters) {
      this.options.log.debug({ table: this.table, stderr: result.stderr }, `nft: cannot ${what}`);
      return false;
    }
    this.failures++;
    this.options.log.error(
      {
        table: this.table,
        exitCode: result.exitCode,
        timedOut: result.timedOut,
        stderr: result.stderr,
        ...(result.error ? { err: result.error } : {}),
      },
      `nft: cannot ${what}`,
    );
    return false;
  }
}

/** One key per address however it is spelled, so two instances sharing a VIP count as one element. */
function key(entry: FilteredAddress): string {
  const set = setOf(entry);
  const address = canonicalAddress(entry.address) ?? entry.address;
  return set === 'vips6ll' ? `${set} ${address} ${entry.interface}` : `${set} ${address}`;
}

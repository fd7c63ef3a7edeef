/**
 * The keyword table: the one source of truth for what tandem accepts. Each section lists its keywords with
 * their syntax, default, origin (keepalived's or tandem's), support level (support.ts), the schema fields the
 * runtime reads, and the handler that reads the value into a draft. docs/config.md's keyword tables are
 * generated from it (`npm run docs:keywords`; a test fails when they differ), and `tandem run` refuses what is
 * not implemented yet from the same table. Facts from keepalived.conf(5) 2.2 and keepalived's parsers.
 */
import type { Context } from './context.js';
import { DiagnosticCodes, type Position } from './diagnostics.js';
import {
  newCarpDraft,
  newInstanceDraft,
  newSyncGroupDraft,
  type AddressDraft,
  type CarpDraft,
  type PeerDraft,
  type ConfigDraft,
  type GlobalDraft,
  type InstanceDraft,
  type NotifyDraft,
  type ScriptDraft,
  type ServiceDraft,
  type SyncGroupDraft,
  type TrackFileDraft,
  type TrackListsDraft,
  type TrackProcessDraft,
} from './drafts.js';
import {
  parseCommandWithUser,
  parseFifo,
  parsePeer,
  parseTrack,
  parseVirtualAddress,
  parseVirtualRoute,
  parseVirtualRule,
  VIP_OPTIONS,
  type WeightRange,
} from './entries.js';
import type { Token } from './lexer.js';
import type { Statement } from './parser.js';
import type {
  Family,
  GarpConfig,
  GarpExtraIf,
  MetricsListen,
  VirtualAddress,
  VrrpVersion,
} from './schema.js';
import { RANDOM_SEED_MAX } from './lexer.js';
import {
  AUTH_PASS_MAX_BYTES,
  CARP_ADVBASE_MAX,
  CARP_ADVBASE_MIN,
  CARP_ADVSKEW_BOW_OUT,
  CARP_ADVSKEW_MAX,
  CARP_DEADRATIO_MAX,
  CARP_DEADRATIO_MIN,
  CARP_DEMOTION_MAX,
  CARP_KEY_LENGTH,
  DEFAULT_CARP_ADVBASE_SECONDS,
  DEFAULT_CARP_DEADRATIO,
  DEFAULT_METRICS_ADDRESS,
  DEFAULT_METRICS_PORT,
  DEFAULT_NFTABLES_TABLE,
  DOWN_TIMER_ADVERTS_MAX,
  DOWN_TIMER_ADVERTS_MIN,
  GARP_DELAY_MAX_SECONDS,
  GARP_REPEAT_MAX,
  LVS_SYNC_ID_MAX,
  LVS_SYNC_MAXLEN_MAX,
  NOTIFY_TIMEOUT_MAX_SECONDS,
  PREEMPT_DELAY_MAX_SECONDS,
  PRIORITY_MAX,
  PRIORITY_MIN,
  SCRIPT_INTERVAL_MAX_SECONDS,
  SCRIPT_RISE_FALL_MAX,
  STARTUP_DELAY_MAX_SECONDS,
  TRACK_FILE_DEFINITION_WEIGHT_MAX,
  TRACK_FILE_WEIGHT_MAX,
  TRACK_WEIGHT_MAX,
  TTL_MAX,
  VRID_MAX,
  VRID_MIN,
} from './defaults.js';
import { isNotImplementedYet, isRefused, NOT_IMPLEMENTED_YET, type Support } from './support.js';
import { closest, isMulticast, parseAddress, shown, splitCommand } from './values.js';

export type Origin = 'keepalived' | 'tandem';
export type { Support } from './support.js';

/** What a handler can reach besides its own target. */
export interface Env {
  ctx: Context;
  draft: ConfigDraft;
  /** Where the statement is, for messages: `vrrp_instance VI_1`. */
  label: string;
}

export interface KeywordSpec<T> {
  name: string;
  origin: Origin;
  support: Support;
  /**
   * The schema properties the runtime reads to act on this keyword (a test finds each outside src/config),
   * or 'config' when the configuration layer itself applies it (include, random_seed, sync-group weights).
   * Dotted paths (`notify.master`) name a property and its parent: both must appear in one reading file.
   */
  reads?: readonly string[] | 'config';
  /**
   * For a keyword not implemented yet: whether a use changes behaviour (given the target after the handler
   * ran). Absent: every use does. Uses that depend on other lines are decided in build.ts.
   */
  refusedWhen?: (target: T) => boolean;
  /** The values as documented, `<1-255>` etc.; empty for flags. */
  syntax: string;
  default?: string;
  description: string;
  /** May appear several times (lists); otherwise a repeat overrides the earlier line, with a warning. */
  repeatable?: boolean;
  /** keepalived's deprecated spelling, accepted with a warning naming the preferred one. */
  deprecatedFor?: string;
  apply?: (statement: Statement, target: T, env: Env) => void;
}

export interface SectionSpec<T> {
  id: string;
  /** How docs/config.md heads this section. */
  title: string;
  keywords: KeywordSpec<T>[];
  /** A word that is not a keyword; returns true if the section takes it as an entry of its own. */
  onUnknown?: (statement: Statement, target: T, env: Env) => boolean;
}

/** A keepalived keyword tandem acts on; `more.reads` names the schema fields the runtime reads. */
function implemented<T>(
  name: string,
  syntax: string,
  description: string,
  apply: KeywordSpec<T>['apply'],
  more: Partial<KeywordSpec<T>> = {},
): KeywordSpec<T> {
  return { name, origin: 'keepalived', support: 'implemented', syntax, description, apply, ...more };
}

/** Accepted for compatibility: the value is read (and checked), but tandem does nothing with it, because `why`. */
function noEffect<T>(
  name: string,
  syntax: string,
  description: string,
  apply: KeywordSpec<T>['apply'],
  why: string,
  more: Partial<KeywordSpec<T>> = {},
): KeywordSpec<T> {
  return {
    name,
    origin: 'keepalived',
    support: `accepted, no effect: ${why}`,
    syntax,
    description,
    apply,
    ...more,
  };
}

/**
 * Parsed and checked into the schema, but not acted on yet: refused (warned with --lenient) wherever a use would
 * change behaviour, until a later version implements it and changes the level to 'implemented'.
 */
function notYet<T>(
  name: string,
  syntax: string,
  description: string,
  apply: KeywordSpec<T>['apply'],
  more: Partial<KeywordSpec<T>> = {},
): KeywordSpec<T> {
  return { name, origin: 'keepalived', support: NOT_IMPLEMENTED_YET, syntax, description, apply, ...more };
}

/** A keepalived keyword tandem refuses without reading; `what` completes "tandem does not implement ...". */
function refused<T>(name: string, what: string): KeywordSpec<T> {
  return {
    name,
    origin: 'keepalived',
    support: `refused: tandem does not implement ${what}`,
    syntax: '',
    description: what,
  };
}

/** Rows of [keyword, what tandem does not implement]. */
function refusedKeywords<T>(rows: readonly (readonly [string, string])[]): KeywordSpec<T>[] {
  return rows.map(([name, what]) => refused<T>(name, what));
}

/** A keyword of tandem's own, not keepalived's. */
const ownKeyword: typeof implemented = (name, syntax, description, apply, more = {}) =>
  implemented(name, syntax, description, apply, { origin: 'tandem', ...more });

// ---- value helpers shared by the handlers ----

function one(statement: Statement, env: Env, usage: string): Token | undefined {
  if (!env.ctx.noBlock(statement) || !env.ctx.args(statement, 1, 1, `${statement.keyword.text} ${usage}`))
    return undefined;
  return statement.args[0];
}

function integerValue(statement: Statement, env: Env, min: number, max: number): number | undefined {
  const token = one(statement, env, `<${min}-${max}>`);
  return token === undefined ? undefined : env.ctx.integer(token, min, max, statement.keyword.text);
}

function decimalValue(statement: Statement, env: Env, min: number, max: number): number | undefined {
  const token = one(statement, env, `<seconds ${min}-${max}>`);
  return token === undefined ? undefined : env.ctx.decimal(token, min, max, statement.keyword.text);
}

function stringValue(statement: Statement, env: Env, usage = '<STRING>'): string | undefined {
  return one(statement, env, usage)?.text;
}

function flagValue(statement: Statement, env: Env): boolean {
  return env.ctx.flag(statement);
}

type Apply<T> = NonNullable<KeywordSpec<T>['apply']>;

// Handlers that read one value into one field. A wrong value is reported and keeps the earlier one.

function integerInto<K extends string>(key: K, min: number, max: number): Apply<{ [k in K]?: number }> {
  return (s, t, env) => {
    t[key] = integerValue(s, env, min, max) ?? t[key];
  };
}

function decimalInto<K extends string>(key: K, min: number, max: number): Apply<{ [k in K]?: number }> {
  return (s, t, env) => {
    t[key] = decimalValue(s, env, min, max) ?? t[key];
  };
}

function stringInto<K extends string>(key: K, usage?: string): Apply<{ [k in K]?: string }> {
  return (s, t, env) => {
    t[key] = stringValue(s, env, usage) ?? t[key];
  };
}

/** `KEYWORD [<BOOL>]`: on when given bare. */
function boolInto<K extends string>(key: K): Apply<{ [k in K]?: boolean }> {
  return (s, t, env) => {
    t[key] = env.ctx.optionalBool(s) ?? t[key];
  };
}

/** `KEYWORD` alone: sets target[key] to `value`. */
function flagSets<K extends string>(key: K, value: boolean): Apply<{ [k in K]?: boolean }> {
  return (s, t, env) => {
    if (flagValue(s, env)) t[key] = value;
  };
}

/** `<2|3>`: a VRRP version. */
function versionInto<K extends string>(key: K): Apply<{ [k in K]?: VrrpVersion }> {
  return (s, t, env) => {
    const value = integerValue(s, env, 2, 3);
    if (value === 2 || value === 3) t[key] = value;
  };
}

/** `<username> [groupname]`. */
function userValue(
  statement: Statement,
  env: Env,
  usage: string,
): { user: string; group?: string } | undefined {
  if (!env.ctx.noBlock(statement) || !env.ctx.args(statement, 1, 2, usage)) return undefined;
  const [user, group] = statement.args as [Token, Token | undefined];
  return group === undefined ? { user: user.text } : { user: user.text, group: group.text };
}

/** Runs `each` on every entry of a list block. */
function eachEntry(statement: Statement, env: Env, each: (entry: Statement) => void): void {
  if (!env.ctx.needBlock(statement)) return;
  if (statement.args.length > 0) {
    const extra = statement.args[0] as Token;
    env.ctx.error(extra.at, `unexpected '${extra.text}' before the block of '${statement.keyword.text}'`);
  }
  for (const entry of statement.block) each(entry);
}

/** A list block whose entries `parse` reads, each onto the list `listOf` picks from the target. */
function listBlock<T, E>(
  parse: (ctx: Context, entry: Statement, list: string) => E | undefined,
  listOf: (target: T) => E[],
): Apply<T> {
  return (s, t, env) => {
    eachEntry(s, env, (entry) => {
      const item = parse(env.ctx, entry, `${s.keyword.text} of ${env.label}`);
      if (item !== undefined) listOf(t).push(item);
    });
  };
}

function weightWithReverse(
  statement: Statement,
  env: Env,
  max: number,
): { weight: number; reverse: boolean } | undefined {
  if (!env.ctx.noBlock(statement) || !env.ctx.args(statement, 1, 2, `weight <${-max}..${max}> [reverse]`)) {
    return undefined;
  }
  const [value, reverse] = statement.args as [Token, Token | undefined];
  const weight = env.ctx.integer(value, -max, max, 'weight');
  if (reverse !== undefined && reverse.text !== 'reverse' && reverse.text !== 'noreverse') {
    env.ctx.error(reverse.at, `expected 'reverse' after the weight, found '${reverse.text}'`);
    return undefined;
  }
  return weight === undefined ? undefined : { weight, reverse: reverse?.text === 'reverse' };
}

/** `weight <-max..max> [reverse]` of a vrrp_script, track_file or vrrp_track_process definition. */
function weightKeyword<T extends { weight?: number; reverse?: boolean }>(
  max: number,
  description: string,
  defaultText: string,
): KeywordSpec<T> {
  return implemented<T>(
    'weight',
    `<${-max}..${max}> [reverse]`,
    description,
    (s, t, env) => {
      const value = weightWithReverse(s, env, max);
      if (value !== undefined) [t.weight, t.reverse] = [value.weight, value.reverse];
    },
    { default: defaultText, reads: ['weight', 'reverse'] },
  );
}

/**
 * The track_interface, track_script, track_file and track_process blocks, which vrrp_instance, vrrp_sync_group
 * and carp_instance take. VRRP weights change the priority (-253..253, files and processes -254..254); CARP
 * weights are demotions (0..255, carp(4)'s demotion counter is one octet).
 */
function trackKeywords<T extends TrackListsDraft>(
  description: {
    track_interface: string;
    track_script: string;
    track_file: string;
    track_process: string;
  },
  weights: 'priority' | 'demotion' = 'priority',
): KeywordSpec<T>[] {
  const block = (
    name: keyof typeof description,
    entry: string,
    reverse: string,
    priorityWeightMax: number,
    key: keyof TrackListsDraft,
  ): KeywordSpec<T> => {
    const range: WeightRange =
      weights === 'priority'
        ? { min: -priorityWeightMax, max: priorityWeightMax }
        : { min: 0, max: CARP_DEMOTION_MAX };
    return implemented<T>(
      name,
      `{ <${entry}> [weight <${range.min}..${range.max}>] [${reverse}] ... }`,
      description[name],
      listBlock(
        (ctx, entry, list) => parseTrack(ctx, entry, list, range),
        (t) => t[key],
      ),
      { repeatable: true, reads: [key] },
    );
  };
  return [
    block('track_interface', 'IFNAME', 'reverse', TRACK_WEIGHT_MAX, 'trackInterfaces'),
    block('track_script', 'SCRIPT', 'reverse|noreverse', TRACK_WEIGHT_MAX, 'trackScripts'),
    block('track_file', 'TRACK_FILE', 'reverse|noreverse', TRACK_FILE_WEIGHT_MAX, 'trackFiles'),
    block('track_process', 'TRACK_PROCESS', 'reverse|noreverse', TRACK_FILE_WEIGHT_MAX, 'trackProcesses'),
  ];
}

const NO_MAIL = 'tandem sends no mail';

function smtpNoEffect(statement: Statement, env: Env): void {
  if (env.draft.smtpWarned) return;
  env.draft.smtpWarned = true;
  env.ctx.sink.warning(
    statement.keyword.at,
    DiagnosticCodes.noEffect,
    `'${statement.keyword.text}' is accepted for compatibility, but ${NO_MAIL}`,
  );
}

/** A global SMTP setting: read into global_defs' smtp, with the one "tandem sends no mail" warning. */
function smtpKeyword(
  name: string,
  syntax: string,
  description: string,
  apply: Apply<GlobalDraft['smtp']>,
): KeywordSpec<GlobalDraft> {
  return noEffect<GlobalDraft>(
    name,
    syntax,
    description,
    (s, g, env) => {
      smtpNoEffect(s, env);
      apply(s, g.smtp, env);
    },
    NO_MAIL,
  );
}

/** smtp_alert of an instance or a sync group: read, and a warning when it asks for mail. */
function smtpAlertKeyword<T extends { smtpAlert?: boolean }>(): KeywordSpec<T> {
  return noEffect<T>(
    'smtp_alert',
    '[<BOOL>]',
    'mail on transitions',
    (s, t, env) => {
      const value = env.ctx.optionalBool(s);
      if (value !== undefined) t.smtpAlert = value;
      if (value === true)
        env.ctx.sink.warning(
          s.keyword.at,
          DiagnosticCodes.noEffect,
          `smtp_alert in ${env.label} is accepted, but ${NO_MAIL}`,
        );
    },
    NO_MAIL,
  );
}

/** A flag keepalived deprecated and ignores: accepted with a warning that says what to do instead. */
function deprecatedFlag<T>(name: string, description: string, message: string): KeywordSpec<T> {
  return noEffect<T>(
    name,
    '',
    description,
    (s, _t, env) => {
      if (flagValue(s, env)) env.ctx.sink.warning(s.keyword.at, DiagnosticCodes.deprecated, message);
    },
    'keepalived ignores it too (deprecated)',
  );
}

const SCRIPT_SYNTAX = '<SCRIPT>|"<SCRIPT> <ARGS>" [username [groupname]]';

function notifyKeywords<T extends { notify: NotifyDraft }>(): KeywordSpec<T>[] {
  const slot = (name: string, key: keyof NotifyDraft, description: string): KeywordSpec<T> =>
    implemented<T>(
      name,
      SCRIPT_SYNTAX,
      description,
      (s, t, env) => {
        const command = parseCommandWithUser(env.ctx, s);
        if (command !== undefined) t.notify[key] = command;
      },
      { reads: [`notify.${key}`] },
    );
  return [
    slot('notify_master', 'master', 'script run on the transition to MASTER'),
    slot('notify_backup', 'backup', 'script run on the transition to BACKUP'),
    slot('notify_fault', 'fault', 'script run on the transition to FAULT'),
    slot('notify_stop', 'stop', 'script run when tandem stops the instance'),
    slot(
      'notify',
      'any',
      'script run on every transition, with `INSTANCE|GROUP NAME STATE PRIORITY` appended',
    ),
  ];
}

/** notify_deleted and notify_priority_changes, which vrrp_instance and vrrp_sync_group both take. */
function notifyChangeKeywords<
  T extends { notify: NotifyDraft; notifyDeleted?: boolean; notifyPriorityChanges?: boolean },
>(): KeywordSpec<T>[] {
  return [
    notYet<T>(
      'notify_deleted',
      `[${SCRIPT_SYNTAX}]`,
      'report DELETED instead of FAULT when a reload deletes it, and run the script if given',
      (s, t, env) => {
        t.notifyDeleted = true;
        if (s.args.length === 0) {
          env.ctx.noBlock(s);
          return;
        }
        const command = parseCommandWithUser(env.ctx, s);
        if (command !== undefined) t.notify.deleted = command;
      },
      { default: 'off' },
    ),
    implemented<T>(
      'notify_priority_changes',
      '[<BOOL>]',
      'write priority changes to the notify FIFOs (MASTER_PRIORITY / BACKUP_PRIORITY; in a sync group, the default of its members)',
      boolInto('notifyPriorityChanges'),
      { default: 'vrrp_notify_priority_changes', reads: ['notifyPriorityChanges'] },
    ),
  ];
}

/** A gratuitous ARP setting, in global_defs (vrrp_garp_*) and in vrrp_instance (garp_*). */
function garpKeyword<T extends { garp: Partial<GarpConfig> }>(
  name: string,
  field: keyof GarpConfig,
  kind: 'delay' | 'repeat',
  description: string,
  defaultText: string,
): KeywordSpec<T> {
  const apply: Apply<T> = (s, t, env) => {
    const value =
      kind === 'delay'
        ? integerValue(s, env, 0, GARP_DELAY_MAX_SECONDS)
        : integerValue(s, env, 1, GARP_REPEAT_MAX);
    if (value !== undefined) t.garp[field] = value;
  };
  const syntax = kind === 'delay' ? `<seconds 0-${GARP_DELAY_MAX_SECONDS}>` : `<1-${GARP_REPEAT_MAX}>`;
  return implemented<T>(name, syntax, description, apply, {
    default: defaultText,
    reads: [`garp.${field}`],
  });
}

/** `[all] <SECONDS>`: garp_extra_if and vrrp_garp_extra_if (keepalived: global 1-86400, per instance 0-86400). */
function garpExtraIfKeyword<T extends { garpExtraIf?: GarpExtraIf }>(
  name: string,
  min: number,
  defaultText: string,
): KeywordSpec<T> {
  return notYet<T>(
    name,
    `[all] <seconds ${min}-${GARP_DELAY_MAX_SECONDS}>`,
    'periodic gratuitous ARPs / NAs on the other interfaces of VIPs (VMACs only, or every one with `all`)',
    (s, t, env) => {
      if (!env.ctx.noBlock(s) || !env.ctx.args(s, 1, 2, `${s.keyword.text} [all] SECONDS`)) return;
      let allInterfaces = false;
      let interval: number | undefined;
      for (const token of s.args) {
        if (token.text === 'all') allInterfaces = true;
        else interval = env.ctx.integer(token, min, GARP_DELAY_MAX_SECONDS, s.keyword.text);
      }
      if (interval === undefined) {
        if (s.args.every((token) => token.text === 'all'))
          env.ctx.error(s.keyword.at, `${s.keyword.text} needs an interval in seconds`);
        return;
      }
      t.garpExtraIf = { intervalSeconds: interval, allInterfaces };
    },
    { default: defaultText, refusedWhen: (t) => (t.garpExtraIf?.intervalSeconds ?? 0) > 0 },
  );
}

/** `<1-100>`: down_timer_adverts and vrrp_down_timer_adverts (3 is RFC 5798 §6.1's). */
function downTimerAdvertsKeyword<T extends { downTimerAdverts?: number }>(
  name: string,
  defaultText: string,
): KeywordSpec<T> {
  return implemented<T>(
    name,
    `<${DOWN_TIMER_ADVERTS_MIN}-${DOWN_TIMER_ADVERTS_MAX}>`,
    "Master_Down_Interval in advert intervals instead of RFC 5798 §6.1's 3 (a deviation from the RFC; strict mode keeps 3)",
    integerInto('downTimerAdverts', DOWN_TIMER_ADVERTS_MIN, DOWN_TIMER_ADVERTS_MAX),
    { default: defaultText, reads: ['downTimerAdverts'] },
  );
}

// ---- keywords vrrp_instance and carp_instance share (one handler serves both) ----

function instanceAddress(key: 'unicastSrcIp' | 'mcastSrcIp' | 'mcastDstIp') {
  return (s: Statement, t: { [k in typeof key]?: AddressDraft }, env: Env): void => {
    const token = one(s, env, '<IPADDR>');
    if (token === undefined) return;
    const parsed = env.ctx.address(token, s.keyword.text);
    if (parsed !== undefined) t[key] = { ...parsed, at: token.at };
  };
}

function interfaceKeyword<T extends { interface?: string }>(): KeywordSpec<T> {
  return implemented<T>(
    'interface',
    '<IFNAME>',
    'interface adverts are sent and received on',
    (s, t, env) => {
      const token = one(s, env, '<IFNAME>');
      if (token !== undefined) t.interface = env.ctx.interfaceName(token, 'interface') ?? t.interface;
    },
    { reads: ['interface'] },
  );
}

function virtualIpaddressKeyword<T extends { vips: VirtualAddress[] }>(description: string): KeywordSpec<T> {
  return implemented<T>(
    'virtual_ipaddress',
    '{ <IP>[/<LEN>] [brd <IP>] [dev <IF>] [scope <SCOPE>] [label <LABEL>] [peer <IP>] ... [no_track] ... }',
    description,
    listBlock(parseVirtualAddress, (t) => t.vips),
    { repeatable: true, reads: ['vips'] },
  );
}

function unicastSrcIpKeyword<T extends { unicastSrcIp?: AddressDraft }>(description: string): KeywordSpec<T> {
  return implemented<T>('unicast_src_ip', '<IPADDR>', description, instanceAddress('unicastSrcIp'), {
    reads: ['unicastSrcIp'],
  });
}

function unicastPeerKeyword<T extends { unicastPeers: PeerDraft[] }>(): KeywordSpec<T> {
  return implemented<T>(
    'unicast_peer',
    '{ <IPADDR> [min_ttl <0-255>] [max_ttl <0-255>] ... }',
    'send adverts by unicast to these peers instead of multicast',
    listBlock(parsePeer, (t) => t.unicastPeers),
    { repeatable: true, reads: ['unicastPeers', 'minTtl', 'maxTtl'] },
  );
}

function preemptKeywords<T extends { preempt: boolean }>(
  nopreemptDescription: string,
  preemptDescription: string,
  defaultText: string,
): KeywordSpec<T>[] {
  return [
    implemented<T>('nopreempt', '', nopreemptDescription, flagSets('preempt', false), { reads: ['preempt'] }),
    implemented<T>('preempt', '', preemptDescription, flagSets('preempt', true), {
      default: defaultText,
      reads: ['preempt'],
    }),
  ];
}

function dontTrackPrimaryKeyword<T extends { dontTrackPrimary: boolean }>(
  name: string,
  description: string,
): KeywordSpec<T> {
  return implemented<T>(name, '', description, flagSets('dontTrackPrimary', true), {
    default: 'off',
    reads: ['dontTrackPrimary'],
  });
}

function serviceNamesKeyword<T extends { services: { name: string; at: Position }[] }>(): KeywordSpec<T> {
  return ownKeyword<T>(
    'tandem_service',
    '<SERVICE> [SERVICE...]',
    "tandem_service blocks whose commands run on this instance's transitions, before its notify scripts",
    (s, t, env) => {
      if (!env.ctx.noBlock(s) || !env.ctx.args(s, 1, Infinity, 'tandem_service SERVICE [SERVICE...]')) return;
      for (const token of s.args) t.services.push({ name: token.text, at: token.at });
    },
    { repeatable: true, reads: ['services'] },
  );
}

// ---- global_defs ----

/** keepalived reads these in global_defs and at the top level alike. */
const UNSUPPORTED_IN_GLOBAL_DEFS_OR_TOP_LEVEL: readonly (readonly [string, string])[] = [
  ['net_namespace', 'network namespaces'],
  ['net_namespace_ipvs', 'network namespaces'],
  ['namespace_with_ipsets', 'network namespaces'],
  ['instance', 'named keepalived instances'],
  ['use_pid_dir', 'pid directories'],
  ['linkbeat_use_polling', 'link polling'],
  ['child_wait_time', 'child processes'],
];

const globalSection: SectionSpec<GlobalDraft> = {
  id: 'global_defs',
  title: 'global_defs',
  keywords: [
    implemented(
      'router_id',
      '<STRING>',
      'name of this box in notifications and logs',
      stringInto('routerId'),
      { default: 'the host name', reads: ['routerId'] },
    ),
    implemented(
      'script_user',
      '<username> [groupname]',
      'user (and group) that runs scripts without their own user',
      (s, g, env) => {
        g.scriptUser = userValue(s, env, 'script_user username [groupname]') ?? g.scriptUser;
      },
      { default: 'keepalived_script if that user exists, else root', reads: ['scriptUser'] },
    ),
    implemented(
      'enable_script_security',
      '',
      'refuse to run scripts as root whose path a non-root user can write',
      flagSets('enableScriptSecurity', true),
      { default: 'off', reads: ['enableScriptSecurity'] },
    ),
    implemented(
      'vrrp_version',
      '<2|3>',
      'VRRP version of instances without `version`',
      versionInto('vrrpVersion'),
      { default: '2 (IPv6 instances always use 3)', reads: ['version'] },
    ),
    implemented(
      'vrrp_mcast_group4',
      '<IPv4 multicast address>',
      'IPv4 group multicast instances send adverts to, join and hear adverts on',
      multicastGroupInto('mcastGroup4', 4, '224.0.0.0/4'),
      { default: '224.0.0.18', reads: ['mcastDstIp'] },
    ),
    implemented(
      'vrrp_mcast_group6',
      '<IPv6 multicast address>',
      'IPv6 group multicast instances send adverts to, join and hear adverts on',
      multicastGroupInto('mcastGroup6', 6, 'ff00::/8'),
      { default: 'ff02::12', reads: ['mcastDstIp'] },
    ),
    garpKeyword(
      'vrrp_garp_master_delay',
      'masterDelaySeconds',
      'delay',
      'delay of the second burst of gratuitous ARPs after becoming MASTER (0: none)',
      '5',
    ),
    garpKeyword(
      'vrrp_garp_master_repeat',
      'masterRepeat',
      'repeat',
      'gratuitous ARPs per burst after becoming MASTER',
      '5',
    ),
    garpKeyword(
      'vrrp_garp_lower_prio_delay',
      'lowerPrioDelaySeconds',
      'delay',
      'delay of the second burst after a lower-priority advert while MASTER',
      'vrrp_garp_master_delay',
    ),
    garpKeyword(
      'vrrp_garp_lower_prio_repeat',
      'lowerPrioRepeat',
      'repeat',
      'gratuitous ARPs per burst after a lower-priority advert while MASTER',
      'vrrp_garp_master_repeat',
    ),
    garpKeyword(
      'vrrp_garp_master_refresh',
      'masterRefreshSeconds',
      'delay',
      'interval of periodic gratuitous ARPs while MASTER (0: none)',
      '0',
    ),
    garpKeyword(
      'vrrp_garp_master_refresh_repeat',
      'masterRefreshRepeat',
      'repeat',
      'gratuitous ARPs per periodic refresh',
      '1',
    ),
    notYet(
      'vrrp_garp_interval',
      '<seconds, decimal>',
      'delay between gratuitous ARPs on one interface',
      decimalInto('garpIntervalSeconds', 0, GARP_DELAY_MAX_SECONDS),
      { default: '0', refusedWhen: (g) => (g.garpIntervalSeconds ?? 0) > 0 },
    ),
    notYet(
      'vrrp_gna_interval',
      '<seconds, decimal>',
      'delay between unsolicited neighbour adverts on one interface',
      decimalInto('gnaIntervalSeconds', 0, GARP_DELAY_MAX_SECONDS),
      { default: '0', refusedWhen: (g) => (g.gnaIntervalSeconds ?? 0) > 0 },
    ),
    implemented(
      'vrrp_min_garp',
      '[<BOOL>]',
      'one gratuitous ARP per burst and no second burst',
      boolInto('minGarp'),
      { default: 'off', reads: ['garp.masterRepeat', 'garp.masterDelaySeconds'] },
    ),
    garpExtraIfKeyword<GlobalDraft>('vrrp_garp_extra_if', 1, 'off'),
    downTimerAdvertsKeyword<GlobalDraft>('vrrp_down_timer_adverts', '3'),
    implemented(
      'vrrp_startup_delay',
      '<seconds, decimal>',
      'delay before instances start after tandem starts',
      decimalInto('startupDelaySeconds', 0, STARTUP_DELAY_MAX_SECONDS),
      { default: '0', reads: ['startupDelaySeconds'] },
    ),
    implemented(
      'notify_fifo',
      '<FIFO> [username [groupname]]',
      'FIFO that receives every notify event',
      (s, g, env) => {
        g.notifyFifo = parseFifo(env.ctx, s) ?? g.notifyFifo;
      },
      { reads: ['notifyFifo'] },
    ),
    implemented(
      'notify_fifo_script',
      '<SCRIPT> [username [groupname]]',
      'script started to read notify_fifo',
      commandInto('notifyFifoScript'),
      { reads: ['notifyFifo', 'script'] },
    ),
    implemented(
      'vrrp_notify_fifo',
      '<FIFO> [username [groupname]]',
      'FIFO that receives VRRP notify events (`INSTANCE "VI_1" MASTER 100`)',
      (s, g, env) => {
        g.vrrpNotifyFifo = parseFifo(env.ctx, s) ?? g.vrrpNotifyFifo;
        g.vrrpNotifyFifoAt = s.args[0]?.at ?? s.keyword.at;
      },
      { reads: ['vrrpNotifyFifo'] },
    ),
    implemented(
      'vrrp_notify_fifo_script',
      '<SCRIPT> [username [groupname]]',
      'script started to read vrrp_notify_fifo',
      commandInto('vrrpNotifyFifoScript'),
      { reads: ['vrrpNotifyFifo', 'script'] },
    ),
    implemented(
      'vrrp_notify_priority_changes',
      '[<BOOL>]',
      'default of notify_priority_changes: write priority changes to the notify FIFOs',
      boolInto('notifyPriorityChanges'),
      { default: 'off', reads: ['notifyPriorityChanges'] },
    ),
    implemented(
      'fifo_write_vrrp_states_on_reload',
      '',
      'after a reload, write the state of every instance and sync group it kept running to the notify FIFOs again',
      flagSets('fifoWriteStatesOnReload', true),
      { default: 'off', reads: ['fifoWriteStatesOnReload'] },
    ),
    implemented(
      'lvs_sync_daemon',
      '<INTERFACE> [[inst] <VRRP_INSTANCE>] [id <0-255>] [maxlen <1-65507>] [port <1-65535>] [ttl <1-255>] [group <IP>]',
      "IPVS connection sync daemon: its master/backup role follows the instance; without one, both run for the agent's life (as keepalived's checker runs them)",
      parseLvsSyncDaemon,
      { reads: ['lvsSyncDaemon'] },
    ),
    implemented(
      'vrrp_strict',
      '',
      'strict RFC compliance for every instance (see strict_mode)',
      flagSets('strict', true),
      { default: 'off', reads: ['lowerPrioNoAdvert', 'acceptMode'] },
    ),
    implemented(
      'vrrp_lower_prio_no_advert',
      '[<BOOL>]',
      'do not answer a lower-priority advert with an advert',
      boolInto('lowerPrioNoAdvert'),
      { default: 'off (on with vrrp_strict)', reads: ['lowerPrioNoAdvert'] },
    ),
    implemented(
      'vrrp_higher_prio_send_advert',
      '[<BOOL>]',
      'as MASTER, send one advert before yielding to a higher priority',
      boolInto('higherPrioSendAdvert'),
      { default: 'off', reads: ['higherPrioSendAdvert'] },
    ),
    implemented(
      'vrrp_skip_check_adv_addr',
      '[<BOOL>]',
      'skip checking the addresses of adverts from the same master',
      boolInto('skipCheckAdvAddr'),
      { default: 'off', reads: ['skipCheckAdvAddr'] },
    ),
    implemented(
      'vrrp_check_unicast_src',
      '',
      'in unicast mode, accept adverts only from configured peers (without it, as keepalived, from any source)',
      flagSets('checkUnicastSrc', true),
      { default: 'off', reads: ['checkUnicastSrc'] },
    ),
    implemented(
      'log_unknown_vrids',
      '',
      'log adverts for VRIDs that no instance of the interface has (each is counted as unknownVrid either way)',
      flagSets('logUnknownVrids', true),
      { default: 'off', reads: ['logUnknownVrids'] },
    ),
    noEffect(
      'vrrp_iptables',
      '[<IN_CHAIN> [<OUT_CHAIN>]]',
      'iptables chains for the no_accept firewall',
      (s, g, env) => {
        if (!env.ctx.noBlock(s) || !env.ctx.args(s, 0, 2, 'vrrp_iptables [IN_CHAIN [OUT_CHAIN]]')) return;
        const [inChain, outChain] = s.args;
        if (inChain !== undefined && outChain !== undefined && inChain.text === outChain.text) {
          env.ctx.error(outChain.at, 'vrrp_iptables: the in and out chains must differ');
          return;
        }
        // keepalived.conf(5): without chains, INPUT and OUTPUT.
        g.iptables =
          inChain === undefined
            ? { inChain: 'INPUT', outChain: 'OUTPUT' }
            : outChain === undefined
              ? { inChain: inChain.text }
              : { inChain: inChain.text, outChain: outChain.text };
      },
      'tandem always drops with nftables, in its own table (see `nftables`), as keepalived does where iptables is nft-based; chain names do not apply',
    ),
    implemented(
      'nftables',
      '[<TABLE>]',
      'name of the nftables table (family inet) of the no_accept filter',
      (s, g, env) => {
        if (!env.ctx.noBlock(s) || !env.ctx.args(s, 0, 1, 'nftables [TABLE]')) return;
        g.nftables = { ...g.nftables, table: s.args[0]?.text ?? DEFAULT_NFTABLES_TABLE };
      },
      { default: 'tandem; keepalived when given bare', reads: ['nftables'] },
    ),
    implemented(
      'nftables_priority',
      '<PRIORITY>',
      'priority of the base chains of the nftables table',
      (s, g, env) => {
        const token = one(s, env, '<PRIORITY>');
        if (token === undefined) return;
        const value = env.ctx.integer(token, -2147483648, 2147483647, 'nftables_priority');
        if (value !== undefined) g.nftables = { ...g.nftables, priority: value };
      },
      { default: '-1', reads: ['nftables'] },
    ),
    implemented(
      'nftables_counters',
      '',
      'counters on the drop rules',
      (s, g, env) => {
        if (flagValue(s, env)) g.nftables = { ...g.nftables, counters: true };
      },
      { default: 'off', reads: ['nftables'] },
    ),
    implemented(
      'nftables_ifindex',
      '',
      'interface indexes (not names) with link-local IPv6 VIPs in the sets',
      (s, g, env) => {
        if (flagValue(s, env)) g.nftables = { ...g.nftables, ifindex: true };
      },
      { default: 'off', reads: ['nftables'] },
    ),
    implemented(
      'random_seed',
      `<0-${RANDOM_SEED_MAX}>`,
      'seed of ${_RANDOM} for the lines after it (glibc random(), as keepalived)',
      integerInto('randomSeed', 0, RANDOM_SEED_MAX),
      { default: 'a new seed each load', reads: 'config' },
    ),
    smtpKeyword(
      'notification_email',
      '{ <ADDRESS> ... }',
      'mail recipients (parsed; tandem sends no mail)',
      (s, smtp, env) => {
        eachEntry(s, env, (entry) => {
          if (entry.args.length > 0 || entry.block !== undefined)
            env.ctx.error(entry.keyword.at, 'notification_email takes one address per line');
          else smtp.notificationEmail.push(entry.keyword.text);
        });
      },
    ),
    smtpKeyword(
      'notification_email_from',
      '<ADDRESS>',
      'mail sender (parsed; no mail is sent)',
      stringInto('notificationEmailFrom'),
    ),
    smtpKeyword('smtp_server', '<HOST> [<PORT>]', 'SMTP server (parsed; no mail is sent)', (s, smtp, env) => {
      if (!env.ctx.noBlock(s) || !env.ctx.args(s, 1, 2, 'smtp_server HOST [PORT]')) return;
      const [host, port] = s.args as [Token, Token | undefined];
      smtp.server = host.text;
      if (port !== undefined) smtp.port = env.ctx.integer(port, 1, 65535, 'smtp_server port');
    }),
    smtpKeyword('smtp_helo_name', '<STRING>', 'HELO name (parsed; no mail is sent)', stringInto('helo')),
    smtpKeyword(
      'smtp_connect_timeout',
      '<seconds>',
      'SMTP timeout (parsed; no mail is sent)',
      integerInto('connectTimeoutSeconds', 1, 3600),
    ),
    smtpKeyword(
      'smtp_alert',
      '[<BOOL>]',
      'default of smtp_alert (parsed; no mail is sent)',
      boolInto('alert'),
    ),
    smtpKeyword(
      'smtp_alert_vrrp',
      '[<BOOL>]',
      'default of smtp_alert for VRRP (parsed; no mail is sent)',
      boolInto('alert'),
    ),
    ownKeyword(
      'tandem_notify_timeout',
      `<seconds 1-${NOTIFY_TIMEOUT_MAX_SECONDS}>`,
      'time a notify script may run before its process group is killed',
      integerInto('notifyTimeoutSeconds', 1, NOTIFY_TIMEOUT_MAX_SECONDS),
      { default: '30', reads: ['notifyTimeoutSeconds'] },
    ),
    ownKeyword(
      'tandem_runtime_dir',
      '<PATH>',
      'private runtime directory (mode 0700)',
      absolutePathInto('runtimeDir'),
      { default: '/run/tandem', reads: ['runtimeDir'] },
    ),
    ownKeyword(
      'tandem_control_socket',
      '<PATH>',
      'control socket read by `tandem status` (mode 0600); unset, it is `tandem.sock` in `tandem_runtime_dir`',
      absolutePathInto('controlSocket'),
      { default: '/run/tandem/tandem.sock', reads: ['controlSocket'] },
    ),
    ownKeyword(
      'tandem_metrics_listen',
      '[<ADDRESS>:<PORT> | [<IPv6>]:<PORT> | <PORT>]',
      `Prometheus /metrics endpoint, off without this keyword; alone or with a bare port it listens on loopback (${DEFAULT_METRICS_ADDRESS}:${DEFAULT_METRICS_PORT})`,
      (s, g, env) => {
        if (!env.ctx.noBlock(s) || !env.ctx.args(s, 0, 1, 'tandem_metrics_listen [ADDRESS:PORT]')) return;
        const token = s.args[0];
        g.metricsListen =
          token === undefined
            ? { address: DEFAULT_METRICS_ADDRESS, port: DEFAULT_METRICS_PORT, family: 4 }
            : (parseListen(env.ctx, token) ?? g.metricsListen);
      },
      { default: 'off', reads: ['metricsListen'] },
    ),
    ownKeyword(
      'tandem_handover',
      '<make_before_break|break_before_make>',
      'planned handover (SIGTERM, switchover, maintenance): keep the VIPs until the new master is heard (make_before_break), or release them at once as keepalived does (break_before_make)',
      (s, g, env) => {
        const token = one(s, env, '<make_before_break|break_before_make>');
        if (token === undefined) return;
        if (token.text === 'make_before_break') g.handover = 'make-before-break';
        else if (token.text === 'break_before_make') g.handover = 'break-before-make';
        else
          env.ctx.error(
            token.at,
            `tandem_handover must be make_before_break or break_before_make, found '${token.text}'`,
          );
      },
      { default: 'make_before_break', reads: ['handover'] },
    ),
    ...refusedKeywords<GlobalDraft>([
      ['tmp_config_directory', 'configuration copy directory'],
      ['config_save_dir', 'saving configurations on reload'],
      ['process_names', 'process names'],
      ['process_name', 'process names'],
      ['vrrp_process_name', 'process names'],
      ['checker_process_name', 'the checker process'],
      ['bfd_process_name', 'BFD'],
      ['startup_script', 'startup scripts'],
      ['startup_script_timeout', 'startup scripts'],
      ['shutdown_script', 'shutdown scripts'],
      ['shutdown_script_timeout', 'shutdown scripts'],
      ['smtp_alert_checker', 'the checker (LVS) side'],
      ['checker_log_all_failures', 'the checker (LVS) side'],
      ['no_email_faults', 'mail'],
      ['default_interface', 'static addresses'],
      ['lvs_timeouts', 'the LVS side'],
      ['lvs_flush', 'the LVS side'],
      ['lvs_flush_on_stop', 'the LVS side'],
      ['nftables_ipvs', 'the LVS side'],
      ['nftables_ipvs_priority', 'the LVS side'],
      ['nftables_ipvs_start_fwmark', 'the LVS side'],
      ['vrrp_ipsets', 'ipsets for the iptables firewall'],
      ['disable_local_igmp', 'IGMP settings'],
      ['max_auto_priority', 'automatic scheduling priority'],
      ['min_auto_priority_delay', 'automatic scheduling priority'],
      ['vrrp_priority', 'process priority'],
      ['checker_priority', 'the checker process'],
      ['bfd_priority', 'BFD'],
      ['vrrp_no_swap', 'memory locking'],
      ['checker_no_swap', 'the checker process'],
      ['bfd_no_swap', 'BFD'],
      ['vrrp_cpu_affinity', 'CPU affinity'],
      ['checker_cpu_affinity', 'the checker process'],
      ['bfd_cpu_affinity', 'BFD'],
      ['vrrp_rt_priority', 'real-time scheduling'],
      ['checker_rt_priority', 'the checker process'],
      ['bfd_rt_priority', 'BFD'],
      ['vrrp_rlimit_rttime', 'real-time scheduling'],
      ['checker_rlimit_rttime', 'the checker process'],
      ['bfd_rlimit_rttime', 'BFD'],
      ['snmp_socket', 'SNMP'],
      ['enable_snmp_vrrp', 'SNMP'],
      ['enable_snmp_checker', 'SNMP'],
      ['enable_snmp_rfc', 'SNMP'],
      ['enable_snmp_rfcv2', 'SNMP'],
      ['enable_snmp_rfcv3', 'SNMP'],
      ['enable_traps', 'SNMP'],
      ['enable_dbus', 'D-Bus'],
      ['dbus_service_name', 'D-Bus'],
      ['lvs_notify_fifo', 'the LVS side'],
      ['lvs_notify_fifo_script', 'the LVS side'],
      ['dynamic_interfaces', 'interfaces that do not exist at startup'],
      ['vrrp_netlink_cmd_rcv_bufs', 'netlink buffer sizes'],
      ['vrrp_netlink_cmd_rcv_bufs_force', 'netlink buffer sizes'],
      ['vrrp_netlink_monitor_rcv_bufs', 'netlink buffer sizes'],
      ['vrrp_netlink_monitor_rcv_bufs_force', 'netlink buffer sizes'],
      ['lvs_netlink_cmd_rcv_bufs', 'the LVS side'],
      ['lvs_netlink_cmd_rcv_bufs_force', 'the LVS side'],
      ['lvs_netlink_monitor_rcv_bufs', 'the LVS side'],
      ['lvs_netlink_monitor_rcv_bufs_force', 'the LVS side'],
      ['process_monitor_rcv_bufs', 'netlink buffer sizes'],
      ['process_monitor_rcv_bufs_force', 'netlink buffer sizes'],
      ['vrrp_rx_bufs_policy', 'socket buffer sizes'],
      ['vrrp_rx_bufs_multiplier', 'socket buffer sizes'],
      ['rs_init_notifies', 'the LVS side'],
      ['no_checker_emails', 'the LVS side'],
      ['umask', 'a configurable umask'],
      ['vmac_prefix', 'VMAC name prefixes'],
      ['vmac_addr_prefix', 'VMAC name prefixes'],
      ['reload_check_config', 'checked reloads'],
      ['include_check', 'include checks'],
      ['reload_time_file', 'scheduled reloads'],
      ['reload_repeat', 'scheduled reloads'],
      ['reload_file', 'reload files'],
      ['data_use_instance', 'data dumps'],
      ...UNSUPPORTED_IN_GLOBAL_DEFS_OR_TOP_LEVEL,
    ]),
  ],
};

/** notify_fifo_script, vrrp_notify_fifo_script: `<SCRIPT> [username [groupname]]`. */
function commandInto(key: 'notifyFifoScript' | 'vrrpNotifyFifoScript'): Apply<GlobalDraft> {
  return (s, g, env) => {
    g[key] = parseCommandWithUser(env.ctx, s) ?? g[key];
  };
}

function absolutePathInto(key: 'runtimeDir' | 'controlSocket'): Apply<GlobalDraft> {
  return (s, g, env) => {
    const token = one(s, env, '<absolute path>');
    if (token === undefined) return;
    if (token.text.startsWith('/')) g[key] = token.text;
    else env.ctx.error(token.at, `${s.keyword.text} must be an absolute path, found '${token.text}'`);
  };
}

/** `ADDRESS:PORT`, `[IPv6]:PORT` or a bare `PORT` (on DEFAULT_METRICS_ADDRESS) for tandem_metrics_listen. */
function parseListen(ctx: Context, token: Token): MetricsListen | undefined {
  const usage = 'ADDRESS:PORT, [IPv6]:PORT or PORT';
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$|^(\d{1,5})$/.exec(token.text);
  if (match === null) {
    const hint =
      parseAddress(token.text)?.family === 6 ? ' (write an IPv6 address in brackets: [::1]:9650)' : '';
    ctx.error(token.at, `${token.text} is not ${usage}${hint}`);
    return undefined;
  }
  const port = Number(match[3] ?? match[4]);
  if (port < 1 || port > 65535) {
    ctx.error(token.at, `the port of ${token.text} must be from 1 to 65535`);
    return undefined;
  }
  if (match[4] !== undefined) return { address: DEFAULT_METRICS_ADDRESS, port, family: 4 };
  const written = match[1] ?? match[2] ?? '';
  const parsed = parseAddress(written);
  if (parsed === undefined || (match[1] !== undefined) !== (parsed.family === 6)) {
    ctx.error(
      token.at,
      `the address of ${token.text} must be an IPv4 address, or an IPv6 address in brackets`,
    );
    return undefined;
  }
  return { address: parsed.address, port, family: parsed.family };
}

/** vrrp_mcast_group4/6: an address of that family, which must be multicast (`range`). */
function multicastGroupInto(
  key: 'mcastGroup4' | 'mcastGroup6',
  family: Family,
  range: string,
): Apply<GlobalDraft> {
  return (s, g, env) => {
    const token = one(s, env, `<IPv${family} multicast address>`);
    if (token === undefined) return;
    const parsed = env.ctx.address(token, s.keyword.text, family);
    if (parsed !== undefined && !isMulticast(parsed.address))
      env.ctx.error(
        token.at,
        `${s.keyword.text} must be a multicast address (${range}), found '${token.text}'`,
      );
    else if (parsed !== undefined) g[key] = parsed.address;
  };
}

function parseLvsSyncDaemon(s: Statement, g: GlobalDraft, env: Env): void {
  if (
    !env.ctx.noBlock(s) ||
    !env.ctx.args(s, 1, 14, 'lvs_sync_daemon INTERFACE [[inst] VRRP_INSTANCE] [id N] ...')
  )
    return;
  const [first, ...rest] = s.args as [Token, ...Token[]];
  const name = env.ctx.interfaceName(first, 'lvs_sync_daemon interface');
  if (name === undefined) return;
  const daemon: NonNullable<GlobalDraft['lvsSyncDaemon']> = { interface: name, at: s.keyword.at };
  const options: Record<string, [number, number] | 'address'> = {
    id: [0, LVS_SYNC_ID_MAX],
    maxlen: [1, LVS_SYNC_MAXLEN_MAX],
    port: [1, 65535],
    ttl: [1, TTL_MAX],
    group: 'address',
  };
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i] as Token;
    const range = options[token.text];
    const value = rest[i + 1];
    if (token.text === 'inst' || (range === undefined && i === 0)) {
      const instance = token.text === 'inst' ? value : token;
      if (instance === undefined) {
        env.ctx.error(token.at, `option 'inst' of lvs_sync_daemon needs an instance name`);
        return;
      }
      daemon.instance = instance.text;
      daemon.instanceAt = instance.at;
      if (token.text === 'inst') i++;
      continue;
    }
    if (range === undefined) {
      const suggestion = closest(token.text, [...Object.keys(options), 'inst']);
      env.ctx.sink.error(
        token.at,
        DiagnosticCodes.unknownKeyword,
        `unknown option '${token.text}' of lvs_sync_daemon${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}`,
      );
      return;
    }
    if (value === undefined) {
      env.ctx.error(token.at, `option '${token.text}' of lvs_sync_daemon needs a value`);
      return;
    }
    i++;
    if (range === 'address') {
      const address = env.ctx.address(value, 'lvs_sync_daemon group');
      if (address === undefined) return;
      daemon.group = address.address;
    } else {
      const number = env.ctx.integer(value, range[0], range[1], `lvs_sync_daemon ${token.text}`);
      if (number === undefined) return;
      if (token.text === 'id') daemon.syncId = number;
      else if (token.text === 'maxlen') daemon.maxlen = number;
      else if (token.text === 'port') daemon.port = number;
      else daemon.ttl = number;
    }
  }
  g.lvsSyncDaemon = daemon;
}

// ---- vrrp_script, track_file, vrrp_track_process ----

const scriptSection: SectionSpec<ScriptDraft> = {
  id: 'vrrp_script',
  title: 'vrrp_script NAME',
  keywords: [
    implemented(
      'script',
      '<COMMAND>|"<COMMAND> <ARGS>"',
      'command to run; its exit status is the check result',
      (s, t, env) => {
        if (!env.ctx.noBlock(s) || !env.ctx.args(s, 1, Infinity, 'script COMMAND [ARGS...]')) return;
        const [first, ...rest] = s.args as [Token, ...Token[]];
        const argv = [...splitCommand(first.text), ...rest.map((t) => t.text)];
        if (argv.length === 0) env.ctx.error(first.at, 'script needs a command, found an empty string');
        else t.command = { argv, source: s.keyword.at };
      },
      { reads: ['command'] },
    ),
    implemented(
      'interval',
      `<seconds 1-${SCRIPT_INTERVAL_MAX_SECONDS}>`,
      'seconds between two runs',
      integerInto('intervalSeconds', 1, SCRIPT_INTERVAL_MAX_SECONDS),
      { default: '1', reads: ['intervalSeconds'] },
    ),
    implemented(
      'timeout',
      `<seconds 1-${SCRIPT_INTERVAL_MAX_SECONDS}>`,
      'seconds after which a run counts as failed and is killed',
      integerInto('timeoutSeconds', 1, SCRIPT_INTERVAL_MAX_SECONDS),
      { default: 'the interval', reads: ['timeoutSeconds'] },
    ),
    weightKeyword(
      TRACK_WEIGHT_MAX,
      'priority change while the script succeeds (>0) or fails (<0); 0: FAULT on failure',
      '0',
    ),
    implemented(
      'rise',
      `<1-${SCRIPT_RISE_FALL_MAX}>`,
      'consecutive successes before the check is OK',
      integerInto('rise', 1, SCRIPT_RISE_FALL_MAX),
      { default: '1', reads: ['rise'] },
    ),
    implemented(
      'fall',
      `<1-${SCRIPT_RISE_FALL_MAX}>`,
      'consecutive failures before the check is KO',
      integerInto('fall', 1, SCRIPT_RISE_FALL_MAX),
      { default: '1', reads: ['fall'] },
    ),
    implemented(
      'user',
      '<username> [groupname]',
      'user (and group) that runs the script',
      (s, t, env) => {
        t.user = userValue(s, env, 'user USERNAME [GROUPNAME]') ?? t.user;
      },
      { default: 'script_user', reads: ['command.user'] },
    ),
    implemented('init_fail', '', 'the check starts as failed instead of OK', flagSets('initFail', true), {
      default: 'off',
      reads: ['initFail'],
    }),
  ],
};

const trackFileSection: SectionSpec<TrackFileDraft> = {
  id: 'track_file',
  title: 'track_file NAME (vrrp_track_file NAME)',
  keywords: [
    implemented(
      'file',
      '<PATH>',
      'file holding a number; weight × number is added to the priority',
      stringInto('file', '<PATH>'),
      { reads: ['file'] },
    ),
    weightKeyword(
      TRACK_FILE_DEFINITION_WEIGHT_MAX,
      'multiplier of the value read; 0: non-zero value means FAULT',
      '1',
    ),
    implemented(
      'init_file',
      '[VALUE] [overwrite]',
      'create the file with VALUE (default 0) at startup; overwrite an existing one',
      (s, t, env) => {
        if (!env.ctx.noBlock(s) || !env.ctx.args(s, 0, 2, 'init_file [VALUE] [overwrite]')) return;
        const init = { value: 0, overwrite: false };
        for (const token of s.args) {
          if (token.text === 'overwrite') init.overwrite = true;
          else {
            const value = env.ctx.integer(
              token,
              -TRACK_FILE_DEFINITION_WEIGHT_MAX,
              TRACK_FILE_DEFINITION_WEIGHT_MAX,
              'init_file value',
            );
            if (value === undefined) return;
            init.value = value;
          }
        }
        t.init = init;
      },
      { reads: ['init'] },
    ),
  ],
};

const trackProcessSection: SectionSpec<TrackProcessDraft> = {
  id: 'vrrp_track_process',
  title: 'vrrp_track_process NAME',
  keywords: [
    implemented(
      'process',
      '<NAME> [PARAMETERS...]',
      'process name (and parameters) to look for',
      (s, t, env) => {
        if (!env.ctx.noBlock(s) || !env.ctx.args(s, 1, Infinity, 'process NAME [PARAMETERS...]')) return;
        t.process = s.args.map((a) => a.text);
      },
      { reads: ['process'] },
    ),
    implemented(
      'param_match',
      '<initial|partial>',
      'how parameters match: initial (last may be longer) or partial (first n)',
      (s, t, env) => {
        const token = one(s, env, '<initial|partial>');
        if (token === undefined) return;
        if (token.text === 'initial' || token.text === 'partial') t.paramMatch = token.text;
        else env.ctx.error(token.at, `param_match must be 'initial' or 'partial', found '${token.text}'`);
      },
      { default: 'exact', reads: ['paramMatch'] },
    ),
    weightKeyword(TRACK_FILE_WEIGHT_MAX, 'priority change with the process running (>0) or not (<0)', '1'),
    implemented(
      'quorum',
      '<0-65535>',
      'minimum number of processes for success',
      integerInto('quorum', 0, 65535),
      { default: '1', reads: ['quorum'] },
    ),
    implemented(
      'quorum_max',
      '<0-65535>',
      'maximum number of processes for success',
      integerInto('quorumMax', 0, 65535),
      { default: 'no maximum', reads: ['quorumMax'] },
    ),
    implemented(
      'fork_delay',
      '<seconds, decimal>',
      'wait after the quorum is gained before counting it up',
      decimalInto('forkDelaySeconds', 0, SCRIPT_INTERVAL_MAX_SECONDS),
      { default: '0', reads: ['forkDelaySeconds'] },
    ),
    implemented(
      'terminate_delay',
      '<seconds, decimal>',
      'wait after the quorum is lost before counting it down',
      decimalInto('terminateDelaySeconds', 0, SCRIPT_INTERVAL_MAX_SECONDS),
      { default: '0', reads: ['terminateDelaySeconds'] },
    ),
    implemented(
      'delay',
      '<seconds, decimal>',
      'sets both fork_delay and terminate_delay',
      (s, t, env) => {
        const value = decimalValue(s, env, 0, SCRIPT_INTERVAL_MAX_SECONDS);
        if (value !== undefined) [t.forkDelaySeconds, t.terminateDelaySeconds] = [value, value];
      },
      { reads: ['forkDelaySeconds', 'terminateDelaySeconds'] },
    ),
    implemented(
      'full_command',
      '',
      'match the full command line instead of the process name',
      flagSets('fullCommand', true),
      { default: 'off', reads: ['fullCommand'] },
    ),
  ],
};

// ---- tandem_service (tandem's own) ----

function serviceCommandKeyword(
  name: string,
  key: 'onMaster' | 'onBackup' | 'onFault' | 'onStop',
  description: string,
): KeywordSpec<ServiceDraft> {
  return ownKeyword(
    name,
    '<COMMAND>|"<COMMAND> <ARGS>" [username [groupname]]',
    description,
    (s, t, env) => {
      t[key] = parseCommandWithUser(env.ctx, s) ?? t[key];
    },
    { default: 'none: the service is left as it is', reads: [key] },
  );
}

const serviceSection: SectionSpec<ServiceDraft> = {
  id: 'tandem_service',
  title: 'tandem_service NAME',
  keywords: [
    serviceCommandKeyword(
      'on_master',
      'onMaster',
      'command run when an instance naming the service becomes MASTER',
    ),
    serviceCommandKeyword('on_backup', 'onBackup', 'command run when such an instance becomes BACKUP'),
    serviceCommandKeyword('on_fault', 'onFault', 'command run when such an instance enters FAULT'),
    serviceCommandKeyword('on_stop', 'onStop', 'command run when tandem stops such an instance'),
    ownKeyword(
      'timeout',
      `<seconds 1-${NOTIFY_TIMEOUT_MAX_SECONDS}>`,
      'time one command may run before its process group is killed',
      integerInto('timeoutSeconds', 1, NOTIFY_TIMEOUT_MAX_SECONDS),
      { default: 'tandem_notify_timeout', reads: ['timeoutSeconds'] },
    ),
  ],
};

// ---- vrrp_instance ----

const authenticationSection: SectionSpec<InstanceDraft> = {
  id: 'authentication',
  title: 'authentication (in vrrp_instance)',
  keywords: [
    implemented(
      'auth_type',
      '<PASS>',
      'simple-text password authentication (RFC 2338 §5.3.6.1); AH is not supported',
      (s, t, env) => {
        const token = one(s, env, '<PASS|AH>');
        if (token === undefined) return;
        if (token.text === 'PASS')
          t.auth = { type: 'pass', password: t.auth?.type === 'pass' ? t.auth.password : '' };
        else if (token.text === 'AH') {
          env.ctx.sink.error(
            token.at,
            DiagnosticCodes.unsupported,
            `unsupported keepalived auth_type 'AH' in ${env.label} (tandem implements PASS only; authentication ignored)`,
          );
        } else env.ctx.error(token.at, `auth_type must be PASS or AH, found '${token.text}'`);
      },
      { reads: ['auth'] },
    ),
    implemented(
      'auth_pass',
      '<PASSWORD>',
      `password, at most ${AUTH_PASS_MAX_BYTES} bytes (keepalived truncates longer ones)`,
      (s, t, env) => {
        const token = one(s, env, '<PASSWORD>');
        if (token === undefined) return;
        let password = token.text;
        if (Buffer.byteLength(password) > AUTH_PASS_MAX_BYTES) {
          password = Buffer.from(password).subarray(0, AUTH_PASS_MAX_BYTES).toString('latin1');
          env.ctx.sink.warning(
            token.at,
            DiagnosticCodes.adjusted,
            `auth_pass is longer than ${AUTH_PASS_MAX_BYTES} bytes; only '${password}' is used (as keepalived does)`,
          );
        }
        t.where.set('auth_pass', token.at);
        t.auth = { type: 'pass', password };
      },
      { reads: ['auth', 'password'] },
    ),
  ],
};

const instanceSection: SectionSpec<InstanceDraft> = {
  id: 'vrrp_instance',
  title: 'vrrp_instance NAME',
  keywords: [
    implemented(
      'state',
      '<MASTER|BACKUP>',
      'initial state hint; the election decides (priority 255 goes MASTER at once)',
      (s, t, env) => {
        const token = one(s, env, '<MASTER|BACKUP>');
        if (token === undefined) return;
        if (token.text === 'MASTER' || token.text === 'BACKUP') t.state = token.text;
        else env.ctx.error(token.at, `state must be MASTER or BACKUP, found '${token.text}'`);
      },
      { default: 'BACKUP', reads: ['state'] },
    ),
    interfaceKeyword<InstanceDraft>(),
    implemented(
      'virtual_router_id',
      `<${VRID_MIN}-${VRID_MAX}>`,
      'VRID, unique per interface and address family (RFC 5798 §5.2.3)',
      integerInto('vrid', VRID_MIN, VRID_MAX),
      { reads: ['vrid'] },
    ),
    implemented(
      'priority',
      `<${PRIORITY_MIN}-${PRIORITY_MAX}>`,
      'election priority; 255 means address owner (RFC 5798 §5.2.4)',
      integerInto('priority', PRIORITY_MIN, PRIORITY_MAX),
      { default: '100', reads: ['priority'] },
    ),
    implemented(
      'advert_int',
      '<seconds>',
      'advert interval: v2 whole seconds 1-255, v3 0.01-40.95',
      (s, t, env) => {
        const token = one(s, env, '<seconds>');
        if (token === undefined) return;
        t.where.set('advert_int', token.at);
        t.advertSeconds = env.ctx.decimal(token, 0.01, 255, 'advert_int') ?? t.advertSeconds;
      },
      { default: '1', reads: ['advertIntervalCentiseconds'] },
    ),
    implemented('version', '<2|3>', 'VRRP version of this instance', versionInto('version'), {
      default: 'vrrp_version (3 for IPv6)',
      reads: ['version'],
    }),
    ...preemptKeywords<InstanceDraft>(
      'a higher priority does not take over from a running MASTER (needs state BACKUP)',
      'take over from a lower-priority MASTER (the default; for compatibility)',
      'on',
    ),
    implemented(
      'preempt_delay',
      `<seconds 0-${PREEMPT_DELAY_MAX_SECONDS}>`,
      'delay before preempting at startup or on seeing a lower-priority MASTER',
      decimalInto('preemptDelaySeconds', 0, PREEMPT_DELAY_MAX_SECONDS),
      { default: '0', reads: ['preemptDelaySeconds'] },
    ),
    implemented(
      'authentication',
      '{ auth_type PASS; auth_pass <PASSWORD> }',
      'VRRPv2 simple password (removed by RFC 3768; avoid)',
      (s, t, env) => {
        if (!env.ctx.needBlock(s)) return;
        t.where.set('authentication', s.keyword.at);
        walkSection(s.block, authenticationSection, t, { ...env, label: `authentication of ${env.label}` });
      },
      { default: 'none', reads: ['auth'] },
    ),
    virtualIpaddressKeyword<InstanceDraft>('VIPs, all of one family; carried in adverts'),
    implemented(
      'virtual_ipaddress_excluded',
      '{ same as virtual_ipaddress }',
      'VIPs not carried in adverts; may be of the other family',
      listBlock(parseVirtualAddress, (t) => t.excludedVips),
      { repeatable: true, reads: ['excludedVips'] },
    ),
    implemented(
      'virtual_routes',
      '{ [src <IP>] [to] <PREFIX> [via <IP>] [dev <IF>] [table <T>] [metric <N>] [no_track] ... }',
      'routes added as MASTER, removed otherwise',
      listBlock(parseVirtualRoute, (t) => t.routes),
      { repeatable: true, reads: ['routes'] },
    ),
    implemented(
      'virtual_rules',
      '{ [from <PREFIX>] [to <PREFIX>] [table <T>] [preference <N>] [no_track] ... }',
      'policy rules added as MASTER, removed otherwise',
      listBlock(parseVirtualRule, (t) => t.rules),
      { repeatable: true, reads: ['rules'] },
    ),
    ...trackKeywords<InstanceDraft>({
      track_interface: 'interfaces whose link state changes priority (weight) or causes FAULT (no weight)',
      track_script: "vrrp_scripts to follow; weight defaults to the script's",
      track_file: "track_files to follow; weight defaults to the file's",
      track_process: "vrrp_track_processes to follow; weight defaults to the process's",
    }),
    unicastSrcIpKeyword<InstanceDraft>('source address of unicast adverts'),
    unicastPeerKeyword<InstanceDraft>(),
    implemented(
      'unicast_ttl',
      '<0-255>',
      'TTL / hop limit of unicast adverts (ignored, with a warning, without unicast_peer)',
      integerInto('unicastTtl', 0, TTL_MAX),
      { default: '255', reads: ['unicastTtl'] },
    ),
    implemented(
      'check_unicast_src',
      '',
      'accept unicast adverts only from the configured peers, each within its min_ttl/max_ttl (on with either)',
      flagSets('checkUnicastSrc', true),
      { default: 'vrrp_check_unicast_src', reads: ['checkUnicastSrc'] },
    ),
    notYet(
      'unicast_fault_no_peer',
      '',
      'a unicast instance without peers goes to FAULT instead of falling back to multicast',
      flagSets('unicastFaultNoPeer', true),
      { default: 'off' },
    ),
    implemented(
      'old_unicast_checksum',
      '[never]',
      'VRRPv3 unicast checksums as keepalived before 1.3.6 computed them (never: do not detect them either)',
      (s, t, env) => {
        if (!env.ctx.noBlock(s) || !env.ctx.args(s, 0, 1, 'old_unicast_checksum [never]')) return;
        const token = s.args[0];
        if (token === undefined) t.oldUnicastChecksum = 'always';
        else if (token.text === 'never') t.oldUnicastChecksum = 'never';
        else env.ctx.error(token.at, `old_unicast_checksum takes only 'never', found '${token.text}'`);
      },
      {
        default: 'new checksums; switch to the old form when a peer sends it',
        reads: ['oldUnicastChecksum'],
      },
    ),
    implemented(
      'mcast_src_ip',
      '<IPADDR>',
      'source address of multicast adverts',
      instanceAddress('mcastSrcIp'),
      { default: 'the primary address of the interface', reads: ['mcastSrcIp'] },
    ),
    implemented(
      'mcast_dst_ip',
      '<multicast IPADDR>',
      'multicast group of this instance: adverts go to it, the socket joins it',
      instanceAddress('mcastDstIp'),
      { default: 'vrrp_mcast_group4 / vrrp_mcast_group6', reads: ['mcastDstIp'] },
    ),
    notYet(
      'track_src_ip',
      '',
      'FAULT while the source address (unicast_src_ip / mcast_src_ip) is missing from the interface',
      flagSets('trackSrcIp', true),
      { default: 'off' },
    ),
    implemented(
      'use_vmac',
      '[<VMAC_NAME>] [<MAC>]',
      'VIPs, adverts and gratuitous ARPs on a macvlan (private mode) with the virtual router MAC (RFC 5798 §7.3)',
      (s, t, env) => {
        if (!env.ctx.noBlock(s) || !env.ctx.args(s, 0, 2, 'use_vmac [VMAC_NAME] [MAC]')) return;
        const vmac: { name?: string; mac?: string } = {};
        for (const token of s.args) {
          if (/^([0-9a-fA-F]{2}:){4,5}[0-9a-fA-F]{2}$/.test(token.text)) vmac.mac = token.text.toLowerCase();
          else {
            const name = env.ctx.interfaceName(token, 'use_vmac interface');
            if (name === undefined) return;
            vmac.name = name;
          }
        }
        t.useVmac = vmac;
      },
      { default: 'off; name vrrp.VRID', reads: ['useVmac'] },
    ),
    notYet(
      'use_vmac_addr',
      '',
      'a VMAC on every other interface a VIP uses, too',
      flagSets('useVmacAddr', true),
      { default: 'off' },
    ),
    implemented(
      'vmac_xmit_base',
      '',
      'with use_vmac, send and receive adverts on the base interface',
      flagSets('vmacXmitBase', true),
      { default: 'off', reads: ['vmacXmitBase'] },
    ),
    dontTrackPrimaryKeyword<InstanceDraft>(
      'dont_track_primary',
      "ignore the link state of the instance's own interface",
    ),
    garpKeyword(
      'garp_master_delay',
      'masterDelaySeconds',
      'delay',
      'as vrrp_garp_master_delay, for this instance',
      'vrrp_garp_master_delay',
    ),
    garpKeyword(
      'garp_master_repeat',
      'masterRepeat',
      'repeat',
      'as vrrp_garp_master_repeat, for this instance',
      'vrrp_garp_master_repeat',
    ),
    garpKeyword(
      'garp_master_refresh',
      'masterRefreshSeconds',
      'delay',
      'as vrrp_garp_master_refresh, for this instance',
      'vrrp_garp_master_refresh',
    ),
    garpKeyword(
      'garp_master_refresh_repeat',
      'masterRefreshRepeat',
      'repeat',
      'as vrrp_garp_master_refresh_repeat, for this instance',
      'vrrp_garp_master_refresh_repeat',
    ),
    garpKeyword(
      'garp_lower_prio_delay',
      'lowerPrioDelaySeconds',
      'delay',
      'as vrrp_garp_lower_prio_delay, for this instance',
      'vrrp_garp_lower_prio_delay',
    ),
    garpKeyword(
      'garp_lower_prio_repeat',
      'lowerPrioRepeat',
      'repeat',
      'as vrrp_garp_lower_prio_repeat, for this instance',
      'vrrp_garp_lower_prio_repeat',
    ),
    garpExtraIfKeyword<InstanceDraft>('garp_extra_if', 0, 'vrrp_garp_extra_if'),
    downTimerAdvertsKeyword<InstanceDraft>('down_timer_adverts', 'vrrp_down_timer_adverts'),
    implemented(
      'lower_prio_no_advert',
      '[<BOOL>]',
      'as vrrp_lower_prio_no_advert, for this instance',
      boolInto('lowerPrioNoAdvert'),
      { default: 'vrrp_lower_prio_no_advert', reads: ['lowerPrioNoAdvert'] },
    ),
    implemented(
      'higher_prio_send_advert',
      '[<BOOL>]',
      'as vrrp_higher_prio_send_advert, for this instance',
      boolInto('higherPrioSendAdvert'),
      { default: 'vrrp_higher_prio_send_advert', reads: ['higherPrioSendAdvert'] },
    ),
    implemented(
      'accept',
      '',
      'accept mode (RFC 5798 §6.1): a non-owner MASTER accepts packets to the VIPs',
      flagSets('accept', true),
      { default: 'on (strict mode: only for priority 255)', reads: ['acceptMode'] },
    ),
    implemented(
      'no_accept',
      '',
      'clear accept mode: as MASTER, drop packets to the VIPs unless this box owns them (RFC 5798 §6.4.3), with nftables',
      flagSets('accept', false),
      { reads: ['acceptMode'] },
    ),
    implemented(
      'strict_mode',
      '[<BOOL>]',
      'strict RFC compliance for this instance (implies no_accept for a non-owner)',
      boolInto('strictMode'),
      { default: 'vrrp_strict', reads: ['lowerPrioNoAdvert', 'acceptMode'] },
    ),
    implemented(
      'skip_check_adv_addr',
      '[<BOOL>]',
      'as vrrp_skip_check_adv_addr, for this instance',
      boolInto('skipCheckAdvAddr'),
      { default: 'vrrp_skip_check_adv_addr', reads: ['skipCheckAdvAddr'] },
    ),
    implemented(
      'promote_secondaries',
      '',
      'set promote_secondaries on the interface while the instance runs, so that removing one address keeps the others of its subnet',
      flagSets('promoteSecondaries', true),
      { default: 'off', reads: ['promoteSecondaries'] },
    ),
    ...notifyKeywords<InstanceDraft>(),
    implemented(
      'notify_master_rx_lower_pri',
      SCRIPT_SYNTAX,
      'script run when a MASTER receives an advert with a lower priority (its argv alone; the FIFOs get MASTER_RX_LOWER_PRI either way)',
      (s, t, env) => {
        const command = parseCommandWithUser(env.ctx, s);
        if (command !== undefined) t.notify.masterRxLowerPri = command;
      },
      { reads: ['notify.masterRxLowerPri'] },
    ),
    ...notifyChangeKeywords<InstanceDraft>(),
    serviceNamesKeyword<InstanceDraft>(),
    smtpAlertKeyword<InstanceDraft>(),
    deprecatedFlag<InstanceDraft>(
      'native_ipv6',
      'deprecated in keepalived: the VIPs decide the family',
      `native_ipv6 is deprecated; the addresses decide the family`,
    ),
    implemented(
      'lvs_sync_daemon_interface',
      '<IFNAME>',
      'deprecated form of global lvs_sync_daemon IFNAME THIS_INSTANCE',
      (s, t, env) => {
        const token = one(s, env, '<IFNAME>');
        if (token === undefined) return;
        const name = env.ctx.interfaceName(token, 'lvs_sync_daemon_interface');
        if (name === undefined) return;
        env.ctx.sink.warning(
          s.keyword.at,
          DiagnosticCodes.deprecated,
          `lvs_sync_daemon_interface is deprecated; use 'lvs_sync_daemon ${name} ${t.name}' in global_defs`,
        );
        env.draft.global.lvsSyncDaemon ??= {
          interface: name,
          instance: t.name,
          at: s.keyword.at,
          instanceAt: t.at,
        };
      },
      { reads: ['lvsSyncDaemon'] },
    ),
    ...refusedKeywords<InstanceDraft>([
      ['vrf', 'VRFs'],
      ['use_ipvlan', 'ipvlan interfaces'],
      ['track_bfd', 'BFD'],
      ['debug', 'debug levels'],
      ['kernel_rx_buf_size', 'socket buffer sizes'],
      ['linkbeat_use_polling', 'link polling'],
    ]),
  ],
};

// ---- carp_instance (tandem's own; issue 16) ----

const carpSection: SectionSpec<CarpDraft> = {
  id: 'carp_instance',
  title: 'carp_instance NAME',
  keywords: [
    interfaceKeyword<CarpDraft>(),
    ownKeyword<CarpDraft>(
      'vhid',
      `<${VRID_MIN}-${VRID_MAX}>`,
      'virtual host id (ucarp -v), unique per interface and address family among CARP instances',
      integerInto('vhid', VRID_MIN, VRID_MAX),
      { reads: ['vhid'] },
    ),
    ownKeyword<CarpDraft>(
      'advbase',
      `<seconds ${CARP_ADVBASE_MIN}-${CARP_ADVBASE_MAX}>`,
      'advert base interval in whole seconds (ucarp -b)',
      integerInto('advbaseSeconds', CARP_ADVBASE_MIN, CARP_ADVBASE_MAX),
      { default: String(DEFAULT_CARP_ADVBASE_SECONDS), reads: ['advbaseSeconds'] },
    ),
    ownKeyword<CarpDraft>(
      'advskew',
      `<0-${CARP_ADVSKEW_MAX}>`,
      'advert skew (ucarp -k): adverts every advbase + advskew/256 s; the most frequent advertiser is master',
      (s, t, env) => {
        const token = one(s, env, `<0-${CARP_ADVSKEW_MAX}>`);
        if (token === undefined) return;
        if (token.text === String(CARP_ADVSKEW_BOW_OUT)) {
          env.ctx.error(
            token.at,
            `advskew ${CARP_ADVSKEW_BOW_OUT} is reserved for bowing out (the advert of a stopping master); use 0 to ${CARP_ADVSKEW_MAX}`,
          );
          return;
        }
        t.advskew = env.ctx.integer(token, 0, CARP_ADVSKEW_MAX, 'advskew') ?? t.advskew;
      },
      { default: '0', reads: ['advskew'] },
    ),
    ownKeyword<CarpDraft>(
      'passphrase',
      `<STRING of 1-${CARP_KEY_LENGTH} bytes>`,
      'shared secret of the HMAC-SHA1 (ucarp -p); never sent',
      (s, t, env) => {
        const token = one(s, env, '<PASSPHRASE>');
        if (token === undefined) return;
        const bytes = Buffer.byteLength(token.text);
        if (bytes === 0 || bytes > CARP_KEY_LENGTH) {
          env.ctx.error(
            token.at,
            `passphrase must be 1 to ${CARP_KEY_LENGTH} bytes (the CARP key length), found ${bytes}`,
          );
          return;
        }
        t.passphrase = { value: token.text, at: token.at };
      },
      { reads: ['passphrase'] },
    ),
    ownKeyword<CarpDraft>(
      'passphrase_file',
      '<PATH>',
      'file whose first line is the passphrase (ucarp -o), read when the instance starts',
      (s, t, env) => {
        const token = one(s, env, '<absolute path>');
        if (token === undefined) return;
        if (!token.text.startsWith('/'))
          env.ctx.error(token.at, `passphrase_file must be an absolute path, found '${token.text}'`);
        else t.passphraseFile = { path: token.text, at: token.at };
      },
      { reads: ['passphraseFile'] },
    ),
    virtualIpaddressKeyword<CarpDraft>('VIPs, all of one family (ucarp -a)'),
    ...preemptKeywords<CarpDraft>(
      'a backup never takes over from a running master (the default, as carp(4) and ucarp)',
      'take over from a master that advertises less often (ucarp -P)',
      'off',
    ),
    unicastSrcIpKeyword<CarpDraft>('source address of adverts (ucarp -s)'),
    implemented<CarpDraft>('mcast_src_ip', '<IPADDR>', 'as unicast_src_ip', instanceAddress('mcastSrcIp'), {
      default: 'the primary address of the interface',
      reads: ['srcIp'],
    }),
    unicastPeerKeyword<CarpDraft>(),
    implemented<CarpDraft>(
      'mcast_dst_ip',
      '<multicast IPADDR>',
      'multicast group (ucarp -m)',
      instanceAddress('mcastDstIp'),
      { default: '224.0.0.18 / ff02::12', reads: ['mcastDstIp'] },
    ),
    ownKeyword<CarpDraft>(
      'deadratio',
      `<${CARP_DEADRATIO_MIN}-${CARP_DEADRATIO_MAX}>`,
      'adverts a backup misses before it takes the master for dead (ucarp -r)',
      integerInto('deadratio', CARP_DEADRATIO_MIN, CARP_DEADRATIO_MAX),
      { default: String(DEFAULT_CARP_DEADRATIO), reads: ['deadratio'] },
    ),
    ownKeyword<CarpDraft>(
      'neutral',
      '',
      'do not run the backup scripts at startup when starting as backup (ucarp -n)',
      flagSets('neutral', true),
      { default: 'off', reads: ['neutral'] },
    ),
    dontTrackPrimaryKeyword<CarpDraft>(
      'dont_track_primary',
      "ignore the link state of the instance's own interface (ucarp -S)",
    ),
    ...trackKeywords<CarpDraft>(
      {
        track_interface:
          'interfaces whose failure adds its weight to the demotion (no weight: FAULT, bow out)',
        track_script: 'vrrp_scripts whose failure adds its weight to the demotion (no weight: FAULT)',
        track_file:
          'track_files: the value read times the weight is added to the demotion (no weight: FAULT)',
        track_process:
          'vrrp_track_processes whose absence adds its weight to the demotion (no weight: FAULT)',
      },
      'demotion',
    ),
    ...notifyKeywords<CarpDraft>(),
    serviceNamesKeyword<CarpDraft>(),
  ],
};

// ---- vrrp_sync_group ----

const syncGroupSection: SectionSpec<SyncGroupDraft> = {
  id: 'vrrp_sync_group',
  title: 'vrrp_sync_group NAME',
  keywords: [
    implemented(
      'group',
      '{ <VRRP_INSTANCE> ... }',
      'member instances; they change state together',
      (s, t, env) => {
        eachEntry(s, env, (entry) => {
          if (entry.args.length > 0 || entry.block !== undefined) {
            env.ctx.error(
              (entry.args[0] ?? entry.keyword).at,
              `group of ${env.label} takes one instance name per line`,
            );
          } else t.members.push({ name: entry.keyword.text, at: entry.keyword.at });
        });
      },
      { repeatable: true, reads: ['members'] },
    ),
    ...trackKeywords<SyncGroupDraft>({
      track_interface: 'as in vrrp_instance, for every member',
      track_script: 'as in vrrp_instance, for every member',
      track_file: 'as in vrrp_instance, for every member',
      track_process: 'as in vrrp_instance, for every member',
    }),
    ...notifyKeywords<SyncGroupDraft>(),
    smtpAlertKeyword<SyncGroupDraft>(),
    deprecatedFlag<SyncGroupDraft>(
      'global_tracking',
      "deprecated in keepalived: use the group's own track_* blocks",
      `global_tracking is deprecated; it has no effect (use track_* in the sync group)`,
    ),
    implemented(
      'sync_group_tracking_weight',
      '',
      "keep the members' own tracking weights (otherwise they are set to 0)",
      flagSets('trackingWeight', true),
      { default: 'off', reads: 'config' },
    ),
    ...notifyChangeKeywords<SyncGroupDraft>(),
    refused('track_bfd', 'BFD'),
  ],
  // keepalived ignores instance names written directly in the block; build.ts decides what they were.
  onUnknown: (s, t) => {
    if (s.args.length > 0 || s.block !== undefined) return false;
    t.bareNames.push({ name: s.keyword.text, at: s.keyword.at });
    return true;
  },
};

// ---- the top level ----

function named(s: Statement, env: Env, what: string): Token | undefined {
  if (!env.ctx.needBlock(s)) return undefined;
  if (!env.ctx.args(s, 1, 1, `${what} NAME { ... }`)) return undefined;
  return s.args[0];
}

function definedTwice(env: Env, kind: string, name: Token, earlier: Position | undefined): boolean {
  if (earlier === undefined) return false;
  env.ctx.sink.error(
    name.at,
    DiagnosticCodes.conflict,
    `${kind} '${name.text}' is already defined at ${earlier.file}:${earlier.line}:${earlier.column}`,
  );
  return true;
}

/**
 * `KIND NAME { ... }`: a named definition, unique by name, its block walked with its own section. A statement
 * spelled other than KIND is keepalived's deprecated synonym (vrrp_track_file for track_file).
 */
function definition<D extends { name: string; at: Position }>(
  kind: string,
  section: SectionSpec<D>,
  listOf: (draft: ConfigDraft) => D[],
  create: (name: string, at: Position) => D,
): Apply<ConfigDraft> {
  return (s, d, env) => {
    const name = named(s, env, s.keyword.text);
    if (name === undefined || s.block === undefined) return;
    const list = listOf(d);
    const index = nameIndex(list);
    if (definedTwice(env, kind, name, index.get(name.text))) return;
    if (s.keyword.text !== kind) {
      env.ctx.sink.warning(
        s.keyword.at,
        DiagnosticCodes.deprecated,
        `${s.keyword.text} is a deprecated synonym of ${kind}`,
      );
    }
    const draft = create(name.text, name.at);
    walkSection(s.block, section, draft, { ...env, label: `${kind} ${name.text}` });
    list.push(draft);
    index.set(draft.name, draft.at);
  };
}

/** Where each name of a list of definitions is defined: a lookup per definition, not a scan. */
const nameIndexes = new WeakMap<object, Map<string, Position>>();

function nameIndex(list: { name: string; at: Position }[]): Map<string, Position> {
  let index = nameIndexes.get(list);
  if (index === undefined) {
    index = new Map(list.map((item) => [item.name, item.at]));
    nameIndexes.set(list, index);
  }
  return index;
}

const carpDefinition = definition('carp_instance', carpSection, (d) => d.carpInstances, newCarpDraft);

const trackFileDefinition = definition(
  'track_file',
  trackFileSection,
  (d) => d.trackFiles,
  (name, at): TrackFileDraft => ({ name, at }),
);

const unsupportedTopLevel: readonly (readonly [string, string])[] = [
  ['virtual_server', 'the LVS side (virtual servers)'],
  ['virtual_server_group', 'the LVS side (virtual server groups)'],
  ['static_ipaddress', 'static addresses'],
  ['static_routes', 'static routes'],
  ['static_rules', 'static rules'],
  ['linkbeat_interfaces', 'link polling'],
  ['track_group', 'static track groups'],
  ['bfd_instance', 'BFD'],
  ['garp_group', 'gratuitous ARP groups'],
  ['interface_up_down_delays', 'interface up/down debouncing'],
  ...UNSUPPORTED_IN_GLOBAL_DEFS_OR_TOP_LEVEL,
];

const topSection: SectionSpec<ConfigDraft> = {
  id: 'top',
  title: 'top level',
  keywords: [
    implemented(
      'global_defs',
      '{ ... }',
      'global settings',
      (s, d, env) => {
        if (!env.ctx.needBlock(s)) return;
        env.ctx.args(s, 0, 0, 'global_defs { ... }');
        walkSection(s.block, globalSection, d.global, { ...env, label: 'global_defs' });
      },
      { reads: ['global'], repeatable: true },
    ),
    implemented(
      'vrrp_script',
      'NAME { ... }',
      'a health check script',
      definition(
        'vrrp_script',
        scriptSection,
        (d) => d.scripts,
        (name, at): ScriptDraft => ({ name, at, initFail: false }),
      ),
      { reads: ['scripts'], repeatable: true },
    ),
    implemented('track_file', 'NAME { ... }', 'a file whose number changes priority', trackFileDefinition, {
      repeatable: true,
      reads: ['trackFiles'],
    }),
    {
      ...implemented(
        'vrrp_track_file',
        'NAME { ... }',
        'deprecated synonym of track_file',
        trackFileDefinition,
        { reads: ['trackFiles'], repeatable: true },
      ),
      deprecatedFor: 'track_file',
    },
    implemented(
      'vrrp_track_process',
      'NAME { ... }',
      'a process whose presence changes priority',
      definition(
        'vrrp_track_process',
        trackProcessSection,
        (d) => d.trackProcesses,
        (name, at): TrackProcessDraft => ({ name, at, fullCommand: false }),
      ),
      { reads: ['trackProcesses'], repeatable: true },
    ),
    implemented(
      'vrrp_instance',
      'NAME { ... }',
      'a virtual router',
      definition('vrrp_instance', instanceSection, (d) => d.instances, newInstanceDraft),
      { reads: ['instances'], repeatable: true },
    ),
    implemented(
      'vrrp_sync_group',
      'NAME { ... }',
      'instances that change state together',
      definition('vrrp_sync_group', syncGroupSection, (d) => d.syncGroups, newSyncGroupDraft),
      { reads: ['syncGroups'], repeatable: true },
    ),
    ownKeyword(
      'tandem_service',
      'NAME { ... }',
      'a service that follows the VIPs: a command per transition of the instances naming it',
      definition(
        'tandem_service',
        serviceSection,
        (d) => d.services,
        (name, at): ServiceDraft => ({ name, at }),
      ),
      { reads: ['services'], repeatable: true },
    ),
    ownKeyword(
      'carp_instance',
      'NAME { ... }',
      'a CARP virtual host (carp(4), ucarp), beside vrrp_instances on the same interfaces (docs/carp.md)',
      carpDefinition,
      { repeatable: true, reads: ['carpInstances'] },
    ),
    ...refusedKeywords<ConfigDraft>(unsupportedTopLevel),
  ],
};

/**
 * The options of a virtual_ipaddress entry (entries.ts parses them), as a section of the table so that the
 * docs and the support checks treat them like keywords.
 */
const vipOptionSection: SectionSpec<never> = {
  id: 'virtual_ipaddress',
  title: 'virtual_ipaddress entry options',
  keywords: VIP_OPTIONS.map((option): KeywordSpec<never> => ({
    name: option.name,
    origin: 'keepalived',
    support: option.support,
    syntax: option.syntax,
    description:
      option.alias === undefined ? option.description : `${option.description} (also \`${option.alias}\`)`,
    ...(option.reads === undefined ? {} : { reads: option.reads }),
  })),
};

/** Every section, in the order docs/config.md presents them. */
export const SECTIONS: readonly SectionSpec<never>[] = [
  topSection,
  globalSection,
  scriptSection,
  trackFileSection,
  trackProcessSection,
  instanceSection,
  authenticationSection,
  syncGroupSection,
  serviceSection,
  carpSection,
  vipOptionSection,
] as unknown as readonly SectionSpec<never>[];

export const TOP_SECTION = topSection;

/** Which sections know a keyword, for "it belongs in ..." hints. */
const sectionsByKeyword = new Map<string, string[]>();
for (const section of SECTIONS) {
  for (const keyword of section.keywords) {
    const list = sectionsByKeyword.get(keyword.name) ?? [];
    list.push(section.id === 'top' ? 'the top level' : section.id);
    sectionsByKeyword.set(keyword.name, list);
  }
}

export function unknownKeywordMessage(word: string, where: string, candidates: Iterable<string>): string {
  const suggestion = closest(word, candidates);
  let hint = '';
  if (suggestion !== undefined) hint = ` (did you mean '${suggestion}'?)`;
  else {
    const elsewhere = sectionsByKeyword.get(word);
    if (elsewhere !== undefined) hint = ` (it belongs in ${elsewhere.join(' or ')})`;
  }
  return `unknown keyword '${shown(word)}' ${where}${hint}`;
}

function describeWhere(label: string): string {
  return label === '' ? 'at top level' : `in ${label}`;
}

/** Applies each statement to the target with the section's handlers; reports what it cannot apply. */
export function walkSection<T>(statements: Statement[], section: SectionSpec<T>, target: T, env: Env): void {
  const byName = keywordsOf(section);
  const seen = new Map<string, Position>();
  const where = describeWhere(env.label);
  for (const statement of statements) {
    const word = statement.keyword.text;
    const spec = byName.get(word);
    if (spec === undefined) {
      if (section.onUnknown?.(statement, target, env) === true) continue;
      const candidates = section.keywords.filter((k) => !isRefused(k.support)).map((k) => k.name);
      env.ctx.sink.error(
        statement.keyword.at,
        DiagnosticCodes.unknownKeyword,
        unknownKeywordMessage(word, where, candidates),
      );
      continue;
    }
    if (isRefused(spec.support)) {
      const kind = statement.block !== undefined && section.id === 'top' ? 'section' : 'keyword';
      env.ctx.sink.error(
        statement.keyword.at,
        DiagnosticCodes.unsupported,
        `unsupported keepalived ${kind} '${word}' ${where} (${spec.support.replace(/^refused: /, '')}; ${statement.block !== undefined ? 'the block is skipped' : 'ignored'})`,
        word,
      );
      continue;
    }
    const earlier = seen.get(word);
    if (earlier !== undefined && spec.repeatable !== true) {
      env.ctx.sink.warning(
        statement.keyword.at,
        DiagnosticCodes.noEffect,
        `'${word}' is given again ${where}; this replaces the value from line ${earlier.line}`,
      );
    }
    seen.set(word, statement.keyword.at);
    if (spec.deprecatedFor !== undefined && spec.apply === undefined) {
      env.ctx.sink.warning(
        statement.keyword.at,
        DiagnosticCodes.deprecated,
        `'${word}' is deprecated; use '${spec.deprecatedFor}'`,
      );
    }
    if (section.id !== 'top' && hasWhere(target)) target.where.set(word, statement.keyword.at);
    spec.apply?.(statement, target, env);
    if (isNotImplementedYet(spec.support) && (spec.refusedWhen?.(target) ?? true)) {
      env.ctx.recordUnimplemented(spec.support, {
        section: section.id,
        keyword: word,
        where: env.label === '' ? 'the top level' : env.label,
        what: spec.description,
        source: statement.keyword.at,
      });
    }
  }
}

/** The support level of a keyword of a section (by section id), for checks outside the walk (build.ts). */
export function supportOf(sectionId: string, keyword: string): Support {
  const section = SECTIONS.find((candidate) => candidate.id === sectionId);
  const spec = section === undefined ? undefined : keywordsOf(section).get(keyword);
  if (spec === undefined) throw new Error(`the keyword table has no '${keyword}' in ${sectionId}`);
  return spec.support;
}

const keywordIndexes = new WeakMap<object, Map<string, KeywordSpec<never>>>();

function keywordsOf<T>(section: SectionSpec<T>): Map<string, KeywordSpec<T>> {
  let index = keywordIndexes.get(section);
  if (index === undefined) {
    index = new Map(section.keywords.map((k) => [k.name, k as KeywordSpec<never>]));
    keywordIndexes.set(section, index);
  }
  return index as Map<string, KeywordSpec<T>>;
}

/** Drafts that remember where each keyword was given (instances, global_defs, CARP instances). */
function hasWhere(target: unknown): target is { where: Map<string, Position> } {
  return (
    typeof target === 'object' &&
    target !== null &&
    'where' in target &&
    (target as { where: unknown }).where instanceof Map
  );
}

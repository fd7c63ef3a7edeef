/**
 * keepalived's script security (`enable_script_security`, `script_user`), checked once on the configuration,
 * and the identity and environment hooks run with.
 *
 * Rules, from keepalived.conf(5) and keepalived 2.2's notify.c (facts only):
 * - a script runs as its own `[username [groupname]]`, else as `script_user [groupname]`, else as the user
 *   `keepalived_script` if it exists, else as the daemon's own user (root); a group defaults to the user's;
 * - with enable_script_security and no such user, scripts have no user to run as: a configuration error;
 * - a bare name is looked up in PATH; the file must be executable by the user it runs as;
 * - only a script that runs as root (uid or gid 0, or a set-uid/set-gid root file) has its path checked. As
 *   keepalived does, the path is resolved with realpath(3) and `/`, every directory of the resolved path and the
 *   file itself must be owned by root, and neither group-writable (unless the group is root) nor
 *   world-writable, except that a directory with the sticky bit (like /tmp) may be writable. tandem runs the path
 *   as written, so that path is checked too, where a directory may be a root-owned symbolic link (`/bin` ->
 *   `usr/bin` on merged-/usr systems): only root can change such a link, and where it leads is checked as the
 *   resolved path;
 * - keepalived disables such a script when enable_script_security is on and only logs otherwise: tandem makes
 *   each finding an error when it is on and a warning when it is off.
 * tandem adds one rule of the issue that asked for this: a script that names root as its own user while
 * `script_user` names another user is refused as well (warned when script security is off).
 */
import { accessSync, constants, lstatSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { TandemError } from '../errors.js';
import type { Position, Severity } from '../config/diagnostics.js';
import type { Command, GlobalConfig, NotifyConfig, TandemConfig } from '../config/schema.js';
import { HOOK_PATH, type HookCommand, type HookEvent, type NotifyCommands } from './notify.js';

/** stat(2) mode bits Node's fs.constants does not name: sticky, set-user-id, set-group-id. */
const S_ISVTX = 0o1000;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;

/** The user keepalived runs scripts as when no script_user is set and the user exists. */
export const DEFAULT_SCRIPT_USER = 'keepalived_script';

/** The stable code of every script-security finding (an error or a warning, by enable_script_security). */
export const SCRIPT_SECURITY_CODE = 'TANDEM_ECONFIG_SCRIPT_SECURITY';

/** A Diagnostic (config/diagnostics.ts) whose code is SCRIPT_SECURITY_CODE. */
export interface ScriptSecurityDiagnostic extends Position {
  severity: Severity;
  message: string;
  code: typeof SCRIPT_SECURITY_CODE;
}

/** A user or group name that /etc/passwd or /etc/group does not list. */
export class UnknownAccountError extends TandemError {
  constructor(message: string) {
    super('TANDEM_EUSER', message);
  }
}

export interface AccountFiles {
  /** Default /etc/passwd. */
  passwd?: string;
  /** Default /etc/group. */
  group?: string;
}

export interface Identity {
  uid: number;
  gid: number;
}

/** Fields of the colon-separated line of `file` whose first field is `name`, or undefined. */
function accountLine(file: string, name: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UnknownAccountError(
      `cannot read ${file} to look up '${name}': ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields.length >= 4) return fields;
  }
  return undefined;
}

function numericField(fields: string[], index: number, file: string, name: string): number {
  const value = Number(fields[index]);
  if (!Number.isInteger(value) || value < 0 || fields[index] === '')
    throw new UnknownAccountError(`${file}: the entry of '${name}' has no valid id ('${fields[index]}')`);
  return value;
}

/** The gid of group `name` from /etc/group. */
export function resolveGroup(name: string, files: AccountFiles = {}): number {
  const file = files.group ?? '/etc/group';
  const fields = accountLine(file, name);
  if (fields === undefined) throw new UnknownAccountError(`group '${name}' does not exist (not in ${file})`);
  return numericField(fields, 2, file, name);
}

/** uid and gid of user `name` from /etc/passwd; `group` (from /etc/group) replaces the user's own group. */
export function resolveUser(name: string, group?: string, files: AccountFiles = {}): Identity {
  const file = files.passwd ?? '/etc/passwd';
  const fields = accountLine(file, name);
  if (fields === undefined) throw new UnknownAccountError(`user '${name}' does not exist (not in ${file})`);
  const uid = numericField(fields, 2, file, name);
  const gid = group === undefined ? numericField(fields, 3, file, name) : resolveGroup(group, files);
  return { uid, gid };
}

/** Who runs a script, and from which setting that comes. */
export interface ScriptIdentity extends Identity {
  /** 'command': its own user; 'script_user'; 'default': keepalived_script; 'agent': the agent's own user. */
  from: 'command' | 'script_user' | 'default' | 'agent';
}

/** keepalived's choice of user for a script (see the rules above); throws UnknownAccountError. */
export function scriptIdentity(
  command: Command,
  global: Pick<GlobalConfig, 'scriptUser'>,
  files: AccountFiles = {},
): ScriptIdentity {
  if (command.user !== undefined)
    return { ...resolveUser(command.user, command.group, files), from: 'command' };
  if (global.scriptUser !== undefined)
    return { ...resolveUser(global.scriptUser.user, global.scriptUser.group, files), from: 'script_user' };
  try {
    return { ...resolveUser(DEFAULT_SCRIPT_USER, undefined, files), from: 'default' };
  } catch (error) {
    if (!(error instanceof UnknownAccountError)) throw error;
    return { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0, from: 'agent' };
  }
}

/** A command with the uid/gid it runs as, for HookQueue and runHook; throws UnknownAccountError. */
export function hookCommand(
  command: Command,
  global: Pick<GlobalConfig, 'scriptUser'>,
  files: AccountFiles = {},
): HookCommand {
  const { uid, gid } = scriptIdentity(command, global, files);
  return { argv: [...command.argv], uid, gid };
}

/** An instance's or sync group's notify scripts, each with its user resolved, for a HookQueue. */
export function notifyCommands(
  notify: NotifyConfig,
  global: Pick<GlobalConfig, 'scriptUser'>,
  files: AccountFiles = {},
): NotifyCommands {
  const commands: NotifyCommands = {};
  for (const key of ['master', 'backup', 'fault', 'stop', 'any'] as const) {
    const command = notify[key];
    if (command) commands[key] = hookCommand(command, global, files);
  }
  return commands;
}

/**
 * Why `path` could be changed by a non-root user, or undefined when it cannot: `/` and every directory down to
 * it, and the last component itself, are checked without following symbolic links. With `directoryItself`,
 * `path` must be a directory and its sticky bit does not excuse it (a FIFO's directory: a non-root user could
 * still create the name first there). With `symlinkedDirectories`, a directory of the path may be a symbolic
 * link owned by root (what it leads to must then be checked separately, as its resolved path).
 */
export function insecurePathReason(
  path: string,
  options: { directoryItself?: boolean; symlinkedDirectories?: boolean } = {},
): string | undefined {
  const parts = path.split('/').filter((part) => part !== '');
  const prefixes = ['/', ...parts.map((_, index) => `/${parts.slice(0, index + 1).join('/')}`)];
  for (const [index, prefix] of prefixes.entries()) {
    const last = index === prefixes.length - 1;
    let stats: Stats;
    try {
      stats = lstatSync(prefix);
    } catch (error) {
      return `${prefix} cannot be examined (${error instanceof Error ? error.message : String(error)})`;
    }
    const mode = `mode ${(stats.mode & 0o7777).toString(8).padStart(4, '0')}`;
    if (!last || options.directoryItself) {
      const symlinkAllowed = options.symlinkedDirectories === true && !last && stats.isSymbolicLink();
      if (!stats.isDirectory() && !symlinkAllowed) return `${prefix} is not a directory`;
    } else if (!stats.isFile() && !stats.isSymbolicLink()) {
      return `${prefix} is neither a regular file nor a symbolic link`;
    }
    if (stats.uid !== 0) return `${prefix} belongs to uid ${stats.uid}, not root`;
    const stickyExcuses = stats.isDirectory() && (stats.mode & S_ISVTX) !== 0;
    if (stickyExcuses && !(last && options.directoryItself)) continue;
    if (stats.isSymbolicLink()) continue;
    if (stats.gid !== 0 && (stats.mode & constants.S_IWGRP) !== 0)
      return `${prefix} is writable by group ${stats.gid} (${mode})`;
    if ((stats.mode & constants.S_IWOTH) !== 0) return `${prefix} is writable by everyone (${mode})`;
  }
  return undefined;
}

/** One configured script: what it is (for messages), its command, and where the config names it. */
export interface ScriptEntry {
  what: string;
  command: Command;
  at: Position;
}

/**
 * Every script of the configuration: notify scripts of instances and sync groups, vrrp_script commands and
 * FIFO scripts (global_defs has no position: `fallback` stands for it).
 */
export function scriptEntries(config: TandemConfig, fallback: Position): ScriptEntry[] {
  const entries: ScriptEntry[] = [];
  const notifyKeywords = [
    ['master', 'notify_master'],
    ['backup', 'notify_backup'],
    ['fault', 'notify_fault'],
    ['stop', 'notify_stop'],
    ['any', 'notify'],
    ['masterRxLowerPri', 'notify_master_rx_lower_pri'],
    ['deleted', 'notify_deleted'],
  ] as const;
  // Each finding points at the keyword that names the script (its `source`), else at its block.
  const owners = [
    ...config.instances.map((instance) => ({ kind: 'vrrp_instance', ...instance })),
    ...config.syncGroups.map((group) => ({ kind: 'vrrp_sync_group', ...group })),
    ...config.carpInstances.map((carp) => ({ kind: 'carp_instance', ...carp })),
  ];
  for (const owner of owners)
    for (const [key, keyword] of notifyKeywords) {
      const command = owner.notify[key];
      if (command)
        entries.push({
          what: `${keyword} of ${owner.kind} ${owner.name}`,
          command,
          at: command.source ?? owner.source,
        });
    }
  for (const script of config.scripts)
    entries.push({
      what: `vrrp_script ${script.name}`,
      command: script.command,
      at: script.command.source ?? script.source,
    });
  const serviceKeywords = [
    ['onMaster', 'on_master'],
    ['onBackup', 'on_backup'],
    ['onFault', 'on_fault'],
    ['onStop', 'on_stop'],
  ] as const;
  for (const service of config.services)
    for (const [key, keyword] of serviceKeywords) {
      const command = service[key];
      if (command)
        entries.push({
          what: `${keyword} of tandem_service ${service.name}`,
          command,
          at: command.source ?? service.source,
        });
    }
  const fifoScripts = [
    ['notify_fifo_script', config.global.notifyFifo?.script],
    ['vrrp_notify_fifo_script', config.global.vrrpNotifyFifo?.script],
  ] as const;
  for (const [keyword, command] of fifoScripts)
    if (command) entries.push({ what: keyword, command, at: command.source ?? fallback });
  return entries;
}

export interface ScriptSecurityOptions {
  /** The position of findings about global_defs settings (default: line 1 of `<configuration>`). */
  fallback?: Position;
  accounts?: AccountFiles;
  /** More scripts to check (e.g. service commands), with the configuration's own. */
  extra?: ScriptEntry[];
}

/** The findings of keepalived's script security over every script of `config`; see the rules above. */
export function checkScriptSecurity(
  config: TandemConfig,
  options: ScriptSecurityOptions = {},
): ScriptSecurityDiagnostic[] {
  const fallback = options.fallback ?? { file: '<configuration>', line: 1, column: 1 };
  const entries = [...scriptEntries(config, fallback), ...(options.extra ?? [])];
  return checkScriptEntries(entries, config.global, options.accounts);
}

/** The same checks over a given list of scripts. */
export function checkScriptEntries(
  entries: readonly ScriptEntry[],
  global: Pick<GlobalConfig, 'scriptUser' | 'enableScriptSecurity'>,
  accounts: AccountFiles = {},
): ScriptSecurityDiagnostic[] {
  const findings: ScriptSecurityDiagnostic[] = [];
  const severity: Severity = global.enableScriptSecurity ? 'error' : 'warning';
  const report = (at: Position, level: Severity, message: string) =>
    findings.push({ ...at, severity: level, message, code: SCRIPT_SECURITY_CODE });

  let globalIdentity: Identity | undefined;
  if (global.scriptUser !== undefined) {
    try {
      globalIdentity = resolveUser(global.scriptUser.user, global.scriptUser.group, accounts);
    } catch (error) {
      const first = entries[0];
      if (first !== undefined) report(first.at, 'error', `script_user: ${errorMessage(error)}`);
      return findings;
    }
  }

  let reportedAgentUser = false;
  for (const entry of entries) {
    const { command, at, what } = entry;
    let identity: ScriptIdentity;
    try {
      identity = scriptIdentity(command, global, accounts);
    } catch (error) {
      report(at, 'error', `${what}: ${errorMessage(error)}`);
      continue;
    }
    if (identity.from === 'agent' && !reportedAgentUser) {
      reportedAgentUser = true;
      report(
        at,
        severity,
        global.enableScriptSecurity
          ? `${what}: enable_script_security is set but no user is given to run scripts as: set script_user ` +
              `(or create the user ${DEFAULT_SCRIPT_USER})`
          : `${what}: scripts run as root (no script_user and no user ${DEFAULT_SCRIPT_USER}) and ` +
              `enable_script_security is off`,
      );
    }
    if (identity.from === 'command' && identity.uid === 0 && globalIdentity && globalIdentity.uid !== 0) {
      report(
        at,
        severity,
        `${what} runs as root (its own user '${command.user}') although script_user is ` +
          `'${global.scriptUser?.user}'`,
      );
    }
    const problem = pathProblem(command, identity);
    if (problem !== undefined) report(at, severity, `${what}: ${problem}`);
  }
  return findings;
}

/** What is wrong with the script's file for `identity`, or undefined. */
function pathProblem(command: Command, identity: Identity): string | undefined {
  const written = command.argv[0];
  // keepalived's `</path` form tests that a file can be opened; nothing is executed.
  if (written === undefined || /^<\s*\//.test(written)) return undefined;
  let path = written;
  if (!written.includes('/')) {
    const found = HOOK_PATH.split(':')
      .map((directory) => join(directory, written))
      .find((candidate) => {
        try {
          accessSync(candidate, constants.X_OK);
          return statSync(candidate).isFile();
        } catch {
          return false;
        }
      });
    if (found === undefined) return `'${written}' is not found in PATH (${HOOK_PATH})`;
    path = found;
  } else if (!written.startsWith('/')) {
    return `'${written}' must be an absolute path`;
  }
  let real: string;
  let stats: Stats;
  try {
    real = realpathSync(path);
    stats = statSync(real);
  } catch (error) {
    return `'${path}' cannot be accessed (${errorMessage(error)})`;
  }
  if (!stats.isFile()) return `'${path}' is not a regular file`;
  if (!executableBy(stats, identity))
    return `'${path}' is not executable by uid ${identity.uid} gid ${identity.gid}`;
  const runsAsRoot =
    identity.uid === 0 ||
    identity.gid === 0 ||
    (stats.uid === 0 && (stats.mode & S_ISUID) !== 0) ||
    (stats.gid === 0 && (stats.mode & S_ISGID) !== 0);
  if (!runsAsRoot) return undefined;
  // keepalived's rule: every component of the resolved path. Then the path tandem runs, as written.
  const reason =
    insecurePathReason(real) ??
    (real === path ? undefined : insecurePathReason(path, { symlinkedDirectories: true }));
  if (reason !== undefined) return `'${path}' runs as root but a non-root user could change it: ${reason}`;
  return undefined;
}

function executableBy(stats: Stats, identity: Identity): boolean {
  if (identity.uid === 0) return (stats.mode & 0o111) !== 0;
  if (stats.uid === identity.uid) return (stats.mode & constants.S_IXUSR) !== 0;
  if (stats.gid === identity.gid) return (stats.mode & constants.S_IXGRP) !== 0;
  return (stats.mode & constants.S_IXOTH) !== 0;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A hook's whole environment: PATH, and the event as TANDEM_INSTANCE (the instance's or sync group's name),
 * TANDEM_STATE, TANDEM_PRIORITY and TANDEM_VIPS (the instance's virtual addresses, space-separated).
 */
export function hookEnvironment(event: HookEvent, vips: readonly string[]): Record<string, string> {
  return {
    PATH: HOOK_PATH,
    TANDEM_INSTANCE: event.name,
    TANDEM_STATE: event.state,
    TANDEM_PRIORITY: String(event.priority),
    TANDEM_VIPS: vips.join(' '),
  };
}

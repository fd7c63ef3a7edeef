/**
 * CARP virtual hosts in the agent (docs/carp.md, "Running CARP"). A carp_instance runs through the same
 * instance runtime as a vrrp_instance: the same driver and `step` (asking the CARP profile), VIP controller,
 * announcements, tracking, hooks, FIFO, status and reload. This file is the one place that says what a CARP
 * virtual host is in those terms: `carpAsInstance` turns its configuration into the runtime's entry, carrying
 * what only CARP has (`CarpSettings`); `runnableConfig` adds every carp_instance to the agent's list.
 *
 * Tracking: a tracked item's CARP weight is a demotion (0-255). The runtime's tracking adds weights to a base
 * priority, so a CARP entry runs at the highest backup priority (254) with the weights negated, and the
 * demotion advertised is 254 minus the tracked priority (0-253). CARP has no priority of its own; notify scripts
 * receive 254.
 */
import { readFile } from 'node:fs/promises';
import type { HookEvent, HookRun, HookState } from '../actions/notify.js';
import type {
  CarpInstanceConfig,
  GlobalConfig,
  TandemConfig,
  Track,
  VrrpInstanceConfig,
} from '../config/schema.js';
import { PRIORITY_BACKUP_MAX } from '../core/protocol.js';
import { passwordFromPassfile } from '../carp/ucarp-options.js';
import { CARP_LEAVES_OFF } from './carp-entry-defaults.js';
import { TandemError } from '../errors.js';
import type { CarpHmacVariant } from '../vrrp/carp-auth.js';
import type { CarpParameters } from '../vrrp/fsm.js';
import { type CarpFlavour, carpInterval } from '../vrrp/profile.js';

/** The priority a CARP entry runs at, so that demotions (weights) have the whole backup range below it. */
export const CARP_BASE_PRIORITY = PRIORITY_BACKUP_MAX;

/** ucarp's scripts (`tandem carp`): called as `SCRIPT INTERFACE VIP [XPARAM]`, the VIP left to them. */
export interface UcarpScripts {
  up?: string;
  down?: string;
  /** The VIP as written on the command line: the scripts' second argument. */
  virtualAddress: string;
  extraParameter?: string;
  /** `-n`: no down script on the first BACKUP. */
  neutral: boolean;
  /** `-z`: the down script at exit unless BACKUP. */
  shutdownAtExit: boolean;
}

/** What only a CARP virtual host has, carried by its runtime entry. */
export interface CarpSettings {
  vhid: number;
  advbase: number;
  advskew: number;
  deadRatio: number;
  /** Whose election rules apply where OpenBSD and ucarp differ (profile.ts). */
  flavour: CarpFlavour;
  /** Whose HMAC inputs (carp-auth.ts); with one IPv4 address both agree. */
  hmac: CarpHmacVariant;
  passphrase: { value: string | Uint8Array } | { file: string; format: 'first-line' };
  /** The addresses the HMAC covers (OpenBSD: every address of the virtual host; ucarp: its `-a`). */
  hashedAddresses: string[];
  /** ucarp `-n` / carp_instance `neutral`: no hooks for the first BACKUP at start. */
  neutral: boolean;
  /** `tandem carp`: ucarp's scripts instead of the notify hooks, VIPs left to them. */
  ucarp?: UcarpScripts;
}

/** A runtime entry that runs a CARP virtual host. */
export type CarpInstanceEntry = VrrpInstanceConfig & { carp: CarpSettings };

export class CarpSetupError extends TandemError {
  constructor(instance: string, message: string) {
    super('TANDEM_ECARP_SETUP', `carp_instance ${instance}: ${message}`);
  }
}

/** The CARP settings of a runtime entry, or `undefined` for a vrrp_instance. */
export function carpSettingsOf(config: VrrpInstanceConfig): CarpSettings | undefined {
  return (config as Partial<CarpInstanceEntry>).carp;
}

/** The state machine's CARP parameters. */
export function carpParameters(settings: CarpSettings): CarpParameters {
  return {
    flavour: settings.flavour,
    advbase: settings.advbase,
    advskew: settings.advskew,
    deadRatio: settings.deadRatio,
  };
}

/** The tracked priority as the demotion CARP advertises. */
export function demotionOf(trackedPriority: number): number {
  return Math.max(0, CARP_BASE_PRIORITY - trackedPriority);
}

/** A CARP demotion weight as the runtime's tracking adds it (subtracted while the item fails). */
function asDemotion(track: Track): Track {
  return { ...track, weight: track.weight === 0 ? 0 : -Math.abs(track.weight) };
}

const CENTISECONDS_PER_MICROSECOND = 1 / 10_000;

/** Everything a CARP virtual host is, in the runtime's terms (see the file comment). */
export function carpAsInstance(
  carp: CarpInstanceConfig,
  global: GlobalConfig,
  ucarp?: UcarpScripts,
): CarpInstanceEntry {
  const settings: CarpSettings = {
    vhid: carp.vhid,
    advbase: carp.advbaseSeconds,
    advskew: carp.advskew,
    deadRatio: carp.deadratio,
    flavour: ucarp ? 'ucarp' : 'openbsd',
    hmac: ucarp ? 'ucarp' : 'openbsd',
    passphrase:
      carp.passphraseFile !== undefined
        ? { file: carp.passphraseFile, format: 'first-line' }
        : { value: carp.passphrase ?? '' },
    hashedAddresses: ucarp ? [ucarp.virtualAddress] : carp.vips.map((vip) => vip.address),
    neutral: carp.neutral,
    ...(ucarp ? { ucarp } : {}),
  };
  return {
    name: carp.name,
    source: carp.source,
    state: 'BACKUP',
    interface: carp.interface,
    vrid: carp.vhid,
    priority: CARP_BASE_PRIORITY,
    addressOwner: false,
    advertIntervalCentiseconds: Math.round(
      carpInterval({ advbase: carp.advbaseSeconds, advskew: carp.advskew }) * CENTISECONDS_PER_MICROSECOND,
    ),
    version: 2,
    family: carp.family,
    preempt: carp.preempt,
    preemptDelaySeconds: 0,
    auth: { type: 'none' },
    // ucarp leaves the VIP to its scripts: tandem then claims nothing.
    vips: ucarp ? [] : carp.vips,
    excludedVips: [],
    routes: [],
    rules: [],
    ...(carp.srcIp !== undefined ? { mcastSrcIp: carp.srcIp, unicastSrcIp: carp.srcIp } : {}),
    unicastPeers: carp.unicastPeers,
    mcastDstIp: carp.mcastDstIp,
    dontTrackPrimary: carp.dontTrackPrimary,
    garp: global.garp,
    // A CARP VIP is an ordinary address of the box: it answers what is sent to it.
    acceptMode: true,
    skipCheckAdvAddr: true,
    notify: carp.notify,
    services: carp.services,
    downTimerAdverts: carp.deadratio,
    trackInterfaces: carp.trackInterfaces.map(asDemotion),
    trackScripts: carp.trackScripts.map(asDemotion),
    trackFiles: carp.trackFiles.map(asDemotion),
    trackProcesses: carp.trackProcesses.map(asDemotion),
    ...CARP_LEAVES_OFF,
    carp: settings,
  };
}

/**
 * The configuration the agent runs: the vrrp_instances, then every carp_instance as a runtime entry. Idempotent
 * (entries already added are not added again).
 */
export function runnableConfig(config: TandemConfig): TandemConfig {
  const present = new Set(config.instances.map((instance) => instance.name));
  const added = config.carpInstances
    .filter((carp) => !present.has(carp.name))
    .map((carp) => carpAsInstance(carp, config.global));
  if (added.length === 0) return config;
  return { ...config, instances: [...config.instances, ...added] };
}

/** The passphrase bytes: given, or the first line of its file (ucarp `-o`), read when the instance starts. */
export async function loadPassphrase(name: string, settings: CarpSettings): Promise<string | Uint8Array> {
  if ('value' in settings.passphrase) return settings.passphrase.value;
  const path = settings.passphrase.file;
  let contents: Uint8Array;
  try {
    contents = await readFile(path);
  } catch (error) {
    throw new CarpSetupError(name, `cannot read passphrase_file ${path}: ${(error as Error).message}`);
  }
  const read = passwordFromPassfile(contents, path);
  if (!read.ok) throw new CarpSetupError(name, `passphrase_file ${path}: ${read.error}`);
  return read.password;
}

type HookSourceFunction = (event: HookEvent) => HookRun[];

/**
 * ucarp's scripts as spawn.c calls them: `SCRIPT INTERFACE VIP [XPARAM]`, the up script on MASTER, the down script
 * on every BACKUP (not the first with `-n`), on leaving MASTER for FAULT (ucarp goes BACKUP when its interface
 * fails), and at exit with `-z` when MASTER.
 */
export function ucarpHookSource(scripts: UcarpScripts, interfaceName: string): HookSourceFunction {
  const argv = (script: string | undefined): HookRun[] =>
    script === undefined
      ? []
      : [
          {
            argv: [
              script,
              interfaceName,
              scripts.virtualAddress,
              ...(scripts.extraParameter !== undefined ? [scripts.extraParameter] : []),
            ],
          },
        ];
  let previous: HookState | undefined;
  return (event) => {
    const prior = previous;
    previous = event.state;
    switch (event.state) {
      case 'MASTER':
        return argv(scripts.up);
      case 'BACKUP':
        return prior === undefined && scripts.neutral ? [] : argv(scripts.down);
      case 'FAULT':
        return prior === 'MASTER' ? argv(scripts.down) : [];
      case 'STOP':
        return scripts.shutdownAtExit && prior === 'MASTER' ? argv(scripts.down) : [];
      default:
        return [];
    }
  };
}

/** carp_instance `neutral` (ucarp -n): the first BACKUP at start runs no hooks; the FIFO line is still written. */
export function neutralStart(source: HookSourceFunction): HookSourceFunction {
  let first = true;
  return (event) => {
    const skip = first && event.state === 'BACKUP';
    first = false;
    return skip ? [] : source(event);
  };
}

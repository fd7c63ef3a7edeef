/**
 * What the keyword handlers fill in while walking the statements: the values as written, with the positions
 * the cross-checks of build.ts need. Defaults are applied only in build.ts, so that "not set" stays visible.
 */
import type { Position } from './diagnostics.js';
import type {
  AuthConfig,
  Command,
  FifoConfig,
  GarpConfig,
  InitialState,
  LvsSyncDaemonConfig,
  UnicastPeer,
  VirtualAddress,
  VirtualRoute,
  VirtualRule,
  VrrpVersion,
  Family,
  NotifyConfig,
  SmtpConfig,
  TrackProcessConfig,
} from './schema.js';

export interface TrackDraft {
  name: string;
  weight?: number;
  reverse?: boolean;
  at: Position;
}

export interface AddressDraft {
  address: string;
  family: Family;
  at: Position;
}

export interface PeerDraft extends UnicastPeer {
  family: Family;
  at: Position;
}

export type NotifyDraft = NotifyConfig;

/** The track_* blocks of an instance or a sync group, as written. */
export interface TrackListsDraft {
  trackInterfaces: TrackDraft[];
  trackScripts: TrackDraft[];
  trackFiles: TrackDraft[];
  trackProcesses: TrackDraft[];
}

export interface GlobalDraft {
  routerId?: string;
  scriptUser?: { user: string; group?: string };
  enableScriptSecurity?: boolean;
  vrrpVersion?: VrrpVersion;
  mcastGroup4?: string;
  mcastGroup6?: string;
  garp: Partial<GarpConfig>;
  minGarp?: boolean;
  garpIntervalSeconds?: number;
  gnaIntervalSeconds?: number;
  startupDelaySeconds?: number;
  notifyFifo?: FifoConfig;
  vrrpNotifyFifo?: FifoConfig;
  vrrpNotifyFifoAt?: Position;
  notifyFifoScript?: Command;
  vrrpNotifyFifoScript?: Command;
  lvsSyncDaemon?: LvsSyncDaemonConfig & { at: Position; instanceAt?: Position };
  strict?: boolean;
  lowerPrioNoAdvert?: boolean;
  higherPrioSendAdvert?: boolean;
  skipCheckAdvAddr?: boolean;
  checkUnicastSrc?: boolean;
  smtp: Omit<SmtpConfig, 'alert'> & { alert?: boolean };
  notifyTimeoutSeconds?: number;
  runtimeDir?: string;
  controlSocket?: string;
}

export interface ScriptDraft {
  name: string;
  at: Position;
  command?: Command;
  user?: { user: string; group?: string };
  intervalSeconds?: number;
  timeoutSeconds?: number;
  weight?: number;
  reverse?: boolean;
  rise?: number;
  fall?: number;
  initFail: boolean;
}

export interface TrackFileDraft {
  name: string;
  at: Position;
  file?: string;
  weight?: number;
  reverse?: boolean;
  init?: { value: number; overwrite: boolean };
}

export interface TrackProcessDraft {
  name: string;
  at: Position;
  process?: string[];
  paramMatch?: TrackProcessConfig['paramMatch'];
  weight?: number;
  reverse?: boolean;
  quorum?: number;
  quorumMax?: number;
  forkDelaySeconds?: number;
  terminateDelaySeconds?: number;
  fullCommand: boolean;
}

export interface InstanceDraft extends TrackListsDraft {
  name: string;
  at: Position;
  /** Where each keyword was given, by keyword name, for messages about its value. */
  where: Map<string, Position>;
  state?: InitialState;
  interface?: string;
  vrid?: number;
  priority?: number;
  advertSeconds?: number;
  version?: VrrpVersion;
  preempt: boolean;
  preemptDelaySeconds?: number;
  auth?: AuthConfig;
  vips: VirtualAddress[];
  excludedVips: VirtualAddress[];
  routes: VirtualRoute[];
  rules: VirtualRule[];
  unicastSrcIp?: AddressDraft;
  unicastPeers: PeerDraft[];
  unicastTtl?: number;
  mcastSrcIp?: AddressDraft;
  mcastDstIp?: AddressDraft;
  useVmac?: { name?: string; mac?: string };
  vmacXmitBase: boolean;
  dontTrackPrimary: boolean;
  garp: Partial<GarpConfig>;
  lowerPrioNoAdvert?: boolean;
  higherPrioSendAdvert?: boolean;
  accept?: boolean;
  strictMode?: boolean;
  skipCheckAdvAddr?: boolean;
  checkUnicastSrc?: boolean;
  notify: NotifyDraft;
  smtpAlert?: boolean;
  /** `tandem_service NAME...` lines, resolved against the blocks in build.ts. */
  services: { name: string; at: Position }[];
}

export interface SyncGroupDraft extends TrackListsDraft {
  name: string;
  at: Position;
  members: { name: string; at: Position }[];
  /** Names written directly in the block, outside `group { }`: keepalived ignores them. */
  bareNames: { name: string; at: Position }[];
  notify: NotifyDraft;
  smtpAlert?: boolean;
  trackingWeight: boolean;
}

export interface ServiceDraft {
  name: string;
  at: Position;
  onMaster?: Command;
  onBackup?: Command;
  onFault?: Command;
  onStop?: Command;
  timeoutSeconds?: number;
}

export interface ConfigDraft {
  global: GlobalDraft;
  scripts: ScriptDraft[];
  trackFiles: TrackFileDraft[];
  trackProcesses: TrackProcessDraft[];
  instances: InstanceDraft[];
  syncGroups: SyncGroupDraft[];
  services: ServiceDraft[];
  /** Where SMTP settings were first seen, to warn once that tandem sends no mail. */
  smtpWarned: boolean;
}

export function newConfigDraft(): ConfigDraft {
  return {
    global: { garp: {}, smtp: { notificationEmail: [] } },
    scripts: [],
    trackFiles: [],
    trackProcesses: [],
    instances: [],
    syncGroups: [],
    services: [],
    smtpWarned: false,
  };
}

export function newInstanceDraft(name: string, at: Position): InstanceDraft {
  return {
    name,
    at,
    where: new Map(),
    preempt: true,
    vips: [],
    excludedVips: [],
    routes: [],
    rules: [],
    trackInterfaces: [],
    trackScripts: [],
    trackFiles: [],
    trackProcesses: [],
    unicastPeers: [],
    vmacXmitBase: false,
    dontTrackPrimary: false,
    garp: {},
    notify: {},
    services: [],
  };
}

export function newSyncGroupDraft(name: string, at: Position): SyncGroupDraft {
  return {
    name,
    at,
    members: [],
    bareNames: [],
    trackInterfaces: [],
    trackScripts: [],
    trackFiles: [],
    trackProcesses: [],
    notify: {},
    trackingWeight: false,
  };
}

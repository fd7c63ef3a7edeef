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
  GarpExtraIf,
  HandoverMode,
  MetricsListen,
  NftablesConfig,
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
  /** Where each keyword was given, by keyword name, for messages about its value. */
  where: Map<string, Position>;
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
  garpExtraIf?: GarpExtraIf;
  downTimerAdverts?: number;
  notifyPriorityChanges?: boolean;
  fifoWriteStatesOnReload?: boolean;
  logUnknownVrids?: boolean;
  iptables?: { inChain: string; outChain?: string };
  /** nftables_priority / _counters / _ifindex may come before (or without) `nftables`. */
  nftables?: Partial<NftablesConfig>;
  randomSeed?: number;
  metricsListen?: MetricsListen;
  handover?: HandoverMode;
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
  notifyDeleted?: boolean;
  notifyPriorityChanges?: boolean;
  useVmacAddr?: boolean;
  trackSrcIp?: boolean;
  unicastFaultNoPeer?: boolean;
  oldUnicastChecksum?: 'always' | 'never';
  garpExtraIf?: GarpExtraIf;
  downTimerAdverts?: number;
  promoteSecondaries?: boolean;
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
  notifyDeleted?: boolean;
  notifyPriorityChanges?: boolean;
}

/** A carp_instance block as written. */
export interface CarpDraft extends TrackListsDraft {
  name: string;
  at: Position;
  where: Map<string, Position>;
  interface?: string;
  vhid?: number;
  advbaseSeconds?: number;
  advskew?: number;
  passphrase?: { value: string; at: Position };
  passphraseFile?: { path: string; at: Position };
  vips: VirtualAddress[];
  preempt: boolean;
  unicastSrcIp?: AddressDraft;
  mcastSrcIp?: AddressDraft;
  unicastPeers: PeerDraft[];
  mcastDstIp?: AddressDraft;
  deadratio?: number;
  neutral: boolean;
  dontTrackPrimary: boolean;
  notify: NotifyDraft;
  services: { name: string; at: Position }[];
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
  carpInstances: CarpDraft[];
  /** Where SMTP settings were first seen, to warn once that tandem sends no mail. */
  smtpWarned: boolean;
}

export function newConfigDraft(): ConfigDraft {
  return {
    global: { where: new Map(), garp: {}, smtp: { notificationEmail: [] } },
    scripts: [],
    trackFiles: [],
    trackProcesses: [],
    instances: [],
    syncGroups: [],
    services: [],
    carpInstances: [],
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

export function newCarpDraft(name: string, at: Position): CarpDraft {
  return {
    name,
    at,
    where: new Map(),
    vips: [],
    // carp(4) net.inet.carp.preempt and ucarp -P are off unless asked for.
    preempt: false,
    unicastPeers: [],
    neutral: false,
    dontTrackPrimary: false,
    trackInterfaces: [],
    trackScripts: [],
    trackFiles: [],
    trackProcesses: [],
    notify: {},
    services: [],
  };
}

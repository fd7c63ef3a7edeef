/**
 * The normalized configuration: what the agent consumes, with every default filled in. It is plain data
 * (JSON-serializable), printed by `tandem check --print json`.
 */
import type { Position } from './diagnostics.js';

export type Family = 4 | 6;
export type VrrpVersion = 2 | 3;
export type InitialState = 'MASTER' | 'BACKUP';
export type AddressScope = 'global' | 'site' | 'link' | 'host' | 'nowhere';

/** A command to run: keepalived splits a script string on spaces, honoring quotes. */
export interface Command {
  argv: string[];
  /** The user and group to run it as; undefined means the global script_user. */
  user?: string;
  group?: string;
}

export interface TandemConfig {
  global: GlobalConfig;
  scripts: VrrpScriptConfig[];
  trackFiles: TrackFileConfig[];
  trackProcesses: TrackProcessConfig[];
  instances: VrrpInstanceConfig[];
  syncGroups: SyncGroupConfig[];
  /** tandem's `tandem_service` blocks: services that follow the VIPs of the instances naming them. */
  services: ServiceConfig[];
}

export interface GarpConfig {
  masterDelaySeconds: number;
  masterRepeat: number;
  lowerPrioDelaySeconds: number;
  lowerPrioRepeat: number;
  masterRefreshSeconds: number;
  masterRefreshRepeat: number;
}

export interface FifoConfig {
  path: string;
  user?: string;
  group?: string;
  /** A script keepalived starts to read the FIFO (the FIFO name is appended as last argument). */
  script?: Command;
}

export interface LvsSyncDaemonConfig {
  interface: string;
  /** The vrrp_instance whose state selects master or backup sync daemon; undefined: both always run. */
  instance?: string;
  syncId?: number;
  maxlen?: number;
  port?: number;
  ttl?: number;
  group?: string;
}

/** SMTP settings are parsed for compatibility; tandem sends no mail. */
export interface SmtpConfig {
  notificationEmail: string[];
  notificationEmailFrom?: string;
  server?: string;
  port?: number;
  helo?: string;
  connectTimeoutSeconds?: number;
  alert: boolean;
}

export interface GlobalConfig {
  /** Undefined: the host name at run time (keepalived's default). */
  routerId?: string;
  scriptUser?: { user: string; group?: string };
  enableScriptSecurity: boolean;
  vrrpVersion: VrrpVersion;
  mcastGroup4: string;
  mcastGroup6: string;
  garp: GarpConfig;
  garpIntervalSeconds: number;
  gnaIntervalSeconds: number;
  startupDelaySeconds: number;
  notifyFifo?: FifoConfig;
  vrrpNotifyFifo?: FifoConfig;
  lvsSyncDaemon?: LvsSyncDaemonConfig;
  strict: boolean;
  lowerPrioNoAdvert: boolean;
  higherPrioSendAdvert: boolean;
  skipCheckAdvAddr: boolean;
  checkUnicastSrc: boolean;
  smtp: SmtpConfig;
  /** tandem's own settings. */
  notifyTimeoutSeconds: number;
  runtimeDir: string;
  controlSocket: string;
}

export interface VrrpScriptConfig {
  name: string;
  source: Position;
  command: Command;
  intervalSeconds: number;
  timeoutSeconds: number;
  weight: number;
  reverse: boolean;
  rise: number;
  fall: number;
  initFail: boolean;
}

export interface TrackFileConfig {
  name: string;
  source: Position;
  file: string;
  weight: number;
  reverse: boolean;
  /** `init_file [VALUE] [overwrite]`: create or initialise the file at startup. */
  init?: { value: number; overwrite: boolean };
}

export interface TrackProcessConfig {
  name: string;
  source: Position;
  /** The process name followed by the parameters to match. */
  process: string[];
  paramMatch: 'exact' | 'initial' | 'partial';
  weight: number;
  reverse: boolean;
  quorum: number;
  quorumMax?: number;
  forkDelaySeconds: number;
  terminateDelaySeconds: number;
  fullCommand: boolean;
}

export interface VirtualAddress {
  address: string;
  prefixLength: number;
  family: Family;
  dev?: string;
  label?: string;
  scope?: AddressScope;
  /** A broadcast address, or '+' / '-' to set / clear the host bits (as ip-address(8)). */
  brd?: string;
  noTrack: boolean;
  source: Position;
}

export interface VirtualRoute {
  /** The entry as written, for `ip route` and for messages. */
  raw: string;
  family: Family;
  type?: string;
  destination: string;
  src?: string;
  via?: string[];
  dev?: string;
  table?: string;
  metric?: number;
  scope?: string;
  noTrack: boolean;
  /** Further ip-route options, passed through as written. */
  options: string[];
  source: Position;
}

export interface VirtualRule {
  raw: string;
  family: Family;
  from?: string;
  to?: string;
  table?: string;
  preference?: number;
  action?: string;
  noTrack: boolean;
  options: string[];
  source: Position;
}

export interface Track {
  name: string;
  weight: number;
  reverse: boolean;
}

/** What an instance or a sync group follows: track_interface, track_script, track_file, track_process. */
export interface TrackLists {
  trackInterfaces: Track[];
  trackScripts: Track[];
  trackFiles: Track[];
  trackProcesses: Track[];
}

export interface UnicastPeer {
  address: string;
  minTtl?: number;
  maxTtl?: number;
}

export type AuthConfig = { type: 'none' } | { type: 'pass'; password: string };

export interface NotifyConfig {
  master?: Command;
  backup?: Command;
  fault?: Command;
  stop?: Command;
  /** The generic `notify` script: gets `INSTANCE|GROUP NAME STATE PRIORITY` appended. */
  any?: Command;
}

/**
 * A service that follows the VIPs (tandem's `tandem_service NAME { ... }`): a command per state the instance
 * enters, run through the instance's hook queue before its notify scripts. A missing command means "leave the
 * service as it is" on that transition (e.g. keep a proxy running on BACKUP).
 */
export interface ServiceConfig {
  name: string;
  source: Position;
  onMaster?: Command;
  onBackup?: Command;
  onFault?: Command;
  onStop?: Command;
  /** How long one command may run before its process group is killed (default: tandem_notify_timeout). */
  timeoutSeconds: number;
}

export interface VrrpInstanceConfig extends TrackLists {
  name: string;
  source: Position;
  /** The initial state hint; RFC 5798 §6.4.1 still decides (priority 255 goes MASTER at once). */
  state: InitialState;
  /** Undefined only for a unicast instance whose every VIP names its device. */
  interface?: string;
  vrid: number;
  priority: number;
  /** Priority 255: this box claims to own the VIPs (cannot be checked at configuration time). */
  addressOwner: boolean;
  advertIntervalCentiseconds: number;
  version: VrrpVersion;
  family: Family;
  preempt: boolean;
  preemptDelaySeconds: number;
  auth: AuthConfig;
  vips: VirtualAddress[];
  excludedVips: VirtualAddress[];
  routes: VirtualRoute[];
  rules: VirtualRule[];
  unicastSrcIp?: string;
  unicastPeers: UnicastPeer[];
  unicastTtl?: number;
  mcastSrcIp?: string;
  /** The multicast group adverts go to (global vrrp_mcast_group4/6 unless mcast_dst_ip). */
  mcastDstIp: string;
  useVmac?: { name?: string; mac?: string };
  vmacXmitBase: boolean;
  dontTrackPrimary: boolean;
  garp: GarpConfig;
  lowerPrioNoAdvert: boolean;
  higherPrioSendAdvert: boolean;
  acceptMode: boolean;
  strictMode: boolean;
  skipCheckAdvAddr: boolean;
  checkUnicastSrc: boolean;
  notify: NotifyConfig;
  smtpAlert: boolean;
  syncGroup?: string;
  /** The `tandem_service` blocks this instance drives, by name, in the order written. */
  services: string[];
}

export interface SyncGroupConfig extends TrackLists {
  name: string;
  source: Position;
  members: string[];
  notify: NotifyConfig;
  smtpAlert: boolean;
  /** keepalived's sync_group_tracking_weight: keep members' own tracking weights. */
  trackingWeight: boolean;
}

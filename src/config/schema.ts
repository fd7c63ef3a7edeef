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
  /** The keyword that names the script (`notify_master`, a vrrp_script's `script`), for messages. */
  source?: Position;
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
  /** tandem's `carp_instance` blocks: CARP virtual hosts (carp(4), ucarp). */
  carpInstances: CarpInstanceConfig[];
  /**
   * Every place the configuration asks for something this build does not do yet (a keyword whose support is
   * "refused: not implemented yet", see support.ts). `tandem check` and `tandem run` refuse the configuration
   * while this is not empty, unless --lenient (then it runs without them).
   */
  unimplemented: UnimplementedUse[];
}

/** One use of a keyword that is parsed into this schema but not acted on yet. */
export interface UnimplementedUse {
  /** The section id (`vrrp_instance`, `global_defs`, `virtual_ipaddress`, ...) and keyword of the table. */
  section: string;
  keyword: string;
  /** Where it is used: `vrrp_instance VI_1`. */
  where: string;
  /** What the use asks for that is not implemented, for messages. */
  what: string;
  source: Position;
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
  /** `vrrp_garp_extra_if [all] SECONDS`: periodic GARP/NA on VIP interfaces other than the instance's. */
  garpExtraIf?: GarpExtraIf;
  /** `vrrp_down_timer_adverts`: default of down_timer_adverts (3: RFC 5798 §6.1). */
  downTimerAdverts: number;
  /** `vrrp_notify_priority_changes`: default of notify_priority_changes. */
  notifyPriorityChanges: boolean;
  /** `fifo_write_vrrp_states_on_reload`: write every state to the FIFOs after a reload. */
  fifoWriteStatesOnReload: boolean;
  /** `log_unknown_vrids`: log adverts of VRIDs no instance of the interface has. */
  logUnknownVrids: boolean;
  /** `vrrp_iptables [IN_CHAIN [OUT_CHAIN]]`: the firewall for no_accept, iptables flavour. */
  iptables?: { inChain: string; outChain?: string };
  /** `nftables [TABLE]` with `nftables_priority`, `nftables_counters`, `nftables_ifindex`. */
  nftables?: NftablesConfig;
  /** `random_seed`: the seed of `${_RANDOM}` (applied by the lexer, recorded here). */
  randomSeed?: number;
  /** tandem's own settings. */
  notifyTimeoutSeconds: number;
  runtimeDir: string;
  controlSocket: string;
  /** `tandem_metrics_listen ADDRESS:PORT`: the Prometheus endpoint; undefined: no endpoint (the default). */
  metricsListen?: MetricsListen;
  /** `tandem_handover`: how a planned handover moves the VIPs (issue 12); default make-before-break. */
  handover: HandoverMode;
}

export type HandoverMode = 'make-before-break' | 'break-before-make';

export interface MetricsListen {
  /** Canonical address text (IPv6 without brackets). */
  address: string;
  port: number;
  family: Family;
}

export interface GarpExtraIf {
  intervalSeconds: number;
  /** `all`: every interface the instance uses, not only VMACs. */
  allInterfaces: boolean;
}

export interface NftablesConfig {
  /** `nftables TABLE` (bare: `keepalived`, keepalived's default); absent: tandem's own, `tandem`. */
  table?: string;
  /** Base chain priority (keepalived default -1). */
  priority: number;
  counters: boolean;
  ifindex: boolean;
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
  /** `peer ADDRESS[/LEN]`: a point-to-point peer; the prefix length is the peer's (ip-address(8)). */
  peer?: string;
  /** `preferred_lft SECONDS|forever` (IPv6): keepalived's default is 0 (deprecated) for a /128, else forever. */
  preferredLifetime?: number | 'forever';
  /** `-nodad`: let the kernel run duplicate address detection (keepalived adds IPv6 VIPs with nodad). */
  duplicateAddressDetection?: boolean;
  /** `home`: IFA_F_HOMEADDRESS (Mobile IPv6). */
  home?: boolean;
  /** `mngtmpaddr`: IFA_F_MANAGETEMPADDR (privacy addresses from this prefix). */
  manageTempAddress?: boolean;
  /** `noprefixroute`: IFA_F_NOPREFIXROUTE (no route for the prefix). */
  noPrefixRoute?: boolean;
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
  /** `notify_master_rx_lower_pri`: run when a MASTER receives a lower-priority advert. */
  masterRxLowerPri?: Command;
  /** The script of `notify_deleted SCRIPT`: run when a reload deletes the instance. */
  deleted?: Command;
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
  /** `notify_deleted`: report DELETED (not FAULT) when a reload deletes the instance. */
  notifyDeleted: boolean;
  /** `notify_priority_changes`: write priority changes to the notify FIFOs. */
  notifyPriorityChanges: boolean;
  /** `use_vmac_addr`: a VMAC for every other interface a VIP uses. */
  useVmacAddr: boolean;
  /** `track_src_ip`: FAULT while the source address is missing. */
  trackSrcIp: boolean;
  /** `unicast_fault_no_peer`: FAULT (not multicast) when a unicast instance has no peer. */
  unicastFaultNoPeer: boolean;
  /** `old_unicast_checksum [never]`: 'always' computes pre-1.3.6 VRRPv3 unicast checksums; 'never' disables detecting them. */
  oldUnicastChecksum?: 'always' | 'never';
  /** `garp_extra_if [all] SECONDS` (default: the global vrrp_garp_extra_if). */
  garpExtraIf?: GarpExtraIf;
  /** `down_timer_adverts`: Master_Down_Interval in adverts (3: RFC 5798 §6.1). */
  downTimerAdverts: number;
  /** `promote_secondaries`: set promote_secondaries on the interface. */
  promoteSecondaries: boolean;
}

export interface SyncGroupConfig extends TrackLists {
  name: string;
  source: Position;
  members: string[];
  notify: NotifyConfig;
  smtpAlert: boolean;
  /** keepalived's sync_group_tracking_weight: keep members' own tracking weights. */
  trackingWeight: boolean;
  /** `notify_deleted`, `notify_priority_changes`: as for an instance. */
  notifyDeleted: boolean;
  notifyPriorityChanges: boolean;
}

/**
 * A CARP virtual host (tandem's `carp_instance NAME { ... }`, issue 16): the settings of carp(4) and ucarp, with
 * VIPs, tracking, notify scripts and services as for a vrrp_instance. Track weights are demotions: while a
 * tracked item fails, its weight is added to the demotion counter carried in the adverts (0: FAULT, bow out).
 */
export interface CarpInstanceConfig extends TrackLists {
  name: string;
  source: Position;
  interface: string;
  /** Virtual host id, 1-255 (ucarp -v). */
  vhid: number;
  /** Advert base interval in whole seconds, 1-255 (ucarp -b; default 1). */
  advbaseSeconds: number;
  /** Advert skew, 0-254: adverts every advbase + advskew/256 s; 255 is reserved for bowing out (ucarp -k). */
  advskew: number;
  /** Exactly one of the two is set: the passphrase (ucarp -p), or the file whose first line is it (ucarp -o). */
  passphrase?: string;
  passphraseFile?: string;
  family: Family;
  vips: VirtualAddress[];
  /** Take over from a master that advertises less often (ucarp -P; carp(4) net.inet.carp.preempt). Default off. */
  preempt: boolean;
  /** The real address adverts come from (ucarp -s); default the interface's primary address. */
  srcIp?: string;
  unicastPeers: UnicastPeer[];
  /** The multicast group (ucarp -m); default 224.0.0.18 / ff02::12. */
  mcastDstIp: string;
  /** Missed adverts after which the master is dead (ucarp -r; default 3). */
  deadratio: number;
  /** ucarp -n: do not run the backup script at startup when starting as backup. */
  neutral: boolean;
  /** ucarp -S: ignore the link state of the interface. */
  dontTrackPrimary: boolean;
  notify: NotifyConfig;
  services: string[];
}

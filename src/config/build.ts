/**
 * Drafts -> the normalized TandemConfig: defaults filled in, and the checks that need more than one line:
 * required keywords, address families, advert interval per version, references to scripts/files/processes
 * and sync group members, unique VRIDs per interface and family, unicast peers that are not the source.
 */
import { setImmediate as nextTick } from 'node:timers/promises';
import { DiagnosticCodes, type DiagnosticSink, type Position } from './diagnostics.js';
import type {
  AddressDraft,
  CarpDraft,
  ConfigDraft,
  InstanceDraft,
  PeerDraft,
  SyncGroupDraft,
  TrackDraft,
  TrackListsDraft,
} from './drafts.js';
import {
  DEFAULT_ADVERT_CENTISECONDS,
  DEFAULT_CARP_ADVBASE_SECONDS,
  DEFAULT_CARP_DEADRATIO,
  DEFAULT_DOWN_TIMER_ADVERTS,
  DEFAULT_NFTABLES_PRIORITY,
  DEFAULT_CONTROL_SOCKET,
  DEFAULT_GARP_INTERVAL_SECONDS,
  DEFAULT_GARP_MASTER_DELAY_SECONDS,
  DEFAULT_GARP_MASTER_REFRESH_REPEAT,
  DEFAULT_GARP_MASTER_REFRESH_SECONDS,
  DEFAULT_GARP_MASTER_REPEAT,
  DEFAULT_GNA_INTERVAL_SECONDS,
  DEFAULT_MCAST_GROUP4,
  DEFAULT_MCAST_GROUP6,
  DEFAULT_NOTIFY_TIMEOUT_SECONDS,
  DEFAULT_PRIORITY,
  DEFAULT_RUNTIME_DIR,
  DEFAULT_SCRIPT_FALL,
  DEFAULT_SCRIPT_INTERVAL_SECONDS,
  DEFAULT_SCRIPT_RISE,
  DEFAULT_SCRIPT_WEIGHT,
  DEFAULT_STARTUP_DELAY_SECONDS,
  DEFAULT_TRACK_FILE_WEIGHT,
  DEFAULT_TRACK_PROCESS_QUORUM,
  DEFAULT_TRACK_PROCESS_WEIGHT,
  DEFAULT_VRRP_VERSION,
  PRIORITY_ADDRESS_OWNER,
  V2_ADVERT_SECONDS_MAX,
  V2_ADVERT_SECONDS_MIN,
  V3_ADVERT_CENTISECONDS_MAX,
  V3_ADVERT_CENTISECONDS_MIN,
} from './defaults.js';
import { unknownKeywordMessage, SECTIONS } from './keywords.js';
import { isRefused } from './support.js';
import type {
  CarpInstanceConfig,
  Command,
  Family,
  UnimplementedUse,
  VirtualAddress,
  FifoConfig,
  GarpConfig,
  GlobalConfig,
  ServiceConfig,
  SyncGroupConfig,
  TandemConfig,
  Track,
  TrackFileConfig,
  TrackLists,
  TrackProcessConfig,
  VrrpInstanceConfig,
  VrrpScriptConfig,
} from './schema.js';
import { familyName, isMulticast } from './values.js';

function positionText(at: Position): string {
  return `${at.file}:${at.line}:${at.column}`;
}

/** Instances built between two yields to the event loop. */
const INSTANCES_PER_SLICE = 500;

/**
 * `unimplemented` holds what the walk recorded (uses of keywords not implemented yet); build adds the uses that
 * depend on more than one line, and the configuration carries the list.
 */
export async function buildConfig(
  draft: ConfigDraft,
  sink: DiagnosticSink,
  mainFile: string,
  unimplemented: UnimplementedUse[] = [],
): Promise<TandemConfig> {
  const global = buildGlobal(draft, sink);
  const scripts = draft.scripts.flatMap((s): VrrpScriptConfig[] => {
    if (s.command === undefined) {
      sink.error(s.at, DiagnosticCodes.missing, `vrrp_script ${s.name} has no 'script'`);
      return [];
    }
    const interval = s.intervalSeconds ?? DEFAULT_SCRIPT_INTERVAL_SECONDS;
    return [
      {
        name: s.name,
        source: s.at,
        command: s.user === undefined ? s.command : { ...s.command, ...s.user },
        intervalSeconds: interval,
        timeoutSeconds: s.timeoutSeconds ?? interval,
        weight: s.weight ?? DEFAULT_SCRIPT_WEIGHT,
        reverse: s.reverse ?? false,
        rise: s.rise ?? DEFAULT_SCRIPT_RISE,
        fall: s.fall ?? DEFAULT_SCRIPT_FALL,
        initFail: s.initFail,
      },
    ];
  });
  const trackFiles = draft.trackFiles.flatMap((f): TrackFileConfig[] => {
    if (f.file === undefined) {
      sink.error(f.at, DiagnosticCodes.missing, `track_file ${f.name} has no 'file'`);
      return [];
    }
    const config: TrackFileConfig = {
      name: f.name,
      source: f.at,
      file: f.file,
      weight: f.weight ?? DEFAULT_TRACK_FILE_WEIGHT,
      reverse: f.reverse ?? false,
    };
    if (f.init !== undefined) config.init = f.init;
    return [config];
  });
  const trackProcesses = draft.trackProcesses.flatMap((p): TrackProcessConfig[] => {
    if (p.process === undefined) {
      sink.error(p.at, DiagnosticCodes.missing, `vrrp_track_process ${p.name} has no 'process'`);
      return [];
    }
    const config: TrackProcessConfig = {
      name: p.name,
      source: p.at,
      process: p.process,
      paramMatch: p.paramMatch ?? 'exact',
      weight: p.weight ?? DEFAULT_TRACK_PROCESS_WEIGHT,
      reverse: p.reverse ?? false,
      quorum: p.quorum ?? DEFAULT_TRACK_PROCESS_QUORUM,
      forkDelaySeconds: p.forkDelaySeconds ?? 0,
      terminateDelaySeconds: p.terminateDelaySeconds ?? 0,
      fullCommand: p.fullCommand,
    };
    if (p.quorumMax !== undefined) {
      if (p.quorumMax < config.quorum) {
        sink.error(
          p.at,
          DiagnosticCodes.conflict,
          `vrrp_track_process ${p.name}: quorum_max ${p.quorumMax} is below quorum ${config.quorum}`,
        );
      }
      config.quorumMax = p.quorumMax;
    }
    return [config];
  });

  const services = draft.services.flatMap((d): ServiceConfig[] => {
    const service: ServiceConfig = {
      name: d.name,
      source: d.at,
      timeoutSeconds: d.timeoutSeconds ?? global.notifyTimeoutSeconds,
    };
    if (d.onMaster !== undefined) service.onMaster = d.onMaster;
    if (d.onBackup !== undefined) service.onBackup = d.onBackup;
    if (d.onFault !== undefined) service.onFault = d.onFault;
    if (d.onStop !== undefined) service.onStop = d.onStop;
    if (!service.onMaster && !service.onBackup && !service.onFault && !service.onStop) {
      sink.error(
        d.at,
        DiagnosticCodes.missing,
        `tandem_service ${d.name} has none of on_master, on_backup, on_fault, on_stop`,
      );
      return [];
    }
    return [service];
  });

  const references = {
    scripts: new Map(scripts.map((s) => [s.name, s])),
    files: new Map(trackFiles.map((f) => [f.name, f])),
    processes: new Map(trackProcesses.map((p) => [p.name, p])),
    services: new Map(services.map((s) => [s.name, s])),
  };
  const instances: VrrpInstanceConfig[] = [];
  for (const [index, d] of draft.instances.entries()) {
    const built = buildInstance(d, global, references, sink);
    if (built !== undefined) instances.push(built);
    if (index % INSTANCES_PER_SLICE === INSTANCES_PER_SLICE - 1) await nextTick();
  }
  checkUniqueVrids(draft.instances, instances, sink);
  const carpInstances = draft.carpInstances.flatMap((d) => {
    const built = buildCarpInstance(d, references, sink);
    return built === undefined ? [] : [built];
  });
  checkUniqueVhids(draft.carpInstances, carpInstances, sink);
  // Instances share one namespace at run time (status, hooks, FIFO lines, reload), whatever their protocol.
  const vrrpNames = new Map(draft.instances.map((d) => [d.name, d.at] as const));
  for (const d of draft.carpInstances) {
    const clash = vrrpNames.get(d.name);
    if (clash !== undefined)
      sink.error(
        d.at,
        DiagnosticCodes.conflict,
        `carp_instance ${d.name} has the name of the vrrp_instance at ${positionText(clash)}; instance names are shared`,
      );
  }
  // Only on an otherwise valid file: after a misspelt reference, the error says it all.
  for (const service of sink.errorCount === 0 ? services : []) {
    const named = [...draft.instances, ...draft.carpInstances].some((i) =>
      i.services.some((s) => s.name === service.name),
    );
    if (!named) {
      sink.warning(
        service.source,
        DiagnosticCodes.noEffect,
        `tandem_service ${service.name} is not named by any vrrp_instance or carp_instance; its commands never run`,
      );
    }
  }
  const syncGroups = buildSyncGroups(draft.syncGroups, draft.instances, instances, references, sink);

  const fifos = [global.notifyFifo, global.vrrpNotifyFifo].filter((f) => f !== undefined);
  if (fifos.length === 2 && fifos[0]?.path === fifos[1]?.path) {
    // keepalived.conf(5), notify_fifo: "the FIFO names must all be different".
    sink.error(
      draft.global.vrrpNotifyFifoAt ?? { file: mainFile, line: 1, column: 1 },
      DiagnosticCodes.conflict,
      `notify_fifo and vrrp_notify_fifo are both '${fifos[0]?.path}'; they must differ`,
    );
  }
  const lvs = draft.global.lvsSyncDaemon;
  if (lvs?.instance !== undefined && !draft.instances.some((i) => i.name === lvs.instance)) {
    sink.error(
      lvs.instanceAt ?? lvs.at,
      DiagnosticCodes.reference,
      `lvs_sync_daemon follows vrrp_instance '${lvs.instance}', which is not defined`,
    );
  }
  if (draft.instances.length === 0 && draft.carpInstances.length === 0 && sink.errorCount === 0) {
    sink.warning(
      { file: mainFile, line: 1, column: 1 },
      DiagnosticCodes.noEffect,
      'no vrrp_instance is defined; tandem has nothing to run',
    );
  }
  return {
    global,
    scripts,
    trackFiles,
    trackProcesses,
    instances,
    syncGroups,
    services,
    carpInstances,
    unimplemented,
  };
}

function buildGlobal(draft: ConfigDraft, _sink: DiagnosticSink): GlobalConfig {
  const g = draft.global;
  const minGarp = g.minGarp === true;
  // keepalived: lower-priority GARP settings default to the master ones; vrrp_min_garp means 1 ARP, no second burst.
  const masterDelaySeconds = g.garp.masterDelaySeconds ?? (minGarp ? 0 : DEFAULT_GARP_MASTER_DELAY_SECONDS);
  const masterRepeat = g.garp.masterRepeat ?? (minGarp ? 1 : DEFAULT_GARP_MASTER_REPEAT);
  const garp: GarpConfig = {
    masterDelaySeconds,
    masterRepeat,
    lowerPrioDelaySeconds: g.garp.lowerPrioDelaySeconds ?? masterDelaySeconds,
    lowerPrioRepeat: g.garp.lowerPrioRepeat ?? masterRepeat,
    masterRefreshSeconds: g.garp.masterRefreshSeconds ?? DEFAULT_GARP_MASTER_REFRESH_SECONDS,
    masterRefreshRepeat: g.garp.masterRefreshRepeat ?? DEFAULT_GARP_MASTER_REFRESH_REPEAT,
  };
  const strict = g.strict ?? false;
  const global: GlobalConfig = {
    enableScriptSecurity: g.enableScriptSecurity ?? false,
    vrrpVersion: g.vrrpVersion ?? DEFAULT_VRRP_VERSION,
    mcastGroup4: g.mcastGroup4 ?? DEFAULT_MCAST_GROUP4,
    mcastGroup6: g.mcastGroup6 ?? DEFAULT_MCAST_GROUP6,
    garp,
    garpIntervalSeconds: g.garpIntervalSeconds ?? DEFAULT_GARP_INTERVAL_SECONDS,
    gnaIntervalSeconds: g.gnaIntervalSeconds ?? DEFAULT_GNA_INTERVAL_SECONDS,
    startupDelaySeconds: g.startupDelaySeconds ?? DEFAULT_STARTUP_DELAY_SECONDS,
    strict,
    lowerPrioNoAdvert: g.lowerPrioNoAdvert ?? strict,
    higherPrioSendAdvert: g.higherPrioSendAdvert ?? false,
    skipCheckAdvAddr: g.skipCheckAdvAddr ?? false,
    checkUnicastSrc: g.checkUnicastSrc ?? false,
    smtp: { ...g.smtp, alert: g.smtp.alert ?? false },
    notifyTimeoutSeconds: g.notifyTimeoutSeconds ?? DEFAULT_NOTIFY_TIMEOUT_SECONDS,
    runtimeDir: g.runtimeDir ?? DEFAULT_RUNTIME_DIR,
    controlSocket: g.controlSocket ?? DEFAULT_CONTROL_SOCKET,
    downTimerAdverts: g.downTimerAdverts ?? DEFAULT_DOWN_TIMER_ADVERTS,
    notifyPriorityChanges: g.notifyPriorityChanges ?? false,
    fifoWriteStatesOnReload: g.fifoWriteStatesOnReload ?? false,
    logUnknownVrids: g.logUnknownVrids ?? false,
    handover: g.handover ?? 'make-before-break',
  };
  if (g.garpExtraIf !== undefined) global.garpExtraIf = g.garpExtraIf;
  if (g.iptables !== undefined) global.iptables = g.iptables;
  if (g.randomSeed !== undefined) global.randomSeed = g.randomSeed;
  if (g.metricsListen !== undefined) global.metricsListen = g.metricsListen;
  // tandem always filters for no_accept (keepalived only with `nftables`): the settings apply without it too.
  if (g.nftables !== undefined) {
    global.nftables = {
      ...(g.nftables.table !== undefined ? { table: g.nftables.table } : {}),
      priority: g.nftables.priority ?? DEFAULT_NFTABLES_PRIORITY,
      counters: g.nftables.counters ?? false,
      ifindex: g.nftables.ifindex ?? false,
    };
  }
  if (g.routerId !== undefined) global.routerId = g.routerId;
  if (g.scriptUser !== undefined) global.scriptUser = g.scriptUser;
  if (g.notifyFifo !== undefined) global.notifyFifo = withScript(g.notifyFifo, g.notifyFifoScript);
  if (g.vrrpNotifyFifo !== undefined)
    global.vrrpNotifyFifo = withScript(g.vrrpNotifyFifo, g.vrrpNotifyFifoScript);
  if (g.lvsSyncDaemon !== undefined) {
    const { at: _at, instanceAt: _instanceAt, ...daemon } = g.lvsSyncDaemon;
    global.lvsSyncDaemon = daemon;
  }
  return global;
}

function withScript(fifo: FifoConfig, script: Command | undefined): FifoConfig {
  return script === undefined ? fifo : { ...fifo, script };
}

interface References {
  scripts: Map<string, VrrpScriptConfig>;
  files: Map<string, TrackFileConfig>;
  processes: Map<string, TrackProcessConfig>;
  services: Map<string, ServiceConfig>;
}

/** An instance's `tandem_service` names: each must name a block; a repeat is dropped with a warning. */
function resolveServices(
  d: { services: { name: string; at: Position }[] },
  services: Map<string, ServiceConfig>,
  label: string,
  sink: DiagnosticSink,
): string[] {
  const names: string[] = [];
  for (const { name, at } of d.services) {
    if (!services.has(name)) {
      const hint = closestName(name, services.keys());
      sink.error(
        at,
        DiagnosticCodes.reference,
        `tandem_service of ${label} refers to tandem_service '${name}', which is not defined${hint === undefined ? '' : ` (did you mean '${hint}'?)`}`,
      );
    } else if (names.includes(name)) {
      sink.warning(
        at,
        DiagnosticCodes.noEffect,
        `tandem_service '${name}' is named twice in ${label}; its commands run once`,
      );
    } else names.push(name);
  }
  return names;
}

/** Resolves a track list against the definitions: unknown names are errors, weights default to the definition's. */
/**
 * What a track entry without its own weight gets: VRRP takes the weight of the definition (keepalived.conf(5));
 * CARP demotions are 0 (FAULT, bow out), since a definition's weight is a VRRP priority change.
 */
type DefaultWeight = 'definition' | 'fault';

function resolveTracks(
  tracks: TrackDraft[],
  kind: 'track_script' | 'track_file' | 'track_process',
  definitions: Map<string, { weight: number; reverse: boolean }>,
  owner: string,
  sink: DiagnosticSink,
  defaultWeight: DefaultWeight,
): Track[] {
  const definitionKeyword = {
    track_script: 'vrrp_script',
    track_file: 'track_file',
    track_process: 'vrrp_track_process',
  }[kind];
  return tracks.flatMap((t): Track[] => {
    const definition = definitions.get(t.name);
    if (definition === undefined) {
      const hint = [...definitions.keys()].length > 0 ? closestName(t.name, definitions.keys()) : undefined;
      sink.error(
        t.at,
        DiagnosticCodes.reference,
        `${kind} of ${owner} refers to ${definitionKeyword} '${t.name}', which is not defined${hint === undefined ? '' : ` (did you mean '${hint}'?)`}`,
      );
      return [];
    }
    const weight = t.weight ?? (defaultWeight === 'definition' ? definition.weight : 0);
    return [{ name: t.name, weight, reverse: t.reverse ?? definition.reverse }];
  });
}

function closestName(word: string, names: Iterable<string>): string | undefined {
  const message = unknownKeywordMessage(word, '', names);
  return /did you mean '([^']*)'/.exec(message)?.[1];
}

function interfaceTracks(tracks: TrackDraft[]): Track[] {
  return tracks.map((t) => ({ name: t.name, weight: t.weight ?? 0, reverse: t.reverse ?? false }));
}

/** The four track lists of an instance or a sync group; `complete` is false when a name did not resolve. */
function resolveTrackLists(
  d: TrackListsDraft,
  references: References,
  owner: string,
  sink: DiagnosticSink,
  defaultWeight: DefaultWeight = 'definition',
): { lists: TrackLists; complete: boolean } {
  const resolve = (
    tracks: TrackDraft[],
    kind: 'track_script' | 'track_file' | 'track_process',
    definitions: Map<string, { weight: number; reverse: boolean }>,
  ) => resolveTracks(tracks, kind, definitions, owner, sink, defaultWeight);
  const lists: TrackLists = {
    trackInterfaces: interfaceTracks(d.trackInterfaces),
    trackScripts: resolve(d.trackScripts, 'track_script', references.scripts),
    trackFiles: resolve(d.trackFiles, 'track_file', references.files),
    trackProcesses: resolve(d.trackProcesses, 'track_process', references.processes),
  };
  const complete =
    lists.trackScripts.length === d.trackScripts.length &&
    lists.trackFiles.length === d.trackFiles.length &&
    lists.trackProcesses.length === d.trackProcesses.length;
  return { lists, complete };
}

type Fail = (at: Position, code: Parameters<DiagnosticSink['error']>[1], message: string) => void;

/** What a vrrp_instance and a carp_instance both have, for the checks they share. */
interface VirtualHostAddresses {
  vips: VirtualAddress[];
  unicastSrcIp?: AddressDraft;
  mcastSrcIp?: AddressDraft;
  unicastPeers: PeerDraft[];
}

/** The family comes from the VIPs (keepalived: "all addresses in virtual_ipaddress must be of the same family"). */
function familyOf(d: VirtualHostAddresses, label: string, fail: Fail, hint = ''): Family {
  const firstVip = d.vips[0];
  const family: Family =
    firstVip?.family ?? d.unicastSrcIp?.family ?? d.unicastPeers[0]?.family ?? d.mcastSrcIp?.family ?? 4;
  for (const vip of d.vips) {
    if (vip.family !== family && firstVip !== undefined) {
      fail(
        vip.source,
        DiagnosticCodes.conflict,
        `virtual_ipaddress ${vip.address} is ${familyName(vip.family)} but ${label} is ${familyName(family)} (from ${firstVip.address})${hint}`,
      );
    }
  }
  return family;
}

/** Source addresses and peers of the instance's family; no peer that is the source, none twice. */
function checkAddressFamilies(d: VirtualHostAddresses, family: Family, label: string, fail: Fail): void {
  for (const [key, value] of [
    ['unicast_src_ip', d.unicastSrcIp],
    ['mcast_src_ip', d.mcastSrcIp],
  ] as const) {
    if (value !== undefined && value.family !== family) {
      fail(
        value.at,
        DiagnosticCodes.conflict,
        `${key} ${value.address} is ${familyName(value.family)} but ${label} is ${familyName(family)}`,
      );
    }
  }
  const seenPeers = new Map<string, Position>();
  for (const peer of d.unicastPeers) {
    if (peer.family !== family) {
      fail(
        peer.at,
        DiagnosticCodes.conflict,
        `unicast peer ${peer.address} is ${familyName(peer.family)} but ${label} is ${familyName(family)}`,
      );
    } else if (d.unicastSrcIp !== undefined && peer.address === d.unicastSrcIp.address) {
      fail(
        peer.at,
        DiagnosticCodes.conflict,
        `unicast peer ${peer.address} is the instance's own unicast_src_ip`,
      );
    }
    const earlier = seenPeers.get(peer.address);
    if (earlier !== undefined)
      fail(
        peer.at,
        DiagnosticCodes.conflict,
        `unicast peer ${peer.address} is listed twice (first at line ${earlier.line})`,
      );
    seenPeers.set(peer.address, peer.at);
  }
}

/** A filter that keeps the first of each address/length (keepalived keeps one and logs it; a warning here). */
function duplicateVipFilter(
  vips: VirtualAddress[],
  label: string,
  sink: DiagnosticSink,
): (list: VirtualAddress[]) => VirtualAddress[] {
  const seenVips = new Map<string, Position>();
  for (const vip of vips) {
    const key = `${vip.address}/${vip.prefixLength}`;
    const earlier = seenVips.get(key);
    if (earlier !== undefined)
      sink.warning(
        vip.source,
        DiagnosticCodes.noEffect,
        `${key} is listed twice in ${label} (first at line ${earlier.line}); the later entry is ignored`,
      );
    else seenVips.set(key, vip.source);
  }
  return (list) => list.filter((v) => seenVips.get(`${v.address}/${v.prefixLength}`) === v.source);
}

function buildInstance(
  d: InstanceDraft,
  global: GlobalConfig,
  references: References,
  sink: DiagnosticSink,
): VrrpInstanceConfig | undefined {
  const label = `vrrp_instance ${d.name}`;
  const where = (keyword: string): Position => d.where.get(keyword) ?? d.at;
  let ok = true;
  const fail: Fail = (at, code, message) => {
    sink.error(at, code, message);
    ok = false;
  };

  if (d.vrid === undefined && !d.where.has('virtual_router_id'))
    fail(d.at, DiagnosticCodes.missing, `${label} has no virtual_router_id`);

  const family = familyOf(d, label, fail, '; put other-family addresses in virtual_ipaddress_excluded');
  if (d.vips.length === 0 && !d.where.has('virtual_ipaddress')) {
    sink.warning(d.at, DiagnosticCodes.noEffect, `${label} has no virtual_ipaddress`);
  }
  checkAddressFamilies(d, family, label, fail);
  const uniqueVips = duplicateVipFilter([...d.vips, ...d.excludedVips], label, sink);

  if (d.interface === undefined) {
    const unicast = d.unicastPeers.length > 0;
    const allHaveDev = [...d.vips, ...d.excludedVips].every((v) => v.dev !== undefined);
    if (!unicast || !allHaveDev) {
      fail(
        d.at,
        DiagnosticCodes.missing,
        `${label} has no interface${unicast ? ' (without one, every VIP needs dev)' : ''}`,
      );
    }
  }

  // Version: explicit, else global; IPv6 is VRRPv3 only (RFC 5798 §1; RFC 3768 is IPv4 only).
  let version = d.version ?? global.vrrpVersion;
  if (family === 6 && version === 2) {
    if (d.version === 2)
      sink.warning(
        where('version'),
        DiagnosticCodes.adjusted,
        `${label} is IPv6, which VRRPv2 cannot carry; version 3 is used (as keepalived does)`,
      );
    version = 3;
  }

  let advertIntervalCentiseconds = DEFAULT_ADVERT_CENTISECONDS;
  if (d.advertSeconds !== undefined) {
    const at = where('advert_int');
    if (version === 2) {
      // RFC 3768 §5.3.7: Adver Int is whole seconds.
      if (
        !Number.isInteger(d.advertSeconds) ||
        d.advertSeconds < V2_ADVERT_SECONDS_MIN ||
        d.advertSeconds > V2_ADVERT_SECONDS_MAX
      ) {
        fail(
          at,
          DiagnosticCodes.value,
          `advert_int of a VRRPv2 instance must be whole seconds from ${V2_ADVERT_SECONDS_MIN} to ${V2_ADVERT_SECONDS_MAX}, found ${d.advertSeconds} (use version 3 for sub-second adverts)`,
        );
      }
      advertIntervalCentiseconds = Math.round(d.advertSeconds * 100);
    } else {
      // RFC 5798 §5.2.7: 12-bit centiseconds.
      const centiseconds = d.advertSeconds * 100;
      if (
        Math.abs(centiseconds - Math.round(centiseconds)) > 1e-6 ||
        centiseconds < V3_ADVERT_CENTISECONDS_MIN ||
        centiseconds > V3_ADVERT_CENTISECONDS_MAX
      ) {
        fail(
          at,
          DiagnosticCodes.value,
          `advert_int of a VRRPv3 instance must be from 0.01 to 40.95 seconds in steps of 0.01, found ${d.advertSeconds}`,
        );
      }
      advertIntervalCentiseconds = Math.round(centiseconds);
    }
  }

  const priority = d.priority ?? DEFAULT_PRIORITY;
  const strictMode = d.strictMode ?? global.strict;
  const state = d.state ?? 'BACKUP';
  let auth = d.auth ?? { type: 'none' as const };
  if (auth.type === 'pass' && auth.password === '') {
    fail(
      where('authentication'),
      DiagnosticCodes.missing,
      `authentication of ${label} has auth_type PASS but no auth_pass`,
    );
  }
  if (auth.type === 'pass' && version === 3) {
    sink.warning(
      where('authentication'),
      DiagnosticCodes.adjusted,
      `VRRPv3 has no authentication (RFC 5798 §9); authentication of ${label} is ignored`,
    );
    auth = { type: 'none' };
  }
  if (state === 'MASTER' && !d.preempt) {
    sink.warning(
      where('nopreempt'),
      DiagnosticCodes.noEffect,
      `nopreempt in ${label} only works with state BACKUP`,
    );
  }
  if (strictMode) {
    // keepalived.conf(5), vrrp_strict: what strict compliance forbids.
    const strictAt = d.where.get('strict_mode') ?? d.at;
    if (d.vips.length === 0)
      fail(
        strictAt,
        DiagnosticCodes.conflict,
        `${label} in strict mode needs at least one virtual_ipaddress`,
      );
    if (d.unicastPeers.length > 0)
      fail(
        where('unicast_peer'),
        DiagnosticCodes.conflict,
        `${label} in strict mode cannot use unicast_peer`,
      );
    if (d.auth !== undefined && d.auth.type === 'pass')
      fail(
        where('authentication'),
        DiagnosticCodes.conflict,
        `${label} in strict mode cannot use authentication`,
      );
    if ((d.preemptDelaySeconds ?? 0) > 0)
      fail(
        where('preempt_delay'),
        DiagnosticCodes.conflict,
        `${label} in strict mode cannot use preempt_delay`,
      );
    if (state === 'MASTER' && priority !== PRIORITY_ADDRESS_OWNER)
      fail(
        where('state'),
        DiagnosticCodes.conflict,
        `${label} in strict mode can have state MASTER only with priority 255`,
      );
    if (d.accept === true && version === 2)
      fail(
        where('accept'),
        DiagnosticCodes.conflict,
        `${label} in strict mode cannot set accept with VRRPv2`,
      );
    // keepalived resets down_timer_adverts in strict mode: RFC 5798 §6.1's three adverts are the rule there.
    if ((d.downTimerAdverts ?? global.downTimerAdverts) !== DEFAULT_DOWN_TIMER_ADVERTS)
      sink.warning(
        where('down_timer_adverts'),
        DiagnosticCodes.adjusted,
        `${label} in strict mode uses ${DEFAULT_DOWN_TIMER_ADVERTS} down timer adverts (RFC 5798 §6.1); down_timer_adverts is ignored`,
      );
    if (d.vmacXmitBase)
      fail(
        where('vmac_xmit_base'),
        DiagnosticCodes.conflict,
        `${label} in strict mode cannot use vmac_xmit_base`,
      );
  }

  if (d.unicastTtl !== undefined && d.unicastPeers.length === 0)
    sink.warning(
      where('unicast_ttl'),
      DiagnosticCodes.noEffect,
      `unicast_ttl in ${label} has no effect without unicast_peer (multicast adverts keep TTL 255, as in keepalived)`,
    );

  const tracks = resolveTrackLists(d, references, label, sink);
  if (!tracks.complete) ok = false;

  if (!ok || d.vrid === undefined) return undefined;
  const garp: GarpConfig = {
    masterDelaySeconds: d.garp.masterDelaySeconds ?? global.garp.masterDelaySeconds,
    masterRepeat: d.garp.masterRepeat ?? global.garp.masterRepeat,
    lowerPrioDelaySeconds: d.garp.lowerPrioDelaySeconds ?? global.garp.lowerPrioDelaySeconds,
    lowerPrioRepeat: d.garp.lowerPrioRepeat ?? global.garp.lowerPrioRepeat,
    masterRefreshSeconds: d.garp.masterRefreshSeconds ?? global.garp.masterRefreshSeconds,
    masterRefreshRepeat: d.garp.masterRefreshRepeat ?? global.garp.masterRefreshRepeat,
  };
  const instance: VrrpInstanceConfig = {
    name: d.name,
    source: d.at,
    state,
    vrid: d.vrid,
    priority,
    addressOwner: priority === PRIORITY_ADDRESS_OWNER,
    advertIntervalCentiseconds,
    version,
    family,
    preempt: d.preempt,
    preemptDelaySeconds: d.preemptDelaySeconds ?? 0,
    auth,
    vips: uniqueVips(d.vips),
    excludedVips: uniqueVips(d.excludedVips),
    routes: d.routes,
    rules: d.rules,
    ...tracks.lists,
    unicastPeers: d.unicastPeers.map(({ address, minTtl, maxTtl }) => ({
      address,
      ...(minTtl === undefined ? {} : { minTtl }),
      ...(maxTtl === undefined ? {} : { maxTtl }),
    })),
    mcastDstIp: d.mcastDstIp?.address ?? (family === 4 ? global.mcastGroup4 : global.mcastGroup6),
    vmacXmitBase: d.vmacXmitBase,
    dontTrackPrimary: d.dontTrackPrimary,
    garp,
    lowerPrioNoAdvert: d.lowerPrioNoAdvert ?? (global.lowerPrioNoAdvert || strictMode),
    higherPrioSendAdvert: d.higherPrioSendAdvert ?? global.higherPrioSendAdvert,
    // keepalived.conf(5), accept: on unless strict mode, where it follows address ownership.
    acceptMode: d.accept ?? (strictMode ? priority === PRIORITY_ADDRESS_OWNER : true),
    strictMode,
    skipCheckAdvAddr: d.skipCheckAdvAddr ?? global.skipCheckAdvAddr,
    checkUnicastSrc:
      d.checkUnicastSrc ??
      (global.checkUnicastSrc ||
        d.unicastPeers.some((p) => p.minTtl !== undefined || p.maxTtl !== undefined)),
    notify: d.notify,
    smtpAlert: d.smtpAlert ?? global.smtp.alert,
    services: resolveServices(d, references.services, label, sink),
    notifyDeleted: d.notifyDeleted ?? false,
    notifyPriorityChanges: d.notifyPriorityChanges ?? global.notifyPriorityChanges,
    useVmacAddr: d.useVmacAddr ?? false,
    trackSrcIp: d.trackSrcIp ?? false,
    unicastFaultNoPeer: d.unicastFaultNoPeer ?? false,
    downTimerAdverts: strictMode
      ? DEFAULT_DOWN_TIMER_ADVERTS
      : (d.downTimerAdverts ?? global.downTimerAdverts),
    promoteSecondaries: d.promoteSecondaries ?? false,
  };
  if (d.interface !== undefined) instance.interface = d.interface;
  if (d.oldUnicastChecksum !== undefined) instance.oldUnicastChecksum = d.oldUnicastChecksum;
  const garpExtraIf = d.garpExtraIf ?? global.garpExtraIf;
  if (garpExtraIf !== undefined) instance.garpExtraIf = garpExtraIf;
  if (d.unicastSrcIp !== undefined) instance.unicastSrcIp = d.unicastSrcIp.address;
  if (d.unicastTtl !== undefined) instance.unicastTtl = d.unicastTtl;
  if (d.mcastSrcIp !== undefined) instance.mcastSrcIp = d.mcastSrcIp.address;
  if (d.useVmac !== undefined) instance.useVmac = d.useVmac;
  return instance;
}

/**
 * VRIDs are unique per interface and family on one multicast group; unicast instances may share a VRID when
 * their peers do not overlap (keepalived.conf(5), virtual_router_id).
 */
function checkUniqueVrids(
  drafts: InstanceDraft[],
  instances: VrrpInstanceConfig[],
  sink: DiagnosticSink,
): void {
  // Only instances with the same VRID, family and interface can clash: compare within those buckets.
  const buckets = new Map<string, VrrpInstanceConfig[]>();
  const draftsByName = new Map(drafts.map((d) => [d.name, d]));
  for (const instance of instances) {
    const key = `${instance.vrid}/${instance.family}/${instance.interface ?? ''}`;
    const seen = buckets.get(key) ?? [];
    const clash = seen.find((other) => {
      const unicast = instance.unicastPeers.length > 0;
      const otherUnicast = other.unicastPeers.length > 0;
      if (unicast !== otherUnicast) return false;
      if (unicast)
        return instance.unicastPeers.some((p) => other.unicastPeers.some((q) => q.address === p.address));
      return other.mcastDstIp === instance.mcastDstIp;
    });
    if (clash !== undefined) {
      const at = draftsByName.get(instance.name)?.where.get('virtual_router_id') ?? instance.source;
      sink.error(
        at,
        DiagnosticCodes.conflict,
        `virtual_router_id ${instance.vrid} on ${instance.interface ?? '(no interface)'} (${familyName(instance.family)}) is already used by vrrp_instance ${clash.name} at ${positionText(clash.source)}`,
      );
    }
    seen.push(instance);
    buckets.set(key, seen);
  }
}

function buildCarpInstance(
  d: CarpDraft,
  references: References,
  sink: DiagnosticSink,
): CarpInstanceConfig | undefined {
  const label = `carp_instance ${d.name}`;
  let ok = true;
  const fail: Fail = (at, code, message) => {
    sink.error(at, code, message);
    ok = false;
  };
  for (const [keyword, value] of [
    ['interface', d.interface],
    ['vhid', d.vhid],
  ] as const) {
    if (value === undefined && !d.where.has(keyword))
      fail(d.at, DiagnosticCodes.missing, `${label} has no ${keyword}`);
  }
  if (d.vips.length === 0 && !d.where.has('virtual_ipaddress'))
    fail(d.at, DiagnosticCodes.missing, `${label} has no virtual_ipaddress (ucarp needs -a too)`);
  if (d.passphrase !== undefined && d.passphraseFile !== undefined) {
    fail(
      d.passphraseFile.at,
      DiagnosticCodes.conflict,
      `${label} has both passphrase and passphrase_file; give one`,
    );
  } else if (d.passphrase === undefined && d.passphraseFile === undefined && !d.where.has('passphrase')) {
    fail(
      d.at,
      DiagnosticCodes.missing,
      `${label} has no passphrase or passphrase_file (ucarp needs -p or -o too)`,
    );
  }
  const family = familyOf(d, label, fail);
  checkAddressFamilies(d, family, label, fail);
  const groupAt = d.mcastDstIp?.at;
  if (d.mcastDstIp !== undefined && d.mcastDstIp.family !== family)
    fail(
      d.mcastDstIp.at,
      DiagnosticCodes.conflict,
      `mcast_dst_ip ${d.mcastDstIp.address} is ${familyName(d.mcastDstIp.family)} but ${label} is ${familyName(family)}`,
    );
  else if (d.mcastDstIp !== undefined && !isMulticast(d.mcastDstIp.address) && groupAt !== undefined)
    fail(
      groupAt,
      DiagnosticCodes.value,
      `mcast_dst_ip of ${label} must be a multicast address, found ${d.mcastDstIp.address}`,
    );
  const uniqueVips = duplicateVipFilter(d.vips, label, sink);
  const tracks = resolveTrackLists(d, references, label, sink, 'fault');
  const services = resolveServices(d, references.services, label, sink);
  if (!ok || !tracks.complete || d.interface === undefined || d.vhid === undefined) return undefined;
  const carp: CarpInstanceConfig = {
    name: d.name,
    source: d.at,
    interface: d.interface,
    vhid: d.vhid,
    advbaseSeconds: d.advbaseSeconds ?? DEFAULT_CARP_ADVBASE_SECONDS,
    advskew: d.advskew ?? 0,
    family,
    vips: uniqueVips(d.vips),
    preempt: d.preempt,
    unicastPeers: d.unicastPeers.map(({ address, minTtl, maxTtl }) => ({
      address,
      ...(minTtl === undefined ? {} : { minTtl }),
      ...(maxTtl === undefined ? {} : { maxTtl }),
    })),
    mcastDstIp: d.mcastDstIp?.address ?? (family === 4 ? DEFAULT_MCAST_GROUP4 : DEFAULT_MCAST_GROUP6),
    deadratio: d.deadratio ?? DEFAULT_CARP_DEADRATIO,
    neutral: d.neutral,
    dontTrackPrimary: d.dontTrackPrimary,
    ...tracks.lists,
    notify: d.notify,
    services,
  };
  if (d.passphrase !== undefined) carp.passphrase = d.passphrase.value;
  if (d.passphraseFile !== undefined) carp.passphraseFile = d.passphraseFile.path;
  const srcIp = d.unicastSrcIp ?? d.mcastSrcIp;
  if (srcIp !== undefined) carp.srcIp = srcIp.address;
  return carp;
}

/** carp(4): a vhid is unique on its interface (per family: IPv4 and IPv6 adverts are told apart). */
function checkUniqueVhids(drafts: CarpDraft[], instances: CarpInstanceConfig[], sink: DiagnosticSink): void {
  const seen = new Map<string, CarpInstanceConfig>();
  const draftsByName = new Map(drafts.map((d) => [d.name, d]));
  for (const instance of instances) {
    const key = `${instance.vhid}/${instance.family}/${instance.interface}`;
    const clash = seen.get(key);
    if (clash !== undefined) {
      sink.error(
        draftsByName.get(instance.name)?.where.get('vhid') ?? instance.source,
        DiagnosticCodes.conflict,
        `vhid ${instance.vhid} on ${instance.interface} (${familyName(instance.family)}) is already used by carp_instance ${clash.name} at ${positionText(clash.source)}`,
      );
    } else seen.set(key, instance);
  }
}

function buildSyncGroups(
  drafts: SyncGroupDraft[],
  instanceDrafts: InstanceDraft[],
  instances: VrrpInstanceConfig[],
  references: References,
  sink: DiagnosticSink,
): SyncGroupConfig[] {
  const defined = new Set(instanceDrafts.map((i) => i.name));
  const memberOf = new Map<string, string>();
  const groups: SyncGroupConfig[] = [];
  const syncKeywords =
    SECTIONS.find((s) => s.id === 'vrrp_sync_group')
      ?.keywords.filter((k) => !isRefused(k.support))
      .map((k) => k.name) ?? [];
  for (const g of drafts) {
    const label = `vrrp_sync_group ${g.name}`;
    for (const bare of g.bareNames) {
      if (defined.has(bare.name)) {
        sink.error(
          bare.at,
          DiagnosticCodes.keepalivedSkips,
          `instance name '${bare.name}' directly in ${label} is not a member: members go inside 'group { ... }' (keepalived ignores this line; so does --lenient)`,
        );
      } else {
        sink.error(
          bare.at,
          DiagnosticCodes.unknownKeyword,
          unknownKeywordMessage(bare.name, `in ${label}`, syncKeywords),
        );
      }
    }
    const members: string[] = [];
    for (const member of g.members) {
      if (!defined.has(member.name)) {
        const hint = closestName(member.name, defined);
        sink.error(
          member.at,
          DiagnosticCodes.reference,
          `${label} lists vrrp_instance '${member.name}', which is not defined${hint === undefined ? '' : ` (did you mean '${hint}'?)`}`,
        );
        continue;
      }
      const other = memberOf.get(member.name);
      if (other !== undefined) {
        sink.error(
          member.at,
          DiagnosticCodes.conflict,
          `vrrp_instance ${member.name} is already a member of vrrp_sync_group ${other}`,
        );
        continue;
      }
      if (members.includes(member.name)) {
        sink.warning(
          member.at,
          DiagnosticCodes.noEffect,
          `vrrp_instance ${member.name} is listed twice in ${label}`,
        );
        continue;
      }
      memberOf.set(member.name, g.name);
      members.push(member.name);
    }
    const tracks = resolveTrackLists(g, references, label, sink).lists;
    if (g.members.length === 0 && g.bareNames.length === 0) {
      sink.warning(
        g.at,
        DiagnosticCodes.noEffect,
        `${label} has no members; it is ignored (as keepalived does)`,
      );
      continue;
    }
    if (members.length === 0) continue;
    if (members.length === 1) {
      sink.warning(
        g.at,
        DiagnosticCodes.noEffect,
        `${label} has only one member; a sync group of one has no effect`,
      );
    }
    groups.push({
      name: g.name,
      source: g.at,
      members,
      ...tracks,
      notify: g.notify,
      smtpAlert: g.smtpAlert ?? false,
      trackingWeight: g.trackingWeight,
      notifyDeleted: g.notifyDeleted ?? false,
      notifyPriorityChanges: g.notifyPriorityChanges ?? false,
    });
  }
  // keepalived.conf(5), vrrp_sync_group: members' tracking weights are set to 0 unless sync_group_tracking_weight.
  for (const group of groups) {
    if (group.trackingWeight) continue;
    for (const instance of instances) {
      if (!group.members.includes(instance.name)) continue;
      instance.syncGroup = group.name;
      for (const list of [
        instance.trackInterfaces,
        instance.trackScripts,
        instance.trackFiles,
        instance.trackProcesses,
      ]) {
        for (const track of list) {
          if (track.weight !== 0) {
            const draft = instanceDrafts.find((d) => d.name === instance.name);
            sink.warning(
              draft?.at ?? instance.source,
              DiagnosticCodes.adjusted,
              `vrrp_instance ${instance.name} is in vrrp_sync_group ${group.name}: the weight ${track.weight} of tracked '${track.name}' is set to 0 (set sync_group_tracking_weight to keep it)`,
            );
            track.weight = 0;
          }
        }
      }
    }
  }
  for (const group of groups) {
    if (!group.trackingWeight) continue;
    for (const instance of instances)
      if (group.members.includes(instance.name)) instance.syncGroup = group.name;
  }
  // keepalived: a member without its own notify_priority_changes takes its group's, before the global one.
  for (const g of drafts) {
    if (g.notifyPriorityChanges === undefined) continue;
    for (const instance of instances) {
      const own = instanceDrafts.find((d) => d.name === instance.name)?.notifyPriorityChanges;
      if (memberOf.get(instance.name) === g.name && own === undefined)
        instance.notifyPriorityChanges = g.notifyPriorityChanges;
    }
  }
  return groups;
}

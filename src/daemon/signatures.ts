/**
 * What decides how one instance runs, as a string: a reload restarts an instance exactly when its signature
 * changed (docs/architecture.md, "Reload"). The signature holds the instance's own block, what it tracks, its
 * services, its sync group with every member's own part (members share one SyncGroup, so they restart
 * together), and only the global_defs settings the instance uses: an edit to another global setting leaves it
 * running.
 */
import type {
  GlobalConfig,
  NotifyConfig,
  SyncGroupConfig,
  TandemConfig,
  VrrpInstanceConfig,
} from '../config/schema.js';
import { TRACKER_KINDS } from '../watchers/kinds.js';

/** Positions only say where text was; they do not change what runs. */
function withoutPositions(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, inner: unknown) => (key === 'source' ? undefined : inner)));
}

function hasCommands(notify: NotifyConfig): boolean {
  return Object.values(notify).some((command) => command !== undefined);
}

/**
 * The global_defs settings an instance reads at run time. Every other global is either copied into the
 * instance's own block by the configuration (vrrp_garp_*, vrrp_version, the multicast groups, strict mode...),
 * so a change shows in the block itself, or read only at start (runtime directory, FIFOs, startup delay).
 */
export function globalsUsedBy(
  instance: VrrpInstanceConfig,
  group: SyncGroupConfig | undefined,
  config: TandemConfig,
): Partial<GlobalConfig> {
  const used: Partial<GlobalConfig> = {};
  const lists = group ? [instance, group] : [instance];
  const tracksScripts = lists.some((list) => list.trackScripts.length > 0);
  const runsHooks =
    hasCommands(instance.notify) ||
    (group !== undefined && hasCommands(group.notify)) ||
    instance.services.length > 0;
  const lvs = config.global.lvsSyncDaemon;
  // Hooks and scripts run as script_user, hooks within notify_timeout.
  if (runsHooks || tracksScripts) used.scriptUser = config.global.scriptUser;
  if (runsHooks || lvs?.instance === instance.name)
    used.notifyTimeoutSeconds = config.global.notifyTimeoutSeconds;
  if (lvs?.instance === instance.name) used.lvsSyncDaemon = lvs;
  return used;
}

/** The signature of every instance of `config`, by name. */
export function instanceSignatures(config: TandemConfig): Map<string, string> {
  const own = new Map<string, unknown>();
  for (const instance of config.instances) {
    const group = config.syncGroups.find((candidate) => candidate.members.includes(instance.name));
    const lists = group ? [instance, group] : [instance];
    const tracked = Object.fromEntries(
      TRACKER_KINDS.map((kind) => {
        const names = new Set(lists.flatMap((list) => list[kind.list].map((track) => track.name)));
        return [kind.block, kind.entries(config).filter((entry) => names.has(entry.name))];
      }),
    );
    own.set(instance.name, {
      instance,
      group,
      tracked,
      services: config.services.filter((service) => instance.services.includes(service.name)),
      global: globalsUsedBy(instance, group, config),
    });
  }
  const signatures = new Map<string, string>();
  for (const instance of config.instances) {
    const group = config.syncGroups.find((candidate) => candidate.members.includes(instance.name));
    const parts = group ? group.members.map((member) => own.get(member)) : [own.get(instance.name)];
    signatures.set(instance.name, JSON.stringify(withoutPositions(parts)));
  }
  return signatures;
}

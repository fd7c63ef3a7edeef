/**
 * Configuration the loader accepts but the agent does not act on yet (an LVS sync daemon that follows no
 * instance, a multicast group other than RFC 5798's). A keyword tandem does not implement at all (use_vmac) is
 * refused by the configuration itself, so that `tandem check` and `tandem run` say the same thing. Running with it would be a silent misconfiguration:
 * a VMAC interface that is never created is worse than an error. `tandem run` refuses such a configuration, naming
 * each place; `--lenient` runs anyway with a warning for each.
 */
import type { Diagnostic, Position } from '../config/diagnostics.js';
import type { TandemConfig } from '../config/schema.js';
import { canonicalAddress } from '../vrrp/address.js';
import { VRRP_GROUP_IPV4, VRRP_GROUP_IPV6 } from '../vrrp/packet.js';

export const NOT_YET_ENFORCED_CODE = 'TANDEM_ECONFIG_NOT_ENFORCED';

export function notYetEnforced(config: TandemConfig, lenient: boolean, file: string): Diagnostic[] {
  const found: { at: Position; what: string }[] = [];
  const top: Position = { file, line: 1, column: 1 };
  for (const instance of config.instances) {
    const at = instance.source;
    const where = `vrrp_instance ${instance.name}`;
    // Adverts would go to another group, but the socket joins only the RFC 5798 group: peers would be deaf.
    const standardGroup = instance.family === 4 ? VRRP_GROUP_IPV4 : VRRP_GROUP_IPV6;
    if (instance.unicastPeers.length === 0 && canonicalAddress(instance.mcastDstIp) !== standardGroup) {
      found.push({
        at,
        what: `multicast group ${instance.mcastDstIp} of ${where} (mcast_dst_ip / vrrp_mcast_group)`,
      });
    }
  }
  const { global } = config;
  // keepalived's checker runs both sync daemons when no instance is named; tandem has no checker process.
  if (global.lvsSyncDaemon && global.lvsSyncDaemon.instance === undefined) {
    found.push({ at: top, what: 'lvs_sync_daemon without an instance' });
  }
  return found.map(({ at, what }) => ({
    ...at,
    severity: lenient ? 'warning' : 'error',
    code: NOT_YET_ENFORCED_CODE as Diagnostic['code'],
    message: `${what} is accepted by the configuration but not enforced by this version of the agent${
      lenient ? '; running without it' : '; refusing to run (use --lenient to run without it)'
    }`,
  }));
}

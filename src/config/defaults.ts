/**
 * Every default and bound of the configuration, each named once with its source. Where keepalived has the
 * keyword, the value is keepalived 2.2's (keepalived.conf(5), "the man page" below), so that a keepalived
 * configuration means the same thing to tandem.
 */

import { PRIORITY_OWNER, VRRP_GROUP_IPV4, VRRP_GROUP_IPV6 } from '../core/protocol.js';

/** RFC 3768 §5.3.3 / RFC 5798 §5.2.3: VRID is 1-255 (core/protocol.ts). */
export { VRID_MAX, VRID_MIN } from '../core/protocol.js';

/** RFC 5798 §5.2.4: priority 1-254 for backups, 255 for the address owner; 0 is only sent on release. */
export const PRIORITY_MIN = 1;
export const PRIORITY_MAX = PRIORITY_OWNER;
export const PRIORITY_ADDRESS_OWNER = PRIORITY_OWNER;
/** The man page: "priority 100" is the default of vrrp_instance. */
export const DEFAULT_PRIORITY = 100;

/** RFC 3768 §5.3.7: VRRPv2 Adver Int is in whole seconds, one octet; keepalived allows 1-255. */
export const V2_ADVERT_SECONDS_MIN = 1;
export const V2_ADVERT_SECONDS_MAX = 255;
/** RFC 5798 §5.2.7: VRRPv3 Max Adver Int is 12 bits of centiseconds: 1 (10 ms) to 4095 (40.95 s). */
export const V3_ADVERT_CENTISECONDS_MIN = 1;
export const V3_ADVERT_CENTISECONDS_MAX = 4095;
/** The man page: advert_int defaults to 1 second. */
export const DEFAULT_ADVERT_CENTISECONDS = 100;

/** The man page (vrrp_version): default 2, but IPv6 instances use version 3. */
export const DEFAULT_VRRP_VERSION = 2;

/** The man page (preempt_delay): range 0 (default) to 1000 seconds. */
export const PREEMPT_DELAY_MAX_SECONDS = 1000;

/** RFC 2338 §5.3.6.1 / keepalived: a simple-text password is 8 octets; longer ones are truncated. */
export const AUTH_PASS_MAX_BYTES = 8;

/** RFC 5798 §5.1.1.2, §5.1.2.2: the IANA-assigned VRRP multicast groups (the man page: vrrp_mcast_group4/6). */
export const DEFAULT_MCAST_GROUP4 = VRRP_GROUP_IPV4;
export const DEFAULT_MCAST_GROUP6 = VRRP_GROUP_IPV6;

/** The man page (vrrp_garp_*): gratuitous ARP defaults. */
export const DEFAULT_GARP_MASTER_DELAY_SECONDS = 5;
export const DEFAULT_GARP_MASTER_REPEAT = 5;
export const DEFAULT_GARP_MASTER_REFRESH_SECONDS = 0;
export const DEFAULT_GARP_MASTER_REFRESH_REPEAT = 1;
export const DEFAULT_GARP_INTERVAL_SECONDS = 0;
export const DEFAULT_GNA_INTERVAL_SECONDS = 0;

/** The man page (vrrp_startup_delay): no delay unless set. */
export const DEFAULT_STARTUP_DELAY_SECONDS = 0;

/** Tracking weights (the man page): interfaces and scripts -253..253, files and processes -254..254. */
export const TRACK_WEIGHT_MAX = 253;
export const TRACK_FILE_WEIGHT_MAX = 254;
/** The man page (track_file): a file's weight may be any 32-bit signed value but INT_MIN. */
export const TRACK_FILE_DEFINITION_WEIGHT_MAX = 2147483647;

/** The man page (vrrp_script): interval 1 s, weight 0, rise and fall 1; timeout defaults to the interval. */
export const DEFAULT_SCRIPT_INTERVAL_SECONDS = 1;
export const DEFAULT_SCRIPT_WEIGHT = 0;
export const DEFAULT_SCRIPT_RISE = 1;
export const DEFAULT_SCRIPT_FALL = 1;

/** The man page (track_file, vrrp_track_process): weight defaults to 1, quorum to 1. */
export const DEFAULT_TRACK_FILE_WEIGHT = 1;
export const DEFAULT_TRACK_PROCESS_WEIGHT = 1;
export const DEFAULT_TRACK_PROCESS_QUORUM = 1;

/** The man page (unicast_peer min_ttl/max_ttl, unicast_ttl): 0-255. */
export const TTL_MAX = 255;

/** ip-route(8) metric and ip-rule(8) preference are 32-bit unsigned (the kernel's u32). */
export const ROUTE_METRIC_MAX = 4294967295;
export const RULE_PREFERENCE_MAX = 4294967295;

/** The man page (lvs_sync_daemon): syncid 0-255, maxlen 1-65507, port 1-65535 (default 8848), ttl 1-255. */
export const LVS_SYNC_ID_MAX = 255;
export const LVS_SYNC_MAXLEN_MAX = 65507;
export const DEFAULT_LVS_SYNC_PORT = 8848;
export const DEFAULT_LVS_SYNC_GROUP = '224.0.0.81';

/** keepalived's config-id: the first part of the node name (keepalived.conf(5), Conditional configuration). */
export function defaultConfigId(hostname: string): string {
  return hostname.split('.')[0] ?? hostname;
}

/** tandem's own keywords. */
/** How long a notify hook may run before its process group is killed (docs/architecture.md, "Hooks"). */
export const DEFAULT_NOTIFY_TIMEOUT_SECONDS = 30;
/** Private runtime directory, mode 0700 (docs/operations.md, "Privileges": never /tmp). */
export const DEFAULT_RUNTIME_DIR = '/run/tandem';
/** The control socket `tandem status` reads (mode 0600). */
export const DEFAULT_CONTROL_SOCKET = '/run/tandem/tandem.sock';

/** tandem's bounds where keepalived documents none: a day for delays, an octet for repeat counts. */
export const GARP_DELAY_MAX_SECONDS = 86400;
export const GARP_REPEAT_MAX = 255;
export const STARTUP_DELAY_MAX_SECONDS = 3600;
export const SCRIPT_INTERVAL_MAX_SECONDS = 86400;
export const SCRIPT_RISE_FALL_MAX = 1000000;
export const NOTIFY_TIMEOUT_MAX_SECONDS = 3600;

/** keepalived.conf(5), down_timer_adverts: 1-100, default 3 (RFC 5798 §6.1's 3 × Master_Adver_Interval). */
export const DOWN_TIMER_ADVERTS_MIN = 1;
export const DOWN_TIMER_ADVERTS_MAX = 100;
export const DEFAULT_DOWN_TIMER_ADVERTS = 3;

/** keepalived.conf(5), nftables: the table defaults to `keepalived`, its chains' priority to -1. */
export const DEFAULT_NFTABLES_TABLE = 'keepalived';
export const DEFAULT_NFTABLES_PRIORITY = -1;

/**
 * tandem_metrics_listen (issue 13): loopback is the default, so that enabling metrics exposes nothing beyond
 * the box unless the operator names another address; 9650 is the port the issue uses.
 */
export const DEFAULT_METRICS_ADDRESS = '127.0.0.1';
export const DEFAULT_METRICS_PORT = 9650;

/** CARP (carp(4), ucarp): vhid 1-255 like a VRID; advbase 1-255 s; advskew 0-254, 255 marks a bow-out. */
export const CARP_ADVBASE_MIN = 1;
export const CARP_ADVBASE_MAX = 255;
export const DEFAULT_CARP_ADVBASE_SECONDS = 1;
export const CARP_ADVSKEW_MAX = 254;
export const CARP_ADVSKEW_BOW_OUT = 255;
/** carp(4) CARP_KEY_LEN; ucarp(8): "Maximum length of the password used must be 20 characters". */
export const CARP_KEY_LENGTH = 20;
/** ucarp --deadratio defaults to 3 (a master is dead after 3 missed adverts, as carp(4)). */
export const DEFAULT_CARP_DEADRATIO = 3;
export const CARP_DEADRATIO_MIN = 1;
export const CARP_DEADRATIO_MAX = 255;
/** The CARP header's demotion counter is one octet (carp(4) carpdemote). */
export const CARP_DEMOTION_MAX = 255;

/**
 * Protocol constants, spelled once: every bound names its source. The codecs, the state machine, the receive
 * ladder, the trackers and the configuration all read them from here (docs/architecture.md, "Core").
 */

/** IP protocol number of VRRP (RFC 5798 §5.1.1.3, §5.1.2.3) and of CARP, which reuses it. */
export const VRRP_PROTOCOL = 112;
/** RFC 5798 §5.2.3: VRID range. */
export const VRID_MIN = 1;
export const VRID_MAX = 255;
/** RFC 5798 §5.2.4: 255 is the address owner's priority. */
export const PRIORITY_OWNER = 255;
/** RFC 5798 §5.2.4: priority 0 means "the master stopped". */
export const PRIORITY_STOPPED = 0;
/** RFC 5798 §5.2.4: routers backing up a virtual router use 1-254. */
export const PRIORITY_BACKUP_MIN = 1;
export const PRIORITY_BACKUP_MAX = 254;
/** RFC 5798 §5.1.1.2: the IPv4 multicast group of VRRP. */
export const VRRP_GROUP_IPV4 = '224.0.0.18';
/** RFC 5798 §5.1.2.2: the IPv6 multicast group of VRRP. */
export const VRRP_GROUP_IPV6 = 'ff02::12';
/** RFC 5798 §5.1.1.3 / §5.1.2.3: adverts are sent with TTL / hop limit 255; multicast receivers check it. */
export const VRRP_TTL = 255;

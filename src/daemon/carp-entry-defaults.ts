/**
 * The vrrp_instance settings a CARP virtual host leaves off (daemon/carp-instances.ts builds its runtime entry
 * with them): VRRP features CARP does not have, each at its "off" value. Kept apart so that the test of which
 * schema fields the runtime reads (test/config/docs.test.ts) does not take these writes for reads.
 */
import type { VrrpInstanceConfig } from '../config/schema.js';

export const CARP_LEAVES_OFF = {
  vmacXmitBase: false,
  lowerPrioNoAdvert: false,
  higherPrioSendAdvert: false,
  strictMode: false,
  checkUnicastSrc: false,
  smtpAlert: false,
  notifyDeleted: false,
  notifyPriorityChanges: false,
  useVmacAddr: false,
  trackSrcIp: false,
  unicastFaultNoPeer: false,
  promoteSecondaries: false,
} satisfies Partial<VrrpInstanceConfig>;

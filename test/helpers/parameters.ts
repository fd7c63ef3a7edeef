import type { InstanceParameters } from '../../src/vrrp/fsm.js';

/** The instance parameters tests start from: v3 IPv4, VRID 1, priority 100, 1 s adverts, preemption on. */
export const DEFAULT_PARAMETERS: InstanceParameters = {
  version: 3,
  family: 4,
  vrid: 1,
  priority: 100,
  advertIntervalCentiseconds: 100,
  preempt: true,
  preemptDelayMicroseconds: 0,
  primaryAddress: '192.0.2.2',
  acceptMode: false,
  lowerPriorityNoAdvert: false,
  higherPrioritySendAdvert: false,
};

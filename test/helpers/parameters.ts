import type { InstanceParameters } from '../../src/vrrp/fsm.js';
import type { DecodedAdvertisement } from '../../src/vrrp/packet.js';

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

/** An advert as the receive ladder hands it on: v3 IPv4, 1 s interval, the VIP 192.0.2.100. */
export function decodedAdvert(vrid: number, priority: number): DecodedAdvertisement {
  return {
    version: 3,
    family: 4,
    vrid,
    priority,
    advertIntervalCentiseconds: 100,
    addresses: ['192.0.2.100'],
    auth: { type: 'none' },
    checksum: 0,
    checksumMode: 'pseudo-header',
  };
}

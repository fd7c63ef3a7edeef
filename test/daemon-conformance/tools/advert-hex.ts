/**
 * Prints the hex of an advert for a scenario's `receive` step:
 *   npx tsx test/daemon-conformance/tools/advert-hex.ts '{"vrid":51,"priority":200,"addresses":["192.0.2.100"]}' 192.0.2.2 224.0.0.18
 * Defaults: VRRPv3, IPv4, interval 100 cs, no authentication.
 */
import { type VrrpAdvertisement, encode } from '../../../src/vrrp/packet.js';

const [json = '{}', source = '192.0.2.2', destination = '224.0.0.18'] = process.argv.slice(2);
const advert: VrrpAdvertisement = {
  version: 3,
  family: source.includes(':') ? 6 : 4,
  vrid: 51,
  priority: 100,
  advertIntervalCentiseconds: 100,
  addresses: [],
  auth: { type: 'none' },
  ...(JSON.parse(json) as Partial<VrrpAdvertisement>),
};
process.stdout.write(
  `${Buffer.from(encode(advert, { pseudoHeader: { source, destination } })).toString('hex')}\n`,
);

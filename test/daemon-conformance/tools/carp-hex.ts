/**
 * Prints the hex of a CARP advert for a scenario's `receive` step:
 *   npx tsx test/daemon-conformance/tools/carp-hex.ts '{"vhid":51,"advskew":0,"counter":"10","passphrase":"s3cret","addresses":["192.0.2.100"]}'
 * Defaults: vhid 1, advbase 1, advskew 0, demote 0, counter 1, the OpenBSD HMAC (`"variant":"ucarp"` for ucarp's).
 */
import { encode } from '../../../src/vrrp/carp.js';
import { type CarpHmacVariant, createCarpAuthenticator } from '../../../src/vrrp/carp-auth.js';

interface Options {
  vhid?: number;
  advbase?: number;
  advskew?: number;
  demote?: number;
  counter?: string;
  passphrase?: string;
  addresses?: string[];
  variant?: CarpHmacVariant;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const vhid = options.vhid ?? 1;
const counter = BigInt(options.counter ?? '1');
const authenticator = createCarpAuthenticator({
  variant: options.variant ?? 'openbsd',
  passphrase: options.passphrase ?? '',
  vhid,
  addresses: options.addresses ?? [],
});
const bytes = encode({
  vhid,
  advbase: options.advbase ?? 1,
  advskew: options.advskew ?? 0,
  demote: options.demote ?? 0,
  counter,
  digest: authenticator.sign(counter),
});
process.stdout.write(`${Buffer.from(bytes).toString('hex')}\n`);

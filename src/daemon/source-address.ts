/**
 * The address an instance's adverts go out from (RFC 5798 §1.6 "Primary IP Address", §5.1.1.1, §5.1.2.1):
 * `unicast_src_ip` / `mcast_src_ip` when configured, else the interface's primary IPv4 address, or its IPv6
 * link-local address. An interface that just came up may still run duplicate address detection on that address
 * (tentative, RFC 4862 §5.4): the choice waits for it, on the agent's clock.
 */
import type { AddressInfo, RtNetlink } from '../actions/netlink.js';
import { type Clock, delay } from '../core/clock.js';
import { MICROSECONDS_PER_MILLISECOND } from '../core/time.js';
import type { VrrpInstanceConfig } from '../config/schema.js';
import { canonicalAddress, isIPv6LinkLocal } from '../vrrp/address.js';

/** How long a start waits for a tentative address to finish DAD (RFC 4862 §5.4: about a second by default). */
export const SOURCE_ADDRESS_WAIT_MICROSECONDS = 5000 * MICROSECONDS_PER_MILLISECOND;
export const SOURCE_ADDRESS_POLL_MICROSECONDS = 100 * MICROSECONDS_PER_MILLISECOND;

/** The address adverts go out from: configured, else the interface's primary (v4) or link-local (v6) address. */
export function chooseSourceAddress(
  config: Pick<VrrpInstanceConfig, 'unicastSrcIp' | 'mcastSrcIp' | 'family'>,
  addresses: readonly AddressInfo[],
  vips: ReadonlySet<string>,
): string | undefined {
  const configured = config.unicastSrcIp ?? config.mcastSrcIp;
  if (configured) return canonicalAddress(configured);
  const candidates = addresses.filter(
    (address) => address.family === config.family && !address.tentative && !vips.has(address.address),
  );
  if (config.family === 6) return candidates.find((address) => isIPv6LinkLocal(address.address))?.address;
  return (candidates.find((address) => !address.secondary) ?? candidates[0])?.address;
}

/**
 * Reads the interface's addresses and chooses; while nothing fits but an address is still tentative, polls
 * again until the wait is over. `undefined` when the interface has no fitting address.
 */
export async function waitForSourceAddress(
  netlink: Pick<RtNetlink, 'listAddresses'>,
  clock: Clock,
  config: Pick<VrrpInstanceConfig, 'unicastSrcIp' | 'mcastSrcIp' | 'family' | 'vips'>,
  ifindex: number,
): Promise<string | undefined> {
  const vips = new Set(config.vips.map((vip) => canonicalAddress(vip.address) ?? vip.address));
  const deadline = clock.nowMicroseconds() + SOURCE_ADDRESS_WAIT_MICROSECONDS;
  for (;;) {
    const addresses = await netlink.listAddresses({ ifindex, family: config.family });
    const source = chooseSourceAddress(config, addresses, vips);
    if (source) return source;
    const tentative = addresses.some((address) => address.tentative);
    if (!tentative || clock.nowMicroseconds() >= deadline) return undefined;
    await delay(clock, SOURCE_ADDRESS_POLL_MICROSECONDS);
  }
}

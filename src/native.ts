/**
 * The native addon (`native/`, built by `npm ci` through node-gyp): AF_PACKET frames for gratuitous ARP and
 * unsolicited NA, and the IPv6 VRRP socket that reports the hop limit of what it receives. Loaded once, lazily,
 * with a clear error when the build is missing.
 */
import { createRequire } from 'node:module';
import { TandemError } from './errors.js';

export class NativeAddonError extends TandemError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TANDEM_EPACKET', message, options);
  }
}

/** An opaque handle of an IPv6 VRRP socket. */
export type Vrrp6Handle = { readonly __brand: 'Vrrp6Handle' };

export interface NativeAddon {
  openPacketSocket(): number;
  sendFrame(fd: number, ifindex: number, frame: Buffer): number;
  close(fd: number): void;
  openVrrp6(
    ifname: string,
    ifindex: number,
    joinGroup: boolean,
    onMessage: (payload: Buffer, source: string, destination: string, hopLimit: number) => void,
  ): Vrrp6Handle;
  sendVrrp6(handle: Vrrp6Handle, payload: Buffer, destination: string, source?: string): number;
  closeVrrp6(handle: Vrrp6Handle): void;
}

let addon: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (addon !== undefined) return addon;
  // src/native.ts (tsx) sits one level below the repository root, dist/src/native.js (built) two.
  const path = import.meta.url.endsWith('.js')
    ? '../../build/Release/tandem_packet.node'
    : '../build/Release/tandem_packet.node';
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (error) {
    throw new NativeAddonError(
      `expected the native addon at ${new URL(path, import.meta.url).pathname} (built by npm ci / node-gyp), ` +
        `but it could not be loaded: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return addon;
}

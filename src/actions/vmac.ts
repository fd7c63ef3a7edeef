/**
 * VMACs (keepalived `use_vmac`, RFC 5798 §7.3): a macvlan in private mode on the instance's interface whose MAC
 * is the virtual router MAC, 00:00:5e:00:01:VRID (IPv6: 00:00:5e:00:02:VRID). The VIPs live on it and, unless
 * `vmac_xmit_base`, the adverts and gratuitous ARPs leave from it, so the switches and the neighbours learn one
 * MAC for the VIPs whichever box is MASTER: a client that missed (or ignored) the gratuitous ARP still reaches the
 * new MASTER, since the MAC it has cached moves with the role.
 *
 * Facts from keepalived (vrrp_vmac.c, vrrp_if_config.c), the code tandem's own:
 * - on the VMAC: arp_ignore=1 (answer ARP only for addresses on it); IPv4 also accept_local=1 (hear the other
 *   box's adverts from the shared MAC), rp_filter=0 (receive on an interface without an address of the subnet),
 *   promote_secondaries=1;
 * - on the parent (IPv4): arp_ignore=1 and arp_filter=1, so the parent does not answer ARP for the VIPs with its
 *   own MAC; the parent's earlier values are put back when the last VMAC on it goes;
 * - no automatic IPv6 link-local address from the virtual MAC (addrgenmode none, RFC 5798 §7.4); an IPv6 VMAC
 *   that sends adverts gets the parent's own link-local address (EUI-64 of the parent's MAC), the advert source;
 * - the name defaults to vrrp.VRID (keepalived's `vrrp.` prefix).
 *
 * At stop the VMAC is deleted (its addresses go with it). At start a link of the same name that carries the
 * virtual MAC is a VMAC a crashed run left: it is deleted and created again.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Logger } from '../core/logger.js';
import { TandemError } from '../errors.js';
import type { LinkInfo, RtNetlink } from './netlink.js';

/** keepalived's default VMAC name prefix. */
export const VMAC_NAME_PREFIX = 'vrrp.';

export class VmacError extends TandemError {
  constructor(message: string) {
    super('TANDEM_EVMAC', message);
  }
}

/** RFC 5798 §7.3: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6. */
export function virtualRouterMac(vrid: number, family: 4 | 6): string {
  return `00:00:5e:00:0${family === 4 ? 1 : 2}:${vrid.toString(16).padStart(2, '0')}`;
}

export function defaultVmacName(vrid: number): string {
  return `${VMAC_NAME_PREFIX}${vrid}`;
}

/** The EUI-64 link-local address of a MAC (RFC 4291 §2.5.6, appendix A): the VMAC's advert source. */
export function linkLocalOf(mac: string): string {
  const b = mac.split(':').map((part) => parseInt(part, 16));
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0] = b;
  const group = (high: number, low: number) => ((high << 8) | low).toString(16);
  return `fe80::${group(b0 ^ 0x02, b1)}:${group(b2, 0xff)}:${group(0xfe, b3)}:${group(b4, b5)}`;
}

export interface VmacSpec {
  name: string;
  mac: string;
  parent: LinkInfo;
  family: 4 | 6;
  /** Adverts go out of the VMAC (not `vmac_xmit_base`): an IPv6 VMAC then needs a link-local address. */
  sendsAdverts: boolean;
}

export interface SysctlFiles {
  read(path: string): Promise<string>;
  write(path: string, value: string): Promise<void>;
}

const procSys: SysctlFiles = {
  read: async (path) => (await readFile(path, 'utf8')).trim(),
  write: (path, value) => writeFile(path, value),
};

function ipv4Conf(name: string, key: string): string {
  return `/proc/sys/net/ipv4/conf/${name}/${key}`;
}

/** The parent's ARP settings as they were before its first VMAC, restored when its last one goes. */
interface ParentState {
  users: number;
  saved: Map<string, string>;
}

/** The agent's VMACs: created for instances, deleted at their stop. */
export class VmacManager {
  private readonly parents = new Map<string, ParentState>();
  private readonly sysctl: SysctlFiles;

  constructor(
    private readonly netlink: RtNetlink,
    private readonly log: Logger,
    sysctl?: SysctlFiles,
  ) {
    this.sysctl = sysctl ?? procSys;
  }

  /** Creates the VMAC (replacing one a crashed run left) and sets what keepalived sets; returns its link. */
  async create(spec: VmacSpec): Promise<LinkInfo> {
    const { netlink } = this;
    if (netlink.createMacvlan === undefined || netlink.deleteLink === undefined)
      throw new VmacError('this netlink adapter cannot create links (use_vmac)');
    const existing = (await netlink.listLinks()).find((link) => link.name === spec.name);
    if (existing !== undefined) {
      if (existing.mac !== spec.mac)
        throw new VmacError(
          `use_vmac: an interface named ${spec.name} exists with MAC ${existing.mac}, not the virtual router MAC ${spec.mac}; tandem will not take it over`,
        );
      this.log.warn({ vmac: spec.name }, 'removing a VMAC an earlier run left');
      await netlink.deleteLink(existing.index);
    }
    const link = await netlink.createMacvlan({
      name: spec.name,
      parentIndex: spec.parent.index,
      mac: spec.mac,
    });
    await this.setSysctls(spec);
    if (spec.family === 6 && spec.sendsAdverts) {
      await netlink.addAddress({
        ifindex: link.index,
        address: linkLocalOf(spec.parent.mac),
        prefixLength: 64,
        scope: 'link',
        nodad: true,
      });
    }
    this.log.info({ vmac: spec.name, mac: spec.mac, parent: spec.parent.name }, 'VMAC created');
    return link;
  }

  /** Deletes the VMAC and, with the parent's last one, puts the parent's ARP settings back. */
  async remove(link: LinkInfo, parent: string, family: 4 | 6): Promise<void> {
    try {
      await this.netlink.deleteLink?.(link.index);
      this.log.info({ vmac: link.name }, 'VMAC removed');
    } catch (error) {
      this.log.error({ vmac: link.name, err: error }, 'cannot remove the VMAC');
    }
    if (family === 6) return;
    const state = this.parents.get(parent);
    if (state === undefined || --state.users > 0) return;
    this.parents.delete(parent);
    for (const [key, value] of state.saved) await this.write(ipv4Conf(parent, key), value);
  }

  private async setSysctls(spec: VmacSpec): Promise<void> {
    await this.write(ipv4Conf(spec.name, 'arp_ignore'), '1');
    if (spec.family === 6) return;
    await this.write(ipv4Conf(spec.name, 'accept_local'), '1');
    await this.write(ipv4Conf(spec.name, 'rp_filter'), '0');
    await this.write(ipv4Conf(spec.name, 'promote_secondaries'), '1');
    const parent = spec.parent.name;
    const state = this.parents.get(parent);
    if (state !== undefined) {
      state.users++;
      return;
    }
    const saved = new Map<string, string>();
    for (const key of ['arp_ignore', 'arp_filter']) {
      try {
        const before = await this.sysctl.read(ipv4Conf(parent, key));
        if (before === '1') continue;
        saved.set(key, before);
        await this.write(ipv4Conf(parent, key), '1');
      } catch (error) {
        this.log.warn({ interface: parent, key, err: error }, 'cannot read a sysctl of the VMAC parent');
      }
    }
    this.parents.set(parent, { users: 1, saved });
  }

  private async write(path: string, value: string): Promise<void> {
    try {
      await this.sysctl.write(path, value);
    } catch (error) {
      this.log.warn({ path, value, err: error }, 'cannot set a sysctl for the VMAC');
    }
  }
}

/**
 * Interface sysctls the agent sets (keepalived sets the same ones): reached through `Sysctl`, a seam over
 * /proc/sys of the agent's network namespace, so that in-process tests never write the host's.
 *
 * `PromoteSecondaries` is keepalived's `promote_secondaries`: while an instance that asks for it runs on an
 * interface, net.ipv4.conf.IF.promote_secondaries is 1, so that deleting the primary address of a subnet (a VIP
 * that happened to be added first) promotes the next one instead of deleting every address of the subnet with
 * it. Set when the first such instance attaches, reset to 0 when the last one stops, unless it was 1 already.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Logger } from '../core/logger.js';

/** A sysctl by its path segments under /proc/sys (`['net', 'ipv4', 'conf', 'eth0.10', 'promote_secondaries']`). */
export type SysctlKey = readonly string[];

export interface Sysctl {
  /** The value, trimmed; undefined when the key does not exist. */
  read(key: SysctlKey): Promise<string | undefined>;
  write(key: SysctlKey, value: string): Promise<void>;
}

/** Interface names may hold dots (VLANs), so keys are segments, never a dotted string. */
function procPath(key: SysctlKey): string {
  if (key.some((segment) => segment === '' || segment === '.' || segment === '..' || segment.includes('/')))
    throw new RangeError(`expected sysctl path segments, found ${JSON.stringify(key)}`);
  return `/proc/sys/${key.join('/')}`;
}

/** /proc/sys of this process's network namespace. */
export const procSysctl: Sysctl = {
  async read(key) {
    try {
      return (await readFile(procPath(key), 'utf8')).trim();
    } catch {
      return undefined;
    }
  },
  async write(key, value) {
    await writeFile(procPath(key), `${value}\n`);
  },
};

const promoteKey = (interfaceName: string): SysctlKey => [
  'net',
  'ipv4',
  'conf',
  interfaceName,
  'promote_secondaries',
];

export class PromoteSecondaries {
  /** Per interface: how many instances hold it, and whether this agent turned the setting on. */
  readonly #held = new Map<string, { holders: number; setByUs: Promise<boolean> }>();

  constructor(
    private readonly sysctl: Sysctl,
    private readonly log: Logger,
  ) {}

  /** An instance with promote_secondaries attached to `interfaceName`. */
  acquire(interfaceName: string): Promise<void> {
    const held = this.#held.get(interfaceName);
    if (held) {
      held.holders++;
      return held.setByUs.then(() => undefined);
    }
    const setByUs = this.#set(interfaceName);
    this.#held.set(interfaceName, { holders: 1, setByUs });
    return setByUs.then(() => undefined);
  }

  /** That instance stopped; the last one out restores the setting. */
  async release(interfaceName: string): Promise<void> {
    const held = this.#held.get(interfaceName);
    if (!held) return;
    if (--held.holders > 0) return;
    this.#held.delete(interfaceName);
    if (!(await held.setByUs)) return;
    try {
      await this.sysctl.write(promoteKey(interfaceName), '0');
    } catch (error) {
      this.log.warn({ interface: interfaceName, err: error }, 'cannot reset promote_secondaries');
    }
  }

  async #set(interfaceName: string): Promise<boolean> {
    const key = promoteKey(interfaceName);
    try {
      if ((await this.sysctl.read(key)) === '1') return false;
      await this.sysctl.write(key, '1');
      this.log.info({ interface: interfaceName }, 'promote_secondaries set on the interface');
      return true;
    } catch (error) {
      this.log.warn({ interface: interfaceName, err: error }, 'cannot set promote_secondaries');
      return false;
    }
  }
}

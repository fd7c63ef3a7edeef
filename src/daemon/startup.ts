/**
 * What `tandem run` checks before it touches anything, and how a failed start is told: one plain line on
 * stderr that says what is missing and what to do, exit status 1, and the stack only at the debug log level.
 */
import { readFileSync } from 'node:fs';
import { TandemError } from '../errors.js';

/** capabilities(7): the bit numbers in /proc/PID/status's CapEff mask. */
export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;

/** The process lacks what raw sockets and netlink writes need. */
export class PrivilegeError extends TandemError {
  constructor(message: string) {
    super('TANDEM_EPRIVILEGE', message);
  }
}

/** The agent was started under a debugger it did not ask for. */
export class InspectorError extends TandemError {
  constructor(message: string) {
    super('TANDEM_EINSPECTOR', message);
  }
}

/** The effective capability mask of this process, from /proc/self/status. */
export function effectiveCapabilities(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const line = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return line ? BigInt(`0x${line[1]}`) : 0n;
}

/** Which of CAP_NET_RAW and CAP_NET_ADMIN the mask lacks. */
export function missingCapabilities(mask: bigint): string[] {
  const missing: string[] = [];
  if ((mask & (1n << BigInt(CAP_NET_RAW))) === 0n) missing.push('CAP_NET_RAW');
  if ((mask & (1n << BigInt(CAP_NET_ADMIN))) === 0n) missing.push('CAP_NET_ADMIN');
  return missing;
}

/**
 * Throws PrivilegeError unless the process may open raw sockets and change addresses: CAP_NET_RAW and
 * CAP_NET_ADMIN in its effective set (root has them unless they were dropped).
 */
export function checkPrivileges(mask = effectiveCapabilities(), uid = process.geteuid?.() ?? 0): void {
  const missing = missingCapabilities(mask);
  if (missing.length === 0) return;
  const who = uid === 0 ? 'root without them (dropped from its capability sets)' : `uid ${uid}`;
  throw new PrivilegeError(
    `${missing.join(' and ')} missing: VRRP needs raw sockets and netlink, and this process runs as ${who}; ` +
      'run tandem as root with its capabilities, or grant CAP_NET_RAW and CAP_NET_ADMIN ' +
      '(systemd: AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN)',
  );
}

/** Throws InspectorError when --inspect* is in node's arguments or NODE_OPTIONS and not explicitly allowed. */
export function checkInspector(options: readonly string[], allowed: boolean): void {
  if (options.length === 0 || allowed) return;
  throw new InspectorError(
    `started with ${options.join(' ')}: a debugger in a root agent lets any local user run code as root; ` +
      'start tandem without it, or add --allow-inspector to debug on a test box',
  );
}

/** The one line a failed start prints on stderr. */
export function startupFailureLine(command: string, error: unknown): string {
  if (error instanceof TandemError) return `tandem ${command}: ${error.code}: ${error.message}\n`;
  const message = error instanceof Error ? error.message : String(error);
  return `tandem ${command}: start failed: ${message.split('\n')[0]} (run with --log-level debug for details)\n`;
}

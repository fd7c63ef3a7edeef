/**
 * The lab's topology: one namespace holding the bridge (the segment), N balancer namespaces and one client
 * namespace, each joined to the bridge by a veth pair, all on documentation ranges:
 *
 *   client 192.0.2.10 / 2001:db8::10 ──┐
 *   b1     192.0.2.1  / 2001:db8::1  ──┼── br0 (namespace sw)      VIP 192.0.2.100 / 2001:db8::100
 *   b2     192.0.2.2  / 2001:db8::2  ──┘
 *
 * Balancers allow binding to non-local addresses (`ip_nonlocal_bind`), so each one's UDP echo responder binds
 * to the VIP before the VIP is there: the kernel delivers to it only while the namespace holds the VIP.
 */
import { type Bridge, type Lab, type Port } from './netns.js';

export type Family = 4 | 6;

/** Most balancers a lab builds (see priorityOf). */
export const MAX_BALANCERS = 4;
export const VIP4 = '192.0.2.100';
export const VIP6 = '2001:db8::100';
export const PREFIX4 = 24;
export const PREFIX6 = 64;
/** The UDP port of the echo responders. */
export const ECHO_PORT = 7007;

export function vipOf(family: Family): string {
  return family === 4 ? VIP4 : VIP6;
}

export interface BalancerNode {
  /** b1, b2, ...: b1 has the highest priority. */
  name: string;
  ns: string;
  port: Port;
  priority: number;
  addresses: string[];
}

export interface Topology {
  families: Family[];
  bridge: Bridge;
  balancers: BalancerNode[];
  client: { ns: string; port: Port; addresses: string[] };
}

/** b1 150, b2 100, b3 50, b4 25: descending, so the election has one answer. */
export function priorityOf(index: number): number {
  return [150, 100, 50, 25][index] ?? 1;
}

function hostAddresses(host: number, families: readonly Family[]): string[] {
  return families.map((family) =>
    family === 4 ? `192.0.2.${host}/${PREFIX4}` : `2001:db8::${host.toString(16)}/${PREFIX6}`,
  );
}

export async function buildTopology(
  lab: Lab,
  balancers: number,
  families: readonly Family[],
): Promise<Topology> {
  const bridge = await lab.bridge('sw');
  const nodes: BalancerNode[] = [];
  for (let index = 0; index < balancers; index++) {
    const name = `b${index + 1}`;
    const ns = await lab.namespace(name);
    const addresses = hostAddresses(index + 1, families);
    const port = await lab.connect(ns, bridge, { addresses });
    await lab.sysctl(ns, 'net.ipv4.ip_nonlocal_bind', '1');
    await lab.sysctl(ns, 'net.ipv6.ip_nonlocal_bind', '1');
    nodes.push({ name, ns, port, priority: priorityOf(index), addresses });
  }
  const clientNs = await lab.namespace('client');
  const clientAddresses = hostAddresses(10, families);
  const clientPort = await lab.connect(clientNs, bridge, { addresses: clientAddresses });
  return {
    families: [...families],
    bridge,
    balancers: nodes,
    client: { ns: clientNs, port: clientPort, addresses: clientAddresses },
  };
}

/**
 * A built lab with everything a drill needs running in it: the topology, an echo responder per balancer, the
 * client probe and the client's neighbour watch; and the levers the scenarios pull (start and stop daemons,
 * cut links, partition the segment, fail health checks, reload).
 */
import { mkdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BalancerConfig,
  type VrrpParameters,
  balancerConfig,
  healthFlagFile,
  instanceName,
} from './config.js';
import { NeighbourWatch, ProbeRun } from './client.js';
import { type Daemon, type PeerKind, daemonOf, startDaemon } from './daemons.js';
import { programArgv, tandemArgv } from './entry.js';
import { type Lab, PROCESS_START_DEADLINE_MS, addressesOn, readLines, waitFor } from './netns.js';
import { type Usage, usageOf } from './usage.js';
import { type Family, type Topology, ECHO_PORT, buildTopology, vipOf } from './topology.js';

export interface SessionOptions extends VrrpParameters {
  balancers: number;
  peer: PeerKind;
  /** The lab's private directory (one sub-directory per balancer). */
  directory: string;
  /** How often the client sends, 1-5 ms. */
  probeIntervalMs: number;
}

/** The nftables table the partition scenario adds in the bridge namespace. */
const PARTITION_TABLE = 'tandem_lab_partition';
/** IP protocol number of VRRP (and of CARP). */
const VRRP_PROTOCOL = 112;

export class LabSession {
  readonly daemons: (Daemon | undefined)[];
  /** Balancers whose bridge port is down (cut off the segment). */
  readonly cut = new Set<number>();
  /** Balancers whose own eth0 is down. */
  readonly linkDown = new Set<number>();

  private constructor(
    readonly lab: Lab,
    readonly options: SessionOptions,
    readonly topology: Topology,
    readonly probe: ProbeRun,
    readonly neighbours: NeighbourWatch,
  ) {
    this.daemons = topology.balancers.map(() => undefined);
  }

  static async open(lab: Lab, options: SessionOptions): Promise<LabSession> {
    const topology = await buildTopology(lab, options.balancers, options.families);
    const vips = topology.families.map(vipOf);
    await Promise.all(
      topology.balancers.map(async (balancer) => {
        mkdirSync(join(options.directory, balancer.name), { recursive: true, mode: 0o700 });
        const responder = lab.spawn(
          balancer.ns,
          programArgv('netns-lab/responder', balancer.name, String(ECHO_PORT), ...vips),
        );
        let ready = false;
        readLines(responder.stdout, (line) => (ready ||= line === 'ready'));
        await waitFor(
          () => {
            if (responder.exitCode !== null)
              throw new Error(`responder on ${balancer.name} exited ${responder.exitCode}`);
            return ready;
          },
          { timeoutMs: PROCESS_START_DEADLINE_MS, message: `the echo responder on ${balancer.name}` },
        );
      }),
    );
    const probe = await ProbeRun.start(lab, topology.client.ns, vips, options.probeIntervalMs);
    const neighbours = await NeighbourWatch.start(lab, topology.client.ns, vips);
    return new LabSession(lab, options, topology, probe, neighbours);
  }

  get instances(): string[] {
    return this.topology.families.map(instanceName);
  }

  name(index: number): string {
    return this.topology.balancers[index]?.name ?? `b${index + 1}`;
  }

  directoryOf(index: number): string {
    return join(this.options.directory, this.name(index));
  }

  configOf(index: number): string {
    const balancer = this.topology.balancers[index];
    if (!balancer) throw new Error(`no balancer ${index}`);
    const config: BalancerConfig = {
      name: balancer.name,
      priority: balancer.priority,
      directory: this.directoryOf(index),
    };
    return balancerConfig(config, this.options);
  }

  async startDaemon(index: number): Promise<Daemon> {
    const daemon = await startDaemon(
      daemonOf(this.options.peer, index),
      this.lab,
      this.topology.balancers[index]!.ns,
      this.configOf(index),
      this.name(index),
      {
        directory: this.directoryOf(index),
      },
    );
    this.daemons[index] = daemon;
    return daemon;
  }

  /** Starts the daemons of `indices` at the same time. */
  async startDaemons(indices: number[] = this.topology.balancers.map((_, index) => index)): Promise<void> {
    await Promise.all(indices.map((index) => this.startDaemon(index)));
  }

  /** CPU time and the largest peak RSS of the daemons stopped so far (per daemon process). */
  readonly usage: Usage = { cpuMs: 0, peakRssKb: 0 };

  /** Stops every running daemon (SIGTERM; SIGKILL if it hangs), counting its CPU time and peak memory. */
  async stopDaemons(): Promise<void> {
    await Promise.all(
      this.daemons.map(async (daemon) => {
        if (!daemon?.running) return;
        this.#account(daemon);
        const stopped = daemon.stop();
        const timeout = new Promise<'timeout'>((resolve) =>
          // A lone MASTER's make-before-break stop waits out its handover bound (4 s at 1 s adverts).
          setTimeout(() => resolve('timeout'), 10_000).unref(),
        );
        if ((await Promise.race([stopped, timeout])) === 'timeout') await daemon.crash();
      }),
    );
    this.daemons.fill(undefined);
  }

  #account(daemon: Daemon): void {
    const used = usageOf(daemon.workerPids());
    this.usage.cpuMs += used.cpuMs;
    this.usage.peakRssKb = Math.max(this.usage.peakRssKb, used.peakRssKb);
  }

  /** SIGTERM to balancer `index`'s daemon; resolves once it exited. */
  async stopDaemon(index: number): Promise<void> {
    const daemon = this.daemons[index];
    if (!daemon?.running) return;
    this.#account(daemon);
    await daemon.stop();
  }

  /**
   * `tandem switchover --all` on balancer `index` (tandem only): returns once the agent took the request; the
   * handover itself goes on (make-before-break).
   */
  async switchover(index: number): Promise<void> {
    const daemon = this.daemons[index];
    if (daemon?.kind !== 'tandem') throw new Error(`${this.name(index)} runs no tandem to switch over`);
    await this.lab.exec(
      this.topology.balancers[index]!.ns,
      tandemArgv('switchover', '--all', '--wait', '0', '--runtime-dir', join(daemon.directory, 'run')),
    );
  }

  /** SIGKILL to balancer `index`'s daemon, as a box that died. */
  async crashDaemon(index: number): Promise<void> {
    const daemon = this.daemons[index];
    if (!daemon?.running) return;
    this.#account(daemon);
    await daemon.crash();
  }

  /** The balancers (by index) whose namespace holds the VIP of `family`. */
  async vipHolders(family: Family): Promise<number[]> {
    const vip = vipOf(family);
    const holders = await Promise.all(
      this.topology.balancers.map(async (balancer) =>
        (await addressesOn(this.lab, balancer.ns, 'eth0')).includes(vip),
      ),
    );
    return holders.flatMap((holds, index) => (holds ? [index] : []));
  }

  /** Whether balancer `index` is on the segment (bridge port and its own link up). */
  reachable(index: number): boolean {
    return !this.cut.has(index) && !this.linkDown.has(index);
  }

  /** Pulls the cable at the switch: the bridge port of balancer `index` goes down (its eth0 loses carrier). */
  async cutLink(index: number): Promise<void> {
    this.cut.add(index);
    await this.lab.exec(this.topology.bridge.ns, [
      'ip',
      'link',
      'set',
      this.topology.balancers[index]!.port.bridgePort,
      'down',
    ]);
  }

  async restoreLink(index: number): Promise<void> {
    await this.lab.exec(this.topology.bridge.ns, [
      'ip',
      'link',
      'set',
      this.topology.balancers[index]!.port.bridgePort,
      'up',
    ]);
    this.cut.delete(index);
  }

  /** Sets balancer `index`'s own eth0 down or up (administratively, inside its namespace). */
  async setLink(index: number, up: boolean): Promise<void> {
    if (up) this.linkDown.delete(index);
    else this.linkDown.add(index);
    await this.lab.exec(this.topology.balancers[index]!.ns, [
      'ip',
      'link',
      'set',
      'eth0',
      up ? 'up' : 'down',
    ]);
  }

  /** Drops VRRP between the balancers at the bridge (both families); the client's traffic still flows. */
  async partition(): Promise<void> {
    const rules = `table bridge ${PARTITION_TABLE} {
  chain forward {
    type filter hook forward priority 0; policy accept;
    ip protocol ${VRRP_PROTOCOL} drop
    ip6 nexthdr ${VRRP_PROTOCOL} drop
  }
}
`;
    await this.lab.exec(this.topology.bridge.ns, ['nft', '-f', '-'], { input: rules });
  }

  async heal(): Promise<void> {
    await this.lab.exec(this.topology.bridge.ns, ['nft', 'delete', 'table', 'bridge', PARTITION_TABLE], {
      allowFailure: true,
    });
  }

  /** Makes balancer `index`'s health script fail (or pass again). */
  setHealth(index: number, healthy: boolean): void {
    const flag = healthFlagFile(this.directoryOf(index));
    if (healthy) rmSync(flag, { force: true });
    else writeFileSync(flag, 'failed by tandem lab\n');
  }

  /** Touches every running daemon's config file (a comment line) and sends it SIGHUP. */
  reloadAll(): void {
    for (const daemon of this.daemons) {
      if (!daemon?.running) continue;
      appendFileSync(daemon.configFile, `# reloaded by tandem lab at ${new Date().toISOString()}\n`);
      daemon.signal('SIGHUP');
    }
  }

  /** Back to the starting point: no daemon, every link up, no partition, every health check passing, no VIP. */
  async reset(): Promise<void> {
    await this.stopDaemons();
    await this.heal();
    for (const index of [...this.cut]) await this.restoreLink(index);
    for (const index of [...this.linkDown]) await this.setLink(index, true);
    for (const [index, balancer] of this.topology.balancers.entries()) {
      this.setHealth(index, true);
      for (const family of this.topology.families) {
        const vip = vipOf(family);
        if ((await addressesOn(this.lab, balancer.ns, 'eth0')).includes(vip)) {
          const prefix = family === 4 ? '24' : '64';
          await this.lab.exec(balancer.ns, ['ip', 'addr', 'del', `${vip}/${prefix}`, 'dev', 'eth0'], {
            allowFailure: true,
          });
        }
      }
    }
  }

  /** Each instance's state on each running daemon, e.g. { b1: { VI_4: 'MASTER' }, b2: ... }. */
  states(): Record<string, Record<string, string | undefined>> {
    return Object.fromEntries(
      this.daemons.map((daemon, index) => [
        this.name(index),
        Object.fromEntries(
          this.instances.map((instance) => [instance, daemon?.running ? daemon.state(instance) : 'DOWN']),
        ),
      ]),
    );
  }

  close(): void {
    this.probe.stop();
    this.neighbours.stop();
  }
}

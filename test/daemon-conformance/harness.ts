/**
 * The daemon conformance harness (the holo model, docs/architecture.md "Testing"): the real `Agent` in-process
 * on fakes, with no root and no sleep. Netlink is an in-memory kernel (test/helpers/fake-netlink.ts), the VRRP
 * sockets record what is sent and take packets as hex, announcements are recorded by target, hooks and health
 * scripts go to a recording command runner, FIFO lines to a list, time to a ManualClock.
 *
 * A scenario (scenarios/NAME.jsonl) is a header line, then one line per step: an input, and what must have
 * come out since the previous step. `World.step` runs one line and returns what came out; the test compares.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { fifoLine } from '../../src/actions/fifo.js';
import type { PacketSocket } from '../../src/actions/garp.js';
import type { TandemConfig } from '../../src/config/schema.js';
import { formatDiagnostic, loadConfig } from '../../src/config/index.js';
import { delay } from '../../src/core/clock.js';
import { ManualClock } from '../../src/core/manual-clock.js';
import type { CommandRunner, RunOptions } from '../../src/core/process-group.js';
import { Agent, type AgentStatus } from '../../src/daemon/agent.js';
import { controlRequest } from '../../src/daemon/control.js';
import { formatAddress } from '../../src/vrrp/address.js';
import {
  type PacketHandler,
  type SocketCounters,
  VridDemux,
  type Protocol112Name,
  type VrrpSocketFactory,
  type VrrpTransport,
} from '../../src/vrrp/demux.js';
import { FakeNetlink, fakeLink } from '../helpers/fake-netlink.js';

/** What came out of the agent during one step; every list is compared whole. */
export interface Outputs {
  /** Adverts sent: `IFACE SOURCE > DESTINATION HEX` (the VRRP message, without the IP header). */
  sent: string[];
  /** Netlink writes: `add 192.0.2.100/24 dev eth0`, `del ...`, routes and rules. */
  netlink: string[];
  /** Gratuitous ARP / unsolicited NA: `IFACE arp 192.0.2.100` or `IFACE na 2001:db8::1`. */
  announced: string[];
  /** Hooks run: the argv joined with spaces. */
  hooks: string[];
  /** Notify FIFO lines as keepalived writes them (without the newline). */
  fifo: string[];
  /** Log messages (the `msg` of each pino line). */
  logs: string[];
}

export interface Header {
  rule: string;
  /** The configuration the agent starts with: `NAME.CONFIG.conf` next to the scenario. */
  start: string;
  links: { name: string; index: number; up?: boolean }[];
  /** `IFACE ADDRESS/PREFIX`, present before the agent starts. */
  addresses?: string[];
  /** Exit codes of commands by argv[0] (health scripts and hooks); 0 when absent. */
  exits?: Record<string, number>;
  /** How long commands run, by argv[0], on the scenario's clock ("1s"); at once when absent. */
  durations?: Record<string, string>;
}

/** One step: exactly one input key, and `expect`. */
export interface Step {
  /** Let time pass: microseconds, or a string with a unit ("3.61s", "250ms", "100us"). */
  advance?: number | string;
  /** A packet arrives on an interface. */
  receive?: { on: string; from: string; to: string; ttl?: number; hex: string };
  /** An interface changes (appears, goes down, comes back with another index). */
  link?: { name: string; index: number; up?: boolean };
  /** An interface is deleted. */
  unlink?: { index: number };
  /** Someone else adds or removes an address. */
  address?: { add?: string; del?: string };
  /** A command's exit code changes (a health script starts failing). */
  exits?: Record<string, number>;
  /** The next `times` netlink calls of `operation` fail with `errno` (the kernel refuses). */
  fail?: { operation: Parameters<FakeNetlink['fail']>[0]; errno: string; times?: number };
  /**
   * The agent is told to reload (with the configuration NAME) or to stop; `restart` stops it (letting time pass
   * until it has) and starts a new agent with the start configuration on the same runtime directory.
   */
  signal?: { reload?: string; stop?: true; restart?: true };
  /** A request to the control socket, as `tandem` sends it: `{"command": "switchover", "instance": "VI_1"}`. */
  control?: Record<string, unknown>;
  expect: Partial<Outputs> & {
    status?: unknown;
    /** The control socket's result (`control` steps), compared exactly; a refusal is `error` (its code). */
    answer?: unknown;
    reload?: unknown;
    error?: string;
    refused?: string[];
  };
}

export interface StepResult extends Outputs {
  status: AgentStatus;
  answer?: unknown;
  reload?: unknown;
  error?: string;
  refused?: string[];
}

const UNITS: Record<string, number> = { us: 1, ms: 1000, s: 1_000_000 };

export function microseconds(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^([\d.]+)(us|ms|s)$/.exec(value);
  if (!match) throw new Error(`expected a duration like 3.61s, 250ms or 100us, found ${value}`);
  return Math.round(Number(match[1]) * (UNITS[match[2] as string] as number));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A VRRP socket that records sends and takes packets from the scenario, demultiplexed as the real one. */
class RecordingSocket implements VrrpTransport {
  private readonly demux: VridDemux;
  constructor(
    readonly interfaceName: string,
    public ifindex: number,
    readonly family: 4 | 6,
    public multicast: boolean,
    private readonly sent: string[],
    public groups: readonly string[] = [],
    onUnknownVrid?: (vrid: number, source: string) => void,
  ) {
    this.demux = new VridDemux(family, onUnknownVrid);
  }
  get counters(): SocketCounters {
    return this.demux.counters;
  }
  get registeredVrids(): number[] {
    return this.demux.registeredVrids;
  }
  get registeredVhids(): number[] {
    return this.demux.registeredVhids;
  }
  register(vrid: number, handler: PacketHandler, protocol: Protocol112Name = 'vrrp'): void {
    if (!this.demux.register(vrid, handler, protocol))
      throw new Error(`${protocol} ${vrid} is already in use`);
  }
  unregister(vrid: number, protocol: Protocol112Name = 'vrrp'): void {
    this.demux.unregister(vrid, protocol);
  }
  async send(payload: Uint8Array, destination: string, source: string | undefined): Promise<void> {
    this.sent.push(`${this.interfaceName} ${source ?? '-'} > ${destination} ${hex(payload)}`);
  }
  rebind(ifindex: number, changes: { multicast?: boolean; groups?: readonly string[] } = {}): void {
    this.ifindex = ifindex;
    if (changes.multicast !== undefined) this.multicast = changes.multicast;
    if (changes.groups !== undefined) this.groups = changes.groups;
  }
  close(): void {}
  deliver(from: string, to: string, ttl: number, payload: Uint8Array): void {
    this.demux.deliver({ payload, source: from, destination: to, ttl });
  }
}

/** Reads what a gratuitous ARP (RFC 5227 announcement) or an unsolicited NA announces. */
function announcement(frame: Buffer): string {
  const etherType = frame.readUInt16BE(12);
  if (etherType === 0x0806) return `arp ${formatAddress(4, frame, 14 + 24)}`;
  if (etherType === 0x86dd) return `na ${formatAddress(6, frame, 14 + 40 + 8)}`;
  return `frame ${hex(frame)}`;
}

export class World {
  readonly clock = new ManualClock();
  /** Interface sysctls as the agent set them, by path under /proc/sys. */
  readonly sysctls = new Map<string, string>();
  readonly netlink: FakeNetlink;
  readonly sockets = new Map<string, RecordingSocket>();
  readonly directory = mkdtempSync(join(tmpdir(), 'tandem-conformance-'));
  private readonly out: Outputs = { sent: [], netlink: [], announced: [], hooks: [], fifo: [], logs: [] };
  private netlinkSeen = 0;
  private readonly exits: Record<string, number>;
  private config: TandemConfig | undefined;
  agent: Agent | undefined;
  /** Agents started after the first (`restart` steps): each opens its own netlink subscription. */
  restarts = 0;

  constructor(
    private readonly header: Header,
    private readonly configPath: (name: string) => string,
  ) {
    this.netlink = new FakeNetlink(
      header.links.map((link) =>
        fakeLink(
          link.name,
          link.index,
          link.up === false ? { up: false, lowerUp: false, operstate: 'down' } : {},
        ),
      ),
    );
    for (const entry of header.addresses ?? []) {
      const [name, address] = entry.split(' ');
      this.netlink.putAddress(this.indexOf(name as string), address as string);
    }
    this.exits = { ...header.exits };
  }

  private indexOf(name: string): number {
    const link = [...this.netlink.links.values()].find((candidate) => candidate.name === name);
    if (!link) throw new Error(`no interface ${name} in the scenario`);
    return link.index;
  }

  private readonly run: CommandRunner = async (argv: string[], options: RunOptions) => {
    // Hooks carry the instance in their environment; health scripts run with none. A hook is recorded when it
    // starts, so a hook that overlaps another shows. ipvsadm is recorded too: lvs_sync_daemon without an instance
    // runs it with no instance in its environment (IP_VS is not in CI kernels: the harness stands in for it).
    if (options.env?.TANDEM_INSTANCE !== undefined || argv[0] === 'ipvsadm')
      this.out.hooks.push(argv.join(' '));
    const duration = this.header.durations?.[argv[0] as string];
    if (duration !== undefined) await delay(this.clock, microseconds(duration));
    return { argv, exitCode: this.exits[argv[0] as string] ?? 0, signal: null, timedOut: false, stderr: '' };
  };

  private readonly socketFactory: VrrpSocketFactory = (name, ifindex, family, options) => {
    const socket = new RecordingSocket(
      name,
      ifindex,
      family,
      options.multicast,
      this.out.sent,
      options.groups,
      options.onUnknownVrid,
    );
    this.sockets.set(`${name}/${family}`, socket);
    return socket;
  };

  private readonly packetSocket = (): PacketSocket => ({
    send: (ifindex, frame) => {
      const name = this.netlink.links.get(ifindex)?.name ?? `#${ifindex}`;
      this.out.announced.push(`${name} ${announcement(frame)}`);
    },
    close: () => undefined,
  });

  private async load(name: string): Promise<{ config?: TandemConfig; errors: string[] }> {
    const result = await loadConfig(this.configPath(name));
    const errors = result.diagnostics
      .filter((diagnostic) => diagnostic.severity === 'error')
      .map((diagnostic) => formatDiagnostic(diagnostic).replace(/^.*\//, ''));
    return { ...(result.config ? { config: result.config } : {}), errors };
  }

  private carpCounter = 0;

  /** Starts the agent with the header's configuration; returns what came out of the start. */
  async start(): Promise<StepResult> {
    const { config, errors } = await this.load(this.header.start);
    if (!config) throw new Error(`the start configuration has errors: ${errors.join('; ')}`);
    this.config = config;
    const logs = this.out.logs;
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) {
          if (line.trim()) logs.push((JSON.parse(line) as { msg: string }).msg);
        }
        done();
      },
    });
    this.agent = new Agent(config, {
      log: pino({ level: 'info' }, stream),
      runtimeDir: this.directory,
      netlink: this.netlink,
      clock: this.clock,
      sockets: this.socketFactory,
      packetSocket: this.packetSocket,
      run: this.run,
      openFifo: async () => ({
        writeEvent: (event) => void this.out.fifo.push(fifoLine(event).trimEnd()),
        close: async () => undefined,
      }),
      isRouter: () => false,
      lookup: () => undefined,
      // In memory: a scenario never writes the host's /proc/sys.
      sysctl: {
        read: async (key) => this.sysctls.get(key.join('/')),
        write: async (key, value) => void this.sysctls.set(key.join('/'), value),
      },
      // CARP adverts carry a counter: 1, 2, 3... so that the bytes sent are known.
      carpCounter: () => BigInt(++this.carpCounter),
    });
    let error: string | undefined;
    await this.until(
      this.agent.start().catch((caught: unknown) => {
        error = (caught as { code?: string }).code ?? String(caught);
      }),
    );
    return this.collect(error !== undefined ? { error } : {});
  }

  /** Runs one step's input and returns everything that came out. */
  async step(step: Step): Promise<StepResult> {
    const agent = this.agent as Agent;
    if (step.advance !== undefined) {
      await this.advance(microseconds(step.advance));
    } else if (step.receive) {
      const { on, from, to, ttl, hex: bytes } = step.receive;
      const family = from.includes(':') ? 6 : 4;
      const socket = this.sockets.get(`${on}/${family}`);
      if (!socket) throw new Error(`no IPv${family} VRRP socket on ${on}`);
      socket.deliver(from, to, ttl ?? 255, Buffer.from(bytes, 'hex'));
      await this.settle();
    } else if (step.link) {
      const { name, index, up } = step.link;
      this.netlink.setLink(
        fakeLink(name, index, up === false ? { up: false, lowerUp: false, operstate: 'down' } : {}),
      );
      await this.settle();
    } else if (step.unlink) {
      this.netlink.removeLink(step.unlink.index);
      await this.settle();
    } else if (step.address) {
      const [name, address] = (step.address.add ?? step.address.del ?? '').split(' ');
      if (step.address.add) this.netlink.putAddress(this.indexOf(name as string), address as string);
      else this.netlink.dropAddress(this.indexOf(name as string), address as string);
      await this.settle();
    } else if (step.fail) {
      this.netlink.fail(step.fail.operation, step.fail.errno, step.fail.times ?? 1);
      await this.settle();
    } else if (step.exits) {
      Object.assign(this.exits, step.exits);
      await this.settle();
    } else if (step.signal?.reload !== undefined) {
      const { config, errors } = await this.load(step.signal.reload);
      // What `tandem run` does on SIGHUP: a file with errors is refused and changes nothing.
      if (!config) return this.collect({ refused: errors });
      let outcome: { reload?: unknown; error?: string } = {};
      await this.until(
        agent.reload(config).then(
          (result) => (outcome = { reload: result }),
          (caught: unknown) => (outcome = { error: (caught as { code?: string }).code ?? String(caught) }),
        ),
      );
      return this.collect(outcome);
    } else if (step.control) {
      let outcome: { answer?: unknown; error?: string } = {};
      await this.until(
        controlRequest(agent.controlSocketPath, step.control).then(
          (answer) => (outcome = { answer }),
          (caught: unknown) => (outcome = { error: (caught as { code?: string }).code ?? String(caught) }),
        ),
      );
      await this.settle();
      return this.collect(outcome);
    } else if (step.signal?.restart) {
      await this.stopAgent();
      this.restarts++;
      return this.start();
    } else if (step.signal?.stop) {
      // A planned stop of a MASTER waits for the new master (make-before-break): later steps bring it (an advert)
      // or let the handover bound pass; `close` finishes what is left.
      void agent.stop().catch(() => undefined);
      await this.settle();
    } else {
      throw new Error(`a step needs an input: ${JSON.stringify(step)}`);
    }
    return this.collect({});
  }

  /**
   * Lets time pass up to `total` microseconds, stopping at every timer on the way so that what a timer starts
   * (an advert, the next timer) runs before the next one fires, as on a real event loop.
   */
  private async advance(total: number): Promise<void> {
    const target = this.clock.now + total;
    for (;;) {
      const next = this.clock.nextDeadline();
      if (next === undefined || next > target) {
        this.clock.advance(target - this.clock.now);
        await this.settle();
        return;
      }
      this.clock.advance(Math.max(0, next - this.clock.now));
      await this.settle();
    }
  }

  /** Runs what is pending (promise chains, deferred expiries) until nothing moves any more. */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 3;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.clock.pendingDeferred() > 0) {
        this.clock.runDeferred();
        quiet = 0;
      } else {
        quiet++;
      }
    }
  }

  /** Settles until `work` has finished; time does not pass meanwhile (a wait on the clock is a test error). */
  private async until(work: Promise<unknown>): Promise<void> {
    let done = false;
    void work.finally(() => (done = true));
    for (let rounds = 0; !done; rounds++) {
      if (rounds > 1000) throw new Error('the agent waits for time to pass; advance the clock in a step');
      await this.settle();
    }
  }

  private collect(extra: {
    answer?: unknown;
    reload?: unknown;
    error?: string;
    refused?: string[];
  }): StepResult {
    const operations = this.netlink.operations.slice(this.netlinkSeen);
    this.netlinkSeen = this.netlink.operations.length;
    const result: StepResult = {
      sent: this.out.sent.splice(0),
      netlink: operations,
      announced: this.out.announced.splice(0),
      hooks: this.out.hooks.splice(0),
      fifo: this.out.fifo.splice(0),
      logs: this.out.logs.splice(0),
      status: (this.agent as Agent).status(),
      ...extra,
    };
    return result;
  }

  /**
   * Stops the agent, letting clock time pass so that a handover reaches its bound and hooks still running meet
   * their deadline.
   */
  private async stopAgent(): Promise<void> {
    if (!this.agent) return;
    let done = false;
    void this.agent
      .stop()
      .catch(() => undefined)
      .finally(() => (done = true));
    for (let rounds = 0; !done && rounds < 100; rounds++) await this.advance(microseconds('100ms'));
    this.agent = undefined;
  }

  async close(): Promise<void> {
    await this.stopAgent();
    rmSync(this.directory, { recursive: true, force: true });
  }
}

/**
 * `expected` is part of `actual`: every key of an expected object is present with a matching value; arrays
 * match element by element and have the same length. Returns the path of the first difference.
 */
export function partialMismatch(actual: unknown, expected: unknown, path = '$'): string | undefined {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      return `${path}: expected ${expected.length} entries, found ${JSON.stringify(actual)}`;
    for (let index = 0; index < expected.length; index++) {
      const inner = partialMismatch(actual[index], expected[index], `${path}[${index}]`);
      if (inner) return inner;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object')
      return `${path}: expected an object, found ${JSON.stringify(actual)}`;
    for (const [key, value] of Object.entries(expected)) {
      const inner = partialMismatch((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
      if (inner) return inner;
    }
    return undefined;
  }
  return Object.is(actual, expected)
    ? undefined
    : `${path}: expected ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`;
}

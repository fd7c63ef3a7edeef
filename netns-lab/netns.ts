/**
 * Network-namespace lab: throwaway namespaces joined by a bridge, commands run inside them, and cleanup that
 * always happens. The drills (`tandem lab ...`) and the integration tests both build on it.
 *
 *   await withLab(async (lab) => {
 *     const sw = await lab.bridge('sw');             // a namespace holding bridge br0
 *     const a = await lab.namespace('a');            // a namespace with lo up
 *     const eth = await lab.connect(a, sw, { ifname: 'eth0', addresses: ['192.0.2.1/24'] });
 *     await lab.exec(a, ['ping', '-c1', '192.0.2.2']);               // argv, never a shell string
 *     const links = await lab.execJson(a, ['ip', '-j', 'link']);
 *     const agent = lab.spawn(a, lab.nodeArgv('test/x/fixture.ts'));  // killed at cleanup
 *     await waitFor(async () => (await lab.exec(a, ['ip', 'addr'])).stdout.includes('192.0.2.9'));
 *   });                                             // namespaces deleted, processes killed, even on failure
 *
 * Rules this file enforces (see the project's network hygiene):
 * - namespace names are `tdm-<pid>-<random>-<name>`, so parallel runs and other engineers never collide;
 * - interfaces are created directly inside the lab's namespaces (veth pairs are made in the bridge namespace
 *   with their peer moved straight into the host namespace): nothing ever appears in the caller's namespace;
 * - `withLab` kills every spawned process (by PID) and deletes every namespace in `finally`; a process exit
 *   handler does the same synchronously if the process dies first (`detach` hands a lab over to
 *   `tandem lab down` instead);
 * - nothing sleeps for a fixed time: use `waitFor` (poll against a deadline) or wait on an event.
 *
 * Use documentation ranges only (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TandemError } from '../src/errors.js';

/** A lab step failed: a command, a namespace, a wait. */
export class LabError extends TandemError {}

/**
 * The package root (where package.json is), used as the working directory of processes started in a
 * namespace. This file is `netns-lab/netns.ts` from a checkout or `dist/netns-lab/netns.js` once built.
 */
function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 4; depth++) {
    directory = dirname(directory);
    if (existsSync(join(directory, 'package.json'))) return directory + '/';
  }
  throw new LabError('TANDEM_ELAB_ROOT', `expected package.json above ${fileURLToPath(import.meta.url)}`);
}

export const REPO_ROOT = packageRoot();

/** Namespaces, veth pairs, raw sockets and netlink writes need root. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * How long a wait that covers the start of a new process (a `node --import tsx` fixture, tcpdump, an agent) may
 * take: a deadline, not a measure. Loading TypeScript through tsx takes 3 s on an idle 2-core machine and was
 * seen at 13 s with both cores contended.
 */
export const PROCESS_START_DEADLINE_MS = 60_000;

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Said in the timeout error, e.g. 'VIP restored on eth0'. */
  message?: string;
}

/**
 * Polls `probe` until it returns a truthy value (returned) or the deadline passes (throws, with the last
 * value or error seen). Errors thrown by the probe count as "not yet".
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  { timeoutMs = 5000, intervalMs = 20, message = 'condition' }: WaitOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new LabError(
        'TANDEM_ELAB_TIMEOUT',
        `timed out after ${timeoutMs} ms waiting for ${message}; last result: ${detail}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Resolve instead of throwing when the command exits non-zero. */
  allowFailure?: boolean;
  timeoutMs?: number;
  input?: string;
}

/** Runs argv (no shell) and collects its output; throws with stderr when it fails. */
export function run(
  argv: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult & { code: number }> {
  const [command, ...args] = argv;
  if (command === undefined) throw new LabError('TANDEM_ELAB_ARGV', 'run() needs a command, found none');
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { cwd: REPO_ROOT, timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (error && !options.allowFailure) {
          reject(
            new LabError(
              'TANDEM_ELAB_EXEC',
              `${argv.join(' ')} failed (${error.message.trim()}): ${stderr.trim()}`,
            ),
          );
          return;
        }
        resolve({ stdout, stderr, code });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export interface Bridge {
  /** The namespace holding the bridge. */
  ns: string;
  ifname: string;
}

export interface Port {
  /** The namespace the interface is in. */
  ns: string;
  ifname: string;
  index: number;
  mac: string;
  /** The veth peer's name inside the bridge namespace (set it down to cut this host off). */
  bridgePort: string;
}

export interface ConnectOptions {
  /** Interface name inside the host namespace (default eth0). */
  ifname?: string;
  /** CIDR addresses to add, IPv4 or IPv6. IPv6 ones are added with nodad so they are usable at once. */
  addresses?: readonly string[];
  mac?: string;
}

export interface Capture {
  /** Resolves once tcpdump is listening: send the traffic after this. */
  ready: Promise<void>;
  /** Resolves with the captured frames once `count` packets matched (tcpdump exits). */
  frames: Promise<Buffer[]>;
  /** The same frames with their capture times. */
  records: Promise<PcapRecord[]>;
}

const liveLabs = new Set<Lab>();
process.once('exit', () => {
  for (const lab of liveLabs) lab.cleanupSync();
});

export class Lab {
  /** `tdm-<pid>-<random>`: the prefix of every namespace of this lab. */
  readonly id = `tdm-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly #namespaces: string[] = [];
  readonly #children = new Set<ChildProcess>();
  readonly #cleanups: (() => void)[] = [];
  #portCounter = 0;

  constructor() {
    liveLabs.add(this);
  }

  /** Creates a namespace `<id>-<name>` with loopback up and returns its full name. */
  async namespace(name: string): Promise<string> {
    if (!/^[a-z0-9-]{1,20}$/.test(name))
      throw new LabError('TANDEM_ELAB_NAME', `namespace name must be short lower-case words, found ${name}`);
    const ns = `${this.id}-${name}`;
    await run(['ip', 'netns', 'add', ns]);
    this.#namespaces.push(ns);
    await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * Creates a namespace holding a bridge (STP off, so ports forward at once; multicast snooping off, so
   * VRRP and neighbour-discovery multicast reaches every port).
   */
  async bridge(name: string, ifname = 'br0'): Promise<Bridge> {
    const ns = await this.namespace(name);
    await run([
      'ip',
      '-n',
      ns,
      'link',
      'add',
      ifname,
      'type',
      'bridge',
      'stp_state',
      '0',
      'mcast_snooping',
      '0',
    ]);
    await run(['ip', '-n', ns, 'link', 'set', ifname, 'up']);
    return { ns, ifname };
  }

  /** Connects namespace `ns` to `bridge` through a veth pair; returns the host-side interface. */
  async connect(ns: string, bridge: Bridge, options: ConnectOptions = {}): Promise<Port> {
    const ifname = options.ifname ?? 'eth0';
    const bridgePort = `p${++this.#portCounter}`;
    const b = bridge.ns;
    await run([
      'ip',
      '-n',
      b,
      'link',
      'add',
      bridgePort,
      'type',
      'veth',
      'peer',
      'name',
      ifname,
      'netns',
      ns,
    ]);
    await run(['ip', '-n', b, 'link', 'set', bridgePort, 'master', bridge.ifname, 'up']);
    if (options.mac !== undefined) await run(['ip', '-n', ns, 'link', 'set', ifname, 'address', options.mac]);
    for (const address of options.addresses ?? []) {
      const extra = address.includes(':') ? ['nodad'] : [];
      await run(['ip', '-n', ns, 'addr', 'add', address, 'dev', ifname, ...extra]);
    }
    await run(['ip', '-n', ns, 'link', 'set', ifname, 'up']);
    const [link] = (await this.execJson(ns, ['ip', '-j', 'link', 'show', 'dev', ifname])) as {
      ifindex: number;
      address: string;
    }[];
    if (!link) throw new LabError('TANDEM_ELAB_LINK', `expected interface ${ifname} in ${ns}, found none`);
    return { ns, ifname, index: link.ifindex, mac: link.address, bridgePort };
  }

  /** Runs argv inside namespace `ns`. */
  exec(ns: string, argv: readonly string[], options?: ExecOptions): Promise<ExecResult & { code: number }> {
    return run(['ip', 'netns', 'exec', ns, ...argv], options);
  }

  /** Runs argv inside `ns` and parses its stdout as JSON (for `ip -j ...`). */
  async execJson(ns: string, argv: readonly string[]): Promise<unknown> {
    const { stdout } = await this.exec(ns, argv);
    return stdout.trim() === '' ? [] : JSON.parse(stdout);
  }

  /** Sets a sysctl inside `ns`, e.g. `lab.sysctl(a, 'net.ipv4.conf.eth0.arp_accept', '1')`. */
  async sysctl(ns: string, key: string, value: string): Promise<void> {
    await this.exec(ns, ['sysctl', '-q', '-w', `${key}=${value}`]);
  }

  /** Starts argv inside `ns` (stdio piped by default); it is killed at cleanup if still running. */
  spawn(ns: string, argv: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: REPO_ROOT, stdio: 'pipe', ...options });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** argv that runs a TypeScript file with this Node.js through tsx, from the repository root. */
  nodeArgv(script: string, ...args: string[]): string[] {
    return [process.execPath, '--import', 'tsx', script, ...args];
  }

  /**
   * Captures `count` frames matching a tcpdump `filter` on `ifname` inside `ns`. Await `ready` before sending;
   * `frames` rejects if tcpdump fails or `timeoutMs` passes first (by default, time for the sender to start).
   */
  capture(
    ns: string,
    ifname: string,
    filter: string,
    count = 1,
    timeoutMs = PROCESS_START_DEADLINE_MS,
  ): Capture {
    const child = this.spawn(ns, [
      'tcpdump',
      '-i',
      ifname,
      '-c',
      String(count),
      '-U',
      '-n',
      '-w',
      '-',
      filter,
    ]);
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ready = new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('listening on')) resolve();
      });
      child.once('exit', () =>
        reject(new LabError('TANDEM_ELAB_CAPTURE', `tcpdump exited before listening: ${stderr}`)),
      );
    });
    const records = new Promise<PcapRecord[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new LabError(
            'TANDEM_ELAB_CAPTURE',
            `no ${count} frame(s) matching "${filter}" on ${ns}/${ifname} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code !== 0) reject(new LabError('TANDEM_ELAB_CAPTURE', `tcpdump exited with ${code}: ${stderr}`));
        else resolve(parsePcapRecords(Buffer.concat(chunks)));
      });
    });
    const frames = records.then((captured) => captured.map((record) => record.frame));
    // Whoever awaits only one of them must not leave the other as an unhandled rejection.
    ready.catch(() => undefined);
    frames.catch(() => undefined);
    records.catch(() => undefined);
    return { ready, frames, records };
  }

  /** Registers `callback` to run at cleanup, after the spawned processes are gone (e.g. remove temp files). */
  onCleanup(callback: () => void): void {
    this.#cleanups.push(callback);
  }

  /** Kills spawned processes (by PID) and deletes the namespaces; collects and rethrows failures. */
  async cleanup(): Promise<void> {
    const failures: string[] = [];
    await Promise.all(
      [...this.#children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            // `ip netns exec` execs the command, so this PID is the process itself.
            child.kill('SIGKILL');
          }),
      ),
    );
    this.#children.clear();
    for (const callback of this.#cleanups.splice(0)) {
      try {
        callback();
      } catch (error) {
        failures.push(`cleanup callback: ${String(error)}`);
      }
    }
    for (const ns of this.#namespaces.splice(0).reverse()) {
      const { code, stderr } = await run(['ip', 'netns', 'del', ns], { allowFailure: true });
      if (code !== 0) failures.push(`${ns}: ${stderr.trim()}`);
    }
    liveLabs.delete(this);
    if (failures.length > 0)
      throw new LabError('TANDEM_ELAB_CLEANUP', `lab cleanup failed: ${failures.join('; ')}`);
  }

  /** The namespaces of this lab, in creation order. */
  get namespaces(): readonly string[] {
    return this.#namespaces;
  }

  /**
   * Hands the lab over to whoever saved its namespaces and PIDs (`tandem lab up` leaves it running for
   * `tandem lab down`): nothing is killed or deleted at cleanup or exit any more. Spawn the processes that
   * must outlive this one detached, with their output in files.
   */
  detach(): { namespaces: string[]; pids: number[] } {
    const pids = [...this.#children].flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
    for (const child of this.#children) child.unref();
    this.#children.clear();
    this.#cleanups.splice(0);
    liveLabs.delete(this);
    return { namespaces: this.#namespaces.splice(0), pids };
  }

  /** Last-resort synchronous cleanup from the process exit handler. */
  cleanupSync(): void {
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const callback of this.#cleanups.splice(0)) {
      try {
        callback();
      } catch {
        // Nothing more can be done while exiting.
      }
    }
    for (const ns of this.#namespaces.splice(0)) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // Nothing more can be done while exiting.
      }
    }
    liveLabs.delete(this);
  }
}

/** Calls `onLine` with each complete line of `stream` (a child's stdout or stderr) as it arrives. */
export function readLines(
  stream: NodeJS.ReadableStream | null | undefined,
  onLine: (line: string) => void,
): void {
  let buffered = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    buffered += chunk;
    for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      onLine(line);
    }
  });
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when the exit was seen. */
  at: number;
}

/** Resolves when `child` exits, with how and when. */
export function exitOf(child: ChildProcess): Promise<ExitInfo> {
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
}

/** The addresses (without prefix length) configured on `ifname` in `ns`, from `ip -j addr`. */
export async function addressesOn(lab: Lab, ns: string, ifname: string): Promise<string[]> {
  const links = (await lab.execJson(ns, ['ip', '-j', 'addr', 'show', 'dev', ifname])) as {
    addr_info?: { local: string }[];
  }[];
  return links.flatMap((link) => (link.addr_info ?? []).map((info) => info.local));
}

/** Runs `body` with a fresh lab and always cleans it up, even when `body` throws. */
export async function withLab<T>(body: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = new Lab();
  try {
    return await body(lab);
  } finally {
    await lab.cleanup();
  }
}

/** One captured frame and when it was captured (epoch ms, as the capturing kernel stamped it). */
export interface PcapRecord {
  at: number;
  frame: Buffer;
}

/** Splits a pcap stream (libpcap format, as `tcpdump -w -` writes) into its frames with their timestamps. */
export function parsePcapRecords(data: Buffer): PcapRecord[] {
  if (data.length < 24) return [];
  const magic = data.readUInt32LE(0);
  const littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const magicBE = data.readUInt32BE(0);
  if (!littleEndian && magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d)
    throw new LabError('TANDEM_ELAB_PCAP', `expected a pcap magic number, found 0x${magic.toString(16)}`);
  // 0xa1b23c4d: the fraction is in nanoseconds, else microseconds.
  const fractionPerMs = (littleEndian ? magic : magicBE) === 0xa1b23c4d ? 1e6 : 1e3;
  const read = (offset: number) => (littleEndian ? data.readUInt32LE(offset) : data.readUInt32BE(offset));
  const records: PcapRecord[] = [];
  let offset = 24;
  while (offset + 16 <= data.length) {
    const capturedLength = read(offset + 8);
    const start = offset + 16;
    if (start + capturedLength > data.length) break;
    records.push({
      at: read(offset) * 1000 + read(offset + 4) / fractionPerMs,
      frame: data.subarray(start, start + capturedLength),
    });
    offset = start + capturedLength;
  }
  return records;
}

/** Splits a pcap stream (libpcap format, as `tcpdump -w -` writes) into its frames. */
export function parsePcap(data: Buffer): Buffer[] {
  return parsePcapRecords(data).map((record) => record.frame);
}

/**
 * The VRRP daemons a lab runs on its balancers: `tandem run` or keepalived itself, behind one interface, so a
 * drill or a test drives either the same way. Each daemon gets its own directory (config file, runtime
 * directory, pid files); its state comes from the transitions it logs, each stamped with a time.
 *
 *   const daemon = await startTandem(lab, ns, configText, 'a', { directory });
 *   await daemon.waitForState('VI_1', 'MASTER');
 *   daemon.state('VI_1');                         // the last state it logged entering
 *   await daemon.crash();                         // SIGKILL, as a dead box (keepalived: its VRRP child too)
 *   await daemon.stop();                          // SIGTERM, resolves with the exit code
 *
 * tandem's times are its own log timestamps (`time`, epoch ms); keepalived's are when this process read the
 * line from its stderr (keepalived 2.2 logs seconds only).
 */
import { spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlRequest } from '../src/daemon/control.js';
import type { AgentStatus } from '../src/daemon/agent.js';
import type { InstanceStatus } from '../src/daemon/instance-runtime.js';
import { tandemArgv } from './entry.js';
import {
  type ExitInfo,
  type Lab,
  LabError,
  PROCESS_START_DEADLINE_MS,
  exitOf,
  readLines,
  waitFor,
} from './netns.js';

export type DaemonKind = 'tandem' | 'keepalived';
/** What runs on the balancers: one daemon everywhere, or `mixed`: tandem on b1 and keepalived on the others. */
export type PeerKind = DaemonKind | 'mixed';

/** The daemon balancer `index` runs for `peer`. */
export function daemonOf(peer: PeerKind, index: number): DaemonKind {
  if (peer === 'mixed') return index === 0 ? 'tandem' : 'keepalived';
  return peer;
}

/** One state a daemon logged entering. */
export interface Transition {
  instance: string;
  state: string;
  /** Epoch ms. */
  at: number;
  reason?: string;
}

export interface Daemon {
  readonly kind: DaemonKind;
  readonly name: string;
  readonly directory: string;
  readonly configFile: string;
  readonly transitions: Transition[];
  readonly exited: Promise<ExitInfo>;
  readonly running: boolean;
  /** The state last logged for `instance`; undefined before its first transition. */
  state(instance: string): string | undefined;
  waitForState(instance: string, state: string, timeoutMs?: number): Promise<unknown>;
  /** When `instance` entered `state` at or after `since` (epoch ms). */
  transitionTime(instance: string, state: string, since: number): number | undefined;
  /** Sends `signal` to the process that handles it (SIGHUP reloads, SIGTERM stops). */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM and wait for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL every process of the daemon, as a box that died. */
  crash(): Promise<void>;
  /** The PIDs doing the work, for CPU and memory accounting. */
  workerPids(): number[];
  describe(): string;
}

export interface StartOptions {
  /** A private directory for the config, runtime directory and pid files (created by the caller). */
  directory: string;
  /** Extra arguments (tandem only). */
  extraArgs?: string[];
  /** Where stdout and stderr go; default piped and read. Detached daemons (lab up) log to files. */
  spawnOptions?: SpawnOptions;
  /** ms to wait until the daemon is up. */
  timeoutMs?: number;
}

export interface LogLine {
  level: number;
  time: number;
  msg: string;
  instance?: string;
  from?: string;
  to?: string;
  reason?: string;
  [key: string]: unknown;
}

function isTransitionLine(line: LogLine): line is LogLine & { instance: string; to: string } {
  return typeof line.instance === 'string' && typeof line.to === 'string' && line.msg.includes('->');
}

/** A `tandem run` process; its status is read through the control socket (a Unix socket is a file). */
export class AgentProcess implements Daemon {
  readonly kind = 'tandem';
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly transitions: Transition[] = [];
  readonly exited: Promise<ExitInfo>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly directory: string,
  ) {
    readLines(child.stdout, (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        this.stderr.push(`(stdout, not JSON) ${text}`);
        return;
      }
      this.logs.push(line);
      if (isTransitionLine(line)) {
        this.transitions.push({
          instance: line.instance,
          state: line.to,
          at: line.time,
          ...(line.reason !== undefined ? { reason: line.reason } : {}),
        });
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.stderr.push(chunk));
    this.exited = exitOf(child);
  }

  get configFile(): string {
    return join(this.directory, 'tandem.conf');
  }

  get runtimeDir(): string {
    return join(this.directory, 'run');
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async status(): Promise<AgentStatus> {
    return (await controlRequest(
      join(this.runtimeDir, 'tandem.sock'),
      { command: 'status' },
      2000,
    )) as AgentStatus;
  }

  async instance(name: string): Promise<InstanceStatus> {
    const status = await this.status();
    const instance = status.instances.find((candidate) => candidate.name === name);
    if (!instance)
      throw new LabError('TANDEM_ELAB_INSTANCE', `${this.name}: expected instance ${name}, found none`);
    return instance;
  }

  state(instance: string): string | undefined {
    return this.transitions.findLast((transition) => transition.instance === instance)?.state;
  }

  /** Polls the control socket until `instance` is in `state`; resolves with its status. */
  async waitForState(instance: string, state: string, timeoutMs = 10_000): Promise<InstanceStatus> {
    return waitFor(
      async () => {
        const current = await this.instance(instance);
        return current.state === state ? current : undefined;
      },
      { timeoutMs, message: `${this.name}: ${instance} in ${state} (logs: ${this.describe()})` },
    );
  }

  /** The agent's own log time (epoch ms) of the first transition to `to` at or after `since`. */
  transitionTime(instance: string, to: string, since: number): number | undefined {
    return this.transitions.find(
      (transition) => transition.instance === instance && transition.state === to && transition.at >= since,
    )?.at;
  }

  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }

  async stop(): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.signal('SIGTERM');
    return (await this.exited).code;
  }

  async crash(): Promise<void> {
    if (this.running) this.signal('SIGKILL');
    await this.exited;
  }

  workerPids(): number[] {
    return this.running ? [this.pid] : [];
  }

  describe(): string {
    const tail = this.logs.slice(-8).map((line) => `${line.msg} ${line.reason ?? ''}`.trim());
    return JSON.stringify({ tail, stderr: this.stderr.join('').slice(-2000) });
  }

  cleanup(): void {
    rmSync(this.directory, { recursive: true, force: true });
  }
}

/** Writes `config` and starts `tandem run` in `ns`; waits until its control socket answers. */
export async function startTandem(
  lab: Lab,
  ns: string,
  config: string,
  name: string,
  options: StartOptions,
): Promise<AgentProcess> {
  const { directory } = options;
  const file = join(directory, 'tandem.conf');
  writeFileSync(file, config);
  const child = lab.spawn(
    ns,
    tandemArgv('run', '-f', file, '--runtime-dir', join(directory, 'run'), ...(options.extraArgs ?? [])),
    options.spawnOptions,
  );
  return answering(new AgentProcess(name, child, directory), options.timeoutMs);
}

/** Waits until a new agent's control socket answers (it fails at once if the agent exits first). */
async function answering(agent: AgentProcess, timeoutMs = PROCESS_START_DEADLINE_MS): Promise<AgentProcess> {
  const { child, name } = agent;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${agent.describe()}`);
      return (await agent.status()).pid > 0;
    },
    { timeoutMs, message: `${name}: control socket answers (${agent.describe()})` },
  );
  return agent;
}

/**
 * Starts `tandem carp ARGS` (ucarp's command line) in `ns` with its runtime directory inside `options.directory`;
 * waits until its control socket answers.
 */
export async function startTandemCarp(
  lab: Lab,
  ns: string,
  args: readonly string[],
  name: string,
  options: StartOptions,
): Promise<AgentProcess> {
  const child = lab.spawn(
    ns,
    tandemArgv('carp', ...args, '--runtime-dir', join(options.directory, 'run')),
    options.spawnOptions,
  );
  return answering(new AgentProcess(name, child, options.directory), options.timeoutMs);
}

/** One line keepalived logged, with the time (epoch ms) this process received it. */
export interface KeepalivedLine {
  at: number;
  text: string;
}

/** "(VI_1) Entering MASTER STATE" / "(VI_1) Entering BACKUP STATE (init)" as keepalived 2.2 logs them. */
const KEEPALIVED_TRANSITION = /\(([^)]+)\) Entering ([A-Z]+) STATE/;

/** The version line of the installed keepalived, e.g. "Keepalived v2.2.7 (01/16,2022)". */
export function keepalivedVersion(): string {
  // keepalived --version prints on stderr and exits 0.
  const result = spawnSync('keepalived', ['--version'], { encoding: 'utf8' });
  if (result.error)
    throw new LabError(
      'TANDEM_ELAB_KEEPALIVED',
      `expected keepalived installed (apt-get install -y keepalived): ${result.error.message}`,
    );
  return `${result.stderr}${result.stdout}`.split('\n')[0] ?? '';
}

/** "Sun Nov 22 02:31:37 2026: (VI_1) Entering MASTER STATE" -> "(VI_1) Entering MASTER STATE". */
function withoutTimestamp(text: string): string {
  return text.replace(/^\w{3} \w{3} +\d+ [\d:]+ \d{4}: /, '');
}

/**
 * A real keepalived (Debian's 2.2 package), run as `keepalived -n -l -D -G -P -f CONF -p PID -r VRRPPID` (no
 * fork, log to the console with detail, no syslog, VRRP subsystem only, its own pid files so nothing meets a
 * system keepalived). With `-n` the spawned process is the parent; the VRRP work happens in a child it forks,
 * which is ended here by its PID (from its pid file, checked against its command line) in case the parent
 * died without taking it along.
 */
export class KeepalivedProcess implements Daemon {
  readonly kind = 'keepalived';
  readonly lines: KeepalivedLine[] = [];
  readonly transitions: Transition[] = [];
  readonly stdout: string[] = [];
  readonly exited: Promise<ExitInfo>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly directory: string,
  ) {
    // keepalived -l logs to stderr; stdout gets block-buffered copies of some of the same lines, read apart so
    // that no state is counted twice or stamped late.
    readLines(child.stderr, (text) => {
      const at = Date.now();
      this.lines.push({ at, text });
      const match = KEEPALIVED_TRANSITION.exec(text);
      if (match) this.transitions.push({ instance: match[1] as string, state: match[2] as string, at });
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.stdout.push(chunk));
    this.exited = exitOf(child);
  }

  get configFile(): string {
    return join(this.directory, 'keepalived.conf');
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  state(instance: string): string | undefined {
    return this.transitions.findLast((transition) => transition.instance === instance)?.state;
  }

  async waitForState(instance: string, state: string, timeoutMs = 10_000): Promise<Transition> {
    return waitFor(
      () => {
        if (!this.running) throw new Error(`${this.name} exited`);
        const last = this.transitions.findLast((transition) => transition.instance === instance);
        return last?.state === state ? last : undefined;
      },
      { timeoutMs, message: `${this.name}: ${instance} in ${state} (log: ${this.describe()})` },
    );
  }

  transitionTime(instance: string, state: string, since: number): number | undefined {
    return this.transitions.find(
      (transition) =>
        transition.instance === instance && transition.state === state && transition.at >= since,
    )?.at;
  }

  /** The lines logged at or after `since` that match `pattern`, without keepalived's timestamp. */
  linesMatching(pattern: RegExp, since = 0): string[] {
    return this.lines
      .filter((line) => line.at >= since && pattern.test(line.text))
      .map((line) => withoutTimestamp(line.text));
  }

  /** The VRRP child's PID from its pid file, if it is still this keepalived (command line names our config). */
  vrrpChildPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.directory, 'vrrp.pid'), 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 0) return undefined;
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return commandLine.includes(this.configFile) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGTERM: keepalived sends priority-0 adverts as MASTER, removes its VIPs and exits. */
  async stop(timeoutMs = 10_000): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM');
    const { code } = await this.exited;
    await waitFor(() => this.vrrpChildPid() === undefined, {
      timeoutMs,
      message: `${this.name}: VRRP child gone`,
    });
    return code;
  }

  async crash(): Promise<void> {
    const vrrp = this.vrrpChildPid();
    if (vrrp !== undefined) process.kill(vrrp, 'SIGKILL');
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
    // The VRRP child may have written its pid file only after the first look (a loaded machine): kill what is
    // there on every look.
    await waitFor(
      () => {
        const child = this.vrrpChildPid();
        if (child === undefined) return true;
        try {
          process.kill(child, 'SIGKILL');
        } catch {
          // Gone between the look and the kill.
        }
        return undefined;
      },
      { timeoutMs: 15_000, message: `${this.name}: VRRP child gone` },
    );
  }

  workerPids(): number[] {
    const vrrp = this.vrrpChildPid();
    return [
      ...(this.running && this.child.pid !== undefined ? [this.child.pid] : []),
      ...(vrrp ? [vrrp] : []),
    ];
  }

  describe(): string {
    return JSON.stringify(this.lines.slice(-12).map((line) => withoutTimestamp(line.text)));
  }

  /** Kills the VRRP child by its PID, in case the parent died without taking it along. */
  killVrrpChild(): void {
    const pid = this.vrrpChildPid();
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  cleanup(): void {
    this.killVrrpChild();
    rmSync(this.directory, { recursive: true, force: true });
  }
}

/**
 * keepalived in the foreground: no fork (-n), logs to the console (-l -D), VRRP only (-P, -G), its own pid files
 * in `directory` so it never meets a system keepalived.
 */
export function keepalivedArgv(configFile: string, directory: string): string[] {
  return [
    'keepalived',
    '-n',
    '-l',
    '-D',
    '-G',
    '-P',
    '-f',
    configFile,
    '-p',
    join(directory, 'keepalived.pid'),
    '-r',
    join(directory, 'vrrp.pid'),
  ];
}

/**
 * Writes `config` and starts keepalived in `ns`; resolves once it logged its first state (its VRRP child is
 * up and the instances are running), rejects with its log if it exits first.
 */
export async function startKeepalived(
  lab: Lab,
  ns: string,
  config: string,
  name: string,
  options: StartOptions,
): Promise<KeepalivedProcess> {
  const { directory } = options;
  const configFile = join(directory, 'keepalived.conf');
  writeFileSync(configFile, config);
  // Pid files left by a keepalived that was killed: if their PIDs were reused meanwhile, keepalived would
  // refuse to start ("daemon is already running"). The directory is private to this daemon.
  for (const pidFile of ['keepalived.pid', 'vrrp.pid']) rmSync(join(directory, pidFile), { force: true });
  const child = lab.spawn(ns, keepalivedArgv(configFile, directory), options.spawnOptions);
  const peer = new KeepalivedProcess(name, child, directory);
  // The lab kills the parent at cleanup; the VRRP child is ours to end.
  lab.onCleanup(() => peer.killVrrpChild());
  await waitFor(
    () => {
      if (!peer.running) throw new Error(`${name}: keepalived exited: ${peer.describe()}`);
      return peer.transitions.length > 0;
    },
    {
      timeoutMs: options.timeoutMs ?? PROCESS_START_DEADLINE_MS,
      message: `${name}: keepalived started (log: ${peer.describe()})`,
    },
  );
  return peer;
}

/** Starts the daemon of `kind`. */
export function startDaemon(
  kind: DaemonKind,
  lab: Lab,
  ns: string,
  config: string,
  name: string,
  options: StartOptions,
): Promise<Daemon> {
  return kind === 'tandem'
    ? startTandem(lab, ns, config, name, options)
    : startKeepalived(lab, ns, config, name, options);
}

/**
 * Real `tandem run` processes inside lab namespaces, for integration tests: each agent gets its own config
 * file and private runtime directory, its JSON log lines are collected, and its status is read through the
 * control socket (a Unix socket is a file, so the test process reaches it from outside the namespace).
 *
 *   const agent = await startAgent(lab, ns, configText, 'a');
 *   await agent.waitForState('VI_1', 'MASTER');
 *   const time = await agent.transitionTime('VI_1', 'MASTER', since);   // from the agent's own log timestamps
 *   await agent.stop();                                                  // SIGTERM, resolves with the exit code
 */
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlRequest } from '../../src/daemon/control.js';
import type { AgentStatus } from '../../src/daemon/agent.js';
import type { InstanceStatus } from '../../src/daemon/instance-runtime.js';
import { type ExitInfo, type Lab, exitOf, readLines, waitFor } from './netns.js';

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

export class AgentProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<ExitInfo>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly directory: string,
  ) {
    readLines(child.stdout, (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.stderr.push(`(stdout, not JSON) ${line}`);
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.stderr.push(chunk));
    this.exited = exitOf(child);
  }

  get runtimeDir(): string {
    return join(this.directory, 'run');
  }

  get pid(): number {
    return this.child.pid as number;
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
    if (!instance) throw new Error(`${this.name}: no instance ${name}`);
    return instance;
  }

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
    return this.logs.find(
      (line) => line.instance === instance && line.to === to && line.msg.includes('->') && line.time >= since,
    )?.time;
  }

  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.signal('SIGTERM');
    return (await this.exited).code;
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
export async function startAgent(
  lab: Lab,
  ns: string,
  config: string,
  name: string,
  extraArgs: string[] = [],
) {
  const directory = mkdtempSync(join(tmpdir(), `tandem-test-${name}-`));
  const file = join(directory, 'tandem.conf');
  writeFileSync(file, config);
  const child = lab.spawn(
    ns,
    lab.nodeArgv('src/cli.ts', 'run', '-f', file, '--runtime-dir', join(directory, 'run'), ...extraArgs),
  );
  const agent = new AgentProcess(name, child, directory);
  lab.onCleanup(() => agent.cleanup());
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${agent.describe()}`);
      return (await agent.status()).pid > 0;
    },
    { timeoutMs: 15_000, message: `${name}: control socket answers (${agent.describe()})` },
  );
  return agent;
}

/**
 * `tandem run` as a process whose end matters: a start that must be refused, or an agent that is stopped and
 * timed. Unlike startAgent (helpers/agents.ts), nothing waits for the control socket.
 *
 *   const result = await runToExit(lab, ns, ['run', '-f', file, '--runtime-dir', dir]);
 *   result.code;      // exit status
 *   result.stderr;    // everything it printed on stderr
 *
 *   const agent = spawnTandem(lab, ns, ['run', ...], { prefix: ['setpriv', '--reuid=nobody', ...] });
 */
import type { ChildProcess } from 'node:child_process';
import { tandemArgv } from '../../netns-lab/entry.js';
import { type Lab, PROCESS_START_DEADLINE_MS, type Port, exitOf, waitFor } from './netns.js';

export interface TandemResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SpawnedTandem {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when the process exits (or rejects after `timeoutMs`). */
  result: (timeoutMs?: number) => Promise<TandemResult>;
}

export interface SpawnTandemOptions {
  /** argv put in front of node (setpriv, runuser...). */
  prefix?: string[];
  env?: NodeJS.ProcessEnv;
  /** Extra node options before the script (e.g. --inspect). */
  nodeOptions?: string[];
}

/** Starts `tandem ARGS` in `ns`, collecting its output. */
export function spawnTandem(
  lab: Lab,
  ns: string,
  args: string[],
  options: SpawnTandemOptions = {},
): SpawnedTandem {
  const [node, ...rest] = tandemArgv(...args);
  const argv = [...(options.prefix ?? []), node as string, ...(options.nodeOptions ?? []), ...rest];
  const child = lab.spawn(ns, argv, options.env ? { env: options.env } : {});
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  const exited = exitOf(child);
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    // A refused start exits as soon as it has loaded: the deadline is the process's start on a loaded machine.
    result: async (timeoutMs = PROCESS_START_DEADLINE_MS) => {
      let done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      void exited.then((exit) => (done = exit));
      await waitFor(() => done, {
        timeoutMs,
        message: `tandem ${args.join(' ')} exited (stderr: ${stderr})`,
      });
      const exit = done as { code: number | null; signal: NodeJS.Signals | null };
      return { code: exit.code, signal: exit.signal, stdout, stderr };
    },
  };
}

/** Runs `tandem ARGS` in `ns` to its end. */
export function runToExit(
  lab: Lab,
  ns: string,
  args: string[],
  options: SpawnTandemOptions & { timeoutMs?: number } = {},
): Promise<TandemResult> {
  return spawnTandem(lab, ns, args, options).result(options.timeoutMs);
}

/**
 * The lines a refused start printed on stderr, without what Node itself prints for --inspect ("Debugger
 * listening on ...", "For help, see ..."): a refused start says one line and shows no stack.
 */
export function ownStderrLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter(
      (line) => line !== '' && !/^(Debugger listening on|For help, see:|Debugger ending on)/.test(line),
    );
}

/** The VIP of loneMasterConfig. */
export const LONE_VIP = '192.0.2.100';

/** One VRRPv3 instance on eth0 (VRID 61, priority 200, every 0.1 s) holding LONE_VIP, after `globalDefs`. */
export function loneMasterConfig(globalDefs: string[] = []): string {
  const global =
    globalDefs.length > 0 ? `global_defs {\n${globalDefs.map((line) => `  ${line}\n`).join('')}}\n` : '';
  return `${global}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 61
  priority 200
  version 3
  advert_int 0.1
  virtual_ipaddress {
    ${LONE_VIP}/24
  }
}
`;
}

/** Namespace `name` with eth0 at `address`/24 on a bridge of its own, where an agent becomes MASTER alone. */
export async function loneHost(lab: Lab, name: string, address = '192.0.2.1'): Promise<string> {
  const sw = await lab.bridge(`sw${name}`);
  const ns = await lab.namespace(name);
  await lab.connect(ns, sw, { addresses: [`${address}/24`] });
  return ns;
}

/** The lone host `a` (192.0.2.1 on eth0) and a client `c` (192.0.2.50) on one bridge; with the second port. */
export async function hostWithClient(lab: Lab): Promise<{ a: string; client: string; port: Port }> {
  const sw = await lab.bridge('sw');
  const a = await lab.namespace('a');
  const client = await lab.namespace('c');
  const port = await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
  await lab.connect(client, sw, { addresses: ['192.0.2.50/24'] });
  return { a, client, port };
}

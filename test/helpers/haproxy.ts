/**
 * A real HAProxy (Debian's package) inside a lab namespace, answering every HTTP request with a fixed body
 * that names its balancer, so a client can tell which balancer answered:
 *
 *   const proxy = await startHaproxy(lab, b1, 'b1', { bind: VIP });   // listens on VIP:80 before the VIP is there
 *   const answer = await httpGetFrom(lab, client, `http://${VIP}/`);   // { status: 200, body: 'b1' }
 *   await proxy.stop();                                                 // also killed by the lab's cleanup
 *
 * For tandem's own hooks, `haproxyService` writes a start and a stop script instead, for a `tandem_service`
 * block to run: `on_master` starts haproxy as a daemon (`-D -p PIDFILE`) unless it runs, `on_backup` /
 * `on_fault` / `on_stop` stop it, so haproxy runs only where the VIP is (cold standby) and only because the
 * agent ran its hooks. The lab's cleanup kills a daemon left running, by the PID in its file.
 *
 * Binding the VIP before it is on any interface of the namespace needs `net.ipv4.ip_nonlocal_bind=1` there
 * (set by `startHaproxy` when `bind` is an IPv4 address): that is how a balancer runs its proxy on the backup,
 * ready for the VIP. The configuration file lives in a private temporary directory removed at cleanup.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIPv4 } from 'node:net';
import { type ChildProcess } from 'node:child_process';
import { type ExitInfo, type Lab, exitOf, waitFor } from './netns.js';

export interface HaproxyOptions {
  /** The address to listen on (default every address, `*`). */
  bind?: string;
  port?: number;
  /** The response body (default the balancer's name). */
  body?: string;
}

export interface HaproxyProcess {
  name: string;
  child: ChildProcess;
  configFile: string;
  exited: Promise<ExitInfo>;
  /** What haproxy printed on stderr (its alerts and warnings). */
  output(): string;
  /** SIGTERM (haproxy's hard stop) and wait for the exit. */
  stop(): Promise<ExitInfo>;
}

/** haproxy's configuration: one frontend answering 200 with `body`, no backend, nothing written to disk. */
export function haproxyConfig(bind: string, port: number, body: string): string {
  return [
    'global',
    '    maxconn 256',
    'defaults',
    '    mode http',
    '    timeout connect 1s',
    '    timeout client 5s',
    '    timeout server 5s',
    '    timeout http-request 5s',
    'frontend vip',
    `    bind ${bind}:${port}`,
    // A fixed answer from HAProxy itself (2.2+): no server behind it is needed to tell the balancers apart.
    `    http-request return status 200 content-type text/plain string "${body}"`,
    '',
  ].join('\n');
}

/** Starts `haproxy -f CONF -db` (foreground) in `ns` and waits until it listens. */
export async function startHaproxy(
  lab: Lab,
  ns: string,
  name: string,
  options: HaproxyOptions = {},
): Promise<HaproxyProcess> {
  const bind = options.bind ?? '*';
  const port = options.port ?? 80;
  if (isIPv4(bind)) await lab.sysctl(ns, 'net.ipv4.ip_nonlocal_bind', '1');
  const directory = mkdtempSync(join(tmpdir(), `tandem-haproxy-${name}-`));
  lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
  const configFile = join(directory, 'haproxy.cfg');
  writeFileSync(configFile, haproxyConfig(bind, port, options.body ?? name));
  const child = lab.spawn(ns, ['haproxy', '-f', configFile, '-db']);
  let stderr = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => (stderr += chunk));
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  const exited = exitOf(child);
  const handle: HaproxyProcess = {
    name,
    child,
    configFile,
    exited,
    output: () => stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`haproxy ${name} exited ${child.exitCode}: ${stderr}`);
      const { stdout } = await lab.exec(ns, ['ss', '-Hltn', `sport = :${port}`]);
      return stdout.trim() !== '';
    },
    { timeoutMs: 10_000, message: `haproxy ${name} listening on port ${port} (${stderr})` },
  );
  return handle;
}

export interface HaproxyService {
  /** Script for `on_master`: starts haproxy as a daemon unless it already runs. */
  start: string;
  /** Script for `on_backup`, `on_fault`, `on_stop`: stops it if it runs. */
  stop: string;
  pidFile: string;
  /** The daemon's PID while it runs (checked in /proc: the PID is haproxy's), else undefined. */
  pid(): number | undefined;
}

/** The daemon PID written to `pidFile`, if that process is alive and is haproxy. */
function runningHaproxy(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim().split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses, the state follows it: a zombie is not running.
    const match = /^\d+ \((.*)\) (\S)/.exec(stat);
    return match?.[1] === 'haproxy' && match[2] !== 'Z' ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes haproxy's configuration and the start/stop scripts a `tandem_service` block runs in namespace `ns`
 * (the agent's hooks run where the agent runs). Nothing is started here.
 */
export async function haproxyService(
  lab: Lab,
  ns: string,
  name: string,
  options: HaproxyOptions = {},
): Promise<HaproxyService> {
  const bind = options.bind ?? '*';
  const port = options.port ?? 80;
  if (isIPv4(bind)) await lab.sysctl(ns, 'net.ipv4.ip_nonlocal_bind', '1');
  const directory = mkdtempSync(join(tmpdir(), `tandem-haproxy-${name}-`));
  const configFile = join(directory, 'haproxy.cfg');
  const pidFile = join(directory, 'haproxy.pid');
  const start = join(directory, 'start');
  const stop = join(directory, 'stop');
  writeFileSync(configFile, haproxyConfig(bind, port, options.body ?? name));
  writeFileSync(
    start,
    [
      '#!/bin/sh',
      `if [ -f '${pidFile}' ] && kill -0 "$(cat '${pidFile}')" 2>/dev/null; then exit 0; fi`,
      `exec haproxy -f '${configFile}' -D -p '${pidFile}'`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    stop,
    [
      '#!/bin/sh',
      `if [ -f '${pidFile}' ]; then kill "$(cat '${pidFile}')" 2>/dev/null; rm -f '${pidFile}'; fi`,
      'exit 0',
      '',
    ].join('\n'),
  );
  chmodSync(start, 0o755);
  chmodSync(stop, 0o755);
  lab.onCleanup(() => {
    const pid = runningHaproxy(pidFile);
    if (pid !== undefined) process.kill(pid, 'SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  });
  return { start, stop, pidFile, pid: () => runningHaproxy(pidFile) };
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * One HTTP GET from inside `ns` (plain Node.js, no tsx: it starts in tens of milliseconds). Resolves with the
 * answer, or undefined when there was none within `timeoutMs` (no route, no ARP answer, connection refused).
 */
export async function httpGetFrom(
  lab: Lab,
  ns: string,
  url: string,
  timeoutMs = 1000,
): Promise<HttpAnswer | undefined> {
  const script = `
const http = require('node:http');
const request = http.get(process.argv[1], { timeout: Number(process.argv[2]), agent: false }, (response) => {
  let body = '';
  response.setEncoding('utf8');
  response.on('data', (chunk) => (body += chunk));
  response.on('end', () => process.stdout.write(JSON.stringify({ status: response.statusCode, body })));
});
request.on('timeout', () => request.destroy(new Error('timeout')));
request.on('error', (error) => { process.stderr.write(String(error)); process.exitCode = 1; });
`;
  const { stdout, code } = await lab.exec(ns, [process.execPath, '-e', script, url, String(timeoutMs)], {
    allowFailure: true,
    timeoutMs: timeoutMs + 5000,
  });
  if (code !== 0 || stdout === '') return undefined;
  return JSON.parse(stdout) as HttpAnswer;
}

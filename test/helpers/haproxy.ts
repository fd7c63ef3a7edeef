/**
 * A real HAProxy (Debian's package) inside a lab namespace, answering every HTTP request with a fixed body
 * that names its balancer, so a client can tell which balancer answered:
 *
 *   const proxy = await startHaproxy(lab, b1, 'b1', { bind: VIP });   // listens on VIP:80 before the VIP is there
 *   const answer = await httpGetFrom(lab, client, `http://${VIP}/`);   // { status: 200, body: 'b1' }
 *   await proxy.stop();                                                 // also killed by the lab's cleanup
 *
 * Binding the VIP before it is on any interface of the namespace needs `net.ipv4.ip_nonlocal_bind=1` there
 * (set by `startHaproxy` when `bind` is an IPv4 address): that is how a balancer runs its proxy on the backup,
 * ready for the VIP. The configuration file lives in a private temporary directory removed at cleanup.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

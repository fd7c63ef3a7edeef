/**
 * The control socket: a Unix stream socket (mode 0600, inside the private runtime directory) that answers one
 * JSON request line with one JSON response line. Bad requests get a clear error and a counter, and change
 * nothing.
 *
 *   request:  {"command":"status"}\n
 *   response: {"ok":true,"result":{...}}\n   or   {"ok":false,"error":{"code":"TANDEM_E...","message":"..."}}\n
 */
import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import { TandemError } from '../errors.js';

/** A request larger than this is refused: status requests are a few bytes. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Connections served at once; more are refused by the kernel's backlog, never by crashing. */
const MAX_CONNECTIONS = 32;
/** A client that sends nothing for this long is dropped. */
const REQUEST_TIMEOUT_MS = 5000;

export class ControlError extends TandemError {}

export type ControlHandler = (command: string, request: Record<string, unknown>) => unknown;

export interface ControlCounters {
  requests: number;
  badRequests: number;
}

function errorResponse(code: string, message: string): string {
  return JSON.stringify({ ok: false, error: { code, message } }) + '\n';
}

export class ControlServer {
  private server: net.Server | undefined;
  readonly counters: ControlCounters = { requests: 0, badRequests: 0 };

  constructor(
    readonly path: string,
    private readonly commands: Record<string, ControlHandler>,
  ) {}

  async listen(): Promise<void> {
    // A socket file left by a crashed run would make listen() fail with EADDRINUSE.
    rmSync(this.path, { force: true });
    const server = net.createServer((connection) => this.serve(connection));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // An accept error (EMFILE...) must not become an unhandled 'error' event that ends the agent.
    server.on('error', () => undefined);
    server.maxConnections = MAX_CONNECTIONS;
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }

  /** Handles one request line; exported through `serve` and directly testable. */
  handle(line: string): string {
    this.counters.requests++;
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      this.counters.badRequests++;
      return errorResponse('TANDEM_ECONTROL_JSON', 'expected one JSON object per line, found invalid JSON');
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      this.counters.badRequests++;
      return errorResponse('TANDEM_ECONTROL_REQUEST', 'expected a JSON object like {"command":"status"}');
    }
    const command = (request as { command?: unknown }).command;
    const handler = typeof command === 'string' ? this.commands[command] : undefined;
    if (!handler || !Object.hasOwn(this.commands, command as string)) {
      this.counters.badRequests++;
      const known = Object.keys(this.commands).join(', ');
      return errorResponse(
        'TANDEM_ECONTROL_COMMAND',
        `unknown command ${JSON.stringify(command)}; expected one of: ${known}`,
      );
    }
    try {
      return (
        JSON.stringify({ ok: true, result: handler(command as string, request as Record<string, unknown>) }) +
        '\n'
      );
    } catch (error) {
      const code = error instanceof TandemError ? error.code : 'TANDEM_ECONTROL_FAILED';
      return errorResponse(code, error instanceof Error ? error.message : String(error));
    }
  }

  private serve(connection: net.Socket): void {
    let buffered = '';
    connection.setEncoding('utf8');
    connection.setTimeout(REQUEST_TIMEOUT_MS, () => connection.destroy());
    connection.on('error', () => connection.destroy());
    connection.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) {
        this.counters.requests++;
        this.counters.badRequests++;
        connection.end(
          errorResponse('TANDEM_ECONTROL_TOO_LARGE', `a request is at most ${MAX_REQUEST_BYTES} bytes`),
        );
        connection.removeAllListeners('data');
        return;
      }
      const newline = buffered.indexOf('\n');
      if (newline === -1) return;
      connection.removeAllListeners('data');
      connection.end(this.handle(buffered.slice(0, newline)));
    });
  }
}

/** Sends one request to a running agent and returns its result, or throws its error. */
export function controlRequest(
  path: string,
  request: Record<string, unknown>,
  timeoutMs = 5000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const connection = net.createConnection(path);
    let answer = '';
    connection.setEncoding('utf8');
    connection.setTimeout(timeoutMs, () => {
      connection.destroy();
      reject(new ControlError('TANDEM_ECONTROL_TIMEOUT', `no answer from ${path} within ${timeoutMs} ms`));
    });
    connection.on('connect', () => connection.write(JSON.stringify(request) + '\n'));
    connection.on('data', (chunk: string) => (answer += chunk));
    connection.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new ControlError(
          'TANDEM_ECONTROL_CONNECT',
          `cannot reach the agent at ${path} (${error.code ?? error.message}): is tandem running?`,
        ),
      ),
    );
    connection.on('end', () => {
      try {
        const response = JSON.parse(answer) as {
          ok: boolean;
          result?: unknown;
          error?: { code: string; message: string };
        };
        if (response.ok) resolve(response.result);
        else
          reject(
            new ControlError(response.error?.code ?? 'TANDEM_ECONTROL', response.error?.message ?? 'error'),
          );
      } catch {
        reject(
          new ControlError(
            'TANDEM_ECONTROL_RESPONSE',
            `the agent answered something that is not JSON: ${answer}`,
          ),
        );
      }
    });
  });
}

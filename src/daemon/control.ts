/**
 * The control socket: a Unix stream socket (mode 0600, inside the private runtime directory) that answers one
 * JSON request line with one JSON response line. Bad requests get a clear error and a counter, and change
 * nothing.
 *
 *   request:  {"command":"status"}\n
 *   response: {"ok":true,"result":{...}}\n   or   {"ok":false,"error":{"code":"TANDEM_E...","message":"..."}}\n
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
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

/**
 * A command that answers with a stream rather than one line (`events`): it is handed the connection once the
 * request line is read, and owns it from then on (events-stream.ts).
 */
export type StreamHandler = (connection: net.Socket, request: Record<string, unknown>) => void;

export interface ControlCounters {
  requests: number;
  badRequests: number;
}

function errorResponse(code: string, message: string): string {
  return JSON.stringify({ ok: false, error: { code, message } }) + '\n';
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Whether something accepts connections on the Unix socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createConnection(path);
    probe.setTimeout(REQUEST_TIMEOUT_MS, () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code !== 'ECONNREFUSED' && error.code !== 'ENOENT'),
    );
  });
}

export class ControlServer {
  private server: net.Server | undefined;
  /** The inode of the socket this server created: only that one is removed at close. */
  private ino: number | undefined;
  readonly counters: ControlCounters = { requests: 0, badRequests: 0 };

  constructor(
    readonly path: string,
    private readonly commands: Record<string, ControlHandler>,
    private readonly streams: Record<string, StreamHandler> = {},
  ) {}

  async listen(): Promise<void> {
    await this.removeStale();
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
    this.ino = lstatSync(this.path).ino;
    this.server = server;
  }

  /**
   * A socket file left by a crashed run would make listen() fail with EADDRINUSE: it is removed, but only if it
   * is a socket that nobody answers on. A live agent's socket, or anything that is not a socket, is refused.
   */
  private async removeStale(): Promise<void> {
    let stats;
    try {
      stats = lstatSync(this.path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw error;
    }
    if (!stats.isSocket())
      throw new ControlError(
        'TANDEM_ECONTROL_PATH',
        `control socket path ${this.path} exists and is not a socket; remove it or choose another path`,
      );
    if (await answers(this.path))
      throw new ControlError(
        'TANDEM_ECONTROL_IN_USE',
        `another process answers on control socket ${this.path}; stop it or choose another path`,
      );
    unlinkSync(this.path);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    // Only the socket this server created: another agent's (same path, later start) stays.
    if (this.ino !== undefined) {
      try {
        if (lstatSync(this.path).ino === this.ino) unlinkSync(this.path);
      } catch {
        // Already gone.
      }
      this.ino = undefined;
    }
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
      const known = [...Object.keys(this.commands), ...Object.keys(this.streams)].join(', ');
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
      // A request its command refused (bad arguments, a switchover with nobody to take over) changed nothing.
      this.counters.badRequests++;
      const code = error instanceof TandemError ? error.code : 'TANDEM_ECONTROL_FAILED';
      return errorResponse(code, error instanceof Error ? error.message : String(error));
    }
  }

  /** The stream command a request line asks for, if it is one; anything else goes to `handle`. */
  private streamOf(line: string): { handler: StreamHandler; request: Record<string, unknown> } | undefined {
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) return undefined;
    const command = (request as { command?: unknown }).command;
    if (typeof command !== 'string' || !Object.hasOwn(this.streams, command)) return undefined;
    return { handler: this.streams[command] as StreamHandler, request: request as Record<string, unknown> };
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
      const line = buffered.slice(0, newline);
      const stream = this.streamOf(line);
      if (stream) {
        this.counters.requests++;
        stream.handler(connection, stream.request);
        return;
      }
      connection.end(this.handle(line));
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

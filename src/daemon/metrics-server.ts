/**
 * The `/metrics` endpoint (global_defs `tandem_metrics_listen ADDRESS:PORT`; off unless configured). A plain
 * node:http server with every bound set: it reads no request body, gives a client a few seconds for its headers
 * and request, serves a few connections at once, and renders at most once per `minRenderIntervalMs` however
 * often it is asked (scrapes in between get the same text), so a request flood costs little CPU and never
 * delays adverts. Only `GET` / `HEAD` of `/metrics` succeed; any other path is 404, any other method 405, each
 * counted in tandem_metrics_requests_rejected_total.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { EventBus } from './events.js';
import { MetricsError, TandemMetrics } from './metrics.js';
import type { TelemetrySource } from './metrics-snapshot.js';

export const METRICS_PATH = '/metrics';
/** The documented default: loopback only; binding elsewhere is the operator's choice. */
export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9650';
/** A client gets this long to send its headers, and its whole request (a GET has no body). */
const HEADERS_TIMEOUT_MS = 5000;
const REQUEST_TIMEOUT_MS = 5000;
/** An idle keep-alive connection is closed after this (Prometheus reconnects as it needs). */
const KEEP_ALIVE_TIMEOUT_MS = 5000;
/** How often Node checks those two timeouts (its default, 30 s, would let a stalled client hold a slot longer). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;
/** Requests one connection may make before it is closed. */
const MAX_REQUESTS_PER_SOCKET = 100;
/** Connections at once; more are dropped at accept (and counted as overloaded). */
const MAX_CONNECTIONS = 16;
/** Request headers larger than this are refused by the parser (431). */
const MAX_HEADER_BYTES = 8 * 1024;
/**
 * Renders at most this often; scrapes in between are answered with the last text. Prometheus scrapes every 15 s
 * by default (1 s is already unusual), so a second of staleness costs nothing, and a flood of scrapes costs
 * one rendering a second at most.
 */
export const DEFAULT_MIN_RENDER_INTERVAL_MS = 1000;
const PORT_MAX = 65_535;

export interface ListenAddress {
  host: string;
  port: number;
}

export interface MetricsServerLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface MetricsServerOptions {
  minRenderIntervalMs?: number;
  log?: MetricsServerLogger;
  /** Milliseconds from a monotonic clock (performance.now by default). */
  now?: () => number;
}

/**
 * `ADDRESS:PORT` with an IPv4 address or a bracketed IPv6 one (`127.0.0.1:9650`, `[::1]:9650`), as
 * `tandem_metrics_listen` takes it. Port 1-65535; a host name is refused (the endpoint binds one address).
 */
export function parseListenAddress(text: string): ListenAddress {
  const bad = (why: string) =>
    new MetricsError(
      'TANDEM_EMETRICS_LISTEN',
      `expected ADDRESS:PORT such as 127.0.0.1:9650 or [::1]:9650, found '${text}': ${why}`,
    );
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!match) throw bad(text.includes(':') ? 'an IPv6 address goes in brackets' : 'the port is missing');
  const [, v6, v4, portText] = match;
  const host = (v6 ?? v4) as string;
  if (v6 !== undefined ? !net.isIPv6(host) : !net.isIPv4(host)) {
    throw bad(v6 !== undefined ? `${host} is not an IPv6 address` : `${host} is not an IPv4 address`);
  }
  const port = Number(portText);
  if (port < 1 || port > PORT_MAX) throw bad(`the port must be 1-${PORT_MAX}`);
  return { host, port };
}

/** How a listen address is written back (logs, docs): IPv6 in brackets. */
export function formatListenAddress(address: ListenAddress): string {
  return net.isIPv6(address.host) ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

export class MetricsServer {
  private server: http.Server | undefined;
  /** The last rendering, encoded once: a scrape answered from it costs a socket write, no re-encoding. */
  private cached: { body: Buffer; at: number } | undefined;
  private rendering: Promise<Buffer> | undefined;
  private readonly minRenderIntervalMs: number;
  private readonly now: () => number;
  /** Renders done (scrapes answered from the last text are not renders). */
  renders = 0;

  constructor(
    private readonly metrics: TandemMetrics,
    private readonly options: MetricsServerOptions = {},
  ) {
    this.minRenderIntervalMs = options.minRenderIntervalMs ?? DEFAULT_MIN_RENDER_INTERVAL_MS;
    this.now = options.now ?? (() => performance.now());
  }

  /** Binds and serves; resolves with the address actually bound (port 0 picks a free one, for tests). */
  async listen(address: ListenAddress): Promise<ListenAddress> {
    const server = http.createServer(
      {
        headersTimeout: HEADERS_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
        maxHeaderSize: MAX_HEADER_BYTES,
      },
      (request, response) => this.serve(request, response),
    );
    server.maxConnections = MAX_CONNECTIONS;
    server.maxRequestsPerSocket = MAX_REQUESTS_PER_SOCKET;
    server.on('drop', () => this.metrics.countRejected('overloaded'));
    // A malformed request gets 400 from the parser and a closed connection; never an exception.
    server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address.host, port: address.port, ipv6Only: net.isIPv6(address.host) }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: NodeJS.ErrnoException) => {
      throw new MetricsError(
        'TANDEM_EMETRICS_LISTEN',
        `cannot listen on ${formatListenAddress(address)} for metrics: ${error.code ?? error.message}`,
        { cause: error },
      );
    });
    // An accept error (EMFILE...) after start must not become an unhandled 'error' that ends the agent.
    server.on('error', (error) => this.options.log?.warn({ err: error }, 'metrics endpoint error'));
    this.server = server;
    const bound = server.address() as AddressInfo;
    const result = { host: bound.address, port: bound.port };
    this.options.log?.info({ listen: formatListenAddress(result) }, 'metrics endpoint listening');
    return result;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private serve(request: http.IncomingMessage, response: http.ServerResponse): void {
    const path = (request.url ?? '').split('?', 1)[0];
    // No request body is read: one that comes anyway closes the connection after the answer.
    if (request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined)
      response.shouldKeepAlive = false;
    if (path !== METRICS_PATH) {
      this.metrics.countRejected('not-found');
      this.plain(response, 404, `not found: tandem serves ${METRICS_PATH} only\n`);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      this.metrics.countRejected('method-not-allowed');
      response.setHeader('Allow', 'GET, HEAD');
      this.plain(response, 405, `method ${request.method ?? ''} not allowed: use GET\n`);
      return;
    }
    this.body().then(
      (body) => {
        response.writeHead(200, { 'Content-Type': this.metrics.contentType, 'Content-Length': body.length });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        this.metrics.countRejected('render-failed');
        this.options.log?.warn({ err: error }, 'metrics render failed');
        this.plain(response, 500, 'metrics render failed; see the agent log\n');
      },
    );
  }

  /** The last rendering if it is recent enough, else one new rendering shared by every scrape waiting for it. */
  private body(): Promise<Buffer> {
    const now = this.now();
    if (this.cached && now - this.cached.at < this.minRenderIntervalMs)
      return Promise.resolve(this.cached.body);
    this.rendering ??= this.metrics
      .render()
      .then((text) => {
        this.renders++;
        const body = Buffer.from(text, 'utf8');
        this.cached = { body, at: this.now() };
        return body;
      })
      .finally(() => {
        this.rendering = undefined;
      });
    return this.rendering;
  }

  private plain(response: http.ServerResponse, status: number, body: string): void {
    response.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    response.end(body);
  }
}

export interface MetricsEndpointOptions {
  /** `tandem_metrics_listen`, as written (`127.0.0.1:9650`, `[::1]:9650`) or parsed. */
  listen: string | ListenAddress;
  snapshot: TelemetrySource;
  discardReasons: readonly string[];
  eventCounters?: readonly string[];
  version: string;
  /** The hook families are observed from its hook-end events. */
  bus: EventBus;
  log?: MetricsServerLogger;
}

export interface MetricsEndpoint {
  metrics: TandemMetrics;
  address: ListenAddress;
  close(): Promise<void>;
}

/** Everything the agent starts for `tandem_metrics_listen`: the registry, its bus listener, the server. */
export async function serveMetrics(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const listen = typeof options.listen === 'string' ? parseListenAddress(options.listen) : options.listen;
  const metrics = new TandemMetrics({
    snapshot: options.snapshot,
    discardReasons: options.discardReasons,
    ...(options.eventCounters ? { eventCounters: options.eventCounters } : {}),
    version: options.version,
  });
  const stopListening = options.bus.listen((event) => metrics.observe(event));
  const server = new MetricsServer(metrics, options.log ? { log: options.log } : {});
  try {
    const address = await server.listen(listen);
    return {
      metrics,
      address,
      close: async () => {
        stopListening();
        await server.close();
      },
    };
  } catch (error) {
    stopListening();
    throw error;
  }
}

/**
 * The metrics endpoint over the agent's life: started when `tandem_metrics_listen` is set, stopped when a
 * reload removes it, re-bound when a reload moves it. prom-client and the HTTP server are imported only then
 * (`import()`), so an agent without metrics loads neither on its `run` path.
 *
 * A re-bind binds the new address before it lets the old one go; when the two cannot coexist (the same port on
 * an overlapping address), the old one is closed first, and if the new one still cannot bind, the old one is
 * bound again, so a reload never leaves the agent without the endpoint it had.
 */
import { readFileSync } from 'node:fs';
import type { MetricsListen } from '../config/schema.js';
import type { Logger } from '../core/logger.js';
import { TandemError } from '../errors.js';
import { DISCARD_REASONS, EVENT_COUNTERS } from '../vrrp/counters.js';
import type { EventBus } from './events.js';
import type { TelemetrySource } from './metrics-snapshot.js';
import type { ListenAddress, MetricsEndpoint } from './metrics-server.js';

export interface MetricsLifecycleOptions {
  snapshot: TelemetrySource;
  bus: EventBus;
  log: Logger;
}

/** tandem's version from package.json (src/daemon under tsx, dist/src/daemon when built). */
function packageVersion(): string {
  const path = import.meta.url.endsWith('.js') ? '../../../package.json' : '../../package.json';
  try {
    return (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function listenAddress(listen: MetricsListen): ListenAddress {
  return { host: listen.address, port: listen.port };
}

function sameListen(a: MetricsListen | undefined, b: MetricsListen | undefined): boolean {
  return a?.address === b?.address && a?.port === b?.port;
}

export class MetricsLifecycle {
  private endpoint: MetricsEndpoint | undefined;
  private listen: MetricsListen | undefined;
  private changing: Promise<void> = Promise.resolve();

  constructor(private readonly options: MetricsLifecycleOptions) {}

  /** The address bound now (with the port the kernel chose for port 0), or undefined when off. */
  get address(): ListenAddress | undefined {
    return this.endpoint?.address;
  }

  /**
   * Serves on `listen`, or stops serving when it is undefined. Rejects (with the endpoint as it was) when the
   * address cannot be bound. Calls run one after another.
   */
  apply(listen: MetricsListen | undefined): Promise<void> {
    const next = this.changing.then(() => this.applyNow(listen));
    this.changing = next.catch(() => undefined);
    return next;
  }

  close(): Promise<void> {
    return this.apply(undefined);
  }

  private async applyNow(listen: MetricsListen | undefined): Promise<void> {
    if (sameListen(listen, this.listen) && (listen === undefined || this.endpoint)) return;
    const old = this.endpoint;
    if (listen === undefined) {
      this.endpoint = undefined;
      this.listen = undefined;
      await old?.close();
      return;
    }
    try {
      this.endpoint = await this.serve(listen);
    } catch (error) {
      if (!old || !(error instanceof TandemError)) throw error;
      // The same port on an overlapping address: let the old one go first, and take it back if need be.
      await old.close();
      try {
        this.endpoint = await this.serve(listen);
      } catch (second) {
        this.endpoint = await this.serve(this.listen as MetricsListen).catch(() => undefined);
        if (!this.endpoint) this.listen = undefined;
        throw second;
      }
      this.listen = listen;
      return;
    }
    this.listen = listen;
    await old?.close();
  }

  private async serve(listen: MetricsListen): Promise<MetricsEndpoint> {
    const { serveMetrics } = await import('./metrics-server.js');
    return serveMetrics({
      listen: listenAddress(listen),
      snapshot: this.options.snapshot,
      discardReasons: DISCARD_REASONS,
      eventCounters: EVENT_COUNTERS,
      version: packageVersion(),
      bus: this.options.bus,
      log: this.options.log,
    });
  }
}

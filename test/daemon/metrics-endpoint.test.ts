/**
 * The endpoint's life across reloads (MetricsLifecycle), on loopback ports without root: started, moved, moved
 * onto the same port of an overlapping address (the old one let go first), kept when the new address cannot be
 * bound, stopped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { MetricsListen } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { EventBus } from '../../src/daemon/events.js';
import { MetricsLifecycle } from '../../src/daemon/metrics-endpoint.js';
import { fakeSnapshot } from '../helpers/telemetry.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The status of one GET on a fresh connection (no pooled connection to a server that was closed), or the error code. */
function status(host: string, port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const request = http.get({ host, port, path: '/metrics', agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

const listen = (address: string, port: number): MetricsListen => ({ address, port, family: 4 });

test('the endpoint starts, moves, survives an address it cannot bind, and stops', async () => {
  const lifecycle = new MetricsLifecycle({ snapshot: fakeSnapshot, bus: new EventBus(), log: silentLogger });
  const first = await freePort();
  try {
    assert.equal(lifecycle.address, undefined, 'off until configured');
    await lifecycle.apply(listen('127.0.0.1', first));
    assert.equal(await status('127.0.0.1', first), 200);

    // Moved to another port: the new one serves, the old one is closed.
    const second = await freePort();
    await lifecycle.apply(listen('127.0.0.1', second));
    assert.equal(await status('127.0.0.1', second), 200);
    assert.equal(await status('127.0.0.1', first), 'ECONNREFUSED');

    // The same port on an overlapping address cannot be bound beside the old one: the old one goes first.
    await lifecycle.apply(listen('0.0.0.0', second));
    assert.deepEqual(lifecycle.address, { host: '0.0.0.0', port: second });
    assert.equal(await status('127.0.0.1', second), 200);

    // A port someone else holds: refused with a code, and the endpoint stays where it was.
    const holder = net.createServer();
    const taken = await freePort();
    await new Promise<void>((resolve) => holder.listen(taken, '127.0.0.1', resolve));
    try {
      await assert.rejects(lifecycle.apply(listen('127.0.0.1', taken)), { code: 'TANDEM_EMETRICS_LISTEN' });
      assert.deepEqual(lifecycle.address, { host: '0.0.0.0', port: second });
      assert.equal(await status('127.0.0.1', second), 200);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }

    // Removed from the configuration: the endpoint stops.
    await lifecycle.apply(undefined);
    assert.equal(lifecycle.address, undefined);
    assert.equal(await status('127.0.0.1', second), 'ECONNREFUSED');
  } finally {
    await lifecycle.close();
  }
});

test('the run path loads prom-client only when metrics are enabled', () => {
  // A child Node loads a module and says whether prom-client (CommonJS) is in the module cache.
  const loads = (module: string) => {
    const script = [
      "import { createRequire } from 'node:module';",
      'const require = createRequire(import.meta.url);',
      `await import(${JSON.stringify(new URL(module, import.meta.url).href)});`,
      "process.stdout.write(String(Object.keys(require.cache).some((key) => key.includes('/prom-client/'))));",
    ].join('\n');
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout;
  };
  assert.equal(loads('../../src/daemon/run-command.ts'), 'false', 'tandem run without metrics');
  assert.equal(loads('../../src/daemon/metrics-server.ts'), 'true', 'the probe sees it when it is loaded');
});

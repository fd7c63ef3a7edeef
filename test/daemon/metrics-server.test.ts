import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { MetricsError, TandemMetrics } from '../../src/daemon/metrics.js';
import { EventBus } from '../../src/daemon/events.js';
import {
  MetricsServer,
  formatListenAddress,
  parseListenAddress,
  serveMetrics,
} from '../../src/daemon/metrics-server.js';
import { waitFor } from '../helpers/netns.js';
import { DISCARD_REASONS, fakeSnapshot, parseExposition } from '../helpers/telemetry.js';

function metrics() {
  return new TandemMetrics({
    snapshot: fakeSnapshot,
    discardReasons: DISCARD_REASONS,
    version: '0.0.0',
    processMetrics: false,
  });
}

function request(
  host: string,
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host, port, path, method, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
      );
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

test('tandem_metrics_listen takes IPv4 ADDRESS:PORT and bracketed IPv6, and refuses anything else', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:9650'), { host: '127.0.0.1', port: 9650 });
  assert.deepEqual(parseListenAddress('[::1]:9650'), { host: '::1', port: 9650 });
  assert.deepEqual(parseListenAddress('[2001:db8::5]:1'), { host: '2001:db8::5', port: 1 });
  assert.deepEqual(parseListenAddress('0.0.0.0:65535'), { host: '0.0.0.0', port: 65535 });
  assert.equal(formatListenAddress({ host: '::1', port: 9650 }), '[::1]:9650');
  assert.equal(formatListenAddress({ host: '192.0.2.1', port: 9650 }), '192.0.2.1:9650');
  for (const bad of [
    '::1:9650',
    '[::1]',
    '127.0.0.1',
    '127.0.0.1:0',
    '127.0.0.1:65536',
    '127.0.0.1:99999',
    'localhost:9650',
    '[127.0.0.1]:9650',
    '[::zz]:9650',
    '256.1.1.1:9650',
    ':9650',
    '127.0.0.1:96a0',
    '',
  ]) {
    assert.throws(
      () => parseListenAddress(bad),
      (error: unknown) =>
        error instanceof MetricsError &&
        error.code === 'TANDEM_EMETRICS_LISTEN' &&
        error.message.includes('ADDRESS:PORT'),
      bad,
    );
  }
});

test('GET /metrics answers the exposition; other paths 404, other methods 405, each counted', async () => {
  const server = new MetricsServer(metrics(), { minRenderIntervalMs: 0 });
  const { host, port } = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const ok = await request(host, port, '/metrics');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(ok.body, /^keepalived_up 1$/m);
    assert.equal(Number(ok.headers['content-length']), Buffer.byteLength(ok.body));
    assert.equal(
      (await request(host, port, '/metrics?name[]=keepalived_up')).status,
      200,
      'a query is ignored',
    );
    const head = await request(host, port, '/metrics', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    for (const path of ['/', '/metric', '/metrics/', '/../metrics', '/favicon.ico']) {
      const missing = await request(host, port, path);
      assert.equal(missing.status, 404, path);
      assert.match(missing.body, /\/metrics only/);
    }
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const refused = await request(host, port, '/metrics', method);
      assert.equal(refused.status, 405, method);
      assert.equal(refused.headers.allow, 'GET, HEAD');
    }
    const families = parseExposition((await request(host, port, '/metrics')).body);
    const rejected = families.get('tandem_metrics_requests_rejected_total');
    const count = (reason: string) =>
      rejected?.samples.find((sample) => sample.labels.reason === reason)?.value;
    assert.equal(count('not-found'), 5);
    assert.equal(count('method-not-allowed'), 3);
    assert.equal(count('render-failed'), 0);
  } finally {
    await server.close();
  }
});

test('the endpoint binds IPv6 loopback given as [::1]:PORT', async () => {
  const server = new MetricsServer(metrics(), { minRenderIntervalMs: 0 });
  // The configured form; port 0 (a free port) instead of 9650 so the test never collides with a real agent.
  const { host } = parseListenAddress('[::1]:9650');
  const bound = await server.listen({ host, port: 0 });
  try {
    assert.equal(bound.host, '::1');
    const answer = await request('::1', bound.port, '/metrics');
    assert.equal(answer.status, 200);
    assert.match(
      answer.body,
      /^keepalived_vrrp_state\{iname="VI_6",intf="eth0",vrid="52",ip_address="2001:db8::10\/64"\} 1$/m,
    );
    // Bound to ::1 only: IPv4 loopback on the same port is not this server.
    await assert.rejects(request('127.0.0.1', bound.port, '/metrics'), /ECONNREFUSED/);
  } finally {
    await server.close();
  }
});

test('a flood of scrapes renders at most once per interval; every scrape still gets the text', async () => {
  let now = 0;
  let snapshots = 0;
  const counted = new TandemMetrics({
    snapshot: () => {
      snapshots++;
      return fakeSnapshot();
    },
    discardReasons: DISCARD_REASONS,
    version: '0.0.0',
    processMetrics: false,
  });
  const server = new MetricsServer(counted, { minRenderIntervalMs: 100, now: () => now });
  const { host, port } = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const answers = await Promise.all(Array.from({ length: 12 }, () => request(host, port, '/metrics')));
    assert.ok(answers.every((answer) => answer.status === 200 && answer.body.includes('keepalived_up 1')));
    assert.equal(server.renders, 1);
    assert.equal(snapshots, 1);
    now = 99;
    await request(host, port, '/metrics');
    assert.equal(server.renders, 1, 'still within the interval');
    now = 100;
    await request(host, port, '/metrics');
    assert.equal(server.renders, 2);
  } finally {
    await server.close();
  }
});

test('connections past the bound are dropped at accept and counted; the slots come back', async () => {
  const server = new MetricsServer(metrics(), { minRenderIntervalMs: 0 });
  const { host, port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const idle: net.Socket[] = [];
  try {
    for (let n = 0; n < 16; n++) {
      const socket = net.createConnection({ host, port });
      await new Promise<void>((resolve) => socket.on('connect', resolve));
      idle.push(socket);
    }
    await waitFor(
      async () => (await request(host, port, '/metrics').catch((error: Error) => error)) instanceof Error,
    );
    for (const socket of idle) socket.destroy();
    const answer = await waitFor(() => request(host, port, '/metrics').catch(() => undefined));
    assert.equal(answer.status, 200);
    assert.match(answer.body, /^tandem_metrics_requests_rejected_total\{reason="overloaded"\} [1-9]/m);
  } finally {
    for (const socket of idle) socket.destroy();
    await server.close();
  }
});

test('a failing snapshot is a 500 and a counter, and the server keeps serving', async () => {
  let fail = true;
  const failing = new TandemMetrics({
    snapshot: () => {
      if (fail) throw new Error('snapshot exploded');
      return fakeSnapshot();
    },
    discardReasons: DISCARD_REASONS,
    version: '0.0.0',
    processMetrics: false,
  });
  const warnings: string[] = [];
  const server = new MetricsServer(failing, {
    minRenderIntervalMs: 0,
    log: { info: () => undefined, warn: (_object, message) => warnings.push(message) },
  });
  const { host, port } = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const broken = await request(host, port, '/metrics');
    assert.equal(broken.status, 500);
    assert.deepEqual(warnings, ['metrics render failed']);
    fail = false;
    const answer = await request(host, port, '/metrics');
    assert.equal(answer.status, 200);
    assert.match(answer.body, /^tandem_metrics_requests_rejected_total\{reason="render-failed"\} 1$/m);
  } finally {
    await server.close();
  }
});

test('a malformed request gets 400 and a closed connection; a port in use is a clear error', async () => {
  const server = new MetricsServer(metrics(), { minRenderIntervalMs: 0 });
  const { host, port } = await server.listen({ host: '127.0.0.1', port: 0 });
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.createConnection({ host, port }, () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    const second = new MetricsServer(metrics());
    await assert.rejects(
      second.listen({ host, port }),
      (error: unknown) =>
        error instanceof MetricsError &&
        error.code === 'TANDEM_EMETRICS_LISTEN' &&
        /EADDRINUSE/.test(error.message),
    );
    assert.equal((await request(host, port, '/metrics')).status, 200, 'the first server still serves');
  } finally {
    await server.close();
  }
});

test('serveMetrics starts the endpoint from tandem_metrics_listen and feeds hook runs from the bus', async () => {
  const bus = new EventBus();
  const failedHook = {
    type: 'hook-end',
    instance: 'VI_1',
    hook: 'notify',
    state: 'MASTER',
    outcome: 'failed',
    exitCode: 1,
    signal: null,
    durationMs: 5,
  } as const;
  await assert.rejects(
    serveMetrics({
      listen: 'localhost:9650',
      snapshot: fakeSnapshot,
      discardReasons: DISCARD_REASONS,
      version: '1.2.3',
      bus,
    }),
    (error: unknown) => error instanceof MetricsError && error.code === 'TANDEM_EMETRICS_LISTEN',
  );
  const served = await serveMetrics({
    listen: { host: '127.0.0.1', port: 0 },
    snapshot: fakeSnapshot,
    discardReasons: DISCARD_REASONS,
    version: '1.2.3',
    bus,
  });
  try {
    bus.publish(failedHook);
    const answer = await request(served.address.host, served.address.port, '/metrics');
    assert.match(answer.body, /^tandem_hook_failures_total\{iname="VI_1",hook="notify"\} 1$/m);
    assert.match(answer.body, /^tandem_build_info\{version="1\.2\.3"\} 1$/m);
  } finally {
    await served.close();
  }
  bus.publish(failedHook);
  assert.match(
    await served.metrics.render(),
    /^tandem_hook_failures_total\{iname="VI_1",hook="notify"\} 1$/m,
    'closed: the bus no longer feeds it',
  );
});

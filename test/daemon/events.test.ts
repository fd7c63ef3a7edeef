import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  EventBus,
  EventBusFullError,
  type TandemEvent,
  type TandemEventBody,
} from '../../src/daemon/events.js';
import { EventsError, formatEvent, streamEvents } from '../../src/daemon/events-command.js';
import { EVENTS_COMMAND, serveEvents } from '../../src/daemon/events-stream.js';
import { waitFor } from '../helpers/netns.js';
import { ManualClock } from '../helpers/manual-clock.js';

const transition = (n: number): TandemEventBody => ({
  type: 'transition',
  instance: 'VI_1',
  vrid: 51,
  interface: 'eth0',
  family: 4,
  from: 'BACKUP',
  to: 'MASTER',
  reason: 'master-down-expired',
  priority: 100 + n,
});

function manualBus(options: ConstructorParameters<typeof EventBus>[0] = {}) {
  const clock = new ManualClock();
  const bus = new EventBus({ clock, wallClock: () => Date.UTC(2025, 0, 2, 3, 4, 5, 6), ...options });
  return { clock, bus };
}

test('the bus numbers and stamps events, keeps a bounded backlog and tells listeners at once', () => {
  const { bus } = manualBus({ backlog: 3 });
  const heard: number[] = [];
  const remove = bus.listen((event) => heard.push(event.seq));
  bus.listen(() => {
    throw new Error('a broken listener');
  });
  for (let n = 1; n <= 5; n++) bus.publish(transition(n));
  assert.deepEqual(heard, [1, 2, 3, 4, 5], 'listeners are called synchronously, in order');
  assert.equal(bus.counters.listenerErrors, 5, 'a throwing listener is counted, never seen by the publisher');
  assert.deepEqual(
    bus.recent().map((event) => event.seq),
    [3, 4, 5],
  );
  assert.equal(bus.recent()[0]?.time, '2025-01-02T03:04:05.006Z');
  remove();
  bus.publish(transition(6));
  assert.equal(heard.length, 5);
  assert.equal(bus.counters.published, 6);
});

test('subscribers get events deferred, in order; a slow one is dropped at its bound without touching others', () => {
  const { clock, bus } = manualBus();
  const fast = bus.subscribe({ limit: 10 });
  const slow = bus.subscribe({ limit: 3 });
  const received: number[] = [];
  let readies = 0;
  fast.onReady(() => {
    readies++;
    received.push(...fast.take().map((event) => event.seq));
  });
  const ends: string[] = [];
  slow.onEnd((why) => ends.push(why));
  for (let n = 1; n <= 3; n++) bus.publish(transition(n));
  assert.deepEqual(received, [], 'nothing is delivered inside publish');
  clock.runDeferred();
  assert.deepEqual(received, [1, 2, 3]);
  assert.equal(readies, 1, 'one wake-up for a burst');
  assert.equal(slow.pending, 3);
  bus.publish(transition(4));
  assert.equal(slow.dropped, true);
  assert.equal(bus.counters.subscribersDropped, 1);
  assert.equal(bus.subscriberCount, 1);
  clock.runDeferred();
  assert.deepEqual(ends, ['slow']);
  assert.deepEqual(received, [1, 2, 3, 4]);
  assert.deepEqual(slow.take(), [], 'a dropped subscriber holds nothing');
  fast.close();
  assert.equal(bus.subscriberCount, 0);
});

test('subscribers are bounded in number; the refusal has a code', () => {
  const { bus } = manualBus({ maxSubscribers: 2 });
  bus.subscribe();
  const second = bus.subscribe();
  assert.throws(
    () => bus.subscribe(),
    (error: unknown) => error instanceof EventBusFullError && error.code === 'TANDEM_EEVENTS_BUSY',
  );
  assert.equal(bus.counters.subscribersRefused, 1);
  second.close();
  assert.doesNotThrow(() => bus.subscribe());
});

test('discards are rate-limited per instance and reason; the next event says how many were held back', () => {
  const { clock, bus } = manualBus({ discardIntervalMicroseconds: 1_000_000 });
  const discard = (instance: string, reason: string, count: number) =>
    bus.publishDiscard({ instance, vrid: 51, reason, source: '192.0.2.2', detail: 'x', count });
  assert.equal(discard('VI_1', 'bad-ttl', 1)?.type, 'discard');
  for (let count = 2; count <= 5; count++) assert.equal(discard('VI_1', 'bad-ttl', count), undefined);
  assert.ok(discard('VI_1', 'auth-mismatch', 1), 'another reason has its own window');
  assert.ok(discard('VI_2', 'bad-ttl', 1), 'another instance too');
  clock.advance(999_999);
  assert.equal(discard('VI_1', 'bad-ttl', 6), undefined);
  clock.advance(1);
  const next = discard('VI_1', 'bad-ttl', 7);
  assert.equal(next?.type === 'discard' && next.suppressed, 5);
  assert.equal(next?.type === 'discard' && next.count, 7);
  assert.equal(bus.counters.discardsSuppressed, 5);
});

/** A stand-in for the control socket: one request line, then `serveEvents` owns the connection. */
async function eventsServer(bus: EventBus) {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-events-'));
  const path = join(directory, 'tandem.sock');
  const timeouts: (number | undefined)[] = [];
  const server = net.createServer((connection) => {
    let buffered = '';
    connection.setEncoding('utf8');
    // As the control server does: a request must come within its time.
    connection.setTimeout(5000, () => connection.destroy());
    const onData = (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline === -1) return;
      connection.off('data', onData);
      const request = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
      if (request.command === EVENTS_COMMAND) {
        serveEvents(connection, bus, request);
        timeouts.push(connection.timeout);
      } else
        connection.end(
          JSON.stringify({
            ok: false,
            error: { code: 'TANDEM_ECONTROL_COMMAND', message: 'unknown command' },
          }) + '\n',
        );
    };
    connection.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    timeouts,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

test('tandem events prints the backlog and ends; --follow goes on with new events, no gap, no repeat', async () => {
  const bus = new EventBus();
  for (let n = 1; n <= 3; n++) bus.publish(transition(n));
  const server = await eventsServer(bus);
  try {
    const once: TandemEvent[] = [];
    await streamEvents(server.path, { follow: false }, (event) => once.push(event));
    assert.deepEqual(
      once.map((event) => event.seq),
      [1, 2, 3],
    );
    const followed: TandemEvent[] = [];
    const streaming = streamEvents(server.path, { follow: true }, (event) => followed.push(event));
    await waitFor(() => bus.subscriberCount === 1);
    bus.publish(transition(4));
    bus.publish({ type: 'reload', ok: true, kept: ['VI_1'], stopped: [], started: ['VI_2'] });
    await waitFor(() => followed.length === 5);
    bus.publish(transition(6));
    // The agent stops: the event just published still reaches the reader, then the stream ends cleanly.
    bus.close();
    await streaming;
    assert.deepEqual(
      followed.map((event) => event.seq),
      [1, 2, 3, 4, 5, 6],
    );
    assert.equal(followed[4]?.type, 'reload');
    assert.equal(bus.subscriberCount, 0);
    assert.deepEqual(server.timeouts, [0, 0], "a stream is not cut by the control socket's request timeout");
  } finally {
    await server.close();
  }
});

test('a reader that stops reading is dropped with TANDEM_EEVENTS_SLOW; the publisher never waits', async () => {
  const bus = new EventBus({ subscriberLimit: 50 });
  const server = await eventsServer(bus);
  const reader = net.createConnection(server.path);
  try {
    await new Promise<void>((resolve) => reader.on('connect', resolve));
    reader.write(JSON.stringify({ command: 'events', follow: true }) + '\n');
    await waitFor(() => bus.subscriberCount === 1);
    // Never read: the socket buffers fill, then the subscription's queue, then the bus drops the reader.
    reader.pause();
    const detail = 'x'.repeat(400);
    let published = 0;
    await waitFor(
      async () => {
        for (let n = 0; n < 200; n++) {
          bus.publish({ type: 'tracker', kind: 'script', name: `chk_${detail}`, from: 'up', state: 'down' });
          published++;
        }
        await nextTurn();
        return bus.counters.subscribersDropped === 1;
      },
      { timeoutMs: 20_000, message: 'the bus to drop the reader' },
    );
    assert.equal(bus.subscriberCount, 0);
    assert.ok(published > 50);
    // What the reader finally reads ends with the refusal line.
    reader.resume();
    let text = '';
    reader.setEncoding('utf8');
    reader.on('data', (chunk: string) => (text += chunk));
    await new Promise<void>((resolve) => reader.on('end', resolve));
    const last = JSON.parse(text.trimEnd().split('\n').at(-1) as string) as {
      ok: boolean;
      error: { code: string };
    };
    assert.equal(last.ok, false);
    assert.equal(last.error.code, 'TANDEM_EEVENTS_SLOW');
  } finally {
    reader.destroy();
    await server.close();
  }
});

test('the client refuses what is not the protocol, and says when the agent is older or absent', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-events-'));
  const path = join(directory, 'tandem.sock');
  let reply = '';
  const server = net.createServer((connection) => connection.once('data', () => connection.end(reply)));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const expectError = async (answer: string, code: string, pattern: RegExp) => {
    reply = answer;
    await assert.rejects(
      streamEvents(path, { follow: false }, () => undefined),
      (error: unknown) => {
        assert.ok(error instanceof EventsError, String(error));
        assert.equal(error.code, code);
        assert.match(error.message, pattern);
        return true;
      },
    );
  };
  try {
    await expectError('not json\n', 'TANDEM_EEVENTS_RESPONSE', /not JSON/);
    await expectError('{"ok":true,"result":{"pid":1}}\n', 'TANDEM_EEVENTS_RESPONSE', /header/);
    await expectError(
      '{"ok":false,"error":{"code":"TANDEM_ECONTROL_COMMAND","message":"unknown command \\"events\\""}}\n',
      'TANDEM_ECONTROL_COMMAND',
      /older tandem/,
    );
    await expectError(
      '{"ok":true,"result":{"stream":"events","follow":false}}\n{"no":"type"}\n',
      'TANDEM_EEVENTS_RESPONSE',
      /type and a seq/,
    );
    await expectError('', 'TANDEM_EEVENTS_RESPONSE', /without answering/);
    await expectError(
      '{"ok":true,"result":{"stream":"events","follow":false}}\n' + 'x'.repeat(1024 * 1024 + 10),
      'TANDEM_EEVENTS_RESPONSE',
      /longer than/,
    );
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(directory, { recursive: true, force: true });
  }
  await assert.rejects(
    streamEvents(path, { follow: false }, () => undefined),
    (error: unknown) => error instanceof EventsError && error.code === 'TANDEM_EEVENTS_CONNECT',
  );
});

test('the agent refuses a bad events request with a code and streams nothing', async () => {
  const bus = new EventBus();
  bus.publish(transition(1));
  const server = await eventsServer(bus);
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const connection = net.createConnection(server.path, () =>
        connection.write(JSON.stringify({ command: 'events', follow: 'yes' }) + '\n'),
      );
      let text = '';
      connection.setEncoding('utf8');
      connection.on('data', (chunk: string) => (text += chunk));
      connection.on('end', () => resolve(text));
      connection.on('error', reject);
    });
    const lines = answer.trimEnd().split('\n');
    assert.equal(lines.length, 1);
    const refusal = JSON.parse(lines[0] as string) as { ok: boolean; error: { code: string } };
    assert.equal(refusal.ok, false);
    assert.equal(refusal.error.code, 'TANDEM_EEVENTS_REQUEST');
    assert.equal(bus.subscriberCount, 0);
  } finally {
    await server.close();
  }
});

test('each event type reads as one line: time, type, what happened', () => {
  const stamp = { seq: 1, time: new Date(2025, 0, 2, 3, 4, 5, 6).toISOString() };
  const lines = (
    [
      { ...transition(0), master: '192.0.2.2' },
      { type: 'hook-start', instance: 'VI_1', hook: 'notify_master', state: 'MASTER' },
      {
        type: 'hook-end',
        instance: 'VI_1',
        hook: 'notify_master',
        state: 'MASTER',
        outcome: 'failed',
        exitCode: 3,
        signal: null,
        durationMs: 1500,
      },
      {
        type: 'hook-end',
        syncGroup: 'G1',
        hook: 'notify',
        state: 'BACKUP',
        outcome: 'timeout',
        exitCode: null,
        signal: 'SIGKILL',
        durationMs: 20,
      },
      { type: 'tracker', kind: 'interface', name: 'eth1', from: 'up', state: 'down' },
      {
        type: 'discard',
        instance: 'VI_1',
        vrid: 51,
        reason: 'address-mismatch',
        source: '192.0.2.2',
        detail: 'adverts 192.0.2.10, ours 192.0.2.11',
        count: 12,
        suppressed: 5,
      },
      { type: 'reload', ok: true, kept: ['VI_1'], stopped: [], started: ['VI_2', 'VI_3'] },
      { type: 'reload', ok: false, kept: [], stopped: [], started: [], error: 'tandem.conf:3:1: error: x' },
      {
        type: 'split-brain',
        instance: 'VI_1',
        vrid: 51,
        interface: 'eth0',
        peer: '192.0.2.2',
        peerPriority: 100,
        priority: 150,
      },
    ] as TandemEventBody[]
  ).map((body) => formatEvent({ ...body, ...stamp } as TandemEvent));
  const rest = lines.map((line) => {
    assert.ok(line.startsWith('2025-01-02 03:04:05.006 '), line);
    assert.ok(!line.includes('\n'));
    return line.slice('2025-01-02 03:04:05.006 '.length);
  });
  assert.deepEqual(rest, [
    'transition  VI_1 BACKUP -> MASTER reason=master-down-expired priority=100 master=192.0.2.2',
    'hook-start  VI_1 notify_master MASTER started',
    'hook-end    VI_1 notify_master MASTER failed exit=3 after 1.50s',
    'hook-end    group G1 notify BACKUP timeout killed at its timeout (SIGKILL) after 20ms',
    'tracker     interface eth1 up -> down',
    'discard     VI_1 address-mismatch from 192.0.2.2 count=12 (+5 not shown) detail="adverts 192.0.2.10, ours 192.0.2.11"',
    'reload      ok kept=VI_1 stopped=- started=VI_2,VI_3',
    'reload      refused: tandem.conf:3:1: error: x',
    'split-brain VI_1 another MASTER 192.0.2.2 (priority 100, ours 150) on eth0 vrid 51',
  ]);
  const future = formatEvent({
    type: 'vrrp-future',
    seq: 2,
    time: stamp.time,
    extra: 1,
  } as unknown as TandemEvent);
  assert.match(future, /vrrp-future {1,}\{"extra":1\}$/, 'an unknown type from a newer agent still prints');
});

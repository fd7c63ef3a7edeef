/**
 * The agent's side of `tandem events`: a control-socket connection whose request is `{"command":"events"}`
 * becomes a stream of events, one JSON object per line, instead of one answer.
 *
 *   request:  {"command":"events","follow":true}\n             (follow: optional, default false)
 *   answer:   {"ok":true,"result":{"stream":"events","follow":true}}\n
 *             then the recent events (the bus's backlog), one per line: {"seq":1,"time":"...","type":...}\n
 *             without follow the agent then closes the connection; with follow it goes on with every new
 *             event until the client closes it.
 *   refusal:  {"ok":false,"error":{"code":"TANDEM_E...","message":"..."}}\n and the end, at the start (bad
 *             request, too many subscribers) or mid-stream (TANDEM_EEVENTS_SLOW: the client fell behind by more
 *             than the bus's bound and was dropped; the agent never waits for a reader).
 *   end:      the agent closes the stream when it stops (EventBus.close()), after the events already queued.
 *
 * The control server hands the connection over once it has read the request line (`ControlServer`'s stream
 * commands; docs/architecture.md, "Telemetry"); from then on only this file writes to it.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { TandemError } from '../errors.js';
import type { EventBus, TandemEvent } from './events.js';

export const EVENTS_COMMAND = 'events';

export interface EventsRequest {
  follow: boolean;
}

/** What the agent says before the events; the client checks it to know it speaks to a streaming agent. */
export interface EventsHeader {
  stream: 'events';
  follow: boolean;
}

function errorLine(code: string, message: string): string {
  return JSON.stringify({ ok: false, error: { code, message } }) + '\n';
}

/** The request's options, or a TandemError saying what is wrong with it (nothing is streamed then). */
export function parseEventsRequest(request: Record<string, unknown>): EventsRequest {
  const follow = request.follow ?? false;
  if (typeof follow !== 'boolean') {
    throw new TandemError(
      'TANDEM_EEVENTS_REQUEST',
      `expected "follow" to be true or false, found ${JSON.stringify(follow)}`,
    );
  }
  return { follow };
}

/** Streams the bus to one connection (see the protocol above); returns at once, the stream runs on its own. */
export function serveEvents(connection: Duplex, bus: EventBus, request: Record<string, unknown>): void {
  // The control server gives a request a few seconds; a followed stream may be quiet for hours.
  if (connection instanceof net.Socket) connection.setTimeout(0);
  connection.on('error', () => connection.destroy());
  // Anything the client sends after its request is read and ignored, so it never piles up here.
  connection.on('data', () => undefined);
  connection.resume();
  let options: EventsRequest;
  let subscription: ReturnType<EventBus['subscribe']> | undefined;
  try {
    options = parseEventsRequest(request);
    // Subscribed before the backlog is written, so nothing published in between is missed.
    if (options.follow) subscription = bus.subscribe();
  } catch (error) {
    const code = error instanceof TandemError ? error.code : 'TANDEM_EEVENTS';
    connection.end(errorLine(code, error instanceof Error ? error.message : String(error)));
    return;
  }
  const header: EventsHeader = { stream: 'events', follow: options.follow };
  connection.write(JSON.stringify({ ok: true, result: header }) + '\n');
  const backlog = bus.recent();
  let lastSeq = 0;
  let waitingForDrain = false;
  const write = (events: readonly TandemEvent[]) => {
    for (const event of events) {
      // The backlog and the subscription overlap by what was published between subscribing and reading it.
      if (event.seq <= lastSeq) continue;
      lastSeq = event.seq;
      if (!connection.write(JSON.stringify(event) + '\n')) waitingForDrain = true;
    }
  };
  write(backlog);
  if (!subscription) {
    connection.end();
    return;
  }
  const followed = subscription;
  // While the client reads slowly, events wait in the subscription (bounded) rather than in the socket.
  const pump = () => {
    if (!waitingForDrain && !followed.closed) write(followed.take());
  };
  connection.on('drain', () => {
    waitingForDrain = false;
    pump();
  });
  followed.onReady(pump);
  followed.onEnd((why) => {
    if (why === 'closed') {
      // The agent is stopping: what was queued goes out, then the end.
      write(followed.take());
      connection.end();
      return;
    }
    connection.end(
      errorLine(
        'TANDEM_EEVENTS_SLOW',
        `this reader fell more than ${followed.limit} events behind and was dropped; the agent does not wait for readers`,
      ),
    );
  });
  connection.on('close', () => followed.close());
}

/**
 * `tandem events [--follow] [--json]`: what the running agent did and does, read from its control socket
 * (protocol in events-stream.ts). Without --follow it prints the recent events and exits; with it, it goes on
 * until the agent stops or the user interrupts. One line per event: readable text, or with --json the event
 * object exactly as the agent sent it.
 */
import net from 'node:net';
import type { CommandModule } from 'yargs';
import { TandemError } from '../errors.js';
import { type ControlSocketArguments, controlSocketOptions, controlSocketPathOf } from './control-path.js';
import type { TandemEvent } from './events.js';
import { EVENTS_COMMAND, type EventsHeader } from './events-stream.js';
import { formatFieldValue, formatLocalTime } from './log-format.js';

/** The agent must say it streams within this long; after that the stream may be quiet for as long as it likes. */
const HEADER_TIMEOUT_MS = 5000;
/** A line longer than this is not an event (they are a few hundred bytes): the stream is refused. */
export const MAX_EVENT_LINE_BYTES = 1024 * 1024;

export class EventsError extends TandemError {}

interface EventsArguments extends ControlSocketArguments {
  follow: boolean;
  json: boolean;
}

const TYPE_WIDTH = 11;

function owner(event: { instance?: string | undefined; syncGroup?: string | undefined }): string {
  return event.instance ?? `group ${event.syncGroup ?? '?'}`;
}

function seconds(milliseconds: number): string {
  return milliseconds < 1000 ? `${Math.round(milliseconds)}ms` : `${(milliseconds / 1000).toFixed(2)}s`;
}

function names(list: readonly string[]): string {
  return list.length > 0 ? list.join(',') : '-';
}

/** What an event says, after its time and type. */
function describe(event: TandemEvent): string {
  switch (event.type) {
    case 'transition':
      return (
        `${event.instance} ${event.from} -> ${event.to} reason=${event.reason} priority=${event.priority}` +
        (event.master !== undefined ? ` master=${event.master}` : '')
      );
    case 'hook-start':
      return `${owner(event)} ${event.hook} ${event.state} started`;
    case 'hook-end': {
      const how =
        event.outcome === 'timeout'
          ? `killed at its timeout${event.signal ? ` (${event.signal})` : ''}`
          : event.exitCode !== null
            ? `exit=${event.exitCode}`
            : `signal=${event.signal ?? 'none'}`;
      return `${owner(event)} ${event.hook} ${event.state} ${event.outcome} ${how} after ${seconds(event.durationMs)}`;
    }
    case 'tracker':
      return `${event.kind} ${event.name} ${event.from} -> ${event.state}`;
    case 'discard':
      return (
        `${event.instance} ${event.reason} from ${event.source} count=${event.count}` +
        (event.suppressed > 0 ? ` (+${event.suppressed} not shown)` : '') +
        ` detail=${formatFieldValue(event.detail)}`
      );
    case 'reload':
      return event.ok
        ? `ok kept=${names(event.kept)} stopped=${names(event.stopped)} started=${names(event.started)}`
        : `refused: ${event.error ?? 'unknown error'}`;
    case 'split-brain':
      return (
        `${event.instance} another MASTER ${event.peer} (priority ${event.peerPriority}, ours ${event.priority}) ` +
        `on ${event.interface} vrid ${event.vrid}`
      );
    default: {
      // An agent newer than this client may send types it does not know: show them rather than fail.
      const unknown = event as unknown as Record<string, unknown>;
      const { seq: _seq, time: _time, type: _type, ...rest } = unknown;
      return JSON.stringify(rest);
    }
  }
}

/** One event as one readable line (no newline): local time, type, what happened. */
export function formatEvent(event: TandemEvent): string {
  const time = Number.isNaN(Date.parse(event.time)) ? event.time : formatLocalTime(new Date(event.time));
  return `${time} ${String(event.type).padEnd(TYPE_WIDTH)} ${describe(event)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Connects, asks for the events and calls `onEvent` for each one until the agent ends the stream. Rejects with
 * an EventsError (or the agent's own error code) when the agent cannot be reached, refuses, or sends something
 * that is not the protocol.
 */
export function streamEvents(
  path: string,
  options: { follow: boolean; headerTimeoutMs?: number },
  onEvent: (event: TandemEvent) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const connection = net.createConnection(path);
    let buffered = '';
    let header: EventsHeader | undefined;
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      connection.destroy();
      if (error) reject(error);
      else resolve();
    };
    connection.setEncoding('utf8');
    connection.setTimeout(options.headerTimeoutMs ?? HEADER_TIMEOUT_MS, () =>
      finish(new EventsError('TANDEM_EEVENTS_TIMEOUT', `no answer from ${path} within the time allowed`)),
    );
    connection.on('connect', () =>
      connection.write(JSON.stringify({ command: EVENTS_COMMAND, follow: options.follow }) + '\n'),
    );
    connection.on('error', (error: NodeJS.ErrnoException) =>
      finish(
        new EventsError(
          'TANDEM_EEVENTS_CONNECT',
          `cannot reach the agent at ${path} (${error.code ?? error.message}): is tandem running?`,
        ),
      ),
    );
    const line = (text: string) => {
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        throw new EventsError(
          'TANDEM_EEVENTS_RESPONSE',
          `the agent sent a line that is not JSON: ${text.slice(0, 200)}`,
        );
      }
      if (!isObject(message))
        throw new EventsError('TANDEM_EEVENTS_RESPONSE', `expected a JSON object, got ${text.slice(0, 200)}`);
      if (message.ok === false) {
        const error = isObject(message.error) ? message.error : {};
        const code = typeof error.code === 'string' ? error.code : 'TANDEM_EEVENTS';
        const detail = typeof error.message === 'string' ? error.message : 'the agent refused';
        throw new EventsError(
          code,
          code === 'TANDEM_ECONTROL_COMMAND'
            ? `this agent does not stream events (an older tandem?): ${detail}`
            : detail,
        );
      }
      if (!header) {
        const result = message.ok === true && isObject(message.result) ? message.result : undefined;
        if (result?.stream !== 'events')
          throw new EventsError(
            'TANDEM_EEVENTS_RESPONSE',
            `expected the events stream header, got ${text.slice(0, 200)}`,
          );
        header = result as unknown as EventsHeader;
        // Events may be minutes apart: a followed stream has no timeout once it has begun.
        connection.setTimeout(0);
        return;
      }
      if (typeof message.type !== 'string' || typeof message.seq !== 'number')
        throw new EventsError(
          'TANDEM_EEVENTS_RESPONSE',
          `expected an event with a type and a seq, got ${text.slice(0, 200)}`,
        );
      onEvent(message as unknown as TandemEvent);
    };
    connection.on('data', (chunk: string) => {
      buffered += chunk;
      try {
        for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
          const text = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (text !== '') line(text);
        }
        if (buffered.length > MAX_EVENT_LINE_BYTES)
          throw new EventsError(
            'TANDEM_EEVENTS_RESPONSE',
            `a line longer than ${MAX_EVENT_LINE_BYTES} bytes`,
          );
      } catch (error) {
        finish(error as Error);
      }
    });
    connection.on('end', () => {
      if (!header)
        finish(
          new EventsError('TANDEM_EEVENTS_RESPONSE', 'the agent closed the connection without answering'),
        );
      else finish();
    });
  });
}

export const eventsCommand: CommandModule<object, EventsArguments> = {
  command: 'events',
  describe: "show the running agent's events: transitions, hook runs, tracker changes, discards, reloads",
  builder: (yargs) =>
    controlSocketOptions(yargs)
      .option('follow', {
        type: 'boolean',
        default: false,
        describe: 'keep printing new events as they happen',
      })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON object per line' }),
  handler: async (argv) => {
    // `tandem events --follow | head` closes stdout early: that is the reader's choice, not an error.
    process.stdout.on('error', () => process.exit(0));
    try {
      await streamEvents(controlSocketPathOf(argv), { follow: argv.follow }, (event) =>
        process.stdout.write((argv.json ? JSON.stringify(event) : formatEvent(event)) + '\n'),
      );
    } catch (error) {
      const code = error instanceof TandemError ? `${error.code}: ` : '';
      process.stderr.write(
        `tandem events: ${code}${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  },
};

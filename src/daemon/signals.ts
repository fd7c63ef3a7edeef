/**
 * What each signal does to a running agent, in one table, and the guard that keeps SIGUSR1 from starting
 * Node's inspector.
 *
 * Node starts its inspector (a debugger on 127.0.0.1:9229 that runs any code it is sent) when the process gets
 * SIGUSR1 and no JavaScript listener for it is installed. In a root agent that hands root to every local user,
 * so `guardSignals()` runs first thing (src/daemon/early-signals.ts, the first import of the CLI) and its
 * listeners are never removed: removing the last one would give SIGUSR1 back its default action (exit).
 * Until the agent says what to do with them, the dump signals are ignored.
 *
 * keepalived's numbers (`keepalived --signum=NAME`, lib/signals.h of keepalived 2.2): DATA is SIGUSR1, STATS
 * SIGUSR2, JSON SIGRTMIN+2 and STATS_CLEAR SIGRTMAX-1; on Linux with glibc SIGRTMIN is 34 and SIGRTMAX 64.
 * Node's `process.on` only knows named signals, so the two real-time ones are watched through libuv's signal
 * handle, which Node exposes only as the legacy `signal_wrap` binding (see `watchNumberedSignal`).
 */
import inspector from 'node:inspector';

/** keepalived --signum=JSON on Linux/glibc: SIGRTMIN + 2. */
export const SIGNAL_JSON = 36;
/** keepalived --signum=STATS_CLEAR on Linux/glibc: SIGRTMAX - 1. */
export const SIGNAL_STATS_CLEAR = 63;

/** The three dumps (dump.ts): human-readable data, statistics, and the data as JSON. */
export type DumpKind = 'data' | 'stats' | 'json';

/** The signals that ask for a dump, by keepalived's meaning. */
const DUMP_SIGNALS: { signal: NodeJS.Signals | number; name: string; kind: DumpKind }[] = [
  { signal: 'SIGUSR1', name: 'SIGUSR1', kind: 'data' },
  { signal: 'SIGUSR2', name: 'SIGUSR2', kind: 'stats' },
  { signal: SIGNAL_JSON, name: 'SIGRTMIN+2', kind: 'json' },
  // keepalived also clears its counters here; tandem's only grow (they are Prometheus counters).
  { signal: SIGNAL_STATS_CLEAR, name: 'SIGRTMAX-1', kind: 'stats' },
];

/** Graceful stop (priority-0 adverts, VIPs released), as keepalived does on TERM and INT. */
export const STOP_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGQUIT'];

/**
 * Signals whose default action would end or suspend the agent without a handover (a stale VIP and a dual
 * MASTER after Master_Down_Interval): the agent ignores them and says so in the log. SIGKILL and SIGSTOP cannot
 * be caught; SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP and SIGSYS are crashes and stay crashes.
 */
export const IGNORED_SIGNALS: NodeJS.Signals[] = [
  'SIGALRM',
  'SIGVTALRM',
  'SIGPROF',
  'SIGIO',
  'SIGPWR',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGSTKFLT',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
];

/** An ignored signal is logged at most once per this many ms per signal (a flood must not flood the log). */
const IGNORED_LOG_INTERVAL_MS = 10_000;

type DumpListener = (kind: DumpKind, signal: string) => void;

/** Until the agent names one, the dump signals do nothing. */
let dumpListener: DumpListener | undefined;
let guarded = false;
let closedEarly = false;
/** Numbered signals that could not be watched (no signal_wrap in this Node.js), for the start-up log. */
const unwatched: string[] = [];

interface SignalHandle {
  onsignal: (signum: number) => void;
  start(signum: number): number;
  unref(): void;
}

/**
 * Watches a signal Node has no name for. libuv can watch any signal, but Node hands that only to named ones;
 * the legacy `process.binding('signal_wrap')` is the libuv signal handle itself. Its deprecation warning is
 * held back for that one access (it says nothing an operator can act on). Returns false where this Node.js no
 * longer offers it: the signal then keeps its default action.
 */
function watchNumberedSignal(signum: number, listener: () => void): boolean {
  const quiet = process.noDeprecation;
  try {
    process.noDeprecation = true;
    const binding = (process as unknown as { binding(name: string): unknown }).binding('signal_wrap') as {
      Signal: new () => SignalHandle;
    };
    const handle = new binding.Signal();
    handle.onsignal = () => listener();
    if (handle.start(signum) !== 0) return false;
    handle.unref();
    return true;
  } catch {
    return false;
  } finally {
    process.noDeprecation = quiet;
  }
}

/**
 * Installs the dump signals' listeners once, for the life of the process; until `onDumpSignal` names a
 * listener they do nothing. Closes an inspector a SIGUSR1 may have opened before this ran (one asked for with
 * --inspect is left to the command: `tandem run` refuses to start under it).
 */
export function guardSignals(): void {
  if (guarded) return;
  guarded = true;
  for (const { signal, name, kind } of DUMP_SIGNALS) {
    const listener = () => dumpListener?.(kind, name);
    if (typeof signal === 'string') process.on(signal, listener);
    else if (!watchNumberedSignal(signal, listener)) unwatched.push(name);
  }
  if (inspectorOptions().length === 0) closedEarly = closeInspector();
}

/** Whether guardSignals found the inspector open (a SIGUSR1 while Node was starting) and closed it. */
export function inspectorClosedEarly(): boolean {
  return closedEarly;
}

/** Closes the inspector if it listens; returns whether it did. */
export function closeInspector(): boolean {
  try {
    if (inspector.url() === undefined) return false;
    inspector.close();
    return true;
  } catch {
    // A Node.js built without the inspector: there is nothing to close.
    return false;
  }
}

/** Routes the dump signals to `listener` (the running agent). */
export function onDumpSignal(listener: DumpListener): void {
  dumpListener = listener;
}

/** The dump signals this Node.js could not watch (they keep their default action). */
export function unwatchedSignals(): readonly string[] {
  return unwatched;
}

/** The inspector options an operator may have given: in node's own arguments, or in NODE_OPTIONS. */
export function inspectorOptions(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): string[] {
  const words = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  return words.filter((word) => /^--(inspect|debug)(-|=|$)/.test(word));
}

export interface AgentSignalHandlers {
  /** Graceful stop; a second stop signal means "now". */
  stop(signal: string): void;
  reload(): void;
  dump(kind: DumpKind, signal: string): void;
  /** A signal the agent ignores (IGNORED_SIGNALS), with how many came since the last log line. */
  ignored(signal: string, count: number): void;
}

/** Installs the agent's signal table for the rest of the process's life. */
export function handleAgentSignals(handlers: AgentSignalHandlers): void {
  const on = (signal: NodeJS.Signals, listener: () => void) => process.on(signal, listener);
  for (const signal of STOP_SIGNALS) on(signal, () => handlers.stop(signal));
  on('SIGHUP', () => handlers.reload());
  const lastLogged = new Map<string, { at: number; count: number }>();
  for (const signal of IGNORED_SIGNALS) {
    on(signal, () => {
      const seen = lastLogged.get(signal) ?? { at: -Infinity, count: 0 };
      seen.count++;
      const now = performance.now();
      if (now - seen.at >= IGNORED_LOG_INTERVAL_MS) {
        handlers.ignored(signal, seen.count);
        seen.at = now;
        seen.count = 0;
      }
      lastLogged.set(signal, seen);
    });
  }
  guardSignals();
  onDumpSignal((kind, signal) => handlers.dump(kind, signal));
}

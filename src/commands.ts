/**
 * The command table of `tandem` and what the entry point can do without yargs. Start-up cost is paid on every
 * command and on every restart of the agent: yargs alone costs about as much CPU as Node.js's own start, the lab
 * brings fast-xml-parser and the drills, and `run` needs neither. So `src/cli.ts` loads only the module of the
 * command asked for, prints the top-level help and version itself, and parses a well-formed `tandem run` with
 * Node's own `util.parseArgs`. Anything else (a command's --help, an error in the arguments, the other commands)
 * goes through yargs as before, so help and error messages keep one author.
 */
import { parseArgs } from 'node:util';
import type { CommandModule } from 'yargs';
import type { RunArguments } from './daemon/run-command.js';

export interface CommandEntry {
  /** As yargs shows it (`lab <command>`). */
  usage: string;
  /** The same one-line description as the module's `describe` (a test holds them together). */
  describe: string;
  load(): Promise<CommandModule<object, never>>;
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  check: {
    usage: 'check',
    describe: 'check a keepalived.conf-syntax configuration and report every problem',
    load: async () => (await import('./daemon/check-command.js')).checkCommand as never,
  },
  run: {
    usage: 'run',
    describe: 'run the agent in the foreground',
    load: async () => (await import('./daemon/run-command.js')).runCommand as never,
  },
  status: {
    usage: 'status',
    describe: "show the running agent's instances",
    load: async () => (await import('./daemon/status-command.js')).statusCommand as never,
  },
  switchover: {
    usage: 'switchover [instance]',
    describe: 'hand MASTER instances over to a backup without losing traffic, and stay BACKUP',
    load: async () => (await import('./daemon/switchover-command.js')).switchoverCommand as never,
  },
  maintenance: {
    usage: 'maintenance <mode> [instance]',
    describe: 'take instances out of service (hand over, then hold FAULT) or back in; kept across restarts',
    load: async () => (await import('./daemon/switchover-command.js')).maintenanceCommand as never,
  },
  events: {
    usage: 'events',
    describe: "show the running agent's events: transitions, hook runs, tracker changes, discards, reloads",
    load: async () => (await import('./daemon/events-command.js')).eventsCommand as never,
  },
  carp: {
    usage: 'carp',
    describe: "run one CARP virtual host with ucarp's command line (tandem carp --help)",
    load: async () => (await import('./daemon/carp-command.js')).carpCommand as never,
  },
  lab: {
    usage: 'lab <command>',
    describe: 'network-namespace lab: failover drills measured from a client (root only)',
    load: async () => (await import('../netns-lab/command.js')).labCommand as never,
  },
};

export const USAGE = '$0 <command> [options]\n\nVRRP/CARP high-availability failover agent for Linux.';
export const NO_COMMAND = 'name a command: run, check, status, events, switchover, maintenance, carp or lab';

/** The top-level help, laid out as yargs lays it out. */
export function topLevelHelp(columns = Math.min(80, process.stdout.columns ?? 80)): string {
  const usages = Object.values(COMMANDS).map((entry) => `tandem ${entry.usage}`);
  const width = Math.max(...usages.map((usage) => usage.length)) + 2;
  const wrap = (text: string, room: number): string[] => {
    const lines: string[] = [];
    let line = '';
    for (const word of text.split(' ')) {
      if (line && line.length + 1 + word.length > room) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    return [...lines, line];
  };
  const commands = Object.values(COMMANDS).flatMap((entry, index) =>
    wrap(entry.describe, columns - 2 - width).map(
      (text, row) => `  ${(row === 0 ? (usages[index] as string) : '').padEnd(width)}${text}`,
    ),
  );
  const option = (name: string, text: string) => {
    const head = `  ${name.padEnd(11)}${text}`;
    return `${head}${'[boolean]'.padStart(columns - head.length)}`;
  };
  return [
    USAGE.replace('$0', 'tandem'),
    '',
    'Commands:',
    ...commands,
    '',
    'Options:',
    option('--help', 'Show help'),
    option('--version', 'Show version number'),
    '',
  ].join('\n');
}

/**
 * `tandem run` arguments read without yargs, or `undefined` when they are anything but plain and valid (unknown
 * or repeated options, positionals, a missing file, a log level out of `logLevels` or a log format out of
 * `logFormats`, --help, a short option with its value attached or grouped): those go to yargs, which says what
 * is wrong the way every other command does.
 */
export function parseRunArguments(
  args: readonly string[],
  logLevels: readonly string[],
  logFormats: readonly string[],
): RunArguments | undefined {
  // A short option with its value attached or grouped (`-fx`, `-f=x`, `-Df`) reads differently in the parsers.
  if (args.some((arg) => /^-[^-]./.test(arg))) return undefined;
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: true,
      tokens: true,
      options: {
        file: { type: 'string', short: 'f' },
        lenient: { type: 'boolean' },
        'config-id': { type: 'string', short: 'i' },
        'runtime-dir': { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        'log-detail': { type: 'boolean', short: 'D' },
      },
    });
  } catch {
    return undefined;
  }
  const names = parsed.tokens.filter((token) => token.kind === 'option').map((token) => token.name);
  if (parsed.positionals.length > 0 || new Set(names).size !== names.length) return undefined;
  const { file, lenient = false, 'config-id': configId, 'runtime-dir': runtimeDir } = parsed.values;
  const {
    'log-level': logLevel,
    'log-format': logFormat = 'auto',
    'log-detail': logDetail = false,
  } = parsed.values;
  if (file === undefined || file === '') return undefined;
  if ((logLevel !== undefined && !logLevels.includes(logLevel)) || !logFormats.includes(logFormat))
    return undefined;
  return {
    file,
    lenient,
    'log-format': logFormat as NonNullable<RunArguments['log-format']>,
    'log-detail': logDetail,
    ...(logLevel !== undefined ? { 'log-level': logLevel as NonNullable<RunArguments['log-level']> } : {}),
    ...(configId !== undefined ? { 'config-id': configId } : {}),
    ...(runtimeDir !== undefined ? { 'runtime-dir': runtimeDir } : {}),
  };
}

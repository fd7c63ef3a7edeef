#!/usr/bin/env node
/**
 * The `tandem` entry point. It loads only what the command asks for (see src/commands.ts for why):
 * `tandem`, `--help` and `--version` load nothing; a plain `tandem run` loads the agent and not yargs; any
 * other command loads yargs and that command's module alone.
 */
// First, before any other module loads: SIGUSR1 must never start Node's inspector (src/daemon/signals.ts).
import './daemon/early-signals.js';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { COMMANDS, NO_COMMAND, USAGE, parseRunArguments, topLevelHelp } from './commands.js';

const args = process.argv.slice(2);
const [first] = args;

function version(): string {
  // src/cli.ts (tsx) sits one level below the package root, dist/src/cli.js (built) two.
  const path = import.meta.url.endsWith('.js') ? '../../package.json' : '../package.json';
  return (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version: string }).version;
}

async function viaYargs(names: readonly string[]): Promise<void> {
  const [{ default: yargs }, { hideBin }, modules] = await Promise.all([
    import('yargs'),
    import('yargs/helpers'),
    Promise.all(names.map((name) => (COMMANDS[name] as (typeof COMMANDS)[string]).load())),
  ]);
  let parser = yargs(hideBin(process.argv)).scriptName('tandem').usage(USAGE);
  for (const module of modules) parser = parser.command(module);
  await parser.demandCommand(1, NO_COMMAND).strict().help().version(version()).parseAsync();
}

if (args.length === 1 && first === '--help') {
  process.stdout.write(topLevelHelp());
} else if (args.length === 1 && first === '--version') {
  process.stdout.write(`${version()}\n`);
} else if (args.length === 0) {
  process.stderr.write(`${topLevelHelp()}\n${NO_COMMAND}\n`);
  process.exitCode = 1;
} else if (first === 'run') {
  // The agent's young generation stays at V8's initial 1 MiB semi-spaces instead of growing to 16 MiB: the
  // agent allocates little per packet (docs/performance.md), and a grown young generation was 10 to 20 MiB of
  // its resident set at 200 instances. V8 reads this flag whenever it would grow the space, so setting it here,
  // before the agent's modules load, works from every way of starting tandem (issue 11).
  setFlagsFromString('--semi-space-growth-factor=1');
  const { LOG_FORMATS, LOG_LEVELS, runCommand } = await import('./daemon/run-command.js');
  const parsed = parseRunArguments(args.slice(1), LOG_LEVELS, LOG_FORMATS);
  if (parsed) await runCommand.handler({ ...parsed, _: ['run'], $0: 'tandem' } as never);
  else await viaYargs(['run']);
} else if (first === 'carp') {
  // ucarp's command line is not yargs': the command parses it as ucarp does (src/carp/ucarp-options.ts).
  const { runCarpCommand } = await import('./daemon/carp-command.js');
  await runCarpCommand(args.slice(1));
} else {
  await viaYargs(first !== undefined && Object.hasOwn(COMMANDS, first) ? [first] : Object.keys(COMMANDS));
}

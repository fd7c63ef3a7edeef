/**
 * The entry point's fast paths (src/commands.ts) against yargs, which stays the author of everything else: the
 * top-level help is yargs' text for the same commands, each table entry describes its command as the module
 * does, and a plain `tandem run` reads the same arguments through util.parseArgs as through the run builder,
 * while anything unusual is left to yargs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import yargs, { type Argv } from 'yargs';
import { COMMANDS, NO_COMMAND, USAGE, parseRunArguments, topLevelHelp } from '../src/commands.js';
import { LOG_FORMATS, LOG_LEVELS, runCommand } from '../src/daemon/run-command.js';

test('the top-level help is the text yargs prints for the same commands', async () => {
  const modules = await Promise.all(Object.values(COMMANDS).map((entry) => entry.load()));
  let parser = yargs([]).scriptName('tandem').usage(USAGE).wrap(80);
  for (const module of modules) parser = parser.command(module);
  const expected = await parser.demandCommand(1, NO_COMMAND).strict().help().version('0.0.0').getHelp();
  assert.equal(topLevelHelp(80), `${expected}\n`);
});

test("each command's table entry is the module's own command and description", async () => {
  for (const [name, entry] of Object.entries(COMMANDS)) {
    const module = await entry.load();
    assert.equal(module.command, entry.usage, name);
    assert.equal(module.describe, entry.describe, name);
  }
});

/** What the run handler reads, as the run builder parses it. */
function viaYargs(args: string[]) {
  const builder = runCommand.builder as (parser: Argv) => Argv;
  const argv = builder(yargs(args))
    .strict()
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new Error(message);
    })
    .parseSync() as Record<string, unknown>;
  const picked: Record<string, unknown> = {
    file: argv.file,
    lenient: argv.lenient,
    'log-format': argv['log-format'],
    'log-detail': argv['log-detail'],
  };
  for (const key of ['config-id', 'runtime-dir', 'log-level'])
    if (argv[key] !== undefined) picked[key] = argv[key];
  return picked;
}

test('a plain `tandem run` reads the same arguments with util.parseArgs as with yargs', () => {
  const plain = [
    ['-f', 'x.conf'],
    ['--file', 'x.conf'],
    ['--file=x.conf'],
    ['-f', 'x.conf', '--lenient'],
    ['--lenient', '-f', 'x.conf', '-i', 'lb1'],
    ['--config-id=lb1', '-f', 'x.conf'],
    ['-f', 'x.conf', '--runtime-dir', '/run/t', '--log-level', 'debug'],
    ['-f', 'x.conf', '--log-level=warn', '--runtime-dir=/run/t'],
    ['-f', 'x.conf', '-D'],
    ['-D', '-f', 'x.conf', '--log-format', 'text', '--log-level', 'warn'],
    ['-f', 'x.conf', '--log-detail', '--log-format=json'],
  ];
  for (const args of plain) {
    assert.deepEqual(parseRunArguments(args, LOG_LEVELS, LOG_FORMATS), viaYargs(args), args.join(' '));
  }
});

test('anything unusual is left to yargs', () => {
  const unusual = [
    [],
    ['--help'],
    ['--version'],
    ['--lenient'],
    ['-f'],
    ['-f', 'x.conf', '--bogus'],
    ['-f', 'x.conf', 'extra'],
    ['-f', 'a.conf', '-f', 'b.conf'],
    ['-f', 'x.conf', '--log-level', 'loud'],
    ['-f', 'x.conf', '--log-format', 'fancy'],
    ['-Df', 'x.conf'],
    ['-f', 'x.conf', '--no-lenient'],
    ['-f', 'x.conf', '--lenient=false'],
    ['-f', 'x.conf', '--lenient', 'true'],
    ['-fx.conf'],
    ['-f=x.conf'],
    ['-f', ''],
  ];
  for (const args of unusual)
    assert.equal(parseRunArguments(args, LOG_LEVELS, LOG_FORMATS), undefined, args.join(' '));
});

test('tandem --version prints the package version; no command prints the help and fails', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8' });
  const version = cli('--version');
  assert.equal(version.status, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  const none = cli();
  assert.equal(none.status, 1);
  assert.match(
    none.stderr,
    /Commands:[\s\S]*name a command: run, check, status, events, switchover, maintenance, carp or lab\n$/,
  );
  const unknown = cli('bogus');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /Unknown argument: bogus/);
});

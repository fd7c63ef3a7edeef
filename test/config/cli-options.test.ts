/** The configuration options `tandem check` and `tandem run` share: -f/--file, --lenient, -i/--config-id. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import yargs from 'yargs';
import { configOptions, loadOptionsOf, type ConfigArguments } from '../../src/config/cli-options.js';
import { checkCommand } from '../../src/daemon/check-command.js';
import { runCommand } from '../../src/daemon/run-command.js';

function parse(args: string[]): ConfigArguments {
  return configOptions(yargs().exitProcess(false).fail(false)).strict().parseSync(args);
}

test('the options read -f, --lenient and -i into the loader options', () => {
  const argv = parse(['-f', 'keepalived.conf', '--lenient', '-i', 'backup']);
  assert.equal(argv.file, 'keepalived.conf');
  assert.deepEqual(loadOptionsOf(argv), { lenient: true, configId: 'backup' });
  const long = parse(['--file', 'a.conf', '--config-id', 'master']);
  assert.deepEqual(loadOptionsOf(long), { lenient: false, configId: 'master' });
});

test('without --config-id the loader chooses the id (no configId key)', () => {
  assert.deepEqual(loadOptionsOf(parse(['-f', 'a.conf'])), { lenient: false });
});

type Builder = (y: ReturnType<typeof yargs>) => ReturnType<typeof yargs>;

/** The options part of a command's --help, with its line wrapping undone. */
async function optionsHelp(command: typeof checkCommand | typeof runCommand): Promise<string> {
  const help = await (command.builder as Builder)(yargs()).getHelp();
  return help.replace(/\s+/g, ' ');
}

test('check and run describe the shared options in the same words', async () => {
  const shared = [
    '-f, --file configuration file [string] [required]',
    '--lenient report keepalived keywords tandem does not implement as warnings, not errors [boolean] [default: false]',
    "-i, --config-id select '@ID' lines (keepalived's -i); default: the host name up to the first dot [string]",
  ];
  for (const command of [checkCommand, runCommand]) {
    const help = await optionsHelp(command);
    for (const line of shared) assert.ok(help.includes(line), `${command.command as string} --help: ${line}`);
  }
});

test('check and run parse the shared options alike, and both require -f', () => {
  for (const command of [checkCommand, runCommand]) {
    const parser = () => (command.builder as Builder)(yargs().exitProcess(false).fail(false));
    const argv = parser().parseSync(['-f', 'a.conf', '-i', 'backup', '--lenient']);
    assert.deepEqual(
      [argv.file, argv['config-id'], argv.lenient],
      ['a.conf', 'backup', true],
      command.command as string,
    );
    assert.throws(() => parser().parseSync(['--lenient']), /Missing required argument: file/);
  }
});

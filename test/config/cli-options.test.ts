/** The configuration options `tandem check` and `tandem run` share: -f/--file, --lenient, -i/--config-id. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import yargs from 'yargs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  configOptions,
  DEFAULT_CONFIG_FILES,
  loadOptionsOf,
  type ConfigArguments,
} from '../../src/config/cli-options.js';
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
  const help = await (command.builder as Builder)(yargs(['-f', 'x.conf'])).getHelp();
  return help.replace(/\s+/g, ' ');
}

test('check and run describe the shared options in the same words', async () => {
  const shared = [
    '-f, --file configuration file (default: /etc/tandem/tandem.conf, else /etc/keepalived/keepalived.conf) [string]',
    '--lenient report keepalived keywords tandem does not implement as warnings, not errors [boolean] [default: false]',
    "-i, --config-id select '@ID' lines (keepalived's -i); default: the host name up to the first dot [string]",
  ];
  for (const command of [checkCommand, runCommand]) {
    const help = await optionsHelp(command);
    for (const line of shared) assert.ok(help.includes(line), `${command.command as string} --help: ${line}`);
  }
});

test('check and run parse the shared options alike', () => {
  for (const command of [checkCommand, runCommand]) {
    const parser = () => (command.builder as Builder)(yargs().exitProcess(false).fail(false));
    const argv = parser().parseSync(['-f', 'a.conf', '-i', 'backup', '--lenient']);
    assert.deepEqual(
      [argv.file, argv['config-id'], argv.lenient],
      ['a.conf', 'backup', true],
      command.command as string,
    );
  }
});

test('without -f: the first default file that exists, said on one line; none: an error naming every one', () => {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-default-config-'));
  try {
    const tandemConf = join(directory, 'tandem.conf');
    const keepalivedConf = join(directory, 'keepalived.conf');
    const said: string[] = [];
    const parse = (args: string[]) =>
      configOptions(yargs().exitProcess(false).fail(false), {
        candidates: [tandemConf, keepalivedConf],
        say: (line) => said.push(line),
      })
        .strict()
        .parseSync(args);
    assert.throws(
      () => parse([]),
      new RegExp(
        `no configuration file: neither ${tandemConf} nor ${keepalivedConf} exists; name one with -f FILE`,
      ),
    );
    writeFileSync(keepalivedConf, '');
    assert.equal(parse([]).file, keepalivedConf);
    writeFileSync(tandemConf, '');
    assert.equal(parse(['--lenient']).file, tandemConf);
    assert.deepEqual(said, [
      `tandem: no -f given; reading ${keepalivedConf}\n`,
      `tandem: no -f given; reading ${tandemConf}\n`,
    ]);
    // -f wins, and nothing is said.
    assert.equal(parse(['-f', 'x.conf']).file, 'x.conf');
    assert.equal(said.length, 2);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  assert.deepEqual(DEFAULT_CONFIG_FILES, ['/etc/tandem/tandem.conf', '/etc/keepalived/keepalived.conf']);
});

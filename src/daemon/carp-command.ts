/**
 * `tandem carp [ucarp options]`: one CARP virtual host with ucarp 1.5's command line and meaning (docs/carp.md,
 * "tandem carp: the ucarp command line"). The options are parsed as ucarp parses them (`carp/ucarp-options.ts`);
 * the VIP is left to the up and down scripts, called exactly as ucarp calls them (`SCRIPT INTERFACE VIP
 * [XPARAM]`); everything else is `tandem run`'s: the same agent, locks, signals, control socket (so `tandem
 * status` shows the instance) and JSON logs, with tandem's own `--runtime-dir` and `--log-level`.
 */
import { readFile } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import {
  type UcarpOptions,
  UCARP_USAGE,
  parseUcarpArguments,
  passwordFromPassfile,
} from '../carp/ucarp-options.js';
import { memoryFileSystem } from '../config/files.js';
import { loadConfig } from '../config/loader.js';
import type { CarpInstanceConfig, TandemConfig } from '../config/schema.js';
import { carpAsInstance } from './carp-instances.js';

const DESCRIBE = "run one CARP virtual host with ucarp's command line (tandem carp --help)";
/** Where the command line's settings come from, for positions in the status and logs. */
const COMMAND_LINE = '(tandem carp)';

function fail(lines: readonly string[], code = 1): void {
  for (const line of lines) process.stderr.write(`tandem carp: ${line}\n`);
  process.exitCode = code;
}

/** The passphrase as ucarp reads it: `-p` as given, `-o` the first line of the file. */
async function passphraseOf(options: UcarpOptions): Promise<string | Uint8Array | undefined> {
  if (options.password.from === 'argument') return options.password.value;
  const path = options.password.path;
  let contents: Uint8Array;
  try {
    contents = await readFile(path);
  } catch (error) {
    fail([`can't open passfile ${path}: ${(error as Error).message}`]);
    return undefined;
  }
  const read = passwordFromPassfile(contents, path);
  if (!read.ok) {
    fail([read.error]);
    return undefined;
  }
  return read.password;
}

/** The agent's configuration: global defaults, and the command line's virtual host as its one instance. */
export async function carpConfig(
  options: UcarpOptions,
  passphrase: string | Uint8Array,
): Promise<TandemConfig> {
  const loaded = await loadConfig(COMMAND_LINE, { files: memoryFileSystem({ [COMMAND_LINE]: '' }) });
  if (!loaded.config) throw new Error('the default configuration did not load');
  const source = { file: COMMAND_LINE, line: 1, column: 1 };
  const carp: CarpInstanceConfig = {
    name: `carp${options.vhid}`,
    source,
    interface: options.interface,
    vhid: options.vhid,
    advbaseSeconds: options.advbase,
    advskew: options.advskew,
    family: 4,
    vips: [],
    preempt: options.preempt,
    srcIp: options.sourceAddress,
    unicastPeers: [],
    mcastDstIp: options.multicastGroup,
    deadratio: options.deadRatio,
    neutral: options.neutral,
    dontTrackPrimary: options.ignoreInterfaceState,
    trackInterfaces: [],
    trackScripts: [],
    trackFiles: [],
    trackProcesses: [],
    notify: {},
    services: [],
  };
  const entry = carpAsInstance(carp, loaded.config.global, {
    ...(options.upscript !== undefined ? { up: options.upscript } : {}),
    ...(options.downscript !== undefined ? { down: options.downscript } : {}),
    virtualAddress: options.virtualAddress,
    ...(options.extraParameter !== undefined ? { extraParameter: options.extraParameter } : {}),
    neutral: options.neutral,
    shutdownAtExit: options.shutdownAtExit,
  });
  entry.carp.passphrase = { value: passphrase };
  // The VIP is the scripts' to add; tandem knows it for the HMAC, the announcements and the status.
  entry.carp.hashedAddresses = [options.virtualAddress];
  return { ...loaded.config, instances: [entry], carpInstances: [] };
}

/** Runs `tandem carp` with the arguments that follow `carp`. */
export async function runCarpCommand(args: readonly string[]): Promise<void> {
  const parsed = parseUcarpArguments(args);
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text);
    return;
  }
  for (const warning of parsed.warnings) process.stderr.write(`tandem carp: ${warning}\n`);
  if (parsed.kind === 'error') {
    fail([...parsed.errors, "try 'tandem carp --help'"]);
    return;
  }
  const options = parsed.options;
  if (options.daemonize)
    process.stderr.write('tandem carp: -B ignored: tandem runs in the foreground (use a service manager)\n');
  if (options.broadcast)
    process.stderr.write(
      "tandem carp: -M ignored: adverts go to the group's multicast MAC (peers accept both)\n",
    );
  const passphrase = await passphraseOf(options);
  if (passphrase === undefined) return;
  const config = await carpConfig(options, passphrase);
  const { runCommand } = await import('./run-command.js');
  await runCommand.handler({
    file: COMMAND_LINE,
    lenient: false,
    'log-level': options.logLevel,
    ...(options.runtimeDirectory !== undefined ? { 'runtime-dir': options.runtimeDirectory } : {}),
    config,
    _: ['carp'],
    $0: 'tandem',
  } as never);
}

/** For yargs' help and the command table; `src/cli.ts` hands `tandem carp ...` to `runCarpCommand` directly. */
export const carpCommand: CommandModule<object, object> = {
  command: 'carp',
  describe: DESCRIBE,
  builder: (yargs) => yargs.strict(false).help(false).usage(UCARP_USAGE),
  handler: async () => runCarpCommand(process.argv.slice(3)),
};

/**
 * The command-line options that say which configuration to load, shared by `tandem check` and `tandem run`
 * so that both read a file the same way: `-f FILE`, `--lenient`, `-i/--config-id ID`. Without `-f`, both read
 * /etc/tandem/tandem.conf, else /etc/keepalived/keepalived.conf (keepalived's own default), and say which.
 */
import { existsSync } from 'node:fs';
import type { Argv } from 'yargs';
import { TandemError } from '../errors.js';
import type { LoadOptions } from './loader.js';

export interface ConfigArguments {
  file: string;
  lenient: boolean;
  'config-id'?: string;
}

/** Where a configuration is looked for without -f, in this order. */
export const DEFAULT_CONFIG_FILES = ['/etc/tandem/tandem.conf', '/etc/keepalived/keepalived.conf'] as const;

/** Neither default configuration file exists and no -f was given. */
export class NoConfigFileError extends TandemError {
  constructor(candidates: readonly string[]) {
    super(
      'TANDEM_ECONFIG_NO_FILE',
      `no configuration file: neither ${candidates.join(' nor ')} exists; name one with -f FILE`,
    );
  }
}

/** The first of `candidates` that exists; throws NoConfigFileError naming them all. */
export function defaultConfigFile(
  candidates: readonly string[] = DEFAULT_CONFIG_FILES,
  exists: (file: string) => boolean = existsSync,
): string {
  const found = candidates.find((file) => exists(file));
  if (found === undefined) throw new NoConfigFileError(candidates);
  return found;
}

export interface ConfigOptionsSettings {
  /** Where to look without -f (tests give their own). */
  candidates?: readonly string[];
  /** Where the line saying which file is read goes (default: stderr). */
  say?: (line: string) => void;
}

/** Adds -f/--file, --lenient and -i/--config-id to a command's options. */
export function configOptions<T>(yargs: Argv<T>, settings: ConfigOptionsSettings = {}) {
  const say = settings.say ?? ((line: string) => process.stderr.write(line));
  return yargs
    .option('file', {
      alias: 'f',
      type: 'string',
      describe: `configuration file (default: ${DEFAULT_CONFIG_FILES.join(', else ')})`,
    })
    .option('lenient', {
      type: 'boolean',
      default: false,
      describe: 'report keepalived keywords tandem does not implement as warnings, not errors',
    })
    .option('config-id', {
      alias: 'i',
      type: 'string',
      describe: "select '@ID' lines (keepalived's -i); default: the host name up to the first dot",
    })
    .check((argv) => {
      // A check, not a middleware: what it throws is reported as a usage error (one line, exit 1).
      if (argv.file !== undefined) return true;
      const file = defaultConfigFile(settings.candidates);
      say(`tandem: no -f given; reading ${file}\n`);
      Object.assign(argv, { file, f: file });
      return true;
    }) as unknown as Argv<T & ConfigArguments>;
}

/** The loader's options from those arguments. */
export function loadOptionsOf(argv: ConfigArguments): LoadOptions {
  const options: LoadOptions = { lenient: argv.lenient };
  if (argv['config-id'] !== undefined) options.configId = argv['config-id'];
  return options;
}

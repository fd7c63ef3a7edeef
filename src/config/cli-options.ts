/**
 * The command-line options that say which configuration to load, shared by `tandem check` and `tandem run`
 * so that both read a file the same way: `-f FILE`, `--lenient`, `-i/--config-id ID`.
 */
import type { Argv } from 'yargs';
import type { LoadOptions } from './loader.js';

export interface ConfigArguments {
  file: string;
  lenient: boolean;
  'config-id'?: string;
}

/** Adds -f/--file, --lenient and -i/--config-id to a command's options. */
export function configOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('file', {
      alias: 'f',
      type: 'string',
      demandOption: true,
      describe: 'configuration file',
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
    });
}

/** The loader's options from those arguments. */
export function loadOptionsOf(argv: ConfigArguments): LoadOptions {
  const options: LoadOptions = { lenient: argv.lenient };
  if (argv['config-id'] !== undefined) options.configId = argv['config-id'];
  return options;
}

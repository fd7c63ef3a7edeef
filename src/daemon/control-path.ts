/**
 * Where a client command (`tandem status`, `tandem events`) finds the running agent's control socket:
 * `--socket PATH`, else `tandem.sock` in `--runtime-dir DIR`, else the default path.
 */
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { DEFAULT_CONTROL_SOCKET } from '../config/defaults.js';

export interface ControlSocketArguments {
  'runtime-dir'?: string;
  socket?: string;
}

/** Adds --runtime-dir and --socket to a client command's options. */
export function controlSocketOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('runtime-dir', { type: 'string', describe: 'the runtime directory the agent was started with' })
    .option('socket', { type: 'string', describe: 'the control socket path' });
}

export function controlSocketPathOf(argv: ControlSocketArguments): string {
  if (argv.socket !== undefined) return argv.socket;
  return argv['runtime-dir'] !== undefined
    ? join(argv['runtime-dir'], 'tandem.sock')
    : DEFAULT_CONTROL_SOCKET;
}

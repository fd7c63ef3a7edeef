/**
 * `tandem status [--json]`: what the running agent reports through its control socket. The socket is found,
 * in this order: `--socket PATH`; `--runtime-dir DIR`; `-f FILE` (the agent's configuration: its
 * tandem_runtime_dir / tandem_control_socket); the agent of this network namespace, which names its socket in
 * its namespace lock (lock.ts); the default /run/tandem/tandem.sock.
 */
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { DEFAULT_CONTROL_SOCKET } from '../config/defaults.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { loadConfig } from '../config/loader.js';
import { TandemError } from '../errors.js';
import type { AgentStatus } from './agent.js';
import { controlRequest } from './control.js';
import { agentOfThisNamespace } from './lock.js';
import { CONTROL_SOCKET_NAME, runtimePaths } from './runtime-dir.js';

/** How a command finds the agent's control socket (see `controlSocketOf`). */
export interface SocketArguments {
  'runtime-dir'?: string;
  socket?: string;
  file?: string;
  'config-id'?: string;
}

/** The options every command that talks to the agent takes to find its control socket. */
export function withSocketOptions<T>(yargs: Argv<T>): Argv<T & SocketArguments> {
  return yargs
    .option('runtime-dir', { type: 'string', describe: 'the runtime directory the agent was started with' })
    .option('socket', { type: 'string', describe: 'the control socket path' })
    .option('file', {
      alias: 'f',
      type: 'string',
      describe: "the agent's configuration file (its tandem_runtime_dir / tandem_control_socket)",
    })
    .option('config-id', { alias: 'i', type: 'string', describe: "as given to 'tandem run -i'" });
}

interface StatusArguments extends SocketArguments {
  json: boolean;
}

class StatusConfigError extends TandemError {
  constructor(message: string) {
    super('TANDEM_ESTATUS_CONFIG', message);
  }
}

/** The control socket `tandem status` asks (see the order above). */
export async function controlSocketOf(argv: SocketArguments): Promise<string> {
  if (argv.socket !== undefined) return argv.socket;
  if (argv['runtime-dir'] !== undefined) return join(argv['runtime-dir'], CONTROL_SOCKET_NAME);
  if (argv.file !== undefined) {
    const loaded = await loadConfig(argv.file, {
      lenient: true,
      ...(argv['config-id'] !== undefined ? { configId: argv['config-id'] } : {}),
    });
    if (!loaded.config)
      throw new StatusConfigError(
        `cannot read the agent's configuration: ${loaded.diagnostics.map(formatDiagnostic).join('; ')}`,
      );
    return runtimePaths(loaded.config.global).controlSocket;
  }
  return agentOfThisNamespace()?.controlSocket ?? DEFAULT_CONTROL_SOCKET;
}

function formatTable(status: AgentStatus): string {
  const header = [
    'INSTANCE',
    'INTERFACE',
    'VRID',
    'VER',
    'STATE',
    'PRIO',
    'EFF',
    'MASTER',
    'SINCE',
    'REASON',
    'VIPS',
  ];
  const rows = status.instances.map((instance) => [
    instance.name,
    `${instance.interface}/v${instance.family}`,
    String(instance.vrid),
    String(instance.version),
    instance.state,
    String(instance.priority),
    String(instance.effectivePriority),
    instance.masterAddress ?? '-',
    `${instance.timeInStateSeconds.toFixed(1)}s`,
    instance.lastTransition?.reason ?? '-',
    instance.vips.join(','),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] as number))
      .join('  ')
      .trimEnd();
  const counters = status.instances.map((instance) => {
    const { discarded, ...rest } = instance.counters as Record<string, number> & {
      discarded: Record<string, number>;
    };
    const parts = Object.entries(rest).map(([name, value]) => `${name}=${value}`);
    // The JSON lists every reason from zero; the table only those seen.
    const discards = Object.entries(discarded)
      .filter(([, value]) => value > 0)
      .map(([name, value]) => `${name}=${value}`);
    return `${instance.name}: ${parts.join(' ')}${discards.length ? ` discarded: ${discards.join(' ')}` : ''}`;
  });
  // Older agents send no warnings.
  const warnings = status.instances.flatMap((instance) =>
    (instance.warnings ?? []).map((warning) => `${instance.name}: warning: ${warning.message}`),
  );
  // What an operator must see at once besides: a handover under way, a switched-over instance.
  const notes = status.instances.flatMap((instance) => [
    ...(instance.handover ? [`${instance.name}: handing over (then ${instance.handover})`] : []),
    ...(instance.yielded
      ? [`${instance.name}: switched over; no preemption until 'tandem switchover --resume'`]
      : []),
  ]);
  const extra = [...warnings, ...notes];
  return (
    [line(header), ...rows.map(line), '', ...counters, ...(extra.length ? ['', ...extra] : [])].join('\n') +
    '\n'
  );
}

export const statusCommand: CommandModule<object, StatusArguments> = {
  command: 'status',
  describe: "show the running agent's instances",
  builder: (yargs) =>
    withSocketOptions(
      yargs.option('json', { type: 'boolean', default: false, describe: 'machine-readable output' }),
    ),
  handler: async (argv) => {
    try {
      const path = await controlSocketOf(argv);
      const status = (await controlRequest(path, { command: 'status' })) as AgentStatus;
      process.stdout.write(argv.json ? JSON.stringify(status, null, 2) + '\n' : formatTable(status));
    } catch (error) {
      const code = error instanceof TandemError ? `${error.code}: ` : '';
      process.stderr.write(
        `tandem status: ${code}${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  },
};

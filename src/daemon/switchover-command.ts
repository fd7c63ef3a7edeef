/**
 * `tandem switchover` and `tandem maintenance on|off`: the operator's planned moves, asked of the running agent
 * through its control socket (docs/operations.md, "Switchover" and "Maintenance mode"). The agent checks and
 * starts the move (`handover-commands.ts`); this command then follows `status` until every instance it moved
 * has let go (the new master heard, or the handover bound passed) and says where each one ended.
 */
import type { CommandModule } from 'yargs';
import { TandemError } from '../errors.js';
import type { AgentStatus, InstanceStatus } from './agent.js';
import { controlRequest } from './control.js';
import { type SocketArguments, controlSocketOf, withSocketOptions } from './status-command.js';

interface MoveArguments extends SocketArguments {
  instance?: string;
  group?: string;
  all: boolean;
  force: boolean;
  wait: number;
}

/** How often the command looks at the agent's status while it waits. */
const POLL_MS = 50;

class WaitError extends TandemError {}

function selection(argv: MoveArguments): Record<string, unknown> {
  return {
    ...(argv.instance !== undefined ? { instance: argv.instance } : {}),
    ...(argv.group !== undefined ? { group: argv.group } : {}),
    ...(argv.all ? { all: true } : {}),
    ...(argv.force ? { force: true } : {}),
  };
}

function describeEnd(instance: InstanceStatus): string {
  const master =
    instance.state === 'BACKUP' && instance.masterAddress ? `, new master ${instance.masterAddress}` : '';
  return `${instance.name}: ${instance.state}${master}`;
}

/** Polls the agent until none of `names` is still MASTER or handing over, or `seconds` pass. */
async function waitUntilReleased(path: string, names: readonly string[], seconds: number): Promise<string[]> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const status = (await controlRequest(path, { command: 'status' })) as AgentStatus;
    const moved = status.instances.filter((instance) => names.includes(instance.name));
    if (moved.every((instance) => !instance.handover)) {
      // Still MASTER with no handover under way: called off at the bound, since nobody took over.
      const alone = moved.filter((instance) => instance.state === 'MASTER');
      if (alone.length > 0)
        throw new WaitError(
          'TANDEM_ESWITCHOVER_NO_PEER',
          `no router took over ${alone.map((instance) => instance.name).join(', ')} within the handover bound: still MASTER, the VIPs never left (--force releases them anyway)`,
        );
      return moved.map(describeEnd);
    }
    if (Date.now() >= deadline)
      throw new WaitError(
        'TANDEM_ESWITCHOVER_TIMEOUT',
        `still handing over after ${seconds} s: ${moved.map(describeEnd).join('; ')} (the agent goes on; see tandem status)`,
      );
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function report(name: string, work: () => Promise<string[]>): Promise<void> {
  try {
    for (const line of await work()) process.stdout.write(`${line}\n`);
  } catch (error) {
    const code = error instanceof TandemError ? `${error.code}: ` : '';
    process.stderr.write(
      `tandem ${name}: ${code}${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}

function moveOptions<T>(yargs: import('yargs').Argv<T>) {
  return withSocketOptions(
    yargs
      .positional('instance', {
        type: 'string',
        describe: 'the vrrp_instance (its sync group moves with it)',
      })
      .option('group', { alias: 'g', type: 'string', describe: 'every member of this vrrp_sync_group' })
      .option('all', { type: 'boolean', default: false, describe: 'every instance of the agent' })
      .option('force', {
        type: 'boolean',
        default: false,
        describe: 'hand over even if no other router was heard (an outage if nobody takes over)',
      })
      .option('wait', {
        type: 'number',
        default: 10,
        describe: 'seconds to wait for the handover to finish (0: do not wait)',
      }),
  );
}

export const switchoverCommand: CommandModule<object, MoveArguments & { resume: boolean }> = {
  command: 'switchover [instance]',
  describe: 'hand MASTER instances over to a backup without losing traffic, and stay BACKUP',
  builder: (yargs) =>
    moveOptions(yargs).option('resume', {
      type: 'boolean',
      default: false,
      describe: 'let switched-over instances preempt again (as configured)',
    }) as never,
  handler: (argv) =>
    report('switchover', async () => {
      const path = await controlSocketOf(argv);
      if (argv.resume) {
        const result = (await controlRequest(path, { command: 'resume', ...selection(argv) })) as {
          resumed: string[];
        };
        return result.resumed.map((name) => `${name}: preempts again as configured`);
      }
      const result = (await controlRequest(path, { command: 'switchover', ...selection(argv) })) as {
        handingOver: string[];
        skipped: { instance: string; state: string }[];
      };
      const skipped = result.skipped.map(
        (entry) => `${entry.instance}: ${entry.state}, nothing to hand over`,
      );
      if (argv.wait <= 0) return [...result.handingOver.map((name) => `${name}: handing over`), ...skipped];
      return [...(await waitUntilReleased(path, result.handingOver, argv.wait)), ...skipped];
    }),
};

export const maintenanceCommand: CommandModule<object, MoveArguments & { mode: string }> = {
  command: 'maintenance <mode> [instance]',
  describe: 'take instances out of service (hand over, then hold FAULT) or back in; kept across restarts',
  builder: (yargs) =>
    moveOptions(
      yargs.positional('mode', { choices: ['on', 'off'] as const, describe: 'enter or leave maintenance' }),
    ) as never,
  handler: (argv) =>
    report('maintenance', async () => {
      const path = await controlSocketOf(argv);
      const on = argv.mode === 'on';
      const result = (await controlRequest(path, { command: 'maintenance', on, ...selection(argv) })) as {
        maintenanceOn?: string[];
        maintenanceOff?: string[];
      };
      const names = (on ? result.maintenanceOn : result.maintenanceOff) ?? [];
      if (!on || argv.wait <= 0) return names.map((name) => `${name}: maintenance ${argv.mode}`);
      return waitUntilReleased(path, names, argv.wait);
    }),
};

/**
 * `tandem run -f FILE`: load the configuration (the same loader as `tandem check`), start the agent in the
 * foreground with pino JSON logs on stdout. SIGTERM / SIGINT hand over (priority-0 adverts), release the VIPs
 * and exit 0; a second signal exits at once with status 1. SIGHUP reloads the file: unchanged instances keep
 * running untouched, changed ones restart, and an invalid file changes nothing.
 */
import { createRequire } from 'node:module';
import type { CommandModule } from 'yargs';
import { configOptions, loadOptionsOf, type ConfigArguments } from '../config/cli-options.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import { checkConfig } from './check-command.js';
import { Agent } from './agent.js';
import { notYetEnforced } from './not-yet-enforced.js';

// pino through require(), not import: importing a CommonJS package from ESM makes Node lex its sources for
// named exports, a cost paid at every start of the agent (issue 11).
const pino = (createRequire(import.meta.url)('pino') as typeof import('pino')).default;

/** pino's levels, the choices of --log-level. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export interface RunArguments extends ConfigArguments {
  'runtime-dir'?: string;
  'log-level': string;
}

export const runCommand: CommandModule<object, RunArguments> = {
  command: 'run',
  describe: 'run the agent in the foreground',
  builder: (yargs) =>
    configOptions(yargs)
      .option('runtime-dir', {
        type: 'string',
        describe: 'private runtime directory (control socket inside)',
      })
      .option('log-level', {
        type: 'string',
        default: 'info',
        choices: LOG_LEVELS,
      }),
  handler: async (argv) => {
    const result = checkConfig(argv.file, loadOptionsOf(argv));
    for (const diagnostic of result.diagnostics) process.stderr.write(formatDiagnostic(diagnostic) + '\n');
    if (!result.config) {
      process.exitCode = 1;
      return;
    }
    const gaps = notYetEnforced(result.config, argv.lenient, argv.file);
    for (const diagnostic of gaps) process.stderr.write(formatDiagnostic(diagnostic) + '\n');
    if (gaps.some((diagnostic) => diagnostic.severity === 'error')) {
      process.exitCode = 1;
      return;
    }
    const log = pino(
      { level: argv['log-level'], base: { pid: process.pid } },
      pino.destination({ sync: true }),
    );
    const agent = new Agent(result.config, {
      log,
      ...(argv['runtime-dir'] !== undefined ? { runtimeDir: argv['runtime-dir'] } : {}),
    });
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        log.warn({ signal }, 'second signal: exiting at once');
        agent.abandonHooks();
        process.exit(1);
      }
      log.info({ signal }, 'stopping: handing over');
      agent.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'stop failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', () => {
      if (signals > 0) {
        log.warn({}, 'SIGHUP while stopping: ignored');
        return;
      }
      // Reload: the same checks as at start; an invalid file changes nothing and is said in the log.
      const reloaded = checkConfig(argv.file, loadOptionsOf(argv));
      const problems = [
        ...reloaded.diagnostics,
        ...(reloaded.config ? notYetEnforced(reloaded.config, argv.lenient, argv.file) : []),
      ];
      for (const diagnostic of problems) process.stderr.write(formatDiagnostic(diagnostic) + '\n');
      const errors = problems.filter((diagnostic) => diagnostic.severity === 'error').map(formatDiagnostic);
      if (!reloaded.config || errors.length > 0) {
        log.error({ errors }, 'reload refused: the configuration has errors; the running one stays');
        return;
      }
      agent.reload(reloaded.config).catch((error: unknown) => log.error({ err: error }, 'reload failed'));
    });
    try {
      await agent.start();
    } catch (error) {
      log.fatal({ err: error }, 'start failed');
      await agent.stop().catch(() => {});
      process.exit(1);
    }
  },
};

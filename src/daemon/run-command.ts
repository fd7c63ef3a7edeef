/**
 * `tandem run -f FILE`: check the process (capabilities, no debugger), load the configuration (the same loader
 * as `tandem check`), take the locks of this network namespace and of the runtime directory, and run the agent
 * in the foreground with pino JSON logs on stdout. What each signal does is in signals.ts and
 * docs/operations.md: TERM, INT and QUIT hand over and stop, a second one exits at once; HUP reloads; USR1,
 * USR2 and keepalived's JSON signal write dumps. A start that fails prints one line on stderr and exits 1.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { CommandModule } from 'yargs';
import { configOptions, loadOptionsOf, type ConfigArguments } from '../config/cli-options.js';
import { formatDiagnostic } from '../config/diagnostics.js';
import type { TandemConfig } from '../config/schema.js';
import { TandemError } from '../errors.js';
import { checkConfig } from './check-command.js';
import { Agent } from './agent.js';
import { DumpWriter } from './dump.js';
import {
  NETNS_LOCK_DIR,
  type PidLock,
  lockNetworkNamespace,
  lockRuntimeDir,
  refuseBesideKeepalived,
} from './lock.js';
import { notYetEnforced } from './not-yet-enforced.js';
import {
  ensurePrivateDirectory,
  ensureRuntimeDir,
  ensureSocketDirectory,
  runtimePaths,
} from './runtime-dir.js';
import {
  closeInspector,
  handleAgentSignals,
  inspectorClosedEarly,
  inspectorOptions,
  unwatchedSignals,
} from './signals.js';
import { checkInspector, checkPrivileges, startupFailureLine } from './startup.js';

// pino through require(), not import: importing a CommonJS package from ESM makes Node lex its sources for
// named exports, a cost paid at every start of the agent (issue 11).
const pino = (createRequire(import.meta.url)('pino') as typeof import('pino')).default;

/** pino's levels, the choices of --log-level. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export interface RunArguments extends ConfigArguments {
  'runtime-dir'?: string;
  'log-level': string;
  /** Absent when src/commands.ts parsed the arguments (it leaves this option to yargs): false. */
  'allow-inspector'?: boolean;
  /** `tandem carp`: the configuration built from ucarp's command line, instead of a file (no reload). */
  config?: TandemConfig;
}

/** Says why the start failed in one line, exits 1. */
function failStart(error: unknown): void {
  process.stderr.write(startupFailureLine('run', error));
  process.exitCode = 1;
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
      })
      .option('allow-inspector', {
        type: 'boolean',
        default: false,
        describe: "start even under node's --inspect (debugging on a test box only)",
      }),
  handler: async (argv) => {
    const allowInspector = argv['allow-inspector'] ?? false;
    let strayInspector = false;
    try {
      checkInspector(inspectorOptions(), allowInspector);
      // A SIGUSR1 that came before the signal guard was installed opened it.
      if (!allowInspector) strayInspector = closeInspector() || inspectorClosedEarly();
      checkPrivileges();
    } catch (error) {
      return failStart(error);
    }
    const result = argv.config
      ? { config: argv.config, diagnostics: [] }
      : await checkConfig(argv.file, loadOptionsOf(argv));
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
    if (strayInspector) log.warn({}, 'a SIGUSR1 opened the inspector before tandem could prevent it: closed');
    if (unwatchedSignals().length > 0)
      log.warn(
        { signals: unwatchedSignals() },
        'this Node.js cannot watch these signals; they end the agent',
      );

    // One agent per network namespace and per runtime directory, before anything is touched.
    const paths = runtimePaths(result.config.global, argv['runtime-dir']);
    let netnsLock: PidLock | undefined;
    let pidLock: PidLock | undefined;
    const releaseLocks = () => {
      pidLock?.release();
      netnsLock?.release();
    };
    let agent: Agent;
    try {
      ensureRuntimeDir(paths.runtimeDir);
      if (dirname(paths.controlSocket) !== paths.runtimeDir) ensureSocketDirectory(paths.controlSocket);
      refuseBesideKeepalived();
      ensurePrivateDirectory(NETNS_LOCK_DIR, 'network namespace locks');
      netnsLock = lockNetworkNamespace(paths);
      pidLock = lockRuntimeDir(paths.runtimeDir);
      agent = new Agent(result.config, {
        log,
        ...(argv['runtime-dir'] !== undefined ? { runtimeDir: argv['runtime-dir'] } : {}),
      });
    } catch (error) {
      log.debug({ err: error }, 'start failed');
      releaseLocks();
      return failStart(error);
    }

    const dumps = new DumpWriter(
      paths.runtimeDir,
      () => ({
        status: agent.status(),
        sources: agent.dumpSources(),
        runtimeDir: paths.runtimeDir,
        controlSocket: paths.controlSocket,
      }),
      log,
    );
    let stopSignals = 0;
    handleAgentSignals({
      stop: (signal) => {
        stopSignals++;
        if (stopSignals > 1) {
          log.warn({ signal }, 'second signal: exiting at once');
          agent.abandonHooks();
          releaseLocks();
          process.exit(1);
        }
        log.info({ signal }, 'stopping: handing over');
        agent.stop().then(
          () => {
            releaseLocks();
            process.exit(0);
          },
          (error: unknown) => {
            log.error({ err: error }, 'stop failed');
            releaseLocks();
            process.exit(1);
          },
        );
      },
      reload: async () => {
        if (stopSignals > 0) {
          log.warn({}, 'SIGHUP while stopping: ignored');
          return;
        }
        if (argv.config) {
          log.warn({}, 'SIGHUP ignored: the command line is the configuration; restart to change it');
          return;
        }
        // Reload: the same checks as at start; an invalid file changes nothing and is said in the log.
        const reloaded = await checkConfig(argv.file, loadOptionsOf(argv));
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
      },
      dump: (kind, signal) => void dumps.request(kind, signal),
      ignored: (signal, count) =>
        log.warn({ signal, count }, `${signal} ignored: it would stop the agent without a handover`),
    });
    try {
      await agent.start();
    } catch (error) {
      const code = error instanceof TandemError ? error.code : undefined;
      log.fatal({ code, message: error instanceof Error ? error.message : String(error) }, 'start failed');
      log.debug({ err: error }, 'start failed');
      process.stderr.write(startupFailureLine('run', error));
      await agent.stop().catch(() => {});
      releaseLocks();
      process.exit(1);
    }
  },
};

/**
 * `tandem run -f FILE`: check the process (capabilities, no debugger), load the configuration (the same loader
 * as `tandem check`), take the locks of this network namespace and of the runtime directory, and run the agent
 * in the foreground with pino JSON logs on stdout. What each signal does is in signals.ts and
 * docs/operations.md: TERM, INT and QUIT hand over and stop, a second one exits at once; HUP reloads; USR1,
 * USR2 and keepalived's JSON signal write dumps. A start that fails prints one line on stderr and exits 1.
 */
import { dirname } from 'node:path';
import type { CommandModule } from 'yargs';
import { configOptions, loadOptionsOf, type ConfigArguments } from '../config/cli-options.js';
import { type Diagnostic, formatDiagnostic } from '../config/diagnostics.js';
import type { LoadOptions } from '../config/loader.js';
import type { TandemConfig } from '../config/schema.js';
import { unimplementedDiagnostics } from '../config/support.js';
import { Coalesced } from '../core/coalesced.js';
import { TandemError } from '../errors.js';
import { checkConfig, droppedSummary } from './check-command.js';
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
import { type LogArguments, createLogger, logOptions, loggerOptionsOf } from './log-format.js';
import { DiagnosticPrinter } from './warning-dedupe.js';

export { LOG_FORMATS, LOG_LEVELS } from './log-format.js';

export interface RunArguments extends ConfigArguments, Partial<LogArguments> {
  'runtime-dir'?: string;
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

/**
 * The configuration `tandem run` starts with, or none when it refuses the file (an error, or a keyword not
 * implemented yet without --lenient), and what it prints about it: exactly what `tandem check` decides.
 */
export async function configurationForRun(
  file: string,
  options: LoadOptions,
): Promise<{ config?: TandemConfig; report: string[]; diagnostics: Diagnostic[] }> {
  const lenient = options.lenient ?? false;
  const result = await checkConfig(file, options);
  const gaps = result.config
    ? notYetEnforced(result.config, lenient, file)
    : unimplementedDiagnostics(result.unimplemented, lenient);
  const report = startupReport(result.diagnostics, gaps, lenient);
  const refused = !result.config || gaps.some((diagnostic) => diagnostic.severity === 'error');
  const diagnostics = [...result.diagnostics, ...gaps];
  return refused || !result.config ? { report, diagnostics } : { config: result.config, report, diagnostics };
}

/**
 * What `tandem run` prints about its configuration before it starts: every diagnostic, then the refusals of what
 * is not implemented yet, then with --lenient every keyword it dropped, once each with its places, as
 * `tandem check --lenient` ends.
 */
export function startupReport(
  diagnostics: readonly Diagnostic[],
  gaps: readonly Diagnostic[],
  lenient: boolean,
): string[] {
  const lines = [...diagnostics, ...gaps].map((diagnostic) => formatDiagnostic(diagnostic) + '\n');
  return lenient ? [...lines, ...droppedSummary([...diagnostics, ...gaps])] : lines;
}

export const runCommand: CommandModule<object, RunArguments> = {
  command: 'run',
  describe: 'run the agent in the foreground',
  builder: (yargs) =>
    logOptions(configOptions(yargs))
      .option('runtime-dir', {
        type: 'string',
        describe: 'private runtime directory (control socket inside)',
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
    // Warnings are printed once each: a reload prints only those the previous load did not have.
    const printer = new DiagnosticPrinter();
    const print = (diagnostics: readonly Diagnostic[]) => {
      for (const diagnostic of printer.toPrint(diagnostics))
        process.stderr.write(formatDiagnostic(diagnostic) + '\n');
    };
    const result = argv.config
      ? { config: argv.config, report: [], diagnostics: [] }
      : await configurationForRun(argv.file, loadOptionsOf(argv));
    process.stderr.write(result.report.join(''));
    printer.toPrint(result.diagnostics);
    if (!result.config) {
      process.exitCode = 1;
      return;
    }
    const log = createLogger(
      loggerOptionsOf(
        {
          'log-format': argv['log-format'] ?? 'auto',
          'log-detail': argv['log-detail'] ?? false,
          ...(argv['log-level'] !== undefined ? { 'log-level': argv['log-level'] } : {}),
        },
        process.stdout.isTTY === true,
      ),
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
    // SIGHUP: the same checks as at start; an invalid file changes nothing and is said in the log. One reload
    // at a time: SIGHUPs during one ask for a single reload after it, which reads the file as it is then.
    let stopSignals = 0;
    const reloads = new Coalesced<void>(async () => {
      if (stopSignals > 0) return;
      const reloaded = await checkConfig(argv.file, loadOptionsOf(argv));
      const problems = [
        ...reloaded.diagnostics,
        ...(reloaded.config ? notYetEnforced(reloaded.config, argv.lenient, argv.file) : []),
      ];
      print(problems);
      const errors = problems.filter((diagnostic) => diagnostic.severity === 'error').map(formatDiagnostic);
      if (!reloaded.config || errors.length > 0) {
        log.error({ errors }, 'reload refused: the configuration has errors; the running one stays');
        agent.reloadRefused(errors.length > 0 ? errors : ['the configuration could not be loaded']);
        return;
      }
      await agent
        .reload(reloaded.config)
        .catch((error: unknown) => log.error({ err: error }, 'reload failed'));
    });
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
      reload: () => {
        if (stopSignals > 0) {
          log.warn({}, 'SIGHUP while stopping: ignored');
          return;
        }
        if (argv.config) {
          log.warn({}, 'SIGHUP ignored: the command line is the configuration; restart to change it');
          return;
        }
        if (reloads.busy) log.info({}, 'SIGHUP during a reload: the file is read once more after it');
        void reloads.request();
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

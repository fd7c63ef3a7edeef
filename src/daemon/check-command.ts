/**
 * `tandem check -f FILE [--lenient] [--config-id ID] [--print json]`: load a configuration, print every
 * diagnostic on stderr as `FILE:LINE:COL: severity: MESSAGE`, optionally the normalized configuration as JSON
 * on stdout, and exit 0 when it is valid, 1 when not.
 *
 * It lives with the daemon, not the configuration: it adds to the loader's diagnostics the script security
 * rules, which look at this machine's files and accounts (actions/script-security.ts), and the configuration
 * layer imports nothing from the actions (docs/architecture.md, "Layers").
 */
import type { CommandModule } from 'yargs';
import { configOptions, loadOptionsOf, type ConfigArguments } from '../config/cli-options.js';
import { checkScriptSecurity } from '../actions/script-security.js';
import { type Diagnostic, formatDiagnostic } from '../config/diagnostics.js';
import { loadConfig, type LoadOptions } from '../config/loader.js';
import type { TandemConfig } from '../config/schema.js';

interface CheckArguments extends ConfigArguments {
  print?: string;
}

export interface CheckOutput {
  stdout: string;
  stderr: string;
  exitCode: 0 | 1;
}

/**
 * The configuration and every diagnostic about it: the loader's, then keepalived's script security rules, which
 * look at the files and accounts of this machine (`tandem check` and `tandem run` both use this).
 */
export async function checkConfig(
  file: string,
  options: LoadOptions,
): Promise<{ config?: TandemConfig; diagnostics: Diagnostic[] }> {
  const result = await loadConfig(file, options);
  if (!result.config) return result;
  const security = checkScriptSecurity(result.config, {
    fallback: { file, line: 1, column: 1 },
  }) as Diagnostic[];
  const diagnostics = [...result.diagnostics, ...security];
  return diagnostics.some((diagnostic) => diagnostic.severity === 'error')
    ? { diagnostics }
    : { config: result.config, diagnostics };
}

/** The command's work without the process: testable, and reusable by `tandem run` for its startup check. */
export async function runCheck(
  file: string,
  options: LoadOptions & { print?: 'json' },
): Promise<CheckOutput> {
  const result = await checkConfig(file, options);
  const stderr = result.diagnostics.map((d) => formatDiagnostic(d) + '\n').join('');
  const valid = result.config !== undefined;
  const stdout = valid && options.print === 'json' ? JSON.stringify(result.config, null, 2) + '\n' : '';
  return { stdout, stderr, exitCode: valid ? 0 : 1 };
}

export const checkCommand: CommandModule<object, CheckArguments> = {
  command: 'check',
  describe: 'check a keepalived.conf-syntax configuration and report every problem',
  builder: (yargs) =>
    configOptions(yargs).option('print', {
      type: 'string',
      choices: ['json'],
      describe: 'print the normalized configuration (defaults filled in)',
    }) as never,
  handler: async (argv) => {
    const options: LoadOptions & { print?: 'json' } = loadOptionsOf(argv);
    if (argv.print === 'json') options.print = 'json';
    const output = await runCheck(argv.file, options);
    process.stdout.write(output.stdout);
    process.stderr.write(output.stderr);
    process.exitCode = output.exitCode;
  },
};

/**
 * `tandem check [-f FILE] [--lenient] [--config-id ID] [--print json]`: load a configuration, print every
 * diagnostic on stderr as `FILE:LINE:COL: severity: MESSAGE`, optionally the normalized configuration as JSON
 * on stdout, and exit 0 when it is valid, 1 when not. On success it says so in one line ("ok: 2 instances, ...");
 * with --lenient it lists, at the end, every keyword it dropped.
 *
 * It lives with the daemon, not the configuration: it adds to the loader's diagnostics the script security
 * rules, which look at this machine's files and accounts (actions/script-security.ts), and the configuration
 * layer imports nothing from the actions (docs/architecture.md, "Layers").
 */
import type { CommandModule } from 'yargs';
import { configOptions, loadOptionsOf, type ConfigArguments } from '../config/cli-options.js';
import { checkScriptSecurity } from '../actions/script-security.js';
import { type Diagnostic, formatDiagnostic } from '../config/diagnostics.js';
import { inFileOrder, loadConfig, type LoadOptions } from '../config/loader.js';
import type { TandemConfig, UnimplementedUse } from '../config/schema.js';
import { unimplementedDiagnostics } from '../config/support.js';

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
): Promise<{ config?: TandemConfig; diagnostics: Diagnostic[]; unimplemented: UnimplementedUse[] }> {
  const result = await loadConfig(file, options);
  if (!result.config) return result;
  const security = checkScriptSecurity(result.config, {
    fallback: { file, line: 1, column: 1 },
  }) as Diagnostic[];
  const diagnostics = [...result.diagnostics, ...security];
  return diagnostics.some((diagnostic) => diagnostic.severity === 'error')
    ? { diagnostics, unimplemented: result.unimplemented }
    : { config: result.config, diagnostics, unimplemented: result.unimplemented };
}

/**
 * The command's work without the process: testable. It reports what `tandem run` would refuse as well: the
 * uses of keywords not implemented yet (run reads them through daemon/not-yet-enforced.ts, from the same list).
 */
export async function runCheck(
  file: string,
  options: LoadOptions & { print?: 'json' },
): Promise<CheckOutput> {
  const result = await checkConfig(file, options);
  const lenient = options.lenient ?? false;
  const pending = unimplementedDiagnostics(result.unimplemented, lenient);
  const diagnostics = inFileOrder([...result.diagnostics, ...pending]);
  const valid = result.config !== undefined && !pending.some((d) => d.severity === 'error');
  const lines = diagnostics.map((d) => formatDiagnostic(d) + '\n');
  if (lenient) lines.push(...droppedSummary(diagnostics));
  const summary = valid && result.config !== undefined ? okLine(result.config) : '';
  const json = valid && options.print === 'json';
  return {
    stdout: json ? JSON.stringify(result.config, null, 2) + '\n' : summary,
    stderr: lines.join('') + (json ? summary : ''),
    exitCode: valid ? 0 : 1,
  };
}

/** "ok: 2 instances, 3 VIPs, 1 script, 1 sync group" (and CARP instances when there are some). */
export function okLine(config: TandemConfig): string {
  const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  const vips = [...config.instances, ...config.carpInstances].reduce(
    (sum, instance) =>
      sum + instance.vips.length + ('excludedVips' in instance ? instance.excludedVips.length : 0),
    0,
  );
  const parts = [count(config.instances.length, 'instance')];
  if (config.carpInstances.length > 0) parts.push(count(config.carpInstances.length, 'CARP instance'));
  parts.push(
    count(vips, 'VIP'),
    count(config.scripts.length, 'script'),
    count(config.syncGroups.length, 'sync group'),
  );
  return `ok: ${parts.join(', ')}\n`;
}

/**
 * What --lenient let through by dropping it, each keyword once with every place it was written: keepalived
 * keywords tandem refuses, and keywords it does not implement yet.
 */
export function droppedSummary(diagnostics: readonly Diagnostic[]): string[] {
  const places = new Map<string, string[]>();
  for (const d of diagnostics) {
    if (d.keyword === undefined || d.severity !== 'warning') continue;
    const list = places.get(d.keyword) ?? [];
    list.push(`${d.file}:${d.line}:${d.column}`);
    places.set(d.keyword, list);
  }
  if (places.size === 0) return [];
  const count = places.size === 1 ? '1 keyword' : `${places.size} keywords`;
  return [
    `--lenient dropped ${count}; tandem runs as if they were not written:\n`,
    ...[...places].map(([keyword, at]) => `  ${keyword} (${at.join(', ')})\n`),
  ];
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

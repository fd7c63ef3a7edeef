/**
 * The loader: a keepalived.conf-syntax file -> the normalized TandemConfig and every diagnostic found. It never
 * throws on bad input: unreadable files, syntax errors and invalid values all come back as diagnostics, and
 * the configuration is returned only when there is no error.
 *
 * It is asynchronous and never blocks the event loop for long: files are read with fs/promises (never opening
 * what is not a regular file), and the lexer and parser yield between slices of work. Everything it reads or
 * generates is bounded (CONFIG_LIMITS in lexer.ts, MAX_BLOCK_DEPTH in parser.ts).
 */
import os from 'node:os';
import { setImmediate as nextTick } from 'node:timers/promises';
import { buildConfig } from './build.js';
import { Context } from './context.js';
import { DiagnosticCodes, DiagnosticSink, TandemConfigError, type Diagnostic } from './diagnostics.js';
import { newConfigDraft } from './drafts.js';
import { defaultConfigId } from './defaults.js';
import { nodeFileSystem, type ConfigFileSystem } from './files.js';
import { TOP_SECTION, walkSection } from './keywords.js';
import { Lexer } from './lexer.js';
import { parse } from './parser.js';
import type { TandemConfig, UnimplementedUse } from './schema.js';

/** Top-level statements (each a whole vrrp_instance, say) walked between two yields to the event loop. */
const STATEMENTS_PER_SLICE = 500;

export interface LoadOptions {
  /** Turn "unsupported keepalived keyword" (and "keepalived skips this") errors into warnings. */
  lenient?: boolean;
  /** keepalived's `-i`: selects `@id` lines; defaults to the first part of the host name, as keepalived. */
  configId?: string;
  /** Where files are read from; tests pass memoryFileSystem(). */
  files?: ConfigFileSystem;
  /** Seed of `${_RANDOM}` until a `random_seed` line (tests); default: a new seed each load, as keepalived. */
  randomSeed?: number;
  /** What `${_ENV NAME}` reads; default: process.env. */
  environment?: Readonly<Record<string, string | undefined>>;
}

export interface LoadResult {
  /** Present only when no diagnostic is an error. */
  config?: TandemConfig;
  diagnostics: Diagnostic[];
  /**
   * Uses of keywords not implemented yet (as config.unimplemented when there is a config), also when the file has
   * errors, so that `tandem check` can report them in the same run.
   */
  unimplemented: UnimplementedUse[];
}

export async function loadConfig(file: string, options: LoadOptions = {}): Promise<LoadResult> {
  const sink = new DiagnosticSink(options.lenient ?? false);
  try {
    const lexer = new Lexer({
      files: options.files ?? nodeFileSystem,
      sink,
      configId: options.configId ?? defaultConfigId(os.hostname()),
      ...(options.randomSeed === undefined ? {} : { randomSeed: options.randomSeed }),
      ...(options.environment === undefined ? {} : { environment: options.environment }),
    });
    const tokens = await lexer.run(file);
    const { statements, balanced } = await parse(tokens, sink);
    const draft = newConfigDraft();
    const env = { ctx: new Context(sink), draft, label: '' };
    // Every top-level keyword may repeat, so the top level can be walked in slices, yielding between them.
    for (let start = 0; start < statements.length; start += STATEMENTS_PER_SLICE) {
      walkSection(statements.slice(start, start + STATEMENTS_PER_SLICE), TOP_SECTION, draft, env);
      await nextTick();
    }
    // With unbalanced braces, blocks hold the wrong lines: cross-checks would only add confusing errors.
    const config = balanced ? await buildConfig(draft, sink, file, env.ctx.unimplemented) : undefined;
    const diagnostics = inFileOrder(sink.diagnostics);
    const unimplemented = config?.unimplemented ?? env.ctx.unimplemented;
    return sink.errorCount === 0 && config !== undefined
      ? { config, diagnostics, unimplemented }
      : { diagnostics, unimplemented };
  } catch (error) {
    // A bug of ours, not of the input; report it as a diagnostic rather than crash the caller.
    const reason = error instanceof Error ? (error.stack ?? error.message) : String(error);
    sink.error(
      { file, line: 1, column: 1 },
      DiagnosticCodes.syntax,
      `internal error while loading: ${reason}`,
    );
    return { diagnostics: sink.diagnostics, unimplemented: [] };
  }
}

/** Sorted by file (in the order files were first mentioned), line and column; stable otherwise. */
export function inFileOrder(diagnostics: Diagnostic[]): Diagnostic[] {
  const fileOrder = new Map<string, number>();
  for (const d of diagnostics) if (!fileOrder.has(d.file)) fileOrder.set(d.file, fileOrder.size);
  return diagnostics
    .map((d, index) => ({ d, index }))
    .sort(
      (a, b) =>
        (fileOrder.get(a.d.file) ?? 0) - (fileOrder.get(b.d.file) ?? 0) ||
        a.d.line - b.d.line ||
        a.d.column - b.d.column ||
        a.index - b.index,
    )
    .map(({ d }) => d);
}

/** For the agent: the configuration, or a TandemConfigError carrying every diagnostic. */
export async function loadConfigOrThrow(
  file: string,
  options: LoadOptions = {},
): Promise<{ config: TandemConfig; diagnostics: Diagnostic[] }> {
  const result = await loadConfig(file, options);
  if (result.config === undefined) throw new TandemConfigError(result.diagnostics);
  return { config: result.config, diagnostics: result.diagnostics };
}

/**
 * The loader: a keepalived.conf-syntax file -> the normalized TandemConfig and every diagnostic found. It never
 * throws on bad input: unreadable files, syntax errors and invalid values all come back as diagnostics, and
 * the configuration is returned only when there is no error.
 */
import os from 'node:os';
import { buildConfig } from './build.js';
import { Context } from './context.js';
import { DiagnosticCodes, DiagnosticSink, TandemConfigError, type Diagnostic } from './diagnostics.js';
import { newConfigDraft } from './drafts.js';
import { defaultConfigId } from './defaults.js';
import { nodeFileSystem, type ConfigFileSystem } from './files.js';
import { TOP_SECTION, walkSection } from './keywords.js';
import { Lexer } from './lexer.js';
import { parse } from './parser.js';
import type { TandemConfig } from './schema.js';

export interface LoadOptions {
  /** Turn "unsupported keepalived keyword" (and "keepalived skips this") errors into warnings. */
  lenient?: boolean;
  /** keepalived's `-i`: selects `@id` lines; defaults to the first part of the host name, as keepalived. */
  configId?: string;
  /** Where files are read from; tests pass memoryFileSystem(). */
  files?: ConfigFileSystem;
}

export interface LoadResult {
  /** Present only when no diagnostic is an error. */
  config?: TandemConfig;
  diagnostics: Diagnostic[];
}

export function loadConfig(file: string, options: LoadOptions = {}): LoadResult {
  const sink = new DiagnosticSink(options.lenient ?? false);
  try {
    const lexer = new Lexer({
      files: options.files ?? nodeFileSystem,
      sink,
      configId: options.configId ?? defaultConfigId(os.hostname()),
    });
    const tokens = lexer.run(file);
    const { statements, balanced } = parse(tokens, sink);
    const draft = newConfigDraft();
    walkSection(statements, TOP_SECTION, draft, { ctx: new Context(sink), draft, label: '' });
    // With unbalanced braces, blocks hold the wrong lines: cross-checks would only add confusing errors.
    const config = balanced ? buildConfig(draft, sink, file) : undefined;
    const diagnostics = inFileOrder(sink.diagnostics);
    return sink.errorCount === 0 && config !== undefined ? { config, diagnostics } : { diagnostics };
  } catch (error) {
    // A bug of ours, not of the input; report it as a diagnostic rather than crash the caller.
    const reason = error instanceof Error ? (error.stack ?? error.message) : String(error);
    sink.error(
      { file, line: 1, column: 1 },
      DiagnosticCodes.syntax,
      `internal error while loading: ${reason}`,
    );
    return { diagnostics: sink.diagnostics };
  }
}

/** Sorted by file (in the order files were first mentioned), line and column; stable otherwise. */
function inFileOrder(diagnostics: Diagnostic[]): Diagnostic[] {
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
export function loadConfigOrThrow(
  file: string,
  options: LoadOptions = {},
): { config: TandemConfig; diagnostics: Diagnostic[] } {
  const result = loadConfig(file, options);
  if (result.config === undefined) throw new TandemConfigError(result.diagnostics);
  return { config: result.config, diagnostics: result.diagnostics };
}

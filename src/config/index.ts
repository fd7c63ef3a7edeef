/** The configuration language: load keepalived.conf-syntax files into a normalized TandemConfig. */
export { loadConfig, loadConfigOrThrow, type LoadOptions, type LoadResult } from './loader.js';
export {
  DiagnosticCodes,
  formatDiagnostic,
  TandemConfigError,
  type Diagnostic,
  type DiagnosticCode,
  type Position,
  type Severity,
} from './diagnostics.js';
export { memoryFileSystem, nodeFileSystem, type ConfigFileSystem } from './files.js';
export type * from './schema.js';
export {
  isNotImplementedYet,
  isNoEffect,
  isRefused,
  NOT_IMPLEMENTED_YET,
  unimplementedDiagnostics,
  type Support,
} from './support.js';
export { CONFIG_LIMITS } from './lexer.js';

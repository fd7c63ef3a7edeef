/** Loading configurations from memory for the config tests. */
import {
  formatDiagnostic,
  loadConfig,
  memoryFileSystem,
  type LoadOptions,
  type LoadResult,
} from '../../src/config/index.js';

/** Loads `text` as test.conf (plus any other files given) and returns the result. */
export function loadText(
  text: string,
  options: LoadOptions = {},
  others: Record<string, string> = {},
): Promise<LoadResult> {
  return loadConfig('test.conf', {
    configId: 'testhost',
    ...options,
    files: memoryFileSystem({ 'test.conf': text, ...others }),
  });
}

/** The diagnostics of loading `text`, formatted as `tandem check` prints them. */
export async function diagnosticsOf(
  text: string,
  options: LoadOptions = {},
  others: Record<string, string> = {},
): Promise<string[]> {
  return (await loadText(text, options, others)).diagnostics.map(formatDiagnostic);
}

/** Lines joined with newlines, so that a config reads naturally in a test. */
export function conf(...lines: string[]): string {
  return lines.join('\n') + '\n';
}

/** A valid instance with `extra` lines inserted after `interface eth0` (line 3); VIP on line 7 + extra. */
export function instance(...extra: string[]): string {
  return conf(
    'vrrp_instance VI_1 {',
    '    virtual_router_id 51',
    '    interface eth0',
    ...extra.map((l) => '    ' + l),
    '    virtual_ipaddress {',
    '        192.0.2.10/24',
    '    }',
    '}',
  );
}

/** Formatted diagnostics in the order the loader sorts them: by line, then column. */
export function byPosition(a: string, b: string): number {
  const [, la = 0, ca = 0] = /:(\d+):(\d+):/.exec(a)?.map(Number) ?? [];
  const [, lb = 0, cb = 0] = /:(\d+):(\d+):/.exec(b)?.map(Number) ?? [];
  return la - lb || ca - cb;
}

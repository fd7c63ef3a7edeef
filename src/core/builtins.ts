/**
 * Node.js built-in modules the agent needs only for some configurations, loaded on first use. `node:child_process`
 * (with `dgram` and `net` internals behind it) and `node:crypto` (twenty internal modules) cost about 20 ms of CPU
 * and 3 MiB at every start, and an agent without hooks, scripts or dumps never uses them (issue 11,
 * docs/performance.md). `require` returns the same module on every call after the first.
 */
import { createRequire } from 'node:module';

const requireBuiltin = createRequire(import.meta.url);

export const childProcess = (): typeof import('node:child_process') =>
  requireBuiltin('node:child_process') as typeof import('node:child_process');

export const crypto = (): typeof import('node:crypto') =>
  requireBuiltin('node:crypto') as typeof import('node:crypto');

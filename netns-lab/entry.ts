/**
 * How the lab starts Node.js programs of this package inside a namespace: with the same Node.js binary and
 * in the same form as the running code. From a checkout run through tsx (this file is `netns-lab/entry.ts`)
 * they run as TypeScript through tsx; from the build (`dist/netns-lab/entry.js`) they run as the compiled
 * JavaScript next to it. So `tandem lab` from `npx tandem` never needs tsx, and `npm test` never needs a
 * build, and both always run the code they were started from.
 */
import { fileURLToPath } from 'node:url';

const compiled = import.meta.url.endsWith('.js');

/**
 * argv running the module at `path` (relative to the package root, without extension, e.g. `src/cli` or
 * `netns-lab/probe`) with `args`.
 */
export function programArgv(path: string, ...args: string[]): string[] {
  const file = fileURLToPath(new URL(`../${path}.${compiled ? 'js' : 'ts'}`, import.meta.url));
  return compiled ? [process.execPath, file, ...args] : [process.execPath, '--import', 'tsx', file, ...args];
}

/** argv running `tandem ARGS...`. */
export function tandemArgv(...args: string[]): string[] {
  return programArgv('src/cli', ...args);
}

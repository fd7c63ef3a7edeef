/**
 * The npm package as users get it: `npm pack` on a copy of the checkout (so packing never rebuilds the
 * developer's own `dist/`), and `npm install -g` of that tarball into a prefix, which builds the native addons
 * from source with node-gyp and the machine's Node.js headers. The Debian package is made from such an install,
 * and test/package/ runs the installed copy.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TandemError } from '../src/errors.js';

/** Building a package failed: a command, a missing tool, a wrong runtime. */
export class PackagingError extends TandemError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TANDEM_EPACKAGE', message, options);
  }
}

export const REPOSITORY = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The packages whose install scripts build native code: tandem's own addon (node-gyp) and netlink
 * (node-gyp-build, which picks a prebuilt N-API binary it ships). npm 11 asks for them to be named at a global
 * install (`--allow-scripts`) and will skip unnamed ones once it blocks scripts by default.
 */
export const NATIVE_PACKAGES = ['tandem', 'netlink'] as const;

export interface PackageJson {
  name: string;
  version: string;
  description: string;
  license: string;
  engines: { node: string };
  dependencies: Record<string, string>;
}

export function packageJson(root = REPOSITORY): PackageJson {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/**
 * Runs argv (no shell) to completion and returns its stdout; throws with the command's stderr when it fails.
 * Synchronous: these are build steps, one after the other, and nothing else runs meanwhile.
 */
export function runTool(argv: readonly string[], options: RunOptions = {}): string {
  const [command, ...args] = argv;
  if (command === undefined) throw new PackagingError('runTool() needs a command, found none');
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? REPOSITORY,
    env: options.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeoutMs ?? 600_000,
  });
  if (result.error)
    throw new PackagingError(`${argv.join(' ')} could not run: ${result.error.message}`, {
      cause: result.error,
    });
  if (result.status !== 0)
    throw new PackagingError(
      `${argv.join(' ')} exited with ${result.status ?? result.signal}: ${(result.stderr || result.stdout).trim()}`,
    );
  return result.stdout;
}

/**
 * The environment for a nested npm: without the `npm_*` variables an outer `npm test` or `npm run` exports, so
 * the nested one reads its configuration as a user's npm would.
 */
function npmEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')),
  );
}

/** The checkout's files as git sees them: tracked and new, without what .gitignore excludes. */
function checkoutFiles(root: string): string[] {
  const listed = runTool(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
  });
  return listed.split('\0').filter((file) => file !== '' && existsSync(join(root, file)));
}

/**
 * `npm pack` on a copy of the checkout in a scratch directory (its `prepare` builds `dist/` there, with this
 * checkout's node_modules for tsc), the tarball written to `destination`. Returns the tarball's path.
 */
export function packTarball(destination: string, root = REPOSITORY): string {
  const stage = mkdtempSync(join(tmpdir(), 'tandem-pack-'));
  try {
    for (const file of checkoutFiles(root)) {
      mkdirSync(dirname(join(stage, file)), { recursive: true });
      cpSync(join(root, file), join(stage, file));
    }
    if (!existsSync(join(root, 'node_modules')))
      throw new PackagingError(`expected ${join(root, 'node_modules')} (run npm ci first), found none`);
    symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'));
    mkdirSync(destination, { recursive: true });
    const output = runTool(['npm', 'pack', '--json', '--pack-destination', destination], {
      cwd: stage,
      env: npmEnvironment(),
    });
    const [packed] = JSON.parse(output.slice(output.indexOf('['))) as { filename: string }[];
    if (!packed) throw new PackagingError(`expected npm pack to report a tarball, found: ${output}`);
    return join(destination, packed.filename);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

export interface InstallOptions {
  /** Only the local npm cache, never the registry (fails if a dependency is not cached). */
  offline?: boolean;
}

/**
 * `npm install -g` of `tarball` into `prefix` (bin/, lib/node_modules/, share/man/ below it), as a user
 * installs it: production dependencies only, every install script run, native code built from source.
 * Returns the installed package's directory.
 */
export function installTarball(tarball: string, prefix: string, options: InstallOptions = {}): string {
  runTool(
    [
      'npm',
      'install',
      '--global',
      '--prefix',
      prefix,
      options.offline ? '--offline' : '--prefer-offline',
      '--no-audit',
      '--no-fund',
      `--allow-scripts=${NATIVE_PACKAGES.join(',')}`,
      tarball,
    ],
    // Not from inside the checkout: npm would read its .npmrc and package.json.
    { cwd: dirname(tarball), env: npmEnvironment() },
  );
  const installed = join(prefix, 'lib', 'node_modules', packageJson().name);
  if (!existsSync(join(installed, 'package.json')))
    throw new PackagingError(`expected the package installed at ${installed}, found nothing there`);
  return installed;
}

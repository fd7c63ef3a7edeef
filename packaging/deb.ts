/**
 * `npm run package:deb [-- --compress gzip] [--out DIR]`: the Debian package tandem_VERSION_ARCH.deb, written at
 * the repository root, built with dpkg-deb from the npm tarball installed into a scratch prefix.
 *
 * It carries its own Node.js runtime (the one running this script) in /usr/lib/tandem/bin/node: Debian 12's
 * nodejs is 18 while tandem needs 20, and the addon built here is
 * compiled against this Node.js's headers. docs/install.md says why at length.
 *
 *   /usr/bin/tandem                        sh wrapper: exec the private node on the installed CLI
 *   /usr/lib/tandem/                       the installed npm package (dist, built addons, production modules)
 *   /usr/lib/tandem/bin/node               the runtime
 *   /lib/systemd/system/tandem.service     contrib/systemd/tandem.service
 *   /etc/tandem/tandem.conf                contrib/config/tandem.conf (a conffile)
 *   /usr/share/man/man8/tandem.8.gz, man5/tandem.conf.5.gz
 *   /usr/share/doc/tandem/                 README, docs/*.md, the hook examples, copyright
 */
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { MAN_PAGES, manFile } from './man.js';
import {
  PackagingError,
  REPOSITORY,
  installTarball,
  packTarball,
  packageJson,
  runTool,
  type PackageJson,
} from './stage.js';

export type Compression = 'xz' | 'gzip';

export interface DebOptions {
  /** Where tandem_VERSION_ARCH.deb goes (default: the repository root). */
  outputDirectory?: string;
  /** xz (default: the smallest, about a minute) or gzip (fast, for tests). */
  compression?: Compression;
  /** An `npm pack` tarball to build from (default: pack the checkout). */
  tarball?: string;
  /** An `npm install -g` of that tarball to build from (its lib/node_modules/tandem; default: install it). */
  installed?: string;
}

/** The minimal Node.js major version (package.json's engines says the same). */
const NODE_MAJOR = 20;

const LIBRARY = '/usr/lib/tandem';

/** npm's semver to a Debian version: a pre-release sorts before its release with `~`. */
export function debianVersion(version: string): string {
  return version.replace('-', '~');
}

export function debArchitecture(): string {
  return runTool(['dpkg', '--print-architecture']).trim();
}

export function debFileName(version = packageJson().version, architecture = debArchitecture()): string {
  return `tandem_${debianVersion(version)}_${architecture}.deb`;
}

function requireTools(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < NODE_MAJOR)
    throw new PackagingError(
      `expected Node.js >= ${NODE_MAJOR} to carry in the package, found ${process.version} (${process.execPath})`,
    );
  for (const tool of ['dpkg-deb', 'dpkg-shlibdeps'])
    try {
      runTool(['sh', '-c', `command -v ${tool}`]);
    } catch {
      throw new PackagingError(`expected ${tool} on PATH (apt-get install dpkg-dev), found none`);
    }
}

function walk(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    return entry.isDirectory() ? [path, ...walk(path)] : [path];
  });
}

/** Node.js's own licence text, wherever this runtime's installation put it. */
function nodeLicence(): string {
  const prefix = dirname(dirname(process.execPath));
  const candidates = [
    join(prefix, 'share/doc/node/LICENSE'),
    join(prefix, 'share/doc/nodejs/LICENSE'),
    '/usr/share/doc/nodejs/LICENSE',
    '/usr/share/doc/nodejs/copyright',
  ];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found)
    throw new PackagingError(
      `expected the licence of the Node.js runtime in one of ${candidates.join(', ')}, found none`,
    );
  return readFileSync(found, 'utf8');
}

/**
 * What running does not need: node-gyp's build leftovers (everything in a `build/` beside a binding.gyp but the
 * built `Release/*.node`, including config.gypi with this machine's paths) and other architectures' prebuilt
 * binaries.
 */
function prune(library: string): void {
  const keep = `linux-${process.arch}`;
  for (const path of walk(library).reverse()) {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) continue;
    const inBuild = relative(library, path)
      .split('/')
      .some(
        (part, index, parts) =>
          part === 'build' && existsSync(join(library, ...parts.slice(0, index), 'binding.gyp')),
      );
    const built = stat.isFile() && basename(dirname(path)) === 'Release' && path.endsWith('.node');
    if (inBuild && !built && (stat.isFile() || readdirSync(path).length === 0))
      rmSync(path, { recursive: true });
    else if (basename(dirname(path)) === 'prebuilds' && stat.isDirectory() && basename(path) !== keep)
      rmSync(path, { recursive: true });
  }
}

/** The ELF files dpkg-shlibdeps should read: the runtime and every addon. */
function sharedObjects(library: string): string[] {
  return walk(library).filter(
    (path) => path === join(library, 'bin', 'node') || (path.endsWith('.node') && statSync(path).isFile()),
  );
}

function dependsOf(objects: readonly string[], work: string): string {
  const fake = join(work, 'shlibdeps');
  mkdirSync(join(fake, 'debian'), { recursive: true });
  // dpkg-shlibdeps reads the source package's debian/control; one stanza naming the binary package is enough.
  writeFileSync(join(fake, 'debian', 'control'), 'Source: tandem\n\nPackage: tandem\nArchitecture: any\n');
  const output = runTool(['dpkg-shlibdeps', '-O', ...objects], { cwd: fake });
  const depends = /^shlibs:Depends=(.*)$/m.exec(output)?.[1];
  if (!depends) throw new PackagingError(`expected shlibs:Depends from dpkg-shlibdeps, found: ${output}`);
  return depends.trim();
}

function copyright(pkg: PackageJson, library: string): string {
  const modules = join(library, 'node_modules');
  const bundled = walk(modules)
    .filter(
      (path) => basename(path) === 'package.json' && basename(dirname(dirname(path))) === 'node_modules',
    )
    .map((path) => JSON.parse(readFileSync(path, 'utf8')) as { name?: string; license?: string })
    .filter((module) => module.name !== undefined)
    .map((module) => `  ${module.name}: ${module.license ?? 'see its package.json'}`)
    .sort();
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: tandem
Comment: The Node.js runtime and the npm modules tandem needs are carried in ${LIBRARY}.

Files: *
Copyright: the tandem authors
License: ${pkg.license === 'MIT' ? 'Expat' : pkg.license}

Files: ${LIBRARY.slice(1)}/bin/node
Copyright: Node.js contributors and the authors of the libraries it includes
License: Expat and others
 The full text, with the licences of the libraries Node.js includes, is in
 /usr/share/doc/tandem/LICENSE.nodejs.

Files: ${LIBRARY.slice(1)}/node_modules/*
Copyright: the authors of each module, as its package.json says
License: as each module's package.json says:
${bundled.map((line) => line.replace(/^ {2}/, ' ')).join('\n')}

License: Expat
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
 THE SOFTWARE.
`;
}

function write(path: string, content: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  chmodSync(path, mode);
}

function copy(from: string, to: string, mode = 0o644): void {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  chmodSync(to, mode);
}

/** Lays out the package's files under `root` (the installed npm package at `installed`). */
function layout(root: string, installed: string, pkg: PackageJson): void {
  const library = join(root, LIBRARY);
  cpSync(installed, library, { recursive: true, verbatimSymlinks: true });
  prune(library);
  copy(process.execPath, join(library, 'bin', 'node'), 0o755);
  write(
    join(root, 'usr/bin/tandem'),
    `#!/bin/sh\n# tandem runs on the Node.js runtime this package carries (see /usr/share/doc/tandem/install.md).\n` +
      `exec ${LIBRARY}/bin/node ${LIBRARY}/dist/src/cli.js "$@"\n`,
    0o755,
  );
  copy(join(REPOSITORY, 'contrib/systemd/tandem.service'), join(root, 'lib/systemd/system/tandem.service'));
  copy(join(REPOSITORY, 'contrib/config/tandem.conf'), join(root, 'etc/tandem/tandem.conf'));
  for (const page of MAN_PAGES)
    write(
      join(root, `usr/share/man/man${page.section}`, `${page.name}.${page.section}.gz`),
      gzipSync(readFileSync(manFile(page)), { level: 9 }),
    );
  const doc = join(root, 'usr/share/doc/tandem');
  copy(join(REPOSITORY, 'README.md'), join(doc, 'README.md'));
  for (const file of readdirSync(join(REPOSITORY, 'docs')).filter((name) => name.endsWith('.md')))
    copy(join(REPOSITORY, 'docs', file), join(doc, file));
  for (const file of walk(join(REPOSITORY, 'contrib/hooks')).filter((path) => statSync(path).isFile()))
    copy(
      file,
      join(doc, 'examples/hooks', relative(join(REPOSITORY, 'contrib/hooks'), file)),
      statSync(file).mode & 0o111 ? 0o755 : 0o644,
    );
  write(join(doc, 'copyright'), copyright(pkg, library));
  write(join(doc, 'LICENSE.nodejs'), nodeLicence());
  // Whatever the umask: directories 0755, nothing group- or world-writable.
  for (const path of [root, ...walk(root)]) {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) continue;
    if (stat.isDirectory()) chmodSync(path, 0o755);
    else chmodSync(path, stat.mode & 0o755);
  }
}

function installedSizeKiB(root: string): number {
  return walk(root)
    .map((path) => statSync(path, { throwIfNoEntry: false }))
    .reduce((sum, stat) => sum + (stat?.isFile() ? Math.ceil(stat.size / 1024) : 1), 0);
}

function control(pkg: PackageJson, architecture: string, depends: string, installedSize: number): string {
  return [
    'Package: tandem',
    `Version: ${debianVersion(pkg.version)}`,
    `Architecture: ${architecture}`,
    'Maintainer: tandem maintainers <tandem@example.org>',
    `Installed-Size: ${installedSize}`,
    `Depends: ${depends}`,
    'Suggests: keepalived',
    'Section: net',
    'Priority: optional',
    `Description: ${pkg.description}`,
    ' tandem elects one MASTER per virtual router (VRRPv2, VRRPv3 over IPv4 and',
    ' IPv6), moves the virtual IPs to it, announces them with gratuitous ARP and',
    ' unsolicited NA, and runs the hooks that make services follow. It reads the',
    ' VRRP part of an existing keepalived.conf unchanged and interoperates with',
    ' keepalived on the wire, so a pair can be moved one box at a time.',
    ' .',
    ` This package carries its own Node.js runtime in ${LIBRARY}.`,
    '',
  ].join('\n');
}

/** Builds the package and returns its path. */
export function buildDeb(options: DebOptions = {}): string {
  requireTools();
  const pkg = packageJson();
  const architecture = debArchitecture();
  const work = mkdtempSync(join(tmpdir(), 'tandem-deb-'));
  try {
    const installed =
      options.installed ?? installTarball(options.tarball ?? packTarball(work), join(work, 'prefix'));
    const root = join(work, 'root');
    layout(root, installed, pkg);
    const depends = dependsOf(sharedObjects(join(root, LIBRARY)), work);
    write(join(root, 'DEBIAN/control'), control(pkg, architecture, depends, installedSizeKiB(root)));
    write(join(root, 'DEBIAN/conffiles'), '/etc/tandem/tandem.conf\n');
    for (const script of ['postinst', 'prerm', 'postrm'])
      copy(join(REPOSITORY, 'packaging/debian', script), join(root, 'DEBIAN', script), 0o755);
    chmodSync(join(root, 'DEBIAN'), 0o755);
    const output = join(options.outputDirectory ?? REPOSITORY, debFileName(pkg.version, architecture));
    mkdirSync(dirname(output), { recursive: true });
    const compression = options.compression ?? 'xz';
    runTool([
      'dpkg-deb',
      '--root-owner-group',
      `-Z${compression}`,
      compression === 'gzip' ? '-z1' : '-z6',
      '--build',
      root,
      output,
    ]);
    return output;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function optionValue(argv: readonly string[], name: string): string | undefined {
  const index = argv.indexOf(name);
  return index === -1 ? undefined : argv[index + 1];
}

function main(argv: readonly string[]): void {
  const compression = optionValue(argv, '--compress') ?? 'xz';
  if (compression !== 'xz' && compression !== 'gzip')
    throw new PackagingError(`--compress must be xz or gzip, found ${compression}`);
  const started = Date.now();
  const output = buildDeb({ compression, outputDirectory: optionValue(argv, '--out') });
  const size = (statSync(output).size / 1024 / 1024).toFixed(1);
  process.stdout.write(`${output} (${size} MiB, ${Math.round((Date.now() - started) / 1000)} s)\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main(process.argv.slice(2));

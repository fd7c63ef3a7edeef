/**
 * The man pages tandem(8) and tandem.conf(5), made from docs/ so the documentation has one source:
 *
 *   npm run man            rewrite man/tandem.8 and man/tandem.conf.5 from docs/
 *   npm run man -- --check exit 1 if they differ from what docs/ gives (test/package/man.test.ts does the same)
 *
 * A page is a list of parts: a Markdown file's introduction and its `##` sections, in order, each section a
 * `.SH` (its `###` ones `.SS`). The pages are committed, so a checkout, the npm tarball and the Debian package
 * carry them without building anything.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Lexer, type Token, type Tokens } from 'marked';
import { manHeader, markdownToRoff } from './roff.js';
import { PackagingError, REPOSITORY, packageJson } from './stage.js';

interface Part {
  /** A Markdown file below the repository. */
  file: string;
  /** `.SH` title for the file's introduction (the text before its first `##`); omitted: not included. */
  intro?: string;
  /** The `##` sections to include, in the file's order; omitted: all of them. */
  sections?: readonly string[];
  /** Sections left out (developer matters that a man page reader does not need). */
  skip?: readonly string[];
  /** The `#` title becomes one `.SH` and the file's `##` sections `.SS` under it. */
  nested?: boolean;
}

export interface ManPage {
  name: string;
  section: number;
  summary: string;
  parts: readonly Part[];
  seeAlso: string;
}

const DOCS_NOTE =
  'The whole documentation, with the migration guide from keepalived, the lab and the protocol notes, is in ' +
  'docs/ of the source and in /usr/share/doc/tandem of the Debian package.';

export const MAN_PAGES: readonly ManPage[] = [
  {
    name: 'tandem',
    section: 8,
    summary: 'VRRP high-availability failover agent, wire-compatible with keepalived',
    parts: [
      { file: 'docs/operations.md', sections: ['Synopsis'] },
      { file: 'docs/operations.md', intro: 'Description', skip: ['Synopsis'] },
    ],
    seeAlso: `tandem.conf(5), keepalived(8), keepalived.conf(5), systemctl(1), ip-address(8).\n\n${DOCS_NOTE}`,
  },
  {
    name: 'tandem.conf',
    section: 5,
    summary: 'configuration of tandem, in keepalived.conf syntax',
    parts: [
      { file: 'docs/config.md', intro: 'Description', skip: ['The normalized configuration'] },
      { file: 'docs/hooks.md', nested: true },
    ],
    seeAlso: `tandem(8), keepalived.conf(5).\n\n${DOCS_NOTE}`,
  },
];

/** How links between the docs read in a man page: a page reference where the doc is in one. */
const LINKS: Record<string, string> = {
  'operations.md': 'tandem(8)',
  'config.md': 'tandem.conf(5)',
  'hooks.md': 'tandem.conf(5)',
};

function linkTarget(href: string): string {
  const file = basename(href.replace(/#.*/, ''));
  return LINKS[file] ?? `\\fI${file}\\fP`;
}

interface Section {
  title: string;
  tokens: Token[];
}

/** A Markdown file cut at its `##` headings: the title, the introduction, the sections. */
function sectionsOf(markdown: string): { title: string; intro: Token[]; sections: Section[] } {
  let title = '';
  const intro: Token[] = [];
  const sections: Section[] = [];
  for (const token of Lexer.lex(markdown)) {
    const heading = token.type === 'heading' ? (token as Tokens.Heading) : undefined;
    if (heading?.depth === 1) title = heading.text;
    else if (heading?.depth === 2) sections.push({ title: heading.text, tokens: [token] });
    else (sections.at(-1)?.tokens ?? intro).push(token);
  }
  return { title, intro, sections };
}

function renderTokens(tokens: Token[], sectionDepth: number): string {
  // Back to Markdown and through the converter: the tokens keep their raw source.
  return markdownToRoff(tokens.map((token) => token.raw).join(''), { sectionDepth, linkTarget });
}

function renderPart(part: Part): string {
  const { title, intro, sections } = sectionsOf(readFileSync(join(REPOSITORY, part.file), 'utf8'));
  const known = new Set(sections.map((section) => section.title));
  for (const name of [...(part.sections ?? []), ...(part.skip ?? [])])
    if (!known.has(name))
      throw new PackagingError(`expected a section '## ${name}' in ${part.file}, found none`);
  const chosen = sections.filter(
    (section) =>
      (part.sections === undefined || part.sections.includes(section.title)) &&
      !(part.skip ?? []).includes(section.title),
  );
  if (part.nested)
    return renderTokens(
      [{ type: 'heading', raw: `# ${title}\n\n`, depth: 1, text: title, tokens: [] }, ...intro],
      1,
    ).concat(chosen.map((section) => renderTokens(section.tokens, 1)).join(''));
  const head = part.intro === undefined ? '' : `.SH "${part.intro.toUpperCase()}"\n` + renderTokens(intro, 2);
  return head + chosen.map((section) => renderTokens(section.tokens, 2)).join('');
}

export function renderManPage(page: ManPage): string {
  const { version } = packageJson();
  return [
    manHeader({ ...page, source: `tandem ${version}`, manual: 'tandem manual' }),
    ...page.parts.map(renderPart),
    '.SH "SEE ALSO"\n',
    markdownToRoff(page.seeAlso, { sectionDepth: 2, linkTarget }),
  ].join('');
}

export function manFile(page: ManPage): string {
  return join(REPOSITORY, 'man', `${page.name}.${page.section}`);
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  let stale = 0;
  for (const page of MAN_PAGES) {
    const file = manFile(page);
    const rendered = renderManPage(page);
    let current: string | undefined;
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === rendered) continue;
    stale++;
    if (check) process.stderr.write(`${file} differs from docs/: run npm run man\n`);
    else writeFileSync(file, rendered);
  }
  return check && stale > 0 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  process.exitCode = main(process.argv.slice(2));

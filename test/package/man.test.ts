/**
 * The man pages: made from docs/ (so regenerating gives the committed files byte for byte), clean for groff
 * (no warning at all), and read by man(1) with every section the docs have, tables inside 80 columns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lexer, type Tokens } from 'marked';
import { MAN_PAGES, manFile, renderManPage } from '../../packaging/man.js';
import { markdownToRoff } from '../../packaging/roff.js';
import { REPOSITORY } from '../../packaging/stage.js';

const page = (name: string) => {
  const found = MAN_PAGES.find((candidate) => candidate.name === name);
  assert.ok(found, `a man page named ${name}`);
  return found;
};

function shown(file: string): string {
  const result = spawnSync('man', ['-l', file], {
    encoding: 'utf8',
    env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat', LC_ALL: 'C.UTF-8' },
  });
  assert.equal(result.status, 0, `man -l ${file}: ${result.stderr}`);
  return result.stdout;
}

/** The `##` headings of a doc, as man shows them (upper case). */
function sectionsOf(file: string, skip: readonly string[] = []): string[] {
  return Lexer.lex(readFileSync(join(REPOSITORY, file), 'utf8'))
    .filter((token): token is Tokens.Heading => token.type === 'heading' && token.depth === 2)
    .map((heading) => heading.text.replace(/`/g, ''))
    .filter((title) => !skip.includes(title));
}

test('regenerating the man pages from docs/ gives the committed files (run npm run man if not)', () => {
  for (const manPage of MAN_PAGES)
    assert.equal(
      renderManPage(manPage),
      readFileSync(manFile(manPage), 'utf8'),
      `${manFile(manPage)} is stale: run npm run man`,
    );
});

test('groff formats both pages without a single warning', () => {
  for (const manPage of MAN_PAGES) {
    const result = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', manFile(manPage)], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0);
    assert.equal(result.stderr, '', `groff warnings for ${manFile(manPage)}`);
  }
});

test('tandem(8) as man shows it: the usual sections and every section of docs/operations.md', () => {
  const text = shown(manFile(page('tandem')));
  const headings = text.split('\n').filter((line) => /^[A-Z]/.test(line));
  assert.match(headings[0] ?? '', /^TANDEM\(8\)/);
  for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'SIGNALS', 'FILES', 'SEE ALSO'])
    assert.ok(headings.includes(section), `section ${section} in ${headings.join(', ')}`);
  for (const section of sectionsOf('docs/operations.md'))
    assert.ok(headings.includes(section.toUpperCase()), `docs/operations.md '${section}' in tandem(8)`);
  assert.match(text, /tandem run \[-f FILE\]/, 'the synopsis, with ASCII hyphens');
  assert.match(text, /tandem\.conf\(5\)/);
});

test('tandem.conf(5) as man shows it: config.md sections, the keywords and the hooks', () => {
  const text = shown(manFile(page('tandem.conf')));
  const headings = text.split('\n').filter((line) => /^[A-Z]/.test(line));
  assert.match(headings[0] ?? '', /^TANDEM\.CONF\(5\)/);
  for (const section of sectionsOf('docs/config.md', ['The normalized configuration']))
    assert.ok(headings.includes(section.toUpperCase()), `docs/config.md '${section}' in tandem.conf(5)`);
  assert.ok(headings.some((line) => line.startsWith('HOOKS')));
  assert.ok(headings.includes('SEE ALSO'));
  // A keyword entry from a six-column table: the keyword as the tag, its meaning and details below.
  assert.match(text, /\n {7}virtual_router_id\n {14}\S/);
  assert.match(text, /in tandem: implemented/);
});

test('tables stay inside 80 columns; nothing escapes as a literal backslash sequence', () => {
  for (const manPage of MAN_PAGES) {
    const text = shown(manFile(manPage));
    const wide = text.split('\n').filter((line) => /[│┌└├]/.test(line) && [...line].length > 80);
    assert.deepEqual(wide, [], `table lines wider than 80 columns in ${manPage.name}`);
    assert.doesNotMatch(text, /\\f[BIRP]|\\\[u[0-9A-F]{4}\]/, `unrendered escapes in ${manPage.name}`);
  }
});

test('the converter: escapes, a request-looking line, code with ASCII minus, an unknown block refused', () => {
  const context = { sectionDepth: 2, linkTarget: (href: string) => `<${href}>` };
  const roff = markdownToRoff(
    'Text with a back\\\\slash and `--flag` and § sign\n.starts like a request\n\n```\n.x -y\n```\n',
    context,
  );
  assert.match(roff, /back\\eslash/);
  assert.match(roff, /\\fB\\%\\-\\-flag\\fP/);
  assert.match(roff, /\\\[u00A7\]/);
  assert.match(roff, /^\\&\.starts like a request$/m);
  assert.match(roff, /^\\&\.x \\-y$/m);
  assert.match(
    markdownToRoff('see [the hooks](hooks.md#at-stop)\n', context),
    /the hooks \(<hooks.md#at-stop>\)/,
  );
  assert.throws(() => markdownToRoff('<div>raw html block</div>\n', context), /found 'html'/);
});

/**
 * docs/config.md's keyword tables, generated from the keyword table (keywords.ts), so that the docs say exactly
 * what the code does. Each table sits between `<!-- keywords: SECTION_ID -->` and `<!-- /keywords -->`; the
 * text around them is written by hand. `npm run docs:keywords` rewrites the tables in place; a test fails when
 * docs/config.md differs from what this would write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SECTIONS, type KeywordSpec } from './keywords.js';

const HEADER = [
  '| keyword | values | default | keepalived has it | in tandem | meaning |',
  '| --- | --- | --- | --- | --- | --- |',
];

/** A markdown table cell: pipes escaped, code spans for syntax. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function row(keyword: KeywordSpec<never>): string {
  const syntax =
    keyword.syntax === '' ? (keyword.apply === undefined ? '' : 'flag') : `\`${keyword.syntax}\``;
  const origin = keyword.origin === 'keepalived' ? 'yes' : 'no (tandem)';
  return `| \`${keyword.name}\` | ${cell(syntax)} | ${cell(keyword.default ?? '')} | ${origin} | ${cell(keyword.support)} | ${cell(keyword.description)} |`;
}

/** The markdown table of one section (by id). */
export function keywordTable(sectionId: string): string {
  const section = SECTIONS.find((candidate) => candidate.id === sectionId);
  if (section === undefined) throw new Error(`no section '${sectionId}' in the keyword table`);
  return [...HEADER, ...section.keywords.map(row)].join('\n');
}

const BLOCK = /(<!-- keywords: ([a-z_]+) -->\n)[\s\S]*?(\n<!-- \/keywords -->)/g;

/** `markdown` with every generated table replaced by what the keyword table says now. */
export function updateKeywordDocs(markdown: string): string {
  return markdown.replace(
    BLOCK,
    (_whole, open: string, id: string, close: string) => open + keywordTable(id) + close,
  );
}

/** The section ids that have a generated table in `markdown`. */
export function documentedSections(markdown: string): string[] {
  return [...markdown.matchAll(BLOCK)].map((match) => match[2] as string);
}

export const CONFIG_DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/config.md');

// `npm run docs:keywords`: rewrite docs/config.md in place.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const before = readFileSync(CONFIG_DOC, 'utf8');
  const after = updateKeywordDocs(before);
  if (after !== before) writeFileSync(CONFIG_DOC, after);
  process.stdout.write(`${CONFIG_DOC}: ${after === before ? 'up to date' : 'keyword tables rewritten'}\n`);
}

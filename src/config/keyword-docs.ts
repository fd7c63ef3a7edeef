/**
 * docs/config.md's keyword tables, generated from the keyword table (keywords.ts), so that the docs say exactly
 * what the code does. Each table is the first one after its section's `### TITLE` heading; the text around
 * them is written by hand. `npm run docs:keywords` rewrites the tables in place; a test fails when
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

/**
 * Where the table of each section is: the first table (a line starting `| keyword |`) after the heading
 * `### TITLE`, before the next heading. No marker comments: docs/config.md is also made into tandem.conf(5).
 */
function tableSpans(lines: readonly string[]): { id: string; start: number; end: number }[] {
  const spans: { id: string; start: number; end: number }[] = [];
  for (const section of SECTIONS) {
    const heading = lines.indexOf(`### ${section.title}`);
    if (heading === -1) continue;
    let start = heading + 1;
    while (start < lines.length && !lines[start]?.startsWith('#') && !lines[start]?.startsWith('| keyword |'))
      start++;
    if (!lines[start]?.startsWith('| keyword |')) continue;
    let end = start;
    while (end < lines.length && lines[end]?.startsWith('|')) end++;
    spans.push({ id: section.id, start, end });
  }
  return spans.sort((a, b) => a.start - b.start);
}

/** `markdown` with every section's keyword table replaced by what the keyword table says now. */
export function updateKeywordDocs(markdown: string): string {
  const lines = markdown.split('\n');
  // From the last table up, so that the positions of the earlier ones stay valid.
  for (const span of tableSpans(lines).reverse())
    lines.splice(span.start, span.end - span.start, ...keywordTable(span.id).split('\n'));
  return lines.join('\n');
}

/** The section ids that have a keyword table in `markdown`. */
export function documentedSections(markdown: string): string[] {
  return tableSpans(markdown.split('\n')).map((span) => span.id);
}

export const CONFIG_DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/config.md');

// `npm run docs:keywords`: rewrite docs/config.md in place.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const before = readFileSync(CONFIG_DOC, 'utf8');
  const after = updateKeywordDocs(before);
  if (after !== before) writeFileSync(CONFIG_DOC, after);
  process.stdout.write(`${CONFIG_DOC}: ${after === before ? 'up to date' : 'keyword tables rewritten'}\n`);
}

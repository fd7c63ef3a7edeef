/** docs/config.md documents every keyword of the keyword table, in its section, with its support and origin. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SECTIONS } from '../../src/config/keywords.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const doc = fs.readFileSync(path.join(root, 'docs/config.md'), 'utf8');

/** The lines of the docs section headed `### title`. */
function sectionLines(title: string): string[] {
  const lines = doc.split('\n');
  const start = lines.indexOf(`### ${title}`);
  assert.notEqual(start, -1, `docs/config.md has no heading '### ${title}'`);
  const end = lines.findIndex((line, index) => index > start && line.startsWith('#'));
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

test('every keyword of the table has a row in its section of docs/config.md', () => {
  const missing: string[] = [];
  for (const section of SECTIONS) {
    const rows = sectionLines(section.title);
    for (const keyword of section.keywords) {
      const row = rows.find((line) => line.startsWith(`| \`${keyword.name}\``));
      if (row === undefined) {
        missing.push(`${section.title}: ${keyword.name}`);
        continue;
      }
      const cells = row.split(/(?<!\\)\|/).map((cell) => cell.trim());
      const support = {
        implemented: 'implemented',
        'no-effect': 'accepted, no effect',
        unsupported: 'unsupported',
      }[keyword.support];
      assert.equal(
        cells[4],
        keyword.origin === 'keepalived' ? 'yes' : 'no (tandem)',
        `origin of ${keyword.name}`,
      );
      assert.equal(cells[5], support, `support of ${keyword.name}`);
      if (keyword.default !== undefined) {
        assert.equal(cells[3], keyword.default.replace(/\|/g, '\\|'), `default of ${keyword.name}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});

test('docs/config.md documents no keyword the table does not have', () => {
  const known = new Set(
    SECTIONS.flatMap((section) => section.keywords.map((k) => `${section.title}: ${k.name}`)),
  );
  for (const section of SECTIONS) {
    for (const line of sectionLines(section.title)) {
      const name = /^\| `([^`]+)`/.exec(line)?.[1];
      if (name !== undefined)
        assert.ok(known.has(`${section.title}: ${name}`), `docs list '${name}' in ${section.title}`);
    }
  }
});

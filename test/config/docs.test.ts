/**
 * One source of truth for support levels: docs/config.md's keyword tables are what the keyword table says, and a
 * keyword marked implemented sets schema fields that the agent (code outside src/config) actually reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { documentedSections, updateKeywordDocs } from '../../src/config/keyword-docs.js';
import { SECTIONS } from '../../src/config/keywords.js';
import { isNotImplementedYet } from '../../src/config/support.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const doc = fs.readFileSync(path.join(root, 'docs/config.md'), 'utf8');

test('docs/config.md has the keyword tables the keyword table generates (npm run docs:keywords)', () => {
  assert.deepEqual(
    documentedSections(doc).sort(),
    SECTIONS.map((section) => section.id).sort(),
    'every section of the keyword table has its generated table in docs/config.md',
  );
  // Compared line by line so that a failure names the rows that differ.
  const expected = updateKeywordDocs(doc).split('\n');
  const actual = doc.split('\n');
  const differing = expected.flatMap((line, index) =>
    line === actual[index] ? [] : [`line ${index + 1}:\n  docs: ${actual[index]}\n  table: ${line}`],
  );
  assert.deepEqual(differing, [], 'docs/config.md is out of date: run `npm run docs:keywords`');
});

/** Every .ts file under src/ outside src/config, without its comments. */
function readersOutsideConfig(): { file: string; text: string }[] {
  const files: { file: string; text: string }[] = [];
  const walk = (directory: string) => {
    for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
      const full = path.join(directory, entry.name);
      if (entry.isDirectory()) {
        if (full !== path.join(root, 'src/config')) walk(full);
      } else if (entry.name.endsWith('.ts')) {
        const text = fs
          .readFileSync(full, 'utf8')
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/(^|[^:])\/\/.*$/gm, '$1');
        files.push({ file: path.relative(root, full), text });
      }
    }
  };
  walk(path.join(root, 'src'));
  // not-yet-enforced.ts refuses what is not implemented: mentioning a field there is not acting on it.
  // carp-entry-defaults.ts writes the vrrp_instance fields a carp_instance leaves off: writing is not reading.
  return files.filter(
    (f) => f.file !== 'src/daemon/not-yet-enforced.ts' && f.file !== 'src/daemon/carp-entry-defaults.ts',
  );
}

/**
 * Whether `text` reads the property `name`: a property access (`.name`, `?.name`), a destructuring
 * (`{ a, name } =` or a parameter `{ name }: Type`), or the name as a string key (`notify['master']`, a list of
 * keys). A bare word is not enough: a type declaration or a local variable of the same name reads nothing.
 */
function reads(text: string, name: string): boolean {
  return new RegExp(
    `\\??\\.\\s*${name}\\b|\\{[^{}]*\\b${name}\\b[^{}]*\\}\\s*(=|:\\s*[A-Z])|['"]${name}['"]`,
  ).test(text);
}

test('every keyword marked implemented sets schema fields read outside src/config', () => {
  const readers = readersOutsideConfig();
  const unread: string[] = [];
  const undeclared: string[] = [];
  for (const section of SECTIONS) {
    for (const keyword of section.keywords) {
      if (keyword.support !== 'implemented') continue;
      const where = `${section.id}: ${keyword.name}`;
      if (keyword.reads === undefined || keyword.reads.length === 0) {
        undeclared.push(where);
        continue;
      }
      if (keyword.reads === 'config') continue;
      for (const field of keyword.reads) {
        // `notify.master`: the property and its parent both appear in one reading file.
        const parts = field.split('.');
        if (!readers.some((reader) => parts.every((part) => reads(reader.text, part))))
          unread.push(`${where} -> ${field}`);
      }
    }
  }
  assert.deepEqual(undeclared, [], 'implemented keywords must say which schema fields the agent reads');
  assert.deepEqual(unread, [], 'implemented, but nothing outside src/config reads these fields');
});

test('the check has teeth: a field nobody reads is found unread', () => {
  const readers = readersOutsideConfig();
  // A declaration or a variable of the same name is not a read; an access, a destructuring or a key is.
  assert.equal(reads('interface X { vmacXmitBase: boolean }', 'vmacXmitBase'), false);
  assert.equal(reads('const unicastTtl = 3;', 'unicastTtl'), false);
  assert.equal(reads('f(config.unicastTtl)', 'unicastTtl'), true);
  assert.equal(reads('const { a, unicastTtl } = config;', 'unicastTtl'), true);
  assert.equal(reads("for (const key of ['master', 'backup'])", 'master'), true);
  // Fields of keywords refused until their runtime lands: no reader yet (strictly: no access, destructuring or key).
  for (const field of ['useVmacAddr', 'trackSrcIp', 'unicastFaultNoPeer']) {
    assert.ok(
      !readers.some((reader) => reads(reader.text, field)),
      `${field} is read outside src/config now: the keyword that sets it may be ready to be marked implemented`,
    );
  }
  const pending = SECTIONS.flatMap((section) => section.keywords).filter((k) =>
    isNotImplementedYet(k.support),
  );
  assert.ok(pending.some((k) => k.name === 'use_vmac_addr'));
  assert.ok(pending.some((k) => k.name === 'track_src_ip'));
});

/**
 * Random edits of valid configurations never crash the loader: every outcome is a result with diagnostics,
 * never an exception, and never the loader's own "internal error" safety net.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { loadConfig, memoryFileSystem, type LoadResult } from '../../src/config/index.js';
import { instance } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SAMPLES = '/usr/share/doc/keepalived/samples';

function seeds(): string[] {
  const fixtures = path.join(root, 'test/fixtures/config');
  const texts = fs.readdirSync(fixtures).map((f) => fs.readFileSync(path.join(fixtures, f), 'utf8'));
  for (const sample of [
    'keepalived.conf.vrrp.localcheck',
    'keepalived.conf.vrrp.routes',
    'keepalived.conf.vrrp.sync',
  ]) {
    texts.push(fs.readFileSync(path.join(SAMPLES, sample), 'utf8'));
  }
  texts.push(instance('unicast_src_ip 192.0.2.1', 'unicast_peer {', '    192.0.2.2 min_ttl 1', '}'));
  return texts;
}

/** Fragments that exercise the lexer's and parser's special cases. */
const FRAGMENTS = [
  '{',
  '}',
  '"',
  "'",
  '#',
  '!',
  '\\',
  '\n',
  ' ',
  '\t',
  '$',
  '${',
  '$X=',
  '@',
  '@^',
  'include test.conf',
  'include *',
  '$X=$X$X',
  '~SEQ(',
  '255',
  '0',
  '-1',
  '999999999999999999',
  '0.001',
  '::',
  '192.0.2.',
  '/33',
  'vrrp_instance',
  'virtual_server',
  'weight',
  'reverse',
  'dev',
  'label',
  '\u00e9',
  '\u0000',
];

type Edit =
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'duplicate-line'; line: number }
  | { kind: 'drop-line'; line: number };

const editArbitrary: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 8 })),
  }),
  fc.record({ kind: fc.constant('duplicate-line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('drop-line' as const), line: fc.nat() }),
);

function applyEdit(text: string, edit: Edit): string {
  switch (edit.kind) {
    case 'delete': {
      const at = edit.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + edit.length);
    }
    case 'insert': {
      const at = edit.at % (text.length + 1);
      return text.slice(0, at) + edit.text + text.slice(at);
    }
    case 'duplicate-line':
    case 'drop-line': {
      const lines = text.split('\n');
      const index = edit.line % lines.length;
      if (edit.kind === 'drop-line') lines.splice(index, 1);
      else lines.splice(index, 0, lines[index] ?? '');
      return lines.join('\n');
    }
  }
}

function assertWellFormed(result: LoadResult): void {
  assert.ok(Array.isArray(result.diagnostics));
  for (const d of result.diagnostics) {
    assert.ok(!d.message.startsWith('internal error'), d.message);
    assert.ok(d.line >= 1 && d.column >= 1, `position ${d.line}:${d.column} of '${d.message}'`);
    assert.ok(d.file.length > 0);
    assert.ok(d.code.startsWith('TANDEM_'));
  }
  const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
  assert.equal(
    result.config === undefined,
    errors > 0,
    'a config is returned exactly when there is no error',
  );
  if (result.config !== undefined) assert.doesNotThrow(() => JSON.stringify(result.config));
}

test('random edits of valid configurations never crash the loader', async () => {
  const texts = seeds();
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...texts),
      fc.array(editArbitrary, { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      async (seed, edits, lenient) => {
        const text = edits.reduce(applyEdit, seed);
        const files = memoryFileSystem({ 'test.conf': text, 'other.conf': seed });
        assertWellFormed(await loadConfig('test.conf', { files, lenient, configId: 'fuzz' }));
      },
    ),
    { numRuns: 400, seed: 20240501 },
  );
});

test('random text never crashes the loader', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 6 })), { maxLength: 60 }),
      async (parts) => {
        const files = memoryFileSystem({ 'test.conf': parts.join(' ') });
        assertWellFormed(await loadConfig('test.conf', { files, configId: 'fuzz' }));
      },
    ),
    { numRuns: 300, seed: 7 },
  );
});

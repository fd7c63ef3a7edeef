/**
 * README's quick start is what a new user pastes into a fresh Debian root shell, and `.ci/run` is what CI runs on
 * one: the two must install the same packages, and the commands the quick start names must exist, or the quick
 * start stops working verbatim while CI stays green.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lexer, type Tokens } from 'marked';
import { REPO_ROOT } from '../helpers/netns.js';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const ci = readFileSync(join(REPO_ROOT, '.ci/run'), 'utf8');

/** The package names of the first `apt-get install` command in a shell text (continuation lines joined). */
function aptPackages(shell: string): string[] {
  const joined = shell.replace(/\\\n/g, ' ');
  const line = joined.split('\n').find((candidate) => /apt-get install/.test(candidate));
  assert.ok(line, 'an apt-get install line');
  const words = line.slice(line.indexOf('apt-get install') + 'apt-get install'.length).split(/\s+/);
  return words
    .filter((word) => word !== '' && !word.startsWith('-') && /^[a-z0-9][a-z0-9.+-]*$/.test(word))
    .sort();
}

const quickStart = Lexer.lex(readme)
  .filter((token): token is Tokens.Code => token.type === 'code' && token.lang === 'sh')
  .find((block) => block.text.includes('apt-get install'));

test('the quick start installs exactly the Debian packages CI installs', () => {
  assert.ok(quickStart, 'README has a sh block with the apt-get line');
  assert.deepEqual(aptPackages(quickStart.text), aptPackages(ci));
});

test('every npm script the quick start runs exists in package.json, and CI runs the test command it shows', () => {
  assert.ok(quickStart);
  const scripts = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: object })
    .scripts;
  const named = [...quickStart.text.matchAll(/^npm (?:run )?([a-z:-]+)/gm)].map((match) => match[1] ?? '');
  for (const name of named.filter((n) => n !== 'ci')) assert.ok(name in scripts, `npm script ${name}`);
  assert.ok(named.includes('test'));
  assert.match(ci, /^npm test$/m);
});

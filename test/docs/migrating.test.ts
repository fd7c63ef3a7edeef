/**
 * docs/migrating.md says its configurations run under both daemons, which is what a rolling swap and a rollback
 * rely on. Every fenced block marked `keepalived.conf` is checked by `tandem check` (exit 0, no error) and by
 * keepalived 2.2's own `--config-test`; so is lb2's file made from lb1's the way the guide says; the shell
 * scripts in it parse.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lexer, type Tokens } from 'marked';
import { REPO_ROOT } from '../helpers/netns.js';

const guide = readFileSync(join(REPO_ROOT, 'docs/migrating.md'), 'utf8');
const blocks = Lexer.lex(guide).filter((token): token is Tokens.Code => token.type === 'code');
const configs = blocks.filter((block) => block.lang === 'keepalived.conf').map((block) => block.text + '\n');

function withFile<T>(text: string, use: (file: string) => T): T {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-migrating-'));
  try {
    const file = join(directory, 'keepalived.conf');
    writeFileSync(file, text);
    return use(file);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function tandemCheck(text: string): { status: number | null; stderr: string } {
  return withFile(text, (file) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'check', '-f', file], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    }),
  );
}

function keepalivedCheck(text: string): { status: number | null; stderr: string; error?: Error } {
  return withFile(text, (file) =>
    spawnSync('keepalived', ['--config-test', '--log-console', '-f', file], {
      encoding: 'utf8',
      timeout: 60_000,
    }),
  );
}

/** lb2's file, made from lb1's as the guide says: router_id, state, priority, the unicast addresses swapped. */
function secondBox(text: string): string {
  return text
    .replace('router_id lb1', 'router_id lb2')
    .replace('state MASTER', 'state BACKUP')
    .replace('priority 150', 'priority 100')
    .replace(/192\.0\.2\.1([12])/g, (_, last: string) => `192.0.2.1${last === '1' ? '2' : '1'}`);
}

test('the guide has its keepalived.conf examples', () => {
  assert.ok(configs.length >= 2, `expected the before and after configurations, found ${configs.length}`);
});

test('every keepalived.conf in the guide passes tandem check, for lb1 and for lb2', () => {
  for (const [index, text] of configs.entries())
    for (const [box, config] of [
      ['lb1', text],
      ['lb2', secondBox(text)],
    ] as const) {
      assert.notEqual(config, secondBox(config), 'lb2 differs from lb1');
      const result = tandemCheck(config);
      assert.equal(result.status, 0, `block ${index + 1} (${box}): ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /: error: /, `block ${index + 1} (${box})`);
    }
});

test('every keepalived.conf in the guide passes keepalived 2.2 --config-test (the rollback reads it)', () => {
  for (const [index, text] of configs.entries()) {
    const result = keepalivedCheck(text);
    assert.equal(result.error, undefined, 'keepalived is installed (Debian package keepalived, see .ci/run)');
    // 6 is keepalived's "only script security findings" (scripts run as root without enable_script_security,
    // which the guide's files share with most keepalived.conf files and tandem warns about too); 5 is an error.
    assert.ok(
      result.status === 0 || result.status === 6,
      `block ${index + 1}: ${result.status} ${result.stderr}`,
    );
    if (result.status === 6) assert.match(result.stderr, /SECURITY VIOLATION - scripts are being executed/);
  }
});

test('a configuration keepalived rejects is noticed by this check (the check can fail)', () => {
  const broken = (configs[0] ?? '').replace('advert_int 1', 'advert_int 1\n    not_a_keyword 1');
  assert.notEqual(keepalivedCheck(broken).status, 0);
  assert.equal(tandemCheck(broken).status, 1);
});

test('the shell scripts in the guide parse', () => {
  const scripts = blocks.filter((block) => block.lang === 'sh' && block.text.startsWith('#!/bin/sh'));
  assert.ok(scripts.length >= 1);
  for (const script of scripts) {
    const result = spawnSync('sh', ['-n'], { input: script.text, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  }
});

test('the guide warns about name-based health checks and points to better ones', () => {
  assert.match(guide, /`killall -0 haproxy` succeeds when \*\*any\*\* process/);
  assert.match(guide, /PID namespace/);
  assert.ok(
    configs.some((text) => /vrrp_track_process/.test(text)),
    'a vrrp_track_process example',
  );
  assert.match(guide, /\/run\/haproxy\.pid/, 'a pid-file check');
});

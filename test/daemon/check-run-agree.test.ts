/**
 * `tandem check` and `tandem run` agree (issue 14): over keepalived's sample configurations and tandem's own, no
 * configuration passes check that run refuses, or the reverse, with or without --lenient; and with --lenient
 * run prints what check prints, ending with the list of every dropped keyword, once each.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCheck } from '../../src/daemon/check-command.js';
import { configurationForRun } from '../../src/daemon/run-command.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SAMPLES = '/usr/share/doc/keepalived/samples';

function configurations(): string[] {
  assert.ok(fs.existsSync(SAMPLES), `${SAMPLES} is missing: install Debian's keepalived package`);
  const inDirectory = (directory: string, keep: (name: string) => boolean) =>
    fs
      .readdirSync(directory)
      .filter(keep)
      .map((name) => path.join(directory, name));
  return [
    ...inDirectory(SAMPLES, (name) => name.startsWith('keepalived.conf')),
    ...inDirectory(path.join(root, 'test/fixtures/config'), (name) => name.endsWith('.conf')),
    ...inDirectory(path.join(root, 'test/daemon-conformance/scenarios'), (name) => name.endsWith('.conf')),
  ];
}

/** What `tandem run` decides about `file` before it starts: refused or not, and what it prints. */
async function runDecision(file: string, lenient: boolean) {
  const result = await configurationForRun(file, { lenient });
  return { refused: result.config === undefined, printed: result.report.join('') };
}

test('check passes exactly what run starts, over every sample configuration, strict and --lenient', async () => {
  const files = configurations();
  assert.ok(files.length > 20, 'the samples are there');
  let refusedSomewhere = 0;
  let droppedSomewhere = 0;
  for (const file of files) {
    for (const lenient of [false, true]) {
      const check = await runCheck(file, { lenient });
      const run = await runDecision(file, lenient);
      const label = `${path.basename(file)}${lenient ? ' --lenient' : ''}`;
      assert.equal(check.exitCode === 0, !run.refused, `${label}: check exit ${check.exitCode}`);
      if (run.refused) refusedSomewhere++;
      if (!lenient) continue;
      // Same lines, in an order each command chooses (check sorts by place): compared as sets, and the
      // dropped list is the last block of both.
      const lines = (text: string) => text.split('\n').filter((line) => line !== '');
      assert.deepEqual(lines(run.printed).sort(), lines(check.stderr).sort(), label);
      const summary = lines(run.printed).findIndex((line) => line.startsWith('--lenient dropped '));
      if (summary >= 0) {
        droppedSomewhere++;
        const listed = lines(run.printed).slice(summary + 1);
        assert.ok(listed.length > 0 && listed.every((line) => line.startsWith('  ')), label);
        const keywords = listed.map((line) => line.trim().split(' ')[0]);
        assert.equal(new Set(keywords).size, keywords.length, `${label}: each dropped keyword once`);
        assert.equal(summary + 1 + listed.length, lines(run.printed).length, `${label}: the list ends it`);
      }
    }
  }
  assert.ok(refusedSomewhere > 0, 'some samples are refused (the LVS ones), so the comparison has teeth');
  assert.ok(droppedSomewhere > 0, 'some samples drop keywords with --lenient');
});

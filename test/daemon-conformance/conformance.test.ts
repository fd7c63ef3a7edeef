/**
 * Daemon conformance: every scenarios/*.jsonl replayed through the real agent on fakes (harness.ts), no root,
 * no sleep. docs/architecture.md ("Testing") says how to add a scenario.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Header, type Outputs, type Step, type StepResult, World, partialMismatch } from './harness.js';

const SCENARIOS = join(import.meta.dirname, 'scenarios');
/** Compared whole at every step: absent in a step means "nothing of this kind came out". */
const EXACT: (keyof Outputs)[] = ['sent', 'netlink', 'announced', 'hooks', 'fifo'];

type Line = Step & { start?: true };

function check(result: StepResult, line: Line, where: string): void {
  const shown = () => JSON.stringify({ ...result, status: undefined }, null, 1);
  for (const key of EXACT)
    assert.deepEqual(result[key], line.expect[key] ?? [], `${where}: ${key}\nall outputs: ${shown()}`);
  for (const message of line.expect.logs ?? []) {
    assert.ok(
      result.logs.some((logged) => logged.includes(message)),
      `${where}: no log line contains ${JSON.stringify(message)} in ${JSON.stringify(result.logs)}`,
    );
  }
  for (const key of ['answer', 'reload', 'error', 'refused'] as const) {
    assert.deepEqual(result[key], line.expect[key], `${where}: ${key}`);
  }
  if (line.expect.status !== undefined) {
    const mismatch = partialMismatch(result.status, line.expect.status);
    assert.equal(
      mismatch,
      undefined,
      `${where}: status ${mismatch}\n${JSON.stringify(result.status, null, 1)}`,
    );
  }
}

const files = readdirSync(SCENARIOS).filter((name) => name.endsWith('.jsonl'));

test('the daemon conformance suite covers start, reload, sync groups, tracking, clean-up and retries', () => {
  assert.ok(files.length >= 8, `only ${files.length} scenarios`);
});

for (const file of files) {
  const name = file.replace('.jsonl', '');
  const [headerLine, ...lines] = readFileSync(join(SCENARIOS, file), 'utf8').trim().split('\n');
  const header = JSON.parse(headerLine as string) as Header;
  test(`${name}: ${header.rule}`, async () => {
    const world = new World(header, (config) => join(SCENARIOS, `${name}.${config}.conf`));
    try {
      for (const [index, text] of lines.entries()) {
        const line = JSON.parse(text) as Line;
        const where = `${file}:${index + 2}`;
        const result = line.start ? await world.start() : await world.step(line);
        check(result, line, where);
      }
      // Issue 11: one rtnetlink subscription per process, whatever the instances, reloads and VIP defences.
      assert.equal(world.netlink.subscriptions, 1 + world.restarts, `${file}: netlink subscriptions opened`);
    } finally {
      await world.close();
    }
  });
}

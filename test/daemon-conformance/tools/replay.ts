/**
 * Replays a scenario and prints what came out of each step, as the `expect` it would need: a draft for a new
 * scenario, to read and check against the RFC and keepalived before it goes in the file, never to paste blind.
 *   npx tsx test/daemon-conformance/tools/replay.ts startup-election
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Header, type Step, World } from '../harness.js';

const name = process.argv[2] as string;
const scenarios = join(import.meta.dirname, '..', 'scenarios');
const [headerLine, ...lines] = readFileSync(join(scenarios, `${name}.jsonl`), 'utf8')
  .trim()
  .split('\n');
const world = new World(JSON.parse(headerLine as string) as Header, (config) =>
  join(scenarios, `${name}.${config}.conf`),
);
try {
  for (const text of lines) {
    const line = JSON.parse(text) as Step & { start?: true };
    const result = line.start ? await world.start() : await world.step(line);
    const { status, ...outputs } = result;
    const expect = Object.fromEntries(
      Object.entries(outputs).filter(([, value]) => !(Array.isArray(value) && value.length === 0)),
    );
    const states = status.instances.map((instance) => `${instance.name}=${instance.state}`).join(' ');
    process.stdout.write(`${JSON.stringify({ ...line, expect })}\n  # ${states}\n`);
  }
} finally {
  await world.close();
}

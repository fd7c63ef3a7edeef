/**
 * Conformance cases as data (the holo model): each `cases/*.jsonl` starts with a header line naming the RFC rule
 * and the instance parameters, then one line per input with the state and the exact effects expected after it.
 * Every line is replayed through `step`; nothing else runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Input, type InstanceParameters, initialState, step } from '../../src/vrrp/fsm.js';
import type { VrrpAdvertisement } from '../../src/vrrp/packet.js';
import { DEFAULT_PARAMETERS } from '../helpers/parameters.js';

const CASES = join(import.meta.dirname, 'cases');

interface Header {
  rfc: string;
  rule: string;
  params: Partial<InstanceParameters>;
}

interface Line {
  input: Record<string, unknown> & { type: string; advert?: Partial<VrrpAdvertisement>; source?: string };
  state: string;
  effects: unknown[];
  transition?: unknown;
}

/** Completes an advert given in shorthand with what the instance itself would send. */
function completeInput(line: Line, params: InstanceParameters): Input {
  if (line.input.type !== 'advert-received') return line.input as Input;
  const advert: VrrpAdvertisement = {
    version: params.version,
    family: params.family,
    vrid: params.vrid,
    priority: 100,
    advertIntervalCentiseconds: params.advertIntervalCentiseconds,
    addresses: ['192.0.2.100'],
    auth: { type: 'none' },
    ...line.input.advert,
  };
  return { type: 'advert-received', advert, source: line.input.source as string };
}

const files = readdirSync(CASES).filter((name) => name.endsWith('.jsonl'));

test('the conformance suite has a case for every rule', () => {
  assert.ok(files.length >= 20, `only ${files.length} cases`);
});

for (const file of files) {
  const [headerLine, ...lines] = readFileSync(join(CASES, file), 'utf8').trim().split('\n');
  const header = JSON.parse(headerLine as string) as Header;
  test(`${file.replace('.jsonl', '')}: ${header.rfc}: ${header.rule}`, () => {
    // VRRP cases cite an RFC section or keepalived; CARP cases ip_carp.c (OpenBSD) or ucarp's carp.c.
    assert.match(header.rfc, /RFC \d+ §[\d.]+|keepalived|ip_carp\.c|ucarp carp\.c/);
    const params = { ...DEFAULT_PARAMETERS, ...header.params };
    let state = initialState(params);
    lines.forEach((text, index) => {
      const line = JSON.parse(text) as Line;
      const result = step(state, completeInput(line, params));
      const where = `${file}:${index + 2}`;
      assert.deepEqual(result.effects, line.effects, `${where}: effects`);
      assert.equal(result.state.state, line.state, `${where}: state`);
      assert.deepEqual(result.transition, line.transition, `${where}: transition`);
      state = result.state;
    });
  });
}

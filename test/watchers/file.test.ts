/**
 * track_file: the value keepalived reads (C strtol with base 0, limited to -254..254; missing is 0), and a
 * FileTracker on real files: writes, replace-by-rename, deletion, creation later, init_file.
 */
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TrackFileConfig } from '../../src/config/schema.js';
import { FileTracker, FileTrackerError, parseTrackFileValue } from '../../src/watchers/file.js';
import { waitFor } from '../helpers/netns.js';

const values: [string, number][] = [
  ['5', 5],
  ['  42\n', 42],
  ['-7 trailing words', -7],
  ['+3', 3],
  ['0x1f', 31],
  ['010', 8], // a leading 0 is octal, as strtol with base 0
  ['08', 0], // octal stops at 8
  ['0x', 0],
  ['abc 5', 0], // strtol reads only at the start
  ['', 0],
  ['1000', 254],
  ['-1000', -254],
];
for (const [text, value] of values) {
  test(`track file value: ${JSON.stringify(text)} -> ${value}`, () => {
    assert.equal(parseTrackFileValue(text), value);
  });
}

function config(file: string, overrides: Partial<TrackFileConfig> = {}): TrackFileConfig {
  return {
    name: 'f1',
    source: { file: 'test.conf', line: 1, column: 1 },
    file,
    weight: 1,
    reverse: false,
    ...overrides,
  };
}

function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-file-'));
  return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('file tracker: writes, rename-replace, deletion and re-creation', () =>
  withDir(async (dir) => {
    const path = join(dir, 'prio');
    writeFileSync(path, '3\n');
    const tracker = new FileTracker(config(path));
    const seen: number[] = [];
    tracker.onChange((value) => seen.push(value));
    tracker.start();
    try {
      assert.equal(tracker.value, 3, 'read at start');
      writeFileSync(path, '10\n');
      await waitFor(() => tracker.value === 10, { message: 'the written value' });
      const temporary = join(dir, '.prio.tmp');
      writeFileSync(temporary, '-20\n');
      renameSync(temporary, path);
      await waitFor(() => tracker.value === -20, { message: 'the renamed-in value' });
      unlinkSync(path);
      await waitFor(() => tracker.value === 0, { message: 'a deleted file reads as 0' });
      writeFileSync(path, '7');
      await waitFor(() => tracker.value === 7, { message: 'the re-created file' });
      assert.deepEqual(seen, [10, -20, 0, 7], 'every change reported once, no transient empty read');
    } finally {
      tracker.stop();
    }
  }));

test('file tracker: a missing file is 0 until it appears; other files in the directory are ignored', () =>
  withDir(async (dir) => {
    const path = join(dir, 'later');
    const tracker = new FileTracker(config(path));
    const seen: number[] = [];
    tracker.onChange((value) => seen.push(value));
    tracker.start();
    try {
      assert.equal(tracker.value, 0);
      writeFileSync(join(dir, 'other'), '99');
      writeFileSync(path, '4');
      await waitFor(() => tracker.value === 4, { message: 'the file created after start' });
      assert.deepEqual(seen, [4]);
    } finally {
      tracker.stop();
    }
  }));

test('file tracker: init_file writes the value when the file is missing, or always with overwrite', () =>
  withDir(async (dir) => {
    const missing = join(dir, 'missing');
    const fresh = new FileTracker(config(missing, { init: { value: 12, overwrite: false } }));
    fresh.start();
    assert.equal(fresh.value, 12);
    assert.equal(readFileSync(missing, 'utf8').trim(), '12');
    fresh.stop();

    const existing = join(dir, 'existing');
    writeFileSync(existing, '5');
    const kept = new FileTracker(config(existing, { init: { value: 1, overwrite: false } }));
    kept.start();
    assert.equal(kept.value, 5, 'an existing file is left alone');
    kept.stop();

    const overwritten = new FileTracker(config(existing, { init: { value: 1, overwrite: true } }));
    overwritten.start();
    assert.equal(overwritten.value, 1, 'overwrite replaces it');
    overwritten.stop();
  }));

test('file tracker: a symbolic link is followed to the real file at start', () =>
  withDir(async (dir) => {
    const real = join(dir, 'real');
    mkdirSync(real);
    writeFileSync(join(real, 'value'), '2');
    const link = join(dir, 'link');
    symlinkSync(join(real, 'value'), link);
    const tracker = new FileTracker(config(link));
    tracker.start();
    try {
      assert.equal(tracker.value, 2);
      writeFileSync(join(real, 'value'), '6');
      await waitFor(() => tracker.value === 6, { message: 'a change of the link target' });
    } finally {
      tracker.stop();
    }
  }));

test('file tracker: a missing directory is an error at start', () => {
  const tracker = new FileTracker(config('/nonexistent-tandem-dir/value'));
  assert.throws(() => tracker.start(), FileTrackerError);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DISCARD_WARNING_MIN_MICROSECONDS, discardWarnings, frrFields } from '../../src/daemon/status.js';
import { flatCounters, trackerKindName } from '../../src/daemon/telemetry.js';
import { DISCARD_REASONS, EVENT_COUNTERS, newInstanceCounters } from '../../src/vrrp/counters.js';
import { TRACKER_KINDS } from '../../src/watchers/kinds.js';

test('the flat counter table holds every event counter and every discard reason', () => {
  const counters = newInstanceCounters();
  counters.advertsSent = 7;
  counters.discarded['address-mismatch'] = 3;
  const flat = flatCounters(counters);
  for (const name of [...EVENT_COUNTERS, ...DISCARD_REASONS]) assert.equal(typeof flat[name], 'number', name);
  assert.equal(flat.advertsSent, 7);
  assert.equal(flat['address-mismatch'], 3);
  assert.equal('discarded' in flat, false);
});

test('tracker kinds are named by the first word of their fault cause', () => {
  assert.deepEqual(TRACKER_KINDS.map(trackerKindName), ['script', 'file', 'process']);
});

test('a refused peer warns for a window of three Master_Down_Intervals, at least a minute; elections do not warn', () => {
  const counters = newInstanceCounters();
  counters.discarded['auth-mismatch'] = 5;
  const masterDown = 3_609_375;
  const last = new Map([
    ['auth-mismatch', { at: 1_000_000, source: '192.0.2.2', detail: 'password differs' }],
    ['lower-priority', { at: 1_000_000, source: '192.0.2.3', detail: '' }],
    ['own-advert', { at: 1_000_000, source: '192.0.2.1', detail: '' }],
  ]);
  const at = (now: number) => discardWarnings(last, counters, now, masterDown);
  const [warning, ...others] = at(2_000_000);
  assert.deepEqual(others, []);
  assert.equal(warning?.kind, 'discarding-adverts');
  assert.equal(warning?.reason, 'auth-mismatch');
  assert.equal(warning?.count, 5);
  assert.equal(warning?.secondsAgo, 1);
  assert.match(warning?.message ?? '', /192\.0\.2\.2: auth-mismatch \(password differs\)/);
  assert.equal(at(1_000_000 + DISCARD_WARNING_MIN_MICROSECONDS).length, 1, 'still within the minute');
  assert.equal(at(1_000_001 + DISCARD_WARNING_MIN_MICROSECONDS).length, 0, 'gone after it');
  // A long interval stretches the window to three Master_Down_Intervals.
  const slow = 30_000_000;
  assert.equal(discardWarnings(last, counters, 1_000_000 + 3 * slow, slow).length, 1);
  assert.equal(discardWarnings(last, counters, 1_000_001 + 3 * slow, slow).length, 0);
});

test("FRR's fields: timers in milliseconds, stats from the counter table and the announcements", () => {
  const counters = newInstanceCounters();
  counters.advertsSent = 10;
  counters.advertsReceived = 20;
  counters.transitions = 2;
  assert.deepEqual(
    frrFields(
      {
        masterAdverIntervalMicroseconds: 100_000,
        skewTimeMicroseconds: 60_937,
        masterDownIntervalMicroseconds: 360_937,
        counters,
      },
      { garp: 5, neighbourAdvert: 6 },
    ),
    {
      masterAdverInterval: 100,
      skewTime: 61,
      masterDownInterval: 361,
      stats: { adverTx: 10, adverRx: 20, garpTx: 5, neighborAdverTx: 6, transitions: 2 },
    },
  );
});

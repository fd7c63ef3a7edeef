/**
 * The no_accept filter's nft transactions, recorded: the table is recreated at start, a VIP becomes a set
 * element once however many instances hold it, leaves when the last one lets go, and the table goes at stop. A
 * failing nft is counted and logged, never thrown. (What the kernel does with the rules: accept-filter-netns.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import {
  AcceptFilter,
  acceptFilterRemoval,
  acceptFilterRuleset,
  acceptFilterSettings,
} from '../../src/actions/accept-filter.js';
import type { CommandRunner } from '../../src/core/process-group.js';

function recorder(exitCode = 0): { run: CommandRunner; scripts: string[][] } {
  const scripts: string[][] = [];
  return {
    scripts,
    run: async (argv) => {
      assert.equal(argv[0], 'nft');
      assert.equal(argv.length, 2, 'one transaction is one argument');
      scripts.push((argv[1] as string).split('\n'));
      return { argv, exitCode, signal: null, timedOut: false, stderr: exitCode === 0 ? '' : 'Error: boom' };
    },
  };
}

const log = pino({ level: 'silent' });
const settings = acceptFilterSettings(undefined);
const vip = { address: '192.0.2.100', family: 4 as const, interface: 'eth0' };
const vip6 = { address: '2001:DB8::100', family: 6 as const, interface: 'eth0' };
const linkLocal = { address: 'fe80::100', family: 6 as const, interface: 'eth0' };

test('settings: tandem table at priority -1 unless keepalived nftables settings say otherwise', () => {
  assert.deepEqual(settings, { table: 'tandem', priority: -1, counters: false, ifindex: false });
  assert.deepEqual(
    acceptFilterSettings({ table: 'keepalived', priority: -5, counters: true, ifindex: true }),
    {
      table: 'keepalived',
      priority: -5,
      counters: true,
      ifindex: true,
    },
  );
  const ruleset = acceptFilterRuleset({ table: 'ha', priority: -5, counters: true, ifindex: true });
  assert.ok(ruleset.includes('add chain inet ha in { type filter hook input priority -5; policy accept; }'));
  assert.ok(ruleset.includes('add rule inet ha in ip daddr @vips4 counter drop'));
  assert.ok(ruleset.includes('add rule inet ha out ip6 saddr . oif @vips6ll counter drop'));
  assert.ok(ruleset.includes('add set inet ha vips6ll { type ipv6_addr . iface_index; }'));
});

test('start removes a stale table and creates a fresh one only when an instance needs it', async () => {
  const without = recorder();
  await new AcceptFilter({ settings, log, run: without.run }).prepare(false);
  assert.deepEqual(without.scripts, [acceptFilterRemoval('tandem')]);

  const needed = recorder();
  const filter = new AcceptFilter({ settings, log, run: needed.run });
  await filter.prepare(true);
  assert.deepEqual(needed.scripts, [[...acceptFilterRemoval('tandem'), ...acceptFilterRuleset(settings)]]);
  await filter.close();
  assert.deepEqual(needed.scripts.at(-1), ['delete table inet tandem']);
});

test('a VIP is one element however many instances drop it, and leaves with the last', async () => {
  const { run, scripts } = recorder();
  const filter = new AcceptFilter({ settings, log, run });
  await filter.prepare(true);
  scripts.length = 0;
  assert.equal(await filter.drop([vip, vip6, linkLocal]), true);
  assert.deepEqual(scripts, [
    [
      'add element inet tandem vips4 { 192.0.2.100 }',
      'add element inet tandem vips6 { 2001:DB8::100 }',
      'add element inet tandem vips6ll { fe80::100 . "eth0" }',
    ],
  ]);
  // The same VIP spelled otherwise, from a second instance: nothing to add.
  await filter.drop([{ ...vip6, address: '2001:db8:0::100' }]);
  assert.equal(scripts.length, 1);
  await filter.allow([vip6]);
  assert.equal(scripts.length, 1, 'the other instance still holds it');
  await filter.allow([{ ...vip6, address: '2001:db8:0::100' }, vip]);
  assert.deepEqual(scripts.at(-1), [
    'delete element inet tandem vips6 { 2001:db8:0::100 }',
    'delete element inet tandem vips4 { 192.0.2.100 }',
  ]);
  // Letting go of what is not held changes nothing (a release without a claim).
  await filter.allow([vip]);
  assert.equal(scripts.length, 2);
});

test('a drop asked for before the table exists (a reload added the first no_accept instance) creates it', async () => {
  const { run, scripts } = recorder();
  const filter = new AcceptFilter({ settings, log, run });
  await filter.prepare(false);
  await filter.drop([vip]);
  assert.deepEqual(scripts.at(-1), [
    ...acceptFilterRuleset(settings),
    'add element inet tandem vips4 { 192.0.2.100 }',
  ]);
  await filter.close();
  assert.deepEqual(scripts.at(-1), ['delete table inet tandem']);
});

test('a failing nft is counted and reported as false, and the drop is not remembered', async () => {
  const { run, scripts } = recorder(1);
  const filter = new AcceptFilter({ settings, log, run });
  assert.equal(await filter.prepare(true), false);
  assert.equal(await filter.drop([vip]), false);
  assert.equal(filter.failures, 2);
  // Not held: a release has nothing to delete, and the next claim tries again.
  await filter.allow([vip]);
  assert.equal(scripts.length, 2);
  await filter.drop([vip]);
  assert.equal(scripts.length, 3);
  // Nothing was created, so a stop has nothing to delete.
  await filter.close();
  assert.equal(scripts.length, 3);
});

/**
 * accept / no_accept on real namespaces (RFC 5798 §6.4.3): a non-owner MASTER without accept mode holds the VIP
 * (it answers ARP for it) but drops packets addressed to it, through its own nftables table; with accept the
 * same ping gets its answer. The table is gone after a graceful stop, and a table a killed agent left is removed
 * at the next start, so nothing of tandem's stays in the firewall.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Lab, requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { startAgent } from '../helpers/agents.js';
import { LONE_VIP, hostWithClient, loneMasterConfig } from '../helpers/tandem-run.js';

const VIP = LONE_VIP;

/** The lone master (VRID 61, priority 200: not the address owner) with `mode`, and a named table if `table`. */
function config(mode: 'accept' | 'no_accept' | 'strict_mode', table = ''): string {
  const globals = table === '' ? [] : [`nftables ${table}`, 'nftables_counters'];
  return loneMasterConfig(globals).replace('priority 200', `priority 200\n  ${mode}`);
}

async function tables(lab: Lab, ns: string): Promise<string[]> {
  const { stdout } = await lab.exec(ns, ['nft', 'list', 'tables']);
  return stdout.split('\n').filter((line) => line.trim() !== '');
}

/** The elements of the table's IPv4 set, or undefined when the table is absent. */
async function dropped(lab: Lab, ns: string, table: string): Promise<string[] | undefined> {
  const result = await lab.exec(ns, ['nft', '-j', 'list', 'set', 'inet', table, 'vips4'], {
    allowFailure: true,
  });
  if (result.code !== 0) return undefined;
  const json = JSON.parse(result.stdout) as { nftables: { set?: { elem?: string[] } }[] };
  return json.nftables.flatMap((entry) => entry.set?.elem ?? []);
}

async function pings(lab: Lab, ns: string, address: string): Promise<boolean> {
  const result = await lab.exec(ns, ['ping', '-c', '1', '-W', '1', address], { allowFailure: true });
  return result.code === 0;
}

test('no_accept drops packets to the VIP with nftables; accept answers them; no table is left behind', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { a, client } = await hostWithClient(lab);

    // no_accept: MASTER with the VIP, its element in the set, the ping to it dropped (the box itself answers).
    const first = await startAgent(lab, a, config('no_accept'), 'a1');
    await first.waitForState('VI_1', 'MASTER');
    await waitFor(async () => (await dropped(lab, a, 'tandem'))?.includes(VIP), {
      message: 'the VIP in the drop set',
    });
    assert.ok(await pings(lab, client, '192.0.2.1'), 'the link works');
    assert.equal(await pings(lab, client, VIP), false, 'a ping to the VIP is dropped');
    const neighbours = await lab.exec(client, ['ip', 'neigh', 'show', VIP]);
    assert.match(neighbours.stdout, /lladdr/, 'the MASTER still answers ARP for the VIP');

    // Killed: the table stays (nobody removed it)...
    await first.crash();
    assert.ok((await tables(lab, a)).includes('table inet tandem'), 'a killed agent leaves its table');

    // ... and the next start removes it; with accept the ping to the VIP is answered.
    const second = await startAgent(lab, a, config('accept'), 'a2');
    await second.waitForState('VI_1', 'MASTER');
    assert.equal(await dropped(lab, a, 'tandem'), undefined, 'the stale table is gone');
    await waitFor(() => pings(lab, client, VIP), { message: 'the VIP answers with accept' });
    assert.equal(await second.stop(), 0);

    // strict mode implies no_accept below priority 255; keepalived's nftables settings name the table.
    const third = await startAgent(lab, a, config('strict_mode', 'ha'), 'a3');
    await third.waitForState('VI_1', 'MASTER');
    await waitFor(async () => (await dropped(lab, a, 'ha'))?.includes(VIP), { message: 'the VIP dropped' });
    assert.equal(await pings(lab, client, VIP), false);
    const rules = (await lab.exec(a, ['nft', 'list', 'chain', 'inet', 'ha', 'in'])).stdout;
    assert.match(
      rules,
      /ip daddr @vips4 counter packets [1-9]\d* bytes \d+ drop/,
      'the drop counted the ping',
    );
    assert.equal(await third.stop(), 0);
    assert.deepEqual(
      (await tables(lab, a)).filter((line) => /tandem|ha$/.test(line)),
      [],
      'a graceful stop removes the table',
    );
  });
});

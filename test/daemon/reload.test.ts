/**
 * SIGHUP reload with a real agent: an unchanged instance keeps running without a single transition, a changed
 * one restarts, a removed one hands over and releases its VIP, an added one starts; an invalid file changes
 * nothing; a reload that cannot start rolls back; an instance whose interface does not exist yet waits in
 * FAULT until the interface appears.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Lab, requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { startAgent } from '../helpers/agents.js';

function instance(name: string, vrid: number, priority: number, vip: string): string {
  return `
vrrp_instance ${name} {
  interface eth0
  virtual_router_id ${vrid}
  priority ${priority}
  version 3
  advert_int 0.1
  virtual_ipaddress {
    ${vip}/24
  }
}
`;
}

async function vips(lab: Lab, ns: string): Promise<string[]> {
  const links = (await lab.execJson(ns, ['ip', '-j', 'addr', 'show', 'dev', 'eth0'])) as {
    addr_info: { local: string }[];
  }[];
  return links.flatMap((link) => link.addr_info.map((address) => address.local));
}

test('SIGHUP keeps unchanged instances untouched, restarts changed ones, refuses an invalid file', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const a = await lab.namespace('a');
    await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
    const agent = await startAgent(
      lab,
      a,
      instance('KEEP', 71, 200, '192.0.2.71') +
        instance('CHANGE', 72, 200, '192.0.2.72') +
        instance('DROP', 73, 200, '192.0.2.73'),
      'a',
    );
    for (const name of ['KEEP', 'CHANGE', 'DROP']) await agent.waitForState(name, 'MASTER');
    const kept = await agent.instance('KEEP');
    const file = join(agent.directory, 'tandem.conf');

    writeFileSync(
      file,
      instance('KEEP', 71, 200, '192.0.2.71') +
        instance('CHANGE', 72, 180, '192.0.2.72') +
        instance('ADD', 74, 200, '192.0.2.74'),
    );
    agent.signal('SIGHUP');
    await waitFor(() => agent.logs.some((line) => line.msg === 'configuration reloaded'), {
      message: 'reloaded',
    });
    const summary = agent.logs.find((line) => line.msg === 'configuration reloaded');
    assert.deepEqual(
      [summary?.kept, summary?.stopped, summary?.started],
      [['KEEP'], ['CHANGE', 'DROP'], ['CHANGE', 'ADD']],
    );
    await agent.waitForState('ADD', 'MASTER');
    await agent.waitForState('CHANGE', 'MASTER');
    const status = await agent.status();
    assert.deepEqual(status.instances.map((entry) => entry.name).sort(), ['ADD', 'CHANGE', 'KEEP']);
    assert.equal((await agent.instance('CHANGE')).priority, 180);
    const keptNow = await agent.instance('KEEP');
    assert.equal(keptNow.counters.transitions, kept.counters.transitions, 'KEEP made no transition');
    assert.equal(keptNow.state, 'MASTER');
    assert.ok(keptNow.timeInStateSeconds > kept.timeInStateSeconds, 'KEEP stayed in MASTER all along');
    const addresses = await vips(lab, a);
    assert.ok(
      addresses.includes('192.0.2.71') &&
        addresses.includes('192.0.2.72') &&
        addresses.includes('192.0.2.74'),
    );
    assert.equal(addresses.includes('192.0.2.73'), false, 'the dropped instance released its VIP');

    // A broken file: nothing changes, and the log says why.
    writeFileSync(file, instance('KEEP', 71, 200, '192.0.2.71').replace('priority 200', 'prority 200'));
    agent.signal('SIGHUP');
    await waitFor(() => agent.logs.some((line) => line.msg.startsWith('reload refused')), {
      message: 'refused',
    });
    assert.equal((await agent.status()).instances.length, 3);
    assert.equal((await agent.status()).reloads, 1);
    assert.match(agent.stderr.join(''), /unknown keyword 'prority'/);

    // A valid file whose changed instance cannot start (a route table by name, which the VIP manager cannot
    // express): the reload fails and puts back the instance it had stopped, as it was.
    writeFileSync(
      file,
      instance('KEEP', 71, 200, '192.0.2.71') +
        instance('CHANGE', 72, 180, '192.0.2.72').replace(
          '  virtual_ipaddress {',
          '  virtual_routes {\n    198.51.100.0/24 via 192.0.2.254 table main\n  }\n  virtual_ipaddress {',
        ) +
        instance('ADD', 74, 200, '192.0.2.74'),
    );
    agent.signal('SIGHUP');
    await waitFor(
      () => agent.logs.some((line) => line.msg === 'reload failed: restoring the instances it stopped'),
      { message: 'reload failed and restored' },
    );
    await agent.waitForState('CHANGE', 'MASTER');
    assert.deepEqual((await agent.status()).instances.map((entry) => entry.name).sort(), [
      'ADD',
      'CHANGE',
      'KEEP',
    ]);
    assert.ok((await vips(lab, a)).includes('192.0.2.72'), 'the restored instance holds its VIP again');

    // An instance on an interface that does not exist yet (a VLAN created late): FAULT with a clear line, and
    // MASTER once the interface appears (issue 9: wait instead of dying).
    writeFileSync(
      file,
      instance('KEEP', 71, 200, '192.0.2.71') +
        instance('CHANGE', 72, 180, '192.0.2.72') +
        instance('ADD', 74, 200, '192.0.2.74') +
        instance('LATE', 75, 200, '198.51.100.75').replace('interface eth0', 'interface eth9'),
    );
    agent.signal('SIGHUP');
    await agent.waitForState('LATE', 'FAULT');
    assert.ok(
      agent.logs.some((line) => line.msg.startsWith('interface eth9 does not exist')),
      'the log says what LATE waits for',
    );
    assert.deepEqual((await agent.instance('LATE')).faults, ['interface eth9 missing', 'link eth9']);
    await lab.connect(a, sw, { ifname: 'eth9', addresses: ['198.51.100.1/24'] });
    await agent.waitForState('LATE', 'MASTER');
    assert.equal((await agent.instance('LATE')).sourceAddress, '198.51.100.1');
    assert.equal((await agent.instance('KEEP')).counters.transitions, keptNow.counters.transitions);
    assert.equal(await agent.stop(), 0);
  });
});

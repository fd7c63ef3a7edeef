/**
 * VipManager against a real kernel: a fixture process inside a namespace runs the manager (driven over
 * stdin/stdout), and the test checks the namespace with `ip -j` and acts on it from outside.
 */
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import type { VipManagerOptions } from '../../src/actions/vip.js';
import { requireRoot, waitFor, withLab, type Lab } from '../helpers/netns.js';

type Config = Omit<VipManagerOptions, 'netlink' | 'logger'>;

interface IpAddress {
  local: string;
  prefixlen: number;
  family: string;
  scope: string;
  label?: string;
  broadcast?: string;
  nodad?: boolean;
}

interface Reply {
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** Starts the fixture in `ns`; `call(op)` sends one request and resolves with its reply. */
function startAgent(lab: Lab, ns: string, config: Config) {
  const child = lab.spawn(ns, lab.nodeArgv('test/actions/fixtures/vip-agent.ts', JSON.stringify(config)));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    async call(op: string): Promise<unknown> {
      child.stdin!.write(`${JSON.stringify({ op })}\n`);
      const { value, done } = await replies.next();
      assert.ok(!done, `the VIP agent exited early: ${stderr}`);
      const reply = JSON.parse(value as string) as Reply;
      assert.ok(reply.ok, `${op} failed: ${reply.error}`);
      return reply.result;
    },
  };
}

async function addresses(lab: Lab, ns: string, dev = 'eth0'): Promise<IpAddress[]> {
  const [link] = (await lab.execJson(ns, ['ip', '-j', 'addr', 'show', 'dev', dev])) as {
    addr_info: IpAddress[];
  }[];
  return link?.addr_info ?? [];
}

async function find(lab: Lab, ns: string, address: string): Promise<IpAddress | undefined> {
  return (await addresses(lab, ns)).find((entry) => entry.local === address);
}

const VIPS_ONLY: Config = {
  interface: 'eth0',
  vips: [
    { address: '192.0.2.100', prefixLength: 24, label: 'eth0:vip', brd: '192.0.2.255' },
    { address: '192.0.2.101', prefixLength: 32, scope: 'link', brd: '+' },
    { address: '2001:db8::100', prefixLength: 64 },
  ],
};

async function host(lab: Lab): Promise<string> {
  const sw = await lab.bridge('sw');
  const ns = await lab.namespace('a');
  await lab.connect(ns, sw, { addresses: ['192.0.2.1/24', '2001:db8::1/64'] });
  return ns;
}

test('claim adds each VIP with its label, scope, broadcast and nodad; release removes only them', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const ns = await host(lab);
    const agent = startAgent(lab, ns, VIPS_ONLY);
    assert.deepEqual(await agent.call('claim'), { applied: 3, failed: [] });

    const v4 = await find(lab, ns, '192.0.2.100');
    assert.ok(v4, '192.0.2.100 is on eth0');
    assert.equal(v4.prefixlen, 24);
    assert.equal(v4.label, 'eth0:vip');
    assert.equal(v4.broadcast, '192.0.2.255');
    assert.equal(v4.scope, 'global');
    const host32 = await find(lab, ns, '192.0.2.101');
    assert.ok(host32, '192.0.2.101 is on eth0');
    assert.equal(host32.prefixlen, 32);
    assert.equal(host32.scope, 'link');
    assert.equal(host32.broadcast, '192.0.2.101', 'brd + of a /32 is the address itself');
    const v6 = await find(lab, ns, '2001:db8::100');
    assert.ok(v6, '2001:db8::100 is on eth0');
    assert.equal(v6.prefixlen, 64);
    assert.equal(v6.nodad, true);

    // A second claim (a repeated MASTER entry) finds everything present and is not an error.
    assert.deepEqual(await agent.call('claim'), { applied: 3, failed: [] });

    assert.deepEqual(await agent.call('release'), { applied: 3, failed: [] });
    const left = (await addresses(lab, ns)).map((entry) => `${entry.local}/${entry.prefixlen}`);
    assert.ok(
      left.includes('192.0.2.1/24') && left.includes('2001:db8::1/64'),
      `own addresses kept: ${left}`,
    );
    for (const vip of ['192.0.2.100', '192.0.2.101', '2001:db8::100']) {
      assert.ok(!left.some((entry) => entry.startsWith(`${vip}/`)), `${vip} released: ${left}`);
    }
    // Releasing again finds nothing to remove and is not an error either.
    assert.deepEqual(await agent.call('release'), { applied: 0, failed: [] });
  });
});

test('removeStale removes VIPs a previous run left behind and nothing else', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const ns = await host(lab);
    await lab.exec(ns, ['ip', 'addr', 'add', '192.0.2.100/24', 'dev', 'eth0', 'label', 'eth0:vip']);
    await lab.exec(ns, ['ip', 'addr', 'add', '2001:db8::100/64', 'dev', 'eth0', 'nodad']);
    // Same address, other prefix: not this configuration's VIP, so it stays.
    await lab.exec(ns, ['ip', 'addr', 'add', '192.0.2.101/24', 'dev', 'eth0']);
    const agent = startAgent(lab, ns, VIPS_ONLY);
    assert.deepEqual(await agent.call('removeStale'), { applied: 2, failed: [] });
    const left = (await addresses(lab, ns)).map((entry) => `${entry.local}/${entry.prefixlen}`);
    assert.ok(!left.includes('192.0.2.100/24'), `stale IPv4 VIP removed: ${left}`);
    assert.ok(!left.includes('2001:db8::100/64'), `stale IPv6 VIP removed: ${left}`);
    assert.ok(left.includes('192.0.2.101/24'), `foreign prefix kept: ${left}`);
    assert.ok(left.includes('192.0.2.1/24'), `own address kept: ${left}`);
  });
});

test('a VIP deleted from outside while claimed is restored and logged; after release it is not', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const ns = await host(lab);
    const agent = startAgent(lab, ns, VIPS_ONLY);
    await agent.call('claim');
    await agent.call('watch');

    for (const [address, prefix] of [
      ['192.0.2.100', '24'],
      ['2001:db8::100', '64'],
    ] as const) {
      await lab.exec(ns, ['ip', 'addr', 'del', `${address}/${prefix}`, 'dev', 'eth0']);
      const restored = await waitFor(() => find(lab, ns, address), { message: `${address} restored` });
      if (address === '192.0.2.100') assert.equal(restored.label, 'eth0:vip', 'restored with its label');
    }
    const logs = (await agent.call('logs')) as { level: string; message: string; object: string }[];
    const restores = logs.filter(
      (entry) => entry.level === 'warn' && /removed from outside/.test(entry.message),
    );
    assert.deepEqual(
      restores.map((entry) => (JSON.parse(entry.object) as { vip: string }).vip),
      ['192.0.2.100/24', '2001:db8::100/64'],
    );

    await agent.call('release');
    // After release the watcher must leave the address alone: add it by hand, delete it, and check that
    // a reconcile (the same path a lost-events error takes) does not put it back either.
    await lab.exec(ns, ['ip', 'addr', 'add', '192.0.2.100/24', 'dev', 'eth0']);
    await lab.exec(ns, ['ip', 'addr', 'del', '192.0.2.100/24', 'dev', 'eth0']);
    assert.equal(await agent.call('reconcile'), 0);
    assert.equal(await find(lab, ns, '192.0.2.100'), undefined);
  });
});

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  type?: string;
  prefsrc?: string;
  metric?: number;
}

interface IpRule {
  priority: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  table: string;
  fwmark?: string;
}

test('virtual routes and rules are added on claim and removed on release and by removeStale', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const ns = await host(lab);
    const config: Config = {
      interface: 'eth0',
      vips: [{ address: '192.0.2.100', prefixLength: 24 }],
      routes: [
        { dst: '198.51.100.0', prefixLength: 24, via: '192.0.2.254', metric: 50 },
        { dst: '203.0.113.0', prefixLength: 25, src: '192.0.2.100' },
        { dst: '203.0.113.128', prefixLength: 25, type: 'blackhole', table: 100 },
        { dst: '2001:db8:1::', prefixLength: 48, via: '2001:db8::fe', table: 1000 },
      ],
      rules: [
        { from: { address: '192.0.2.100', prefixLength: 32 }, table: 100, priority: 1000 },
        { to: { address: '2001:db8:2::', prefixLength: 48 }, fwmark: 7, table: 1000, priority: 1001 },
      ],
    };
    const agent = startAgent(lab, ns, config);
    assert.deepEqual(await agent.call('claim'), { applied: 7, failed: [] });

    const main = (await lab.execJson(ns, ['ip', '-j', 'route', 'show', 'table', 'main'])) as IpRoute[];
    const viaRoute = main.find((route) => route.dst === '198.51.100.0/24');
    assert.equal(viaRoute?.gateway, '192.0.2.254');
    assert.equal(viaRoute?.dev, 'eth0');
    assert.equal(viaRoute?.metric, 50);
    assert.equal(main.find((route) => route.dst === '203.0.113.0/25')?.prefsrc, '192.0.2.100');
    const table100 = (await lab.execJson(ns, ['ip', '-j', 'route', 'show', 'table', '100'])) as IpRoute[];
    assert.deepEqual(
      table100.map(({ dst, type }) => ({ dst, type })),
      [{ dst: '203.0.113.128/25', type: 'blackhole' }],
    );
    const table1000 = (await lab.execJson(ns, [
      'ip',
      '-6',
      '-j',
      'route',
      'show',
      'table',
      '1000',
    ])) as IpRoute[];
    assert.deepEqual(
      table1000.map(({ dst, gateway }) => ({ dst, gateway })),
      [{ dst: '2001:db8:1::/48', gateway: '2001:db8::fe' }],
    );
    const rules4 = (await lab.execJson(ns, ['ip', '-j', 'rule', 'show'])) as IpRule[];
    const rule = rules4.find((entry) => entry.priority === 1000);
    // `ip -j rule` leaves srclen out for a full-length (host) prefix.
    assert.deepEqual(rule && { src: rule.src, srclen: rule.srclen, table: rule.table }, {
      src: '192.0.2.100',
      srclen: undefined,
      table: '100',
    });
    const rules6 = (await lab.execJson(ns, ['ip', '-6', '-j', 'rule', 'show'])) as IpRule[];
    const rule6 = rules6.find((entry) => entry.priority === 1001);
    assert.deepEqual(
      rule6 && { dst: rule6.dst, dstlen: rule6.dstlen, fwmark: rule6.fwmark, table: rule6.table },
      {
        dst: '2001:db8:2::',
        dstlen: 48,
        fwmark: '0x7',
        table: '1000',
      },
    );

    assert.deepEqual(await agent.call('release'), { applied: 7, failed: [] });
    const routesAfter = [
      ...((await lab.execJson(ns, ['ip', '-j', 'route', 'show', 'table', 'all'])) as IpRoute[]),
      ...((await lab.execJson(ns, ['ip', '-6', '-j', 'route', 'show', 'table', 'all'])) as IpRoute[]),
    ].map((route) => route.dst);
    for (const dst of ['198.51.100.0/24', '203.0.113.0/25', '203.0.113.128/25', '2001:db8:1::/48']) {
      assert.ok(!routesAfter.includes(dst), `route ${dst} released`);
    }
    const rulesAfter = [
      ...((await lab.execJson(ns, ['ip', '-j', 'rule', 'show'])) as IpRule[]),
      ...((await lab.execJson(ns, ['ip', '-6', '-j', 'rule', 'show'])) as IpRule[]),
    ].map((entry) => entry.priority);
    assert.ok(!rulesAfter.includes(1000) && !rulesAfter.includes(1001), `rules released: ${rulesAfter}`);

    // Left behind by a crashed run: removeStale clears them before the first election.
    await lab.exec(ns, ['ip', 'rule', 'add', 'from', '192.0.2.100/32', 'table', '100', 'priority', '1000']);
    await lab.exec(ns, ['ip', 'route', 'add', 'blackhole', '203.0.113.128/25', 'table', '100']);
    await agent.call('removeStale');
    assert.deepEqual(await lab.execJson(ns, ['ip', '-j', 'route', 'show', 'table', '100']), []);
    const rulesStale = (await lab.execJson(ns, ['ip', '-j', 'rule', 'show'])) as IpRule[];
    assert.ok(!rulesStale.some((entry) => entry.priority === 1000), 'stale rule removed');
  });
});

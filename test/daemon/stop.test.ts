/**
 * One real agent alone on a link: it becomes MASTER, keeps its VIP when someone removes it, leaves stale VIPs
 * of an earlier crashed run behind it, runs notify_stop on a graceful stop, and exits at once on a second
 * SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Lab, requireRoot, run, waitFor, withLab } from '../helpers/netns.js';
import { startAgent } from '../helpers/agents.js';

const VIP = '192.0.2.100';

async function vips(lab: Lab, ns: string): Promise<string[]> {
  const links = (await lab.execJson(ns, ['ip', '-j', 'addr', 'show', 'dev', 'eth0'])) as {
    addr_info: { local: string; label?: string }[];
  }[];
  return links.flatMap((link) => link.addr_info.map((address) => address.local));
}

function config(extra: string): string {
  return `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 61
  priority 200
  version 3
  advert_int 0.1
  ${extra}
  virtual_ipaddress {
    ${VIP}/24 label eth0:vip
  }
}
`;
}

test('stale VIPs are removed before the election; a VIP removed from outside while MASTER comes back', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const a = await lab.namespace('a');
    await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
    // What a crashed earlier run would have left: the VIP, still configured.
    await lab.exec(a, ['ip', 'addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
    const agent = await startAgent(lab, a, config('state BACKUP'), 'a');
    const status = await agent.instance('VI_1');
    assert.notEqual(status.state, 'MASTER');
    assert.ok(
      agent.logs.some((line) => line.msg === 'removing stale VIP'),
      agent.describe(),
    );
    await agent.waitForState('VI_1', 'MASTER');
    await waitFor(async () => (await vips(lab, a)).includes(VIP), { message: 'VIP claimed' });
    await lab.exec(a, ['ip', 'addr', 'del', `${VIP}/24`, 'dev', 'eth0']);
    await waitFor(async () => (await vips(lab, a)).includes(VIP), {
      timeoutMs: 3000,
      message: 'VIP restored',
    });
    assert.ok(agent.logs.some((line) => line.msg === 'VIP removed from outside while MASTER; restoring it'));

    // `tandem status` reads the same control socket, as JSON and as a table.
    const cli = (...args: string[]) =>
      run(lab.nodeArgv('src/cli.ts', 'status', '--runtime-dir', agent.runtimeDir, ...args));
    const json = JSON.parse((await cli('--json')).stdout) as { instances: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(json.instances[0] ?? {}).sort(), [
      'counters',
      'effectivePriority',
      'family',
      'faults',
      'handover',
      'interface',
      'lastTransition',
      'masterAddress',
      'masterAdverInterval',
      'masterDownInterval',
      'name',
      'priority',
      'skewTime',
      'sourceAddress',
      'splitBrain',
      'state',
      'stats',
      'timeInStateSeconds',
      'version',
      'vips',
      'vrid',
      'warnings',
      'yielded',
    ]);
    assert.equal(json.instances[0]?.masterAddress, '192.0.2.1');
    const table = (await cli()).stdout;
    assert.match(table, /^INSTANCE\s+INTERFACE\s+VRID\s+VER\s+STATE\s+PRIO\s+EFF\s+MASTER/);
    assert.match(table, /VI_1\s+eth0\/v4\s+61\s+3\s+MASTER\s+200\s+200\s+192\.0\.2\.1\s/);
    assert.match(table, /VI_1: advertsSent=\d+ advertsReceived=0/);
    const missing = await run(lab.nodeArgv('src/cli.ts', 'status', '--socket', '/nonexistent/tandem.sock'), {
      allowFailure: true,
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /TANDEM_ECONTROL_CONNECT: cannot reach the agent/);
    assert.equal(await agent.stop(), 0);
    assert.equal((await vips(lab, a)).includes(VIP), false, 'released on stop');
  });
});

test('SIGTERM runs notify_stop; a second SIGTERM during the stop exits at once with status 1', async (t) => {
  requireRoot();
  const directory = mkdtempSync(join(tmpdir(), 'tandem-stop-'));
  try {
    const marker = join(directory, 'stopped');
    const quick = join(directory, 'quick.sh');
    writeFileSync(quick, `#!/bin/sh\necho "$@" > ${marker}\n`);
    const slow = join(directory, 'slow.sh');
    const slowPid = join(directory, 'slow.pid');
    writeFileSync(slow, `#!/bin/sh\necho $$ > ${slowPid}\nexec sleep 30\n`);
    chmodSync(quick, 0o755);
    chmodSync(slow, 0o755);
    await withLab(async (lab) => {
      const sw = await lab.bridge('sw');
      const a = await lab.namespace('a');
      const b = await lab.namespace('b');
      await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
      await lab.connect(b, sw, { addresses: ['192.0.2.2/24'] });

      const first = await startAgent(lab, a, config(`notify_stop "${quick} stopped VI_1"`), 'a');
      await first.waitForState('VI_1', 'MASTER');
      const startedAt = Date.now();
      first.signal('SIGTERM');
      const exit = await first.exited;
      assert.equal(exit.code, 0);
      assert.ok(
        first.logs.some((line) => line.msg === 'tandem stopped'),
        'a graceful stop',
      );
      t.diagnostic(`graceful stop: exited ${exit.at - startedAt} ms after SIGTERM`);
      await waitFor(() => existsSync(marker), { message: 'notify_stop ran' });
      assert.equal(readFileSync(marker, 'utf8'), 'stopped VI_1\n');

      const second = await startAgent(lab, b, config(`notify_stop ${slow}`), 'b');
      await second.waitForState('VI_1', 'MASTER');
      second.signal('SIGTERM');
      // The first stop hands over (make-before-break: with no peer, until the handover bound), then waits (up to
      // its budget) for the slow hook; the second signal, sent once that hook runs, does not wait.
      await waitFor(() => second.logs.some((line) => line.msg === 'stopping: handing over'), {
        message: 'stopping',
      });
      await waitFor(() => existsSync(slowPid) && readFileSync(slowPid, 'utf8').trim() !== '', {
        timeoutMs: 30_000,
        message: 'the slow notify_stop hook runs',
      });
      const again = Date.now();
      second.signal('SIGTERM');
      const hurried = await second.exited;
      // Status 1 and no 'tandem stopped': it took the immediate way out, not the end of the graceful stop.
      assert.equal(hurried.code, 1);
      assert.ok(
        second.logs.some((line) => line.msg === 'second signal: exiting at once'),
        second.describe(),
      );
      assert.ok(!second.logs.some((line) => line.msg === 'tandem stopped'), second.describe());
      t.diagnostic(`second SIGTERM: exited ${hurried.at - again} ms after it`);
      // Nothing outlives the agent: the hook it was waiting for was killed with it.
      const pid = Number(readFileSync(slowPid, 'utf8'));
      await waitFor(() => !existsSync(`/proc/${pid}`), { timeoutMs: 10_000, message: `hook ${pid} gone` });
    });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

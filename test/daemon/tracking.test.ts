/**
 * Tracking with real agents: a cut cable puts the master in FAULT and the VIP moves, and comes back with
 * preemption; a failing health script lowers the priority so the peer preempts; a hanging script is killed at
 * its timeout and counts as a failure; a sync group moves an outside and an inside VIP together.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Lab, requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { startAgent } from '../helpers/agents.js';

/** advert_int 0.1: Master_Down_Interval of the priority-100 backup is 300 ms + Skew_Time (RFC 5798 §6.1). */
const MASTER_DOWN_MS = 300 + ((256 - 100) / 256) * 100;

async function addresses(lab: Lab, ns: string, ifname = 'eth0'): Promise<string[]> {
  const links = (await lab.execJson(ns, ['ip', '-j', 'addr', 'show', 'dev', ifname])) as {
    addr_info: { local: string }[];
  }[];
  return links.flatMap((link) => link.addr_info.map((address) => address.local));
}

function instance(
  name: string,
  ifname: string,
  vrid: number,
  priority: number,
  vip: string,
  extra = '',
): string {
  return `
vrrp_instance ${name} {
  interface ${ifname}
  virtual_router_id ${vrid}
  priority ${priority}
  version 3
  advert_int 0.1
  ${extra}
  virtual_ipaddress {
    ${vip}
  }
}
`;
}

function scratch() {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-track-'));
  chmodSync(directory, 0o755);
  return { directory, cleanup: () => rmSync(directory, { recursive: true, force: true }) };
}

test('link down -> FAULT -> the VIP moves; link up -> back, with preemption', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const a = await lab.namespace('a');
    const b = await lab.namespace('b');
    const portA = await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
    await lab.connect(b, sw, { addresses: ['192.0.2.2/24'] });
    const agentA = await startAgent(lab, a, instance('VI_1', 'eth0', 51, 150, '192.0.2.100/24'), 'a');
    const agentB = await startAgent(lab, b, instance('VI_1', 'eth0', 51, 100, '192.0.2.100/24'), 'b');
    await agentA.waitForState('VI_1', 'MASTER');
    await agentB.waitForState('VI_1', 'BACKUP');

    // The cable is pulled at the switch: a loses carrier, goes FAULT and gives up the VIP at once.
    await lab.exec(sw.ns, ['ip', 'link', 'set', portA.bridgePort, 'down']);
    const faulted = await agentA.waitForState('VI_1', 'FAULT', 3000);
    assert.deepEqual(faulted.faults, ['link eth0']);
    assert.equal((await addresses(lab, a)).includes('192.0.2.100'), false, 'a released the VIP');
    await agentB.waitForState('VI_1', 'MASTER', MASTER_DOWN_MS + 1500);
    assert.ok((await addresses(lab, b)).includes('192.0.2.100'));

    // Cable back: a leaves FAULT as BACKUP, hears b's lower priority and preempts.
    await lab.exec(sw.ns, ['ip', 'link', 'set', portA.bridgePort, 'up']);
    await agentA.waitForState('VI_1', 'MASTER', MASTER_DOWN_MS + 3000);
    await agentB.waitForState('VI_1', 'BACKUP');
    assert.ok((await addresses(lab, a)).includes('192.0.2.100'));
    assert.equal((await addresses(lab, b)).includes('192.0.2.100'), false);
    const reasons = agentA.logs
      .filter((line) => line.instance === 'VI_1' && line.to)
      .map((line) => `${line.to}:${line.reason}`);
    assert.deepEqual(reasons.slice(-3), [
      'FAULT:fault-raised',
      'BACKUP:fault-cleared',
      'MASTER:master-down-expired',
    ]);
  });
});

test('a health script failing `fall` times lowers the priority and the peer preempts; `rise` successes restore it', async () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  try {
    const failFlag = join(directory, 'fail');
    const check = join(directory, 'check.sh');
    writeFileSync(check, `#!/bin/sh\ntest ! -e ${failFlag}\n`);
    chmodSync(check, 0o755);
    const script = `
vrrp_script chk {
  script "${check}"
  interval 1
  fall 2
  rise 2
  weight -60
}
`;
    await withLab(async (lab) => {
      const sw = await lab.bridge('sw');
      const a = await lab.namespace('a');
      const b = await lab.namespace('b');
      await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
      await lab.connect(b, sw, { addresses: ['192.0.2.2/24'] });
      const track = 'track_script {\n    chk\n  }';
      const agentA = await startAgent(
        lab,
        a,
        script + instance('VI_1', 'eth0', 52, 150, '192.0.2.100/24', track),
        'a',
      );
      const agentB = await startAgent(lab, b, instance('VI_1', 'eth0', 52, 100, '192.0.2.100/24'), 'b');
      await agentA.waitForState('VI_1', 'MASTER');
      await agentB.waitForState('VI_1', 'BACKUP');

      writeFileSync(failFlag, '');
      await waitFor(async () => (await agentA.instance('VI_1')).effectivePriority === 90, {
        timeoutMs: 5000,
        message: 'priority 150 - 60 after two failures',
      });
      // a now advertises 90 < 100: b discards it (preemption) and takes over; a yields to b's higher advert.
      await agentB.waitForState('VI_1', 'MASTER', MASTER_DOWN_MS + 2000);
      await agentA.waitForState('VI_1', 'BACKUP');
      assert.ok((await addresses(lab, b)).includes('192.0.2.100'));

      rmSync(failFlag);
      await waitFor(async () => (await agentA.instance('VI_1')).effectivePriority === 150, {
        timeoutMs: 5000,
        message: 'priority restored after two successes',
      });
      await agentA.waitForState('VI_1', 'MASTER', MASTER_DOWN_MS + 2000);
      await agentB.waitForState('VI_1', 'BACKUP');
    });
  } finally {
    cleanup();
  }
});

test('a hanging health script is killed at its timeout and counts as a failure', async () => {
  requireRoot();
  const { directory, cleanup } = scratch();
  try {
    const pidFile = join(directory, 'pid');
    const hang = join(directory, 'hang.sh');
    writeFileSync(hang, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 30\n`);
    chmodSync(hang, 0o755);
    const config = `
vrrp_script hang {
  script "${hang}"
  interval 2
  timeout 1
  fall 1
}
${instance('VI_1', 'eth0', 53, 150, '192.0.2.100/24', 'track_script {\n    hang\n  }')}
`;
    await withLab(async (lab) => {
      const sw = await lab.bridge('sw');
      const a = await lab.namespace('a');
      await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
      const agent = await startAgent(lab, a, config, 'a');
      // weight 0: a failing script is a fault.
      const state = await agent.waitForState('VI_1', 'FAULT', 5000);
      assert.deepEqual(state.faults, ['script hang']);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      await waitFor(() => !existsSync(`/proc/${pid}`), {
        timeoutMs: 2000,
        message: `hung script ${pid} killed`,
      });
      // The agent kept answering while the script hung.
      assert.equal((await agent.status()).instances.length, 1);
    });
  } finally {
    cleanup();
  }
});

test('a sync group keeps the outside and the inside VIP on the same box', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const outside = await lab.bridge('out');
    const inside = await lab.bridge('in');
    const a = await lab.namespace('a');
    const b = await lab.namespace('b');
    await lab.connect(a, outside, { ifname: 'eth0', addresses: ['192.0.2.1/24'] });
    const insideA = await lab.connect(a, inside, { ifname: 'eth1', addresses: ['198.51.100.1/24'] });
    await lab.connect(b, outside, { ifname: 'eth0', addresses: ['192.0.2.2/24'] });
    await lab.connect(b, inside, { ifname: 'eth1', addresses: ['198.51.100.2/24'] });
    const config = (priority: number) => `
vrrp_sync_group G1 {
  group {
    VI_OUT
    VI_IN
  }
}
${instance('VI_OUT', 'eth0', 61, priority, '192.0.2.100/24')}
${instance('VI_IN', 'eth1', 62, priority, '198.51.100.100/24')}
`;
    const agentA = await startAgent(lab, a, config(150), 'a');
    const agentB = await startAgent(lab, b, config(100), 'b');
    for (const name of ['VI_OUT', 'VI_IN']) {
      await agentA.waitForState(name, 'MASTER');
      await agentB.waitForState(name, 'BACKUP');
    }
    // Only the inside cable of a is pulled; the group takes the outside VIP along.
    await lab.exec(inside.ns, ['ip', 'link', 'set', insideA.bridgePort, 'down']);
    for (const name of ['VI_OUT', 'VI_IN']) await agentB.waitForState(name, 'MASTER', MASTER_DOWN_MS + 2000);
    assert.equal((await agentA.instance('VI_OUT')).state, 'FAULT');
    assert.deepEqual((await agentA.instance('VI_OUT')).faults, ['sync group G1: VI_IN']);
    assert.ok((await addresses(lab, b, 'eth0')).includes('192.0.2.100'));
    assert.ok((await addresses(lab, b, 'eth1')).includes('198.51.100.100'));
    assert.equal(
      (await addresses(lab, a, 'eth0')).includes('192.0.2.100'),
      false,
      'the outside VIP left a too',
    );
    assert.ok(agentA.logs.some((line) => line.msg === 'sync group G1 is FAULT'));

    await lab.exec(inside.ns, ['ip', 'link', 'set', insideA.bridgePort, 'up']);
    for (const name of ['VI_OUT', 'VI_IN']) {
      await agentA.waitForState(name, 'MASTER', MASTER_DOWN_MS + 4000);
      await agentB.waitForState(name, 'BACKUP');
    }
    assert.ok((await addresses(lab, a, 'eth0')).includes('192.0.2.100'));
    assert.ok((await addresses(lab, a, 'eth1')).includes('198.51.100.100'));
    for (const agent of [agentA, agentB]) {
      assert.deepEqual(
        agent.logs.filter((line) => line.level >= 50),
        [],
        `${agent.name} logged no error`,
      );
    }
  });
});

test('the interface deleted and created again under the same name: FAULT meanwhile, then back on the new index', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const a = await lab.namespace('a');
    const b = await lab.namespace('b');
    const first = await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
    await lab.connect(b, sw, { addresses: ['192.0.2.2/24'] });
    const agentA = await startAgent(lab, a, instance('VI_1', 'eth0', 54, 150, '192.0.2.100/24'), 'a');
    const agentB = await startAgent(lab, b, instance('VI_1', 'eth0', 54, 100, '192.0.2.100/24'), 'b');
    await agentA.waitForState('VI_1', 'MASTER');
    await agentB.waitForState('VI_1', 'BACKUP');

    // Deleting the bridge end of a veth deletes both ends: a's eth0 is gone.
    await lab.exec(sw.ns, ['ip', 'link', 'del', first.bridgePort]);
    const gone = await agentA.waitForState('VI_1', 'FAULT', 3000);
    assert.deepEqual(gone.faults, ['link eth0']);
    await agentB.waitForState('VI_1', 'MASTER', MASTER_DOWN_MS + 2000);

    // A new eth0 (a new index) with the same address: a's socket must follow it, or it would hear nothing and
    // stay MASTER beside b.
    const second = await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
    assert.notEqual(second.index, first.index);
    await agentA.waitForState('VI_1', 'MASTER', MASTER_DOWN_MS + 4000);
    await agentB.waitForState('VI_1', 'BACKUP', 5000);
    const received = (await agentA.instance('VI_1')).counters.advertsReceived as number;
    assert.ok(
      agentA.logs.some((line) => line.msg.startsWith('interface re-created')),
      agentA.describe(),
    );
    // b's adverts reach a on the new interface: a heard b while b was MASTER.
    assert.ok(received > 0, `a received adverts on the new eth0 (${received})`);
    assert.ok((await addresses(lab, a)).includes('192.0.2.100'));
    assert.equal((await addresses(lab, b)).includes('192.0.2.100'), false);
  });
});

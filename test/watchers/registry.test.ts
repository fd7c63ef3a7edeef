/**
 * TrackerRegistry and InstanceTracking together, from a real configuration: a script, a track file, a tracked
 * process and a tracked interface move one instance's effective priority and faults; an untracked script
 * never runs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { LinkInfo, NetlinkEvent, RtNetlink, SubscribeOptions } from '../../src/actions/netlink.js';
import { loadConfig, memoryFileSystem } from '../../src/config/index.js';
import { NetlinkEvents } from '../../src/actions/netlink-events.js';
import { LinkWatcher } from '../../src/watchers/link.js';
import { TrackerRegistry } from '../../src/watchers/registry.js';
import { scriptKind } from '../../src/watchers/script.js';
import { InstanceTracking } from '../../src/watchers/tracking.js';
import { waitFor } from '../helpers/netns.js';

const link = (name: string, index: number, lowerUp = true): LinkInfo => ({
  name,
  index,
  mac: '02:00:00:00:00:01',
  up: true,
  lowerUp,
  operstate: lowerUp ? 'up' : 'down',
});

class FakeNetlink {
  links = [link('eth0', 2), link('eth1', 3)];
  options: SubscribeOptions | undefined;
  listLinks = async () => this.links;
  subscribe = (options: SubscribeOptions) => {
    this.options = options;
    return { close: () => (this.options = undefined) };
  };
  emit(event: NetlinkEvent) {
    this.options?.onEvent(event);
  }
}

test('registry: shared trackers drive one instance through InstanceTracking', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-registry-'));
  const marker = `${3000 + randomInt(1000)}.${randomInt(1_000_000)}`;
  const text = `
vrrp_script chk {
  script "/usr/bin/test -e ${dir}/ok"
  interval 1
  weight -30
}
vrrp_script unused {
  script "/bin/false"
}
track_file prio {
  file "${dir}/prio"
  weight 5
}
vrrp_track_process sleeper {
  process sleep ${marker}
  weight 0
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.10/24
  }
  track_interface {
    eth1 weight -10
  }
  track_script {
    chk
  }
  track_file {
    prio
  }
  track_process {
    sleeper
  }
}
`;
  const loaded = await loadConfig('test.conf', { files: memoryFileSystem({ 'test.conf': text }) });
  assert.ok(loaded.config, JSON.stringify(loaded.diagnostics));
  const netlink = new FakeNetlink();
  const links = new LinkWatcher(
    netlink as unknown as RtNetlink,
    new NetlinkEvents(netlink as unknown as RtNetlink),
  );
  await links.start();
  const registry = new TrackerRegistry(loaded.config, links, {
    processScanIntervalMicroseconds: 50_000,
  });
  const events: string[] = [];
  const [instanceConfig] = loaded.config.instances;
  assert.ok(instanceConfig);
  const tracking = new InstanceTracking(instanceConfig, registry, {
    onPriority: (p) => events.push(`priority ${p}`),
    onFault: (cause) => events.push(`fault ${cause}`),
    onFaultCleared: (cause) => events.push(`clear ${cause}`),
  });
  const sleeper = spawn('sleep', [marker]);
  try {
    await registry.start();
    tracking.start();
    await tracking.settled();
    // The script failed (no ok file): -30. No sleep process counted yet or already: wait for it.
    await waitFor(() => tracking.outcome.faults.length === 0, { message: 'the sleep process counted' });
    assert.equal(tracking.outcome.effectivePriority, 70);

    writeFileSync(join(dir, 'ok'), '');
    writeFileSync(join(dir, 'prio'), '2\n');
    await waitFor(() => tracking.outcome.effectivePriority === 110, { message: 'script ok and file +10' });

    netlink.links = [link('eth0', 2), link('eth1', 3, false)];
    netlink.emit({ kind: 'link', action: 'new', link: link('eth1', 3, false) });
    assert.equal(tracking.outcome.effectivePriority, 100, 'eth1 down: -10');

    netlink.emit({ kind: 'link', action: 'new', link: link('eth0', 2, false) });
    assert.deepEqual(tracking.outcome.faults, ['link eth0'], 'the own interface is tracked without weight');

    sleeper.kill('SIGKILL');
    await waitFor(() => tracking.outcome.faults.includes('process sleeper'), { message: 'the process gone' });

    assert.throws(
      () => registry.tracker(scriptKind, 'unused'),
      { code: 'TANDEM_ETRACKER' },
      'an untracked script is not even created, so it never runs',
    );
    assert.ok(events.includes('priority 110'));
    assert.ok(events.includes('fault link eth0'));
  } finally {
    tracking.stop();
    registry.stop();
    links.stop();
    if (sleeper.exitCode === null && sleeper.signalCode === null) sleeper.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('registry: a script user that does not exist stops the start with a clear error', async () => {
  const text = `
global_defs {
  script_user no-such-user-tandem
}
vrrp_script chk {
  script "/bin/true"
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.10/24
  }
  track_script {
    chk
  }
}
`;
  const loaded = await loadConfig('test.conf', { files: memoryFileSystem({ 'test.conf': text }) });
  assert.ok(loaded.config, JSON.stringify(loaded.diagnostics));
  const netlink = new FakeNetlink();
  const links = new LinkWatcher(
    netlink as unknown as RtNetlink,
    new NetlinkEvents(netlink as unknown as RtNetlink),
  );
  const registry = new TrackerRegistry(loaded.config, links);
  await assert.rejects(registry.start(), { code: 'TANDEM_ESCRIPTUSER' });
  assert.equal(netlink.options, undefined, 'the registry subscribes to nothing itself (the agent does)');
});

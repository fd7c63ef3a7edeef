/**
 * LinkWatcher against a real kernel, inside a namespace: carrier loss, admin down, deletion and re-creation
 * under the same name (new ifindex), all from netlink events.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LinkState } from '../../src/watchers/link.js';
import { PROCESS_START_DEADLINE_MS, readLines, requireRoot, waitFor, withLab } from '../helpers/netns.js';

test('link watcher follows carrier, admin state, deletion and re-creation', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const ns = await lab.namespace('a');
    const port = await lab.connect(ns, sw, { ifname: 'eth0' });
    // A veth pair inside the namespace stands for a second NIC (the kernel here has no dummy driver).
    const addPair = async () => {
      await lab.exec(ns, ['ip', 'link', 'add', 'dum0', 'type', 'veth', 'peer', 'name', 'dum0p']);
      await lab.exec(ns, ['ip', 'link', 'set', 'dum0p', 'up']);
      await lab.exec(ns, ['ip', 'link', 'set', 'dum0', 'up']);
    };
    await addPair();

    const child = lab.spawn(
      ns,
      lab.nodeArgv('test/watchers/fixtures/link-watch.ts', 'eth0', 'dum0', 'ghost0', 'lo'),
    );
    let ready: LinkState[] | undefined;
    const changes: LinkState[] = [];
    readLines(child.stdout, (line) => {
      const message = JSON.parse(line) as { ready?: LinkState[]; change?: LinkState };
      if (message.ready) ready = message.ready;
      else if (message.change && ready) changes.push(message.change);
    });
    const initial = await waitFor(() => ready, {
      message: 'the watcher to start',
      timeoutMs: PROCESS_START_DEADLINE_MS,
    });
    assert.deepEqual(initial, [
      { name: 'eth0', exists: true, up: true, ifindex: port.index },
      { name: 'dum0', exists: true, up: true, ifindex: initial[1]?.ifindex },
      { name: 'ghost0', exists: false, up: false },
      // Loopback reports operstate "unknown": up, as keepalived counts it.
      { name: 'lo', exists: true, up: true, ifindex: 1 },
    ]);
    const dummyIndex = initial[1]?.ifindex;
    assert.ok(typeof dummyIndex === 'number');
    const last = (name: string) => changes.filter((change) => change.name === name).at(-1);

    // Carrier loss: the bridge side goes down; eth0 stays admin up but loses lower_up.
    await lab.exec(sw.ns, ['ip', 'link', 'set', port.bridgePort, 'down']);
    await waitFor(() => last('eth0')?.up === false, { message: 'eth0 down on carrier loss' });
    await lab.exec(sw.ns, ['ip', 'link', 'set', port.bridgePort, 'up']);
    await waitFor(() => last('eth0')?.up === true, { message: 'eth0 up again' });

    // Admin down and up.
    await lab.exec(ns, ['ip', 'link', 'set', 'dum0', 'down']);
    await waitFor(() => last('dum0')?.up === false, { message: 'dum0 admin down' });
    await lab.exec(ns, ['ip', 'link', 'set', 'dum0', 'up']);
    await waitFor(() => last('dum0')?.up === true, { message: 'dum0 up again' });

    // Deleted, then re-created under the same name: a new ifindex.
    await lab.exec(ns, ['ip', 'link', 'del', 'dum0']);
    await waitFor(() => last('dum0')?.exists === false, { message: 'dum0 gone' });
    await addPair();
    const recreated = await waitFor(() => (last('dum0')?.up ? last('dum0') : undefined), {
      message: 'dum0 back and up',
    });
    assert.equal(recreated.exists, true);
    assert.notEqual(recreated.ifindex, dummyIndex, 'the re-created interface has a new index');

    // An interface that appears later under a tracked name.
    await lab.exec(ns, ['ip', 'link', 'add', 'ghost0', 'type', 'veth', 'peer', 'name', 'ghost0p']);
    await waitFor(() => last('ghost0')?.exists === true, { message: 'ghost0 created' });
    assert.equal(last('ghost0')?.up, false, 'created admin down');

    // Removing a port from a bridge sends RTM_DELLINK (family AF_BRIDGE) for a link that still exists.
    const bridgeWatcher = lab.spawn(
      sw.ns,
      lab.nodeArgv('test/watchers/fixtures/link-watch.ts', port.bridgePort),
    );
    let bridgeReady = false;
    const bridgeChanges: LinkState[] = [];
    readLines(bridgeWatcher.stdout, (line) => {
      const message = JSON.parse(line) as { ready?: LinkState[]; change?: LinkState };
      if (message.ready) bridgeReady = true;
      else if (message.change && bridgeReady) bridgeChanges.push(message.change);
    });
    await waitFor(() => bridgeReady, {
      message: 'the bridge-side watcher to start',
      timeoutMs: PROCESS_START_DEADLINE_MS,
    });
    await lab.exec(sw.ns, ['ip', 'link', 'set', port.bridgePort, 'nomaster']);
    await lab.exec(sw.ns, ['ip', 'link', 'set', port.bridgePort, 'down']);
    await waitFor(() => bridgeChanges.at(-1)?.up === false, { message: 'the port down' });
    assert.ok(
      bridgeChanges.every((change) => change.exists),
      `leaving the bridge is not a deletion: ${JSON.stringify(bridgeChanges)}`,
    );
    child.stdin?.end();
    bridgeWatcher.stdin?.end();
  });
});

/**
 * The HAProxy test helper on its own: a real haproxy (Debian's package) in each balancer namespace, bound to
 * the VIP before the VIP is there (ip_nonlocal_bind), answers the client with its balancer's name once the VIP
 * is on that balancer, and stops when asked. The failover test with tandem agents builds on this.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haproxyService, httpGetFrom, startHaproxy } from '../helpers/haproxy.js';
import { requireRoot, waitFor, withLab } from '../helpers/netns.js';

const VIP = '192.0.2.100';
const URL = `http://${VIP}/`;

test('haproxy in each balancer answers the client with its name, wherever the VIP is', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const b1 = await lab.namespace('b1');
    const b2 = await lab.namespace('b2');
    const client = await lab.namespace('c');
    await lab.connect(b1, sw, { addresses: ['192.0.2.1/24'] });
    await lab.connect(b2, sw, { addresses: ['192.0.2.2/24'] });
    await lab.connect(client, sw, { addresses: ['192.0.2.10/24'] });

    const proxy1 = await startHaproxy(lab, b1, 'b1', { bind: VIP });
    const proxy2 = await startHaproxy(lab, b2, 'b2', { bind: VIP });

    // Nobody holds the VIP yet: no answer, although both proxies listen on it.
    assert.equal(await httpGetFrom(lab, client, URL, 500), undefined);

    await lab.exec(b1, ['ip', 'addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
    assert.deepEqual(await httpGetFrom(lab, client, URL), { status: 200, body: 'b1' });
    // The body is exactly the name, so the answers of the two balancers cannot be confused.
    assert.deepEqual(await httpGetFrom(lab, client, `http://${VIP}/any/path`), { status: 200, body: 'b1' });

    // Move the VIP by hand; the client forgets b1's MAC (tandem's gratuitous ARP does that in the real test).
    await lab.exec(b1, ['ip', 'addr', 'del', `${VIP}/24`, 'dev', 'eth0']);
    await lab.exec(b2, ['ip', 'addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
    await lab.exec(client, ['ip', 'neigh', 'flush', 'dev', 'eth0']);
    await waitFor(async () => (await httpGetFrom(lab, client, URL, 500))?.body === 'b2', {
      timeoutMs: 5000,
      message: 'the answer comes from b2',
    });

    // stop() ends haproxy; then the VIP on b2 has nothing listening behind it.
    const exit = await proxy2.stop();
    assert.ok(exit.code !== null || exit.signal !== null, `haproxy b2 exited (${proxy2.output()})`);
    assert.equal(await httpGetFrom(lab, client, URL, 500), undefined);
    assert.equal(proxy1.child.exitCode, null, 'haproxy b1 still runs');
    await proxy1.stop();
  });
});

test('the hook scripts for a tandem_service start haproxy as a daemon where the VIP is, and stop it', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const b1 = await lab.namespace('b1');
    const client = await lab.namespace('c');
    await lab.connect(b1, sw, { addresses: ['192.0.2.1/24', `${VIP}/24`] });
    await lab.connect(client, sw, { addresses: ['192.0.2.10/24'] });
    const service = await haproxyService(lab, b1, 'b1', { bind: VIP });

    assert.equal(service.pid(), undefined, 'nothing runs before on_master');
    assert.equal(await httpGetFrom(lab, client, URL, 500), undefined);

    // Run as the agent runs them: inside the balancer's namespace, and they return once haproxy is up.
    await lab.exec(b1, [service.start]);
    const pid = service.pid();
    assert.ok(pid !== undefined, 'haproxy runs as a daemon after the start script returned');
    await waitFor(async () => (await httpGetFrom(lab, client, URL, 500))?.body === 'b1', {
      timeoutMs: 5000,
      message: 'the daemon answers with b1',
    });
    // A second MASTER event (or a reload) does not start a second haproxy.
    await lab.exec(b1, [service.start]);
    assert.equal(service.pid(), pid);

    await lab.exec(b1, [service.stop]);
    await waitFor(() => service.pid() === undefined, { timeoutMs: 5000, message: 'haproxy stopped' });
    assert.equal(await httpGetFrom(lab, client, URL, 500), undefined);
    // Stopping what is already stopped is not an error (BACKUP at startup runs on_backup).
    await lab.exec(b1, [service.stop]);
  });
});

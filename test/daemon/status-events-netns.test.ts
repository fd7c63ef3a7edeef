/**
 * `tandem status` and `tandem events` of real agents after a one-sided edit: a advertises VIP .100, b expects
 * .101, so b refuses a's adverts (address-mismatch) and both become MASTER. b's status warns about it, in the
 * JSON (`warnings`) and in the table; its FRR fields follow RFC 5798 §6.1 for priority 100 at 100 ms
 * (Skew_Time 61 ms, Master_Down_Interval 361 ms) and count adverts and gratuitous ARPs. b's events show the
 * discard (rate-limited), the notify_master hook run with its exit code and duration, and the interface
 * tracker going down when its link is cut.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tandemArgv } from '../../netns-lab/entry.js';
import type { TandemEvent } from '../../src/daemon/events.js';
import { streamEvents } from '../../src/daemon/events-command.js';
import { startAgent } from '../helpers/agents.js';
import { requireRoot, run, waitFor, withLab } from '../helpers/netns.js';

function config(priority: number, vip: string, notify = ''): string {
  return `
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${priority}
  version 3
  advert_int 0.1
  ${notify}
  virtual_ipaddress {
    ${vip}/24
  }
}
`;
}

test('a refused peer is a status warning (JSON and table); events show the discard, the hook run, the tracker', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const a = await lab.namespace('a');
    const b = await lab.namespace('b');
    await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
    await lab.connect(b, sw, { addresses: ['192.0.2.2/24'] });
    const agentA = await startAgent(lab, a, config(150, '192.0.2.100'), 'a');
    const agentB = await startAgent(lab, b, config(100, '192.0.2.101', 'notify_master "/bin/true"'), 'b');
    await agentA.waitForState('VI_1', 'MASTER');
    // b never accepts a's adverts: it becomes MASTER too, and says why.
    const status = await waitFor(
      async () => {
        const instance = await agentB.instance('VI_1');
        return instance.state === 'MASTER' && instance.warnings.length > 0 ? instance : undefined;
      },
      { timeoutMs: 10_000, message: 'b MASTER with a warning' },
    );
    const [warning] = status.warnings;
    assert.equal(warning?.kind, 'discarding-adverts');
    assert.equal(warning?.reason, 'address-mismatch');
    assert.equal(warning?.source, '192.0.2.1');
    assert.ok((warning?.count as number) > 0);
    assert.match(warning?.message ?? '', /192\.0\.2\.1.*address-mismatch/);
    // RFC 5798 §6.1 at priority 100, 100 ms: Skew_Time (156 x 100) / 256 = 60.9 ms, Master_Down 300 + 60.9.
    assert.equal(status.masterAdverInterval, 100);
    assert.equal(status.skewTime, 61);
    assert.equal(status.masterDownInterval, 361);
    await waitFor(
      async () => {
        const { stats } = await agentB.instance('VI_1');
        return stats.adverTx > 0 && stats.garpTx > 0 && stats.transitions === 2 ? stats : undefined;
      },
      { message: 'b counts adverts sent and gratuitous ARPs (FRR stats)' },
    );
    const { stats } = await agentB.instance('VI_1');
    assert.equal(stats.adverRx, 0, 'nothing accepted from a');
    assert.equal(stats.neighborAdverTx, 0, 'no IPv6 VIP');
    // a accepts nothing from b either (the same mismatch), and warns the same way.
    assert.equal((await agentA.instance('VI_1')).warnings[0]?.reason, 'address-mismatch');

    // The table prints the warning under the instances.
    const table = await run([...tandemArgv('status', '--runtime-dir', agentB.runtimeDir)]);
    assert.match(table.stdout, /^VI_1: warning: discarding adverts from 192\.0\.2\.1: address-mismatch/m);

    // Cut b's link: the interface it runs on goes down (a tracker event) and the instance to FAULT.
    await lab.exec(b, ['ip', 'link', 'set', 'eth0', 'down']);
    await agentB.waitForState('VI_1', 'FAULT');

    const seen: TandemEvent[] = [];
    const socket = join(agentB.runtimeDir, 'tandem.sock');
    await waitFor(
      async () => {
        seen.length = 0;
        await streamEvents(socket, { follow: false }, (event) => seen.push(event));
        return seen.some((event) => event.type === 'hook-end');
      },
      { message: 'the notify_master run has ended' },
    );
    const discards = seen.filter((event) => event.type === 'discard');
    assert.ok(discards.length >= 1, 'a discard event');
    assert.ok(
      discards.every((event) => event.type === 'discard' && event.reason === 'address-mismatch'),
      JSON.stringify(discards),
    );
    // Rate-limited: many adverts refused (10 a second), at most one event per 10 s.
    assert.ok(discards.length <= 2, `${discards.length} discard events`);
    const start = seen.find((event) => event.type === 'hook-start');
    const end = seen.find((event) => event.type === 'hook-end');
    assert.ok(start && start.type === 'hook-start');
    assert.equal(start.hook, 'notify_master');
    assert.equal(start.state, 'MASTER');
    assert.ok(end && end.type === 'hook-end');
    assert.equal(end.hook, 'notify_master');
    assert.equal(end.outcome, 'ok');
    assert.equal(end.exitCode, 0);
    assert.ok(end.durationMs >= 0);
    assert.ok(start.seq < end.seq);
    const toMaster = seen.find((event) => event.type === 'transition' && event.to === 'MASTER');
    assert.ok(toMaster && toMaster.type === 'transition');
    assert.equal(toMaster.reason, 'master-down-expired');
    assert.ok(toMaster.seq < start.seq, 'the transition comes before its hook');
    const tracker = seen.find((event) => event.type === 'tracker');
    assert.ok(tracker && tracker.type === 'tracker', `a tracker event among ${JSON.stringify(seen)}`);
    assert.deepEqual(
      [tracker.kind, tracker.name, tracker.from, tracker.state],
      ['interface', 'eth0', 'up', 'down'],
    );
    assert.ok(
      seen.some(
        (event) => event.type === 'transition' && event.to === 'FAULT' && event.reason === 'fault-raised',
      ),
    );
  });
});

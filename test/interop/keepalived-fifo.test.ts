/**
 * keepalived 2.2 (Debian's package) as the reference for notify FIFO lines and notify script arguments: it runs
 * alone in a lab namespace with two instances in a sync group, a notify script for every state plus the
 * generic one, `notify_fifo` and `vrrp_notify_fifo`, and is driven BACKUP -> MASTER -> FAULT (link down) ->
 * BACKUP -> MASTER (link up) -> STOP (SIGTERM). What it wrote and ran is compared byte for byte with what
 * tandem's `fifoLine` and `hookCommands` produce for the same transitions, with the notify commands taken from
 * tandem's own loading of the very same keepalived.conf. Compared is what keepalived's behaviour fixes: the
 * FIFO lines of each instance and group in order (one writer, one line per transition) and no other line; the
 * notify runs as a multiset (keepalived forks them without waiting, so they finish in any order).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fifoLine } from '../../src/actions/fifo.js';
import { hookCommands, type HookEvent } from '../../src/actions/notify.js';
import { type KeepalivedProcess, keepalivedVersion, startKeepalived } from '../helpers/keepalived.js';
import { requireRoot, withLab } from '../helpers/netns.js';
import { captureNotifies } from '../helpers/notify-capture.js';
import {
  GROUP,
  INSTANCES,
  STATES,
  drive,
  isolatedHost,
  keepalivedConf,
  linesAbout,
  scenarioNotifies,
} from '../helpers/notify-scenario.js';

function expectedEvents(): HookEvent[] {
  return [
    ...INSTANCES.flatMap((instance) =>
      STATES.map((state): HookEvent => ({
        kind: 'INSTANCE',
        name: instance.name,
        state,
        priority: instance.priority,
      })),
    ),
    ...STATES.map((state): HookEvent => ({ kind: 'GROUP', name: GROUP, state, priority: 0 })),
  ];
}

test('notify FIFO lines and notify argv are the same bytes keepalived 2.2 writes and runs', async () => {
  requireRoot();
  assert.match(keepalivedVersion(), /^Keepalived v2\.2\./);
  await withLab(async (lab) => {
    const ns = await isolatedHost(lab, 'kad');
    const capture = await captureNotifies<KeepalivedProcess>(
      lab,
      keepalivedConf,
      (text) => startKeepalived(lab, ns, text, 'kad-fifo'),
      drive(lab, ns),
    );
    const context = `keepalived wrote:\n${capture.notifyFifo.toString('latin1')}\nran: ${JSON.stringify(capture.notifies)}`;

    // FIFO: both FIFOs got the same bytes; per instance and per group, exactly fifoLine's bytes in order.
    assert.ok(capture.notifyFifo.equals(capture.vrrpNotifyFifo), 'notify_fifo and vrrp_notify_fifo agree');
    const events = expectedEvents();
    for (const name of [...INSTANCES.map((instance) => instance.name), GROUP]) {
      const ours = events
        .filter((event) => event.name === name)
        .map(fifoLine)
        .join('');
      assert.equal(linesAbout(capture.notifyFifo, name), ours, `${name}: ${context}`);
    }
    assert.equal(
      capture.notifyFifo.length,
      Buffer.byteLength(events.map(fifoLine).join('')),
      `no other line: ${context}`,
    );

    // Notify scripts: tandem loads the same keepalived.conf, and hookCommands gives the argv keepalived ran.
    const { first, group } = await scenarioNotifies(capture.config);
    const expected = events.flatMap((event) => {
      if (event.kind === 'GROUP') return hookCommands(group, event);
      return event.name === 'VI_1' ? hookCommands(first, event) : [];
    });
    // keepalived forks every script without waiting for it, so the records land in whatever order the scripts
    // finish, even across transitions on a loaded machine: the same runs, compared as a multiset.
    const sorted = (lists: string[][]) => lists.map((argv) => JSON.stringify(argv)).sort();
    assert.deepEqual(sorted(capture.notifies), sorted(expected), context);
  });
});

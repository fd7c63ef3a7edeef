/**
 * tandem against keepalived 2.2 (Debian's package), daemon against daemon: the same keepalived.conf (two
 * instances in a sync group, a notify script for every state plus the generic one, `notify_fifo` and
 * `vrrp_notify_fifo`) runs once under keepalived and once under `tandem run`, each alone in its own namespace,
 * and both are driven BACKUP -> MASTER -> FAULT (link down) -> BACKUP -> MASTER (link up) -> STOP (SIGTERM).
 * What each daemon wrote to its FIFOs and which notify scripts it ran are captured the same way, and compared
 * where the contract fixes them, never on the interleaving of a live keepalived run (which varies with load):
 * - FIFO lines: per instance and per group, the same lines in the same order in both daemons (and the order of
 *   the transitions), and the same set of lines in all (no other line). How the lines of different names
 *   interleave is not compared between the daemons;
 * - notify argv: keepalived forks every script without waiting for it, so its records land in any order; the
 *   two daemons' runs are compared as a multiset.
 * tandem runs an instance's hooks one at a time, the state's own script before the generic one, so its record
 * is in exactly the order hookCommands gives, and it writes a group's line only once every member's own line
 * said that state; both are tandem's own guarantees and are asserted on tandem alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fifoLine } from '../../src/actions/fifo.js';
import { hookCommands, type HookEvent, type NotifyCommands } from '../../src/actions/notify.js';
import { type AgentProcess, startAgent } from '../helpers/agents.js';
import { type KeepalivedProcess, keepalivedVersion, startKeepalived } from '../helpers/keepalived.js';
import { requireRoot, withLab } from '../helpers/netns.js';
import { type NotifyCapture, type NotifyCapturePaths, captureNotifies } from '../helpers/notify-capture.js';
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

const NAMES = [...INSTANCES.map((instance) => instance.name), GROUP];

/** The scenario's config, with a group notify_master too (a group's state script, run before its generic one). */
const config = (paths: NotifyCapturePaths) => keepalivedConf(paths, { groupMaster: true });

/** Every notify argv with the capture's private directory made comparable. */
function argvOf(capture: NotifyCapture<unknown>): string[][] {
  return capture.notifies.map((argv) => argv.map((arg) => capture.normalized(arg)));
}

function describeCapture(what: string, capture: NotifyCapture<unknown>): string {
  return `${what} wrote:\n${capture.notifyFifo.toString('latin1')}ran: ${JSON.stringify(argvOf(capture))}`;
}

test('tandem run writes the FIFO lines and runs the notify argv keepalived 2.2 does, for the same config and transitions', async () => {
  requireRoot();
  assert.match(keepalivedVersion(), /^Keepalived v2\.2\./);
  await withLab(async (lab) => {
    const kadNs = await isolatedHost(lab, 'kad');
    const tandemNs = await isolatedHost(lab, 'tandem');
    const keepalived = await captureNotifies<KeepalivedProcess>(
      lab,
      config,
      (text) => startKeepalived(lab, kadNs, text, 'kad-fifo'),
      drive(lab, kadNs),
    );
    const tandem = await captureNotifies<AgentProcess>(
      lab,
      config,
      (text) => startAgent(lab, tandemNs, text, 'tandem-fifo'),
      drive(lab, tandemNs),
    );
    assert.equal(await tandem.daemon.exited.then((exit) => exit.code), 0, 'tandem exited 0 on SIGTERM');
    const context = `${describeCapture('keepalived', keepalived)}\n${describeCapture('tandem', tandem)}\ntandem log: ${tandem.daemon.describe()}`;

    // The very same config text, but for the directory each capture made.
    assert.equal(tandem.normalized(tandem.config), keepalived.normalized(keepalived.config));

    // FIFO: both daemons write the same bytes to both FIFOs; per instance and per group, the same lines in order.
    assert.ok(
      keepalived.notifyFifo.equals(keepalived.vrrpNotifyFifo),
      `keepalived's two FIFOs agree: ${context}`,
    );
    assert.ok(tandem.notifyFifo.equals(tandem.vrrpNotifyFifo), `tandem's two FIFOs agree: ${context}`);
    for (const name of NAMES) {
      const lines = linesAbout(keepalived.notifyFifo, name);
      assert.equal(lines.split('\n').length - 1, STATES.length, `${name}: a line per transition: ${context}`);
      assert.equal(linesAbout(tandem.notifyFifo, name), lines, `${name}: ${context}`);
      const priority = INSTANCES.find((instance) => instance.name === name)?.priority ?? 0;
      const kind = name === GROUP ? 'GROUP' : 'INSTANCE';
      const transitions = STATES.map((state) => fifoLine({ kind, name, state, priority })).join('');
      assert.equal(lines, transitions, `${name}: one line per transition, in order: ${context}`);
    }
    const lineSet = (bytes: Buffer) => (bytes.toString('latin1').match(/[^\n]*\n/g) ?? []).sort();
    assert.deepEqual(
      lineSet(tandem.notifyFifo),
      lineSet(keepalived.notifyFifo),
      `the same lines: ${context}`,
    );

    // Notify scripts: the same runs with the same argv (argv[0] is the recorder in either directory).
    const sorted = (lists: string[][]) => lists.map((argv) => JSON.stringify(argv)).sort();
    assert.deepEqual(sorted(argvOf(tandem)), sorted(argvOf(keepalived)), context);
    // The generic script ran once per transition of each instance or group, in both daemons.
    const generic = (lists: string[][], name: string) => lists.filter((argv) => argv.at(-3) === name);
    for (const name of ['VI_1', GROUP]) {
      assert.equal(generic(argvOf(keepalived), name).length, STATES.length, `${name}: ${context}`);
      assert.equal(generic(argvOf(tandem), name).length, STATES.length, `${name}: ${context}`);
    }

    // tandem runs one instance's (or group's) scripts strictly in order: the state's own, then the generic one.
    const { first, group } = await scenarioNotifies(tandem.config);
    const inOrder = (notify: NotifyCommands, event: Omit<HookEvent, 'state'>) =>
      STATES.flatMap((state) => hookCommands(notify, { ...event, state }));
    const vi1 = inOrder(first, { kind: 'INSTANCE', name: 'VI_1', priority: 100 });
    const g1 = inOrder(group, { kind: 'GROUP', name: GROUP, priority: 0 });
    const isGroupRun = (argv: string[]) => argv[1]?.startsWith('group-') === true;
    assert.deepEqual(
      tandem.notifies.filter((argv) => !isGroupRun(argv)),
      vi1,
      `VI_1 in order: ${context}`,
    );
    assert.deepEqual(tandem.notifies.filter(isGroupRun), g1, `${GROUP} in order: ${context}`);
    // tandem writes a group's line once every member's own line said the group's state (but for the very first
    // line, the group's initial BACKUP). keepalived did so too when this was written, but its interleaving is not
    // a contract and is not compared.
    const groupLinesEarly = (bytes: Buffer) => {
      const lines = bytes.toString('latin1').match(/[^\n]*\n/g) ?? [];
      const last = new Map<string, string>();
      const early: string[] = [];
      for (const [index, line] of lines.entries()) {
        const [, kind, name, state] = /^(\w+) "([^"]+)" (\w+) /.exec(line) ?? [];
        if (kind === 'INSTANCE' && name && state) last.set(name, state);
        if (kind === 'GROUP' && index > 0) {
          const behind = INSTANCES.filter((instance) => last.get(instance.name) !== state);
          if (behind.length > 0)
            early.push(
              `line ${index + 1} ${line.trim()} before ${behind.map((member) => member.name).join(', ')}`,
            );
        }
      }
      return early;
    };
    assert.deepEqual(groupLinesEarly(tandem.notifyFifo), [], `tandem: ${context}`);
  });
});

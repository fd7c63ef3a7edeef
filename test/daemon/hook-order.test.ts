/**
 * Hooks under a burst of transitions: one agent alone on a link, the address owner (priority 255, so it is
 * MASTER again the moment a fault clears), tracking a file with weight 0 (a non-zero value is a FAULT). The file
 * flips between 1 and 0 a hundred times: 200 transitions, MASTER -> FAULT -> MASTER ... Its generic notify script
 * writes `start STATE`, sleeps a little, and writes `end STATE`, so two runs at once would interleave in the log.
 * Every transition the agent logged must have run its hook, in the same order, one at a time, none lost, and
 * the last hook run must be the state the instance ends in (MASTER, then STOP once the agent is stopped).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentProcess, startAgent } from '../helpers/agents.js';
import { requireRoot, waitFor, withLab } from '../helpers/netns.js';

const INSTANCE = 'VI_1';
/** Flips of the tracked file: each 1 is a FAULT, each 0 a MASTER again. */
const FLIPS = 100;
/**
 * How long the hook script holds between its two lines (seconds, for sleep(1)). Transitions come every ~25 ms
 * (the file tracker's 20 ms settle and a read), so with this hold the runs pile up behind one another: two at
 * once would overlap in the log.
 */
const HOOK_HOLD_SECONDS = '0.05';
/**
 * Bounds the whole burst, so a stuck queue fails here instead of at the runner's timeout: a deadline, not a
 * measure (200 flips took 82 s with both cores under stress-ng and the machine shared).
 */
const BURST_TIMEOUT_MS = 300_000;

/** The hook state a logged transition runs (no hook for INIT; STOPPED is keepalived's STOP). */
const HOOK_STATE: Record<string, string> = {
  MASTER: 'MASTER',
  BACKUP: 'BACKUP',
  FAULT: 'FAULT',
  STOPPED: 'STOP',
};

function config(flag: string, hook: string): string {
  return `
global_defs {
  script_user root
}
vrrp_track_file flag {
  file ${flag}
  weight 0
}
vrrp_instance ${INSTANCE} {
  interface eth0
  virtual_router_id 61
  priority 255
  version 3
  advert_int 0.1
  virtual_ipaddress {
    192.0.2.100/24
  }
  track_file {
    flag
  }
  notify ${hook}
}
`;
}

/** The states of the instance's transitions, in the order the agent logged them (`"msg":"X -> Y"`). */
function loggedStates(agent: AgentProcess): string[] {
  return agent.logs
    .filter((line) => line.instance === INSTANCE && line.to !== undefined && / -> /.test(line.msg))
    .map((line) => HOOK_STATE[line.to as string] ?? `(no hook for ${line.to})`);
}

/** The hook log as [start|end, STATE] pairs. */
function hookLines(log: string): [string, string][] {
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split(' ') as [string, string]);
}

/**
 * The states the hook ran, after checking that no run overlapped another: every `start S` is followed at once
 * by `end S`. A trailing `start` without its end (a run in progress) is left out.
 */
function hookRunsInOrder(log: string): string[] {
  const lines = hookLines(log);
  const states: string[] = [];
  for (let index = 0; index < lines.length; index += 2) {
    const [kind, state] = lines[index] as [string, string];
    assert.equal(
      kind,
      'start',
      `line ${index + 1} starts a run: ${JSON.stringify(lines.slice(index, index + 4))}`,
    );
    const end = lines[index + 1];
    if (end === undefined) break;
    assert.deepEqual(
      end,
      ['end', state],
      `run ${index / 2 + 1} (${state}) ends before another starts: ${JSON.stringify(lines.slice(index, index + 4))}`,
    );
    states.push(state);
  }
  return states;
}

test('200 rapid transitions: every hook runs, in transition order, never two at once, ending on the final state', async () => {
  requireRoot();
  const directory = mkdtempSync(join(tmpdir(), 'tandem-hook-order-'));
  // Scripts run as root must sit where only root can write (script security).
  chmodSync(directory, 0o755);
  const flag = join(directory, 'flag');
  const hook = join(directory, 'hook.sh');
  const log = join(directory, 'hook.log');
  writeFileSync(flag, '0\n');
  writeFileSync(log, '');
  // The generic notify gets `INSTANCE VI_1 STATE PRIORITY` appended: $3 is the state.
  writeFileSync(
    hook,
    `#!/bin/sh\necho "start $3" >> ${log}\nsleep ${HOOK_HOLD_SECONDS}\necho "end $3" >> ${log}\n`,
  );
  chmodSync(hook, 0o755);
  try {
    await withLab(async (lab) => {
      const ns = await lab.namespace('a');
      // A veth pair wholly inside the namespace: the agent is alone on its link.
      await lab.exec(ns, ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
      await lab.exec(ns, ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
      await lab.exec(ns, ['ip', 'link', 'set', 'peer0', 'up']);
      await lab.exec(ns, ['ip', 'link', 'set', 'eth0', 'up']);
      const agent = await startAgent(lab, ns, config(flag, hook), 'a');
      await agent.waitForState(INSTANCE, 'MASTER');
      const before = loggedStates(agent).length;
      assert.deepEqual(loggedStates(agent), ['MASTER'], 'the owner starts as MASTER');

      // Each write waits only for the agent to log the transition it causes, not for any hook.
      const started = Date.now();
      for (let flip = 1; flip <= FLIPS * 2; flip++) {
        writeFileSync(flag, flip % 2 === 1 ? '1\n' : '0\n');
        await waitFor(() => loggedStates(agent).length >= before + flip, {
          timeoutMs: Math.max(1, started + BURST_TIMEOUT_MS - Date.now()),
          intervalMs: 2,
          message: `transition ${flip} logged (${agent.describe()})`,
        });
      }
      const burstMs = Date.now() - started;
      const logged = loggedStates(agent);
      assert.equal(logged.length, 1 + FLIPS * 2, 'one transition per flip, no more');
      assert.deepEqual(
        logged,
        ['MASTER', ...Array.from({ length: FLIPS }, () => ['FAULT', 'MASTER']).flat()],
        'MASTER, then FAULT and MASTER again per 1 and 0',
      );
      const startedByThen = Math.ceil(hookLines(log).length / 2);
      assert.ok(
        startedByThen < logged.length,
        `hooks were still queued when the burst ended (${startedByThen} of ${logged.length} started), so the ` +
          'order and no-overlap checks below had a queue to check',
      );

      await waitFor(() => hookRunsInOrder(log).length >= logged.length, {
        timeoutMs: BURST_TIMEOUT_MS,
        intervalMs: 10,
        message: `every hook run finished (${hookLines(log).length} lines)`,
      });
      const drainedMs = Date.now() - started;
      assert.deepEqual(hookRunsInOrder(log), logged, 'the hooks ran the logged transitions, in order');
      const final = await agent.instance(INSTANCE);
      assert.equal(final.state, 'MASTER');
      assert.equal(hookRunsInOrder(log).at(-1), final.state, 'the last hook run is the final state');

      // Stopping runs STOP last, after everything before it.
      assert.equal(await agent.stop(), 0);
      const all = loggedStates(agent);
      assert.equal(all.at(-1), 'STOP');
      assert.deepEqual(hookRunsInOrder(log), all, 'STOP ran after every other hook');
      assert.equal(hookLines(log).length, all.length * 2, 'no run left half done');
      console.log(
        `hook-order: ${FLIPS * 2} transitions in ${burstMs} ms; ${startedByThen} of ${logged.length} hook runs ` +
          `started by then; all finished after ${drainedMs} ms`,
      );
    });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

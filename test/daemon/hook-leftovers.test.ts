/**
 * Nothing a hook starts in its own process group outlives the agent (issue 9): a notify script that puts a
 * child in the background (`service &`) and exits leaves that child in its group; the agent remembers every
 * group it started and kills what is left of each when it stops, gracefully or at once (a second SIGTERM).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { startAgent } from '../helpers/agents.js';
import { processRuns as alive } from '../helpers/processes.js';

function config(vrid: number, extra: string): string {
  return `
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id ${vrid}
  priority 200
  version 3
  advert_int 0.1
  ${extra}
  virtual_ipaddress {
    192.0.2.${vrid}/24
  }
}
`;
}

test("a hook's background child dies with the agent, at a graceful stop and at a second SIGTERM", async () => {
  requireRoot();
  const directory = mkdtempSync(join(tmpdir(), 'tandem-leftovers-'));
  const started: number[] = [];
  try {
    // notify_master starts a child in the background, in the hook's own group, writes its PID and exits.
    const hook = join(directory, 'background.sh');
    writeFileSync(hook, `#!/bin/sh\nsleep 600 &\necho $! > "$1.tmp"\nmv "$1.tmp" "$1"\n`);
    chmodSync(hook, 0o755);
    const slow = join(directory, 'slow.sh');
    writeFileSync(slow, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(slow, 0o755);
    const childOf = async (file: string): Promise<number> => {
      await waitFor(() => existsSync(file), { message: `the hook wrote ${file}` });
      const pid = Number(readFileSync(file, 'utf8'));
      started.push(pid);
      assert.ok(alive(pid), `the background child ${pid} runs after its hook exited`);
      return pid;
    };

    await withLab(async (lab) => {
      const sw = await lab.bridge('sw');
      const a = await lab.namespace('a');
      const b = await lab.namespace('b');
      await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
      await lab.connect(b, sw, { addresses: ['192.0.2.2/24'] });

      const graceful = join(directory, 'graceful.pid');
      const first = await startAgent(lab, a, config(61, `notify_master "${hook} ${graceful}"`), 'a');
      await first.waitForState('VI_1', 'MASTER');
      const firstChild = await childOf(graceful);
      assert.equal(await first.stop(), 0, first.describe());
      await waitFor(() => !alive(firstChild), { message: `child ${firstChild} gone after the stop` });
      assert.ok(
        first.logs.some(
          (line) =>
            line.msg === 'killed what hooks left running in their process groups' && line.groups === 1,
        ),
        first.describe(),
      );

      // The immediate way out: a slow notify_stop holds the graceful stop, a second SIGTERM cuts it short.
      const hurried = join(directory, 'hurried.pid');
      const second = await startAgent(
        lab,
        b,
        config(62, `notify_master "${hook} ${hurried}"\n  notify_stop ${slow}`),
        'b',
      );
      await second.waitForState('VI_1', 'MASTER');
      const secondChild = await childOf(hurried);
      second.signal('SIGTERM');
      await waitFor(() => second.logs.some((line) => line.msg === 'stopping: handing over'), {
        message: 'stopping',
      });
      second.signal('SIGTERM');
      assert.equal((await second.exited).code, 1, second.describe());
      await waitFor(() => !alive(secondChild), {
        message: `child ${secondChild} gone after the second SIGTERM`,
      });
    });
  } finally {
    for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  }
});

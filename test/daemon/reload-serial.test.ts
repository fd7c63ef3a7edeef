/**
 * Reloads run one at a time (issue 9): SIGHUPs that arrive while a reload is in progress ask for exactly one
 * more reload after it, which reads the file as it is then; never two reloads at once, never a stale file
 * applied after a newer one. The reload is held open by a health script whose first result it waits for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { startAgent } from '../helpers/agents.js';

function instance(name: string, vrid: number, track = ''): string {
  return `
vrrp_instance ${name} {
  interface eth0
  virtual_router_id ${vrid}
  priority 200
  version 3
  advert_int 0.1
  ${track}
  virtual_ipaddress {
    192.0.2.${vrid}/24
  }
}
`;
}

test('SIGHUPs during a reload queue one more reload of the latest file, never a second one at once', async () => {
  requireRoot();
  const directory = mkdtempSync(join(tmpdir(), 'tandem-reload-serial-'));
  try {
    const started = join(directory, 'started');
    const go = join(directory, 'go');
    // The first run of this check waits until the test says go; the reload that adds SLOW waits for it.
    const check = join(directory, 'check.sh');
    writeFileSync(check, `#!/bin/sh\ntouch ${started}\nwhile [ ! -e ${go} ]; do sleep 0.05; done\n`);
    chmodSync(check, 0o755);
    const script = `
vrrp_script held {
  script "${check}"
  interval 1
  timeout 120
}
`;
    const slow = instance('SLOW', 72, 'track_script {\n    held\n  }');
    await withLab(async (lab) => {
      const sw = await lab.bridge('sw');
      const a = await lab.namespace('a');
      await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
      const agent = await startAgent(lab, a, instance('KEEP', 71), 'a');
      await agent.waitForState('KEEP', 'MASTER');
      const file = join(agent.directory, 'tandem.conf');
      const reloaded = () => agent.logs.filter((line) => line.msg === 'configuration reloaded');
      const queued = () =>
        agent.logs.filter(
          (line) => line.msg === 'SIGHUP during a reload: the file is read once more after it',
        );

      writeFileSync(file, script + instance('KEEP', 71) + slow);
      agent.signal('SIGHUP');
      await waitFor(() => existsSync(started), {
        message: `the reload waits for the check (${agent.describe()})`,
      });

      // Three SIGHUPs while the first reload waits; the file changes between them.
      writeFileSync(file, script + instance('KEEP', 71) + slow + instance('OLDER', 73));
      agent.signal('SIGHUP');
      await waitFor(() => queued().length === 1, { message: 'first SIGHUP queued' });
      writeFileSync(file, script + instance('KEEP', 71) + slow + instance('EXTRA', 74));
      // One at a time: the kernel merges a standard signal sent again before the first was delivered.
      agent.signal('SIGHUP');
      await waitFor(() => queued().length === 2, { message: 'second SIGHUP queued' });
      agent.signal('SIGHUP');
      await waitFor(() => queued().length === 3, { message: `three SIGHUPs queued (${agent.describe()})` });
      assert.equal(reloaded().length, 0, 'the first reload is still waiting');

      writeFileSync(go, '');
      await agent.waitForState('EXTRA', 'MASTER');
      // One more reload, to be sure that every earlier one has been logged when it is.
      writeFileSync(
        file,
        script + instance('KEEP', 71) + slow + instance('EXTRA', 74) + instance('LAST', 75),
      );
      agent.signal('SIGHUP');
      await waitFor(() => reloaded().some((line) => (line.started as string[]).includes('LAST')), {
        message: `the last reload (${agent.describe()})`,
      });
      assert.deepEqual(
        reloaded().map((line) => line.started),
        [['SLOW'], ['EXTRA'], ['LAST']],
        'three reloads: the held one, ONE for the three SIGHUPs (the latest file), and the last',
      );
      const status = await agent.status();
      assert.equal(status.reloads, 3);
      assert.deepEqual(status.instances.map((entry) => entry.name).sort(), ['EXTRA', 'KEEP', 'LAST', 'SLOW']);
      assert.equal(await agent.stop(), 0);
    });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

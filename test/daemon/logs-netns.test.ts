/**
 * Logs of a real `tandem run`: with `--log-format text` each record is one readable line (the transition as
 * `VI_1: BACKUP -> MASTER reason=...`), not JSON; a configuration warning is printed at start and not again at
 * each reload that finds it again; a reload that adds a new warning prints that one alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { loneHost, loneMasterConfig, spawnTandem } from '../helpers/tandem-run.js';

/** A second instance without VIPs: a warning (`... has no virtual_ipaddress`) at every load. */
function withoutVips(name: string, vrid: number): string {
  return `
vrrp_instance ${name} {
  interface eth0
  virtual_router_id ${vrid}
  priority 100
  version 3
  advert_int 1
}
`;
}

const count = (text: string, pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line)).length;

test('text logs are one readable line each; a warning is printed once across reloads', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const ns = await loneHost(lab, 'a');
    const directory = mkdtempSync(join(tmpdir(), 'tandem-logs-'));
    lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
    const file = join(directory, 'tandem.conf');
    writeFileSync(file, loneMasterConfig() + withoutVips('VI_2', 62));
    const agent = spawnTandem(lab, ns, [
      'run',
      '-f',
      file,
      '--runtime-dir',
      join(directory, 'run'),
      '--log-format',
      'text',
    ]);
    try {
      const transition = await waitFor(
        () =>
          agent
            .stdout()
            .split('\n')
            .find((line) => / VI_1: BACKUP -> MASTER /.test(line)),
        { timeoutMs: 60_000, message: `VI_1 MASTER in the text log (stdout: ${agent.stdout()})` },
      );
      assert.match(
        transition,
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}VI_1: BACKUP -> MASTER reason=master-down-expired priority=200/,
      );
      assert.ok(
        agent
          .stdout()
          .split('\n')
          .every((line) => line === '' || !line.startsWith('{')),
        'no JSON line',
      );
      const warning = /VI_2 has no virtual_ipaddress/;
      assert.equal(count(agent.stderr(), warning), 1, agent.stderr());

      // Two reloads that find the same warning print nothing new.
      for (const reloads of [1, 2]) {
        agent.child.kill('SIGHUP');
        await waitFor(() => count(agent.stdout(), /INFO {2}configuration reloaded/) === reloads, {
          timeoutMs: 10_000,
          message: `reload ${reloads} logged (stdout: ${agent.stdout()})`,
        });
      }
      assert.equal(count(agent.stderr(), warning), 1, `the warning once: ${agent.stderr()}`);

      // A reload with another such instance prints its warning, and only that one.
      writeFileSync(file, loneMasterConfig() + withoutVips('VI_2', 62) + withoutVips('VI_3', 63));
      agent.child.kill('SIGHUP');
      await waitFor(() => count(agent.stdout(), /INFO {2}configuration reloaded/) === 3, {
        timeoutMs: 10_000,
        message: 'third reload logged',
      });
      assert.equal(count(agent.stderr(), /VI_3 has no virtual_ipaddress/), 1, agent.stderr());
      assert.equal(count(agent.stderr(), warning), 1, agent.stderr());
    } finally {
      agent.child.kill('SIGTERM');
      await agent.result(10_000).catch(() => undefined);
    }
  });
});

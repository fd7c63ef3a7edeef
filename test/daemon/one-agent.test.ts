/**
 * One agent per network stack, with real agents in namespaces: a second `tandem run` in the same namespace
 * (another runtime directory) or with the same runtime directory (another namespace) exits 1 with one line
 * naming the running PID, and takes nothing from the first (VIP, control socket, pid file); after a kill -9
 * a new agent starts in spite of the stale locks; keepalived running VRRP in the namespace is refused too.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type AgentProcess, startAgent } from '../helpers/agents.js';
import { startKeepalived } from '../helpers/keepalived.js';
import { type Lab, requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { LONE_VIP, loneHost, loneMasterConfig, ownStderrLines, runToExit } from '../helpers/tandem-run.js';
import { startTandem } from '../../netns-lab/daemons.js';
import { addressesOn } from '../../netns-lab/netns.js';

const VIP = LONE_VIP;
const CONFIG = loneMasterConfig();

function scratch(lab: Lab): string {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-one-agent-'));
  lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

/** The first agent still runs as MASTER with its VIP, its control socket and its pid file. */
async function keepsEverything(lab: Lab, ns: string, agent: AgentProcess, context: string): Promise<void> {
  assert.ok(agent.running, `${context}: the first agent runs`);
  assert.equal(
    (await agent.instance('VI_1')).state,
    'MASTER',
    `${context}: still MASTER (control socket answers)`,
  );
  assert.ok((await addressesOn(lab, ns, 'eth0')).includes(VIP), `${context}: the VIP stays`);
  assert.ok(existsSync(join(agent.runtimeDir, 'tandem.sock')), `${context}: the control socket stays`);
  assert.equal(
    readFileSync(join(agent.runtimeDir, 'tandem.pid'), 'utf8'),
    `${agent.pid}\n`,
    `${context}: pid file`,
  );
}

function assertRefusal(
  result: { code: number | null; stderr: string },
  pattern: RegExp,
  context: string,
): void {
  assert.equal(result.code, 1, `${context}: exit 1 (${result.stderr})`);
  const lines = ownStderrLines(result.stderr);
  assert.equal(lines.length, 1, `${context}: one line: ${result.stderr}`);
  assert.match(lines[0] as string, pattern, context);
}

test('a second agent in the same namespace, or on the same runtime directory, is refused and takes nothing', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const a = await loneHost(lab, 'a', '192.0.2.1');
    const first = await startAgent(lab, a, CONFIG, 'a');
    await first.waitForState('VI_1', 'MASTER');

    const other = join(scratch(lab), 'run');
    const sameNamespace = await runToExit(lab, a, ['run', '-f', first.configFile, '--runtime-dir', other]);
    assertRefusal(
      sameNamespace,
      new RegExp(
        `^tandem run: TANDEM_ELOCKED: another tandem agent \\(pid ${first.pid}\\) runs in this network namespace ` +
          `with runtime directory ${first.runtimeDir}: stop it first`,
      ),
      'same namespace, other runtime directory',
    );
    await keepsEverything(lab, a, first, 'after the same-namespace attempt');
    assert.equal(existsSync(join(other, 'tandem.pid')), false, 'the refused agent left no pid file');

    const b = await loneHost(lab, 'b', '192.0.2.2');
    const sameDirectory = await runToExit(lab, b, [
      'run',
      '-f',
      first.configFile,
      '--runtime-dir',
      first.runtimeDir,
    ]);
    assertRefusal(
      sameDirectory,
      new RegExp(
        `^tandem run: TANDEM_ELOCKED: another tandem agent \\(pid ${first.pid}\\) uses runtime directory ` +
          `${first.runtimeDir}: stop it first`,
      ),
      'same runtime directory, other namespace',
    );
    await keepsEverything(lab, a, first, 'after the same-directory attempt');
    assert.equal(
      (await addressesOn(lab, b, 'eth0')).includes(VIP),
      false,
      'the refused agent claimed nothing',
    );
    assert.equal(await first.stop(), 0);
  });
});

test('after a kill -9 the stale locks do not keep a new agent from starting', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const a = await loneHost(lab, 'a', '192.0.2.1');
    const first = await startAgent(lab, a, CONFIG, 'a');
    await first.waitForState('VI_1', 'MASTER');
    await first.crash();
    assert.ok(existsSync(join(first.runtimeDir, 'tandem.pid')), 'the crash left its pid file');
    assert.ok(existsSync(join(first.runtimeDir, 'tandem.sock')), 'the crash left its control socket');
    // The same namespace and the same directory (config, runtime directory) as the crashed agent.
    const second = await startTandem(lab, a, CONFIG, 'a2', { directory: first.directory });
    await second.waitForState('VI_1', 'MASTER');
    assert.equal(readFileSync(join(second.runtimeDir, 'tandem.pid'), 'utf8'), `${second.pid}\n`);
    assert.equal(await second.stop(), 0);
    assert.equal(
      existsSync(join(second.runtimeDir, 'tandem.pid')),
      false,
      'its own pid file removed at exit',
    );
  });
});

test('tandem refuses to start beside a keepalived in its namespace', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const a = await loneHost(lab, 'a', '192.0.2.1');
    // keepalived holds the very VIP tandem's configuration names: tandem's stale-VIP clean-up must not take it.
    const keepalived = await startKeepalived(lab, a, CONFIG.replace('61', '62'), 'k');
    await waitFor(async () => (await addressesOn(lab, a, 'eth0')).includes(VIP), {
      timeoutMs: 30_000,
      message: 'keepalived holds the VIP',
    });
    const directory = scratch(lab);
    writeFileSync(join(directory, 'tandem.conf'), CONFIG);
    const result = await runToExit(lab, a, [
      'run',
      '-f',
      join(directory, 'tandem.conf'),
      '--runtime-dir',
      join(directory, 'run'),
    ]);
    assertRefusal(
      result,
      new RegExp(
        `^tandem run: TANDEM_ELOCKED: keepalived \\(pid [0-9, ]*${keepalived.child.pid}[0-9, ]*\\) runs in this network namespace`,
      ),
      'keepalived in the namespace',
    );
    assert.ok((await addressesOn(lab, a, 'eth0')).includes(VIP), "keepalived's VIP was not cleaned up");
    assert.equal(await keepalived.stop(), 0);
  });
});

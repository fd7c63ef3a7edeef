/**
 * How `tandem run` starts, or says in one line why it cannot: not root, capabilities dropped, a runtime
 * directory someone else owns or a planted symbolic link; and `tandem_runtime_dir` in global_defs moves the
 * control socket, which `tandem status` then finds (from the config, or from the namespace's agent).
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { controlRequest } from '../../src/daemon/control.js';
import type { AgentStatus } from '../../src/daemon/agent.js';
import { PROCESS_START_DEADLINE_MS, type Lab, requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { loneHost, loneMasterConfig, ownStderrLines, runToExit, spawnTandem } from '../helpers/tandem-run.js';

const NOBODY = 65534;

async function setUp(lab: Lab): Promise<{ ns: string; directory: string; config: string }> {
  const ns = await loneHost(lab, 'a');
  const directory = mkdtempSync(join(tmpdir(), 'tandem-startup-'));
  chmodSync(directory, 0o755);
  lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
  const config = join(directory, 'tandem.conf');
  writeFileSync(config, loneMasterConfig());
  return { ns, directory, config };
}

function assertOneLine(
  result: { code: number | null; stdout: string; stderr: string },
  pattern: RegExp,
  context: string,
) {
  assert.equal(result.code, 1, `${context}: exit 1 (${result.stderr})`);
  const lines = ownStderrLines(result.stderr);
  assert.equal(lines.length, 1, `${context}: one line on stderr, no stack: ${result.stderr}`);
  assert.match(lines[0] as string, pattern, context);
  assert.doesNotMatch(result.stdout, /"stack"/, `${context}: no stack in the log at the info level`);
}

test('not root, or root without CAP_NET_RAW/CAP_NET_ADMIN: one line that says what is missing and what to do', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { ns, directory, config } = await setUp(lab);
    const args = ['run', '-f', config, '--runtime-dir', join(directory, 'run')];
    const asNobody = await runToExit(lab, ns, args, {
      prefix: ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'],
    });
    assertOneLine(
      asNobody,
      /^tandem run: TANDEM_EPRIVILEGE: CAP_NET_RAW and CAP_NET_ADMIN missing: .* runs as uid 65534; run tandem as root .*AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN/,
      'as nobody',
    );
    const withoutRaw = await runToExit(lab, ns, args, {
      prefix: ['setpriv', '--inh-caps=-all', '--bounding-set=-net_raw'],
    });
    assertOneLine(
      withoutRaw,
      /^tandem run: TANDEM_EPRIVILEGE: CAP_NET_RAW missing: .* runs as root without them/,
      'root without CAP_NET_RAW',
    );
    assert.equal(existsSync(join(directory, 'run')), false, 'nothing was created');
  });
});

test('a runtime directory someone else owns, or a planted symbolic link, is refused in one line', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { ns, directory, config } = await setUp(lab);
    const theirs = join(directory, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, NOBODY, NOBODY);
    assertOneLine(
      await runToExit(lab, ns, ['run', '-f', config, '--runtime-dir', theirs]),
      /^tandem run: TANDEM_ERUNTIMEDIR: runtime directory .*theirs: .*theirs belongs to uid 65534, not to the agent's uid 0; use a directory that only root can write/,
      'owned by nobody',
    );
    const shared = join(directory, 'tmp');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const target = join(directory, 'target');
    mkdirSync(target);
    chmodSync(target, 0o755);
    const planted = join(shared, 'tandem');
    symlinkSync(target, planted);
    lchownSync(planted, NOBODY, NOBODY);
    // The runtime directory named in the configuration, as an operator writes it.
    writeFileSync(config, loneMasterConfig([`tandem_runtime_dir ${planted}`]));
    assertOneLine(
      await runToExit(lab, ns, ['run', '-f', config]),
      /^tandem run: TANDEM_ERUNTIMEDIR: runtime directory .*tandem: .*tandem is a symbolic link; tandem does not follow it there/,
      'a planted link',
    );
    assert.equal(statSync(target).mode & 0o7777, 0o755, "the link's target was not chmodded");
  });
});

test('tandem_runtime_dir moves the control socket; tandem status finds it from the config or the namespace', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { ns, directory, config } = await setUp(lab);
    const runtimeDir = join(directory, 'elsewhere');
    writeFileSync(config, loneMasterConfig([`tandem_runtime_dir ${runtimeDir}`]));
    const agent = spawnTandem(lab, ns, ['run', '-f', config]);
    const socket = join(runtimeDir, 'tandem.sock');
    await waitFor(
      async () => {
        if (agent.child.exitCode !== null) throw new Error(`exited: ${agent.stderr()}`);
        const status = (await controlRequest(socket, { command: 'status' }, 2000)) as AgentStatus;
        return status.instances[0]?.state === 'MASTER';
      },
      { timeoutMs: PROCESS_START_DEADLINE_MS, message: `MASTER through ${socket} (${agent.stderr()})` },
    );
    assert.equal(statSync(socket).mode & 0o777, 0o600);
    for (const args of [['-f', config], []]) {
      const status = await runToExit(lab, ns, ['status', '--json', ...args]);
      assert.equal(status.code, 0, `tandem status ${args.join(' ')}: ${status.stderr}`);
      const report = JSON.parse(status.stdout) as AgentStatus;
      assert.equal(report.pid, agent.child.pid, `tandem status ${args.join(' ')} reached the agent`);
    }
    agent.child.kill('SIGTERM');
    const exit = await agent.result();
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(existsSync(socket), false, 'its socket removed at exit');
  });
});

/**
 * Every signal an operator sends by habit, to a real MASTER in a namespace: the dump signals write their file
 * (mode 0600, with the instance) and log where, stray signals are ignored, none starts the inspector (no TCP
 * listener appears in the agent's namespace) and the agent stays MASTER throughout; SIGQUIT hands over like
 * SIGTERM. And the agent refuses to start under --inspect or NODE_OPTIONS=--inspect.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type AgentProcess, startAgent } from '../helpers/agents.js';
import { type Lab, requireRoot, waitFor, withLab } from '../helpers/netns.js';
import {
  LONE_VIP,
  type SpawnTandemOptions,
  loneHost,
  loneMasterConfig,
  ownStderrLines,
  runToExit,
  spawnTandem,
} from '../helpers/tandem-run.js';
import { addressesOn } from '../../netns-lab/netns.js';
import { SIGNAL_JSON, SIGNAL_STATS_CLEAR } from '../../src/daemon/signals.js';

const VIP = LONE_VIP;
const CONFIG = loneMasterConfig();

async function masterAlone(lab: Lab): Promise<{ ns: string; agent: AgentProcess }> {
  const ns = await loneHost(lab, 'a');
  const agent = await startAgent(lab, ns, CONFIG, 'a');
  await agent.waitForState('VI_1', 'MASTER');
  return { ns, agent };
}

/** TCP sockets in LISTEN state (st 0A) in the network namespace of `pid`, from /proc/PID/net/tcp{,6}. */
function tcpListeners(pid: number): string[] {
  return ['tcp', 'tcp6'].flatMap((table) =>
    readFileSync(`/proc/${pid}/net/${table}`, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === '0A')
      .map((fields) => `${table} ${fields[1]}`),
  );
}

const DUMPS: { signal: NodeJS.Signals | number; file: string; kind: string }[] = [
  { signal: 'SIGUSR1', file: 'tandem.data', kind: 'data' },
  { signal: 'SIGUSR2', file: 'tandem.stats', kind: 'stats' },
  { signal: SIGNAL_JSON, file: 'tandem.json', kind: 'json' },
  { signal: SIGNAL_STATS_CLEAR, file: 'tandem.stats', kind: 'stats' },
];

test("the signal numbers are the installed keepalived's own (keepalived --signum=NAME)", () => {
  requireRoot();
  const signum = (name: string) =>
    Number(execFileSync('keepalived', [`--signum=${name}`], { encoding: 'utf8' }).trim());
  assert.equal(signum('JSON'), SIGNAL_JSON, 'JSON');
  assert.equal(signum('STATS_CLEAR'), SIGNAL_STATS_CLEAR, 'STATS_CLEAR');
  assert.equal(signum('DATA'), constants.signals.SIGUSR1, 'DATA');
  assert.equal(signum('STATS'), constants.signals.SIGUSR2, 'STATS');
  assert.equal(signum('RELOAD'), constants.signals.SIGHUP, 'RELOAD');
  assert.equal(signum('STOP'), constants.signals.SIGTERM, 'STOP');
});

test('USR1, USR2 and the JSON signal write their dumps (0600, with the instance); no signal costs MASTER or opens a port', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const { ns, agent } = await masterAlone(lab);
    const transitions = agent.transitions.length;
    const stillMaster = async (context: string) => {
      assert.ok(agent.running, `${context}: the agent runs (${agent.describe()})`);
      assert.equal((await agent.instance('VI_1')).state, 'MASTER', context);
      assert.equal(agent.transitions.length, transitions, `${context}: no transition`);
      assert.deepEqual(tcpListeners(agent.pid), [], `${context}: nothing listens on TCP`);
    };
    for (const { signal, file, kind } of DUMPS) {
      const path = join(agent.runtimeDir, file);
      rmSync(path, { force: true });
      const logged = agent.logs.length;
      process.kill(agent.pid, signal);
      const line = await waitFor(
        () => agent.logs.slice(logged).find((entry) => entry.msg === `${kind} dump written to ${path}`),
        { message: `${String(signal)}: "${kind} dump written" in the log (${agent.describe()})` },
      );
      assert.equal(line.file, path);
      const stats = lstatSync(path);
      assert.ok(stats.isFile(), `${file} is a regular file`);
      assert.equal(stats.mode & 0o777, 0o600, `${file} is mode 0600`);
      const content = readFileSync(path, 'utf8');
      assert.match(content, /VI_1/, `${file} names the instance`);
      if (kind === 'json') {
        const dump = JSON.parse(content) as {
          tandem: { pid: number };
          instances: {
            name: string;
            state: string;
            vips: string[];
            timers: { advertIntervalSeconds: number; masterDownIntervalSeconds: number };
            trackers: { interfaces: { name: string; up: boolean }[] };
          }[];
        };
        assert.equal(dump.tandem.pid, agent.pid);
        const [instance] = dump.instances;
        assert.equal(instance?.name, 'VI_1');
        assert.equal(instance?.state, 'MASTER');
        assert.deepEqual(instance?.vips, [`${VIP}/24`]);
        assert.equal(instance?.timers.advertIntervalSeconds, 0.1);
        // RFC 5798 §6.1: 3 × 0.1 s + (256 - 200) × 0.1 s / 256.
        assert.equal(instance?.timers.masterDownIntervalSeconds, 0.321875);
        assert.deepEqual(instance?.trackers.interfaces, [
          { name: 'eth0', weight: 0, reverse: false, up: true },
        ]);
      }
      if (kind === 'data') assert.match(content, /state MASTER/);
      if (kind === 'stats') assert.match(content, /advertsSent \d+/);
      await stillMaster(`after ${String(signal)}`);
    }
    for (const signal of ['SIGALRM', 'SIGTSTP', 'SIGPWR'] as const) {
      const logged = agent.logs.length;
      process.kill(agent.pid, signal);
      await waitFor(() => agent.logs.slice(logged).some((entry) => entry.signal === signal), {
        message: `${signal} ignored, and said so (${agent.describe()})`,
      });
      await stillMaster(`after ${signal}`);
    }
    // SIGQUIT hands over like SIGTERM: the VIP is released and the agent exits 0, taking its own files along.
    process.kill(agent.pid, 'SIGQUIT');
    assert.equal((await agent.exited).code, 0, 'SIGQUIT: exit 0');
    assert.equal((await addressesOn(lab, ns, 'eth0')).includes(VIP), false, 'VIP released');
    for (const file of ['tandem.sock', 'tandem.pid'])
      assert.throws(() => lstatSync(join(agent.runtimeDir, file)), /ENOENT/, `${file} removed at exit`);
  });
});

test('tandem run refuses to start under --inspect or NODE_OPTIONS=--inspect, in one line', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const ns = await lab.namespace('a');
    const directory = mkdtempSync(join(tmpdir(), 'tandem-inspect-'));
    lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
    const file = join(directory, 'tandem.conf');
    writeFileSync(file, CONFIG);
    const args = ['run', '-f', file, '--runtime-dir', join(directory, 'run')];
    const ways: [string, SpawnTandemOptions][] = [
      ['--inspect', { nodeOptions: ['--inspect=127.0.0.1:0'] }],
      ['NODE_OPTIONS', { env: { ...process.env, NODE_OPTIONS: '--inspect=127.0.0.1:0' } }],
    ];
    for (const [how, options] of ways) {
      const result = await runToExit(lab, ns, args, options);
      assert.equal(result.code, 1, `${how}: exit 1 (${result.stderr})`);
      const lines = ownStderrLines(result.stderr);
      assert.equal(lines.length, 1, `${how}: one line: ${result.stderr}`);
      assert.match(
        lines[0] as string,
        /^tandem run: TANDEM_EINSPECTOR: started with --inspect=127\.0\.0\.1:0: .*--allow-inspector/,
      );
      assert.equal(result.stdout, '', `${how}: nothing started, nothing logged`);
    }
  });
});

test('an inspector opened before the guard (as by a SIGUSR1 while Node starts) is closed, and the log says so', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const ns = await loneHost(lab, 'a');
    const directory = mkdtempSync(join(tmpdir(), 'tandem-early-inspector-'));
    lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
    const file = join(directory, 'tandem.conf');
    writeFileSync(file, CONFIG);
    const runtimeDir = join(directory, 'run');
    // Loaded before tandem's first module: what a SIGUSR1 in that window would have done.
    const openInspector =
      "--import=data:text/javascript,import inspector from 'node:inspector'; inspector.open(0, '127.0.0.1');";
    const agent = spawnTandem(lab, ns, ['run', '-f', file, '--runtime-dir', runtimeDir], {
      nodeOptions: [openInspector],
    });
    await waitFor(() => agent.stdout().includes('"msg":"tandem started"'), {
      timeoutMs: 60_000,
      message: `the agent starts (${agent.stderr()})`,
    });
    assert.match(agent.stderr(), /Debugger listening on ws:\/\/127\.0\.0\.1:/, 'the inspector was open');
    assert.match(agent.stdout(), /a SIGUSR1 opened the inspector before tandem could prevent it: closed/);
    assert.deepEqual(tcpListeners(agent.child.pid as number), [], 'nothing listens on TCP');
    agent.child.kill('SIGTERM');
    assert.equal((await agent.result()).code, 0);
  });
});

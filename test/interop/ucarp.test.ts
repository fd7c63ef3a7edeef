/**
 * tandem's CARP against the real ucarp (Debian's 1.5.2 package), in namespaces on one bridge, both directions:
 *   - tandem (carp_instance) MASTER, ucarp BACKUP: ucarp never runs its up script while tandem lives; on SIGTERM
 *     tandem bows out and a plain ucarp (no -P) takes over through its "going to time out" rule;
 *   - ucarp MASTER, tandem BACKUP: tandem never claims the VIP while ucarp lives; it takes over when ucarp is
 *     killed (-9) and when ucarp's cable is pulled;
 *   - a wrong passphrase on one side: both refuse the other's adverts (tandem counts auth-mismatch, ucarp logs
 *     "Bad digest") and both stay MASTER, as two ucarps do;
 *   - `tandem carp` with ucarp's own command line and scripts: the scripts get `INTERFACE VIP XPARAM`, and on
 *     SIGTERM with -z the down script runs and ucarp takes over.
 * No timing is asserted (failover times go to the bench and docs/carp.md); the rules that decide are: ucarp's log
 * lines, tandem's transition reasons, the VIPs on each side.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentProcess, startAgent, startCarpAgent } from '../helpers/agents.js';
import { type Lab, readLines, requireRoot, waitFor, withLab } from '../helpers/netns.js';

const UCARP = '/usr/sbin/ucarp';
const VHID = 5;
const VIP = '192.0.2.50';
const PASSPHRASE = 'secret';
const TANDEM_ADDRESS = '192.0.2.1';
const UCARP_ADDRESS = '192.0.2.2';
/** Generous deadlines for a loaded machine; they bound the wait, they measure nothing. */
const DEADLINE_MS = 30_000;

interface Hosts {
  lab: Lab;
  tandem: string;
  ucarp: string;
  ucarpPort: { ns: string; bridgePort: string };
  directory: string;
}

async function hosts(lab: Lab): Promise<Hosts> {
  const sw = await lab.bridge('sw');
  const tandem = await lab.namespace('t');
  const ucarp = await lab.namespace('u');
  await lab.connect(tandem, sw, { addresses: [`${TANDEM_ADDRESS}/24`] });
  const port = await lab.connect(ucarp, sw, { addresses: [`${UCARP_ADDRESS}/24`] });
  const directory = mkdtempSync(join(tmpdir(), 'tandem-ucarp-'));
  lab.onCleanup(() => rmSync(directory, { recursive: true, force: true }));
  return { lab, tandem, ucarp, ucarpPort: { ns: sw.ns, bridgePort: port.bridgePort }, directory };
}

/** ucarp-style scripts that log their arguments and move the VIP, as ucarp users write them. */
function scripts(directory: string, name: string): { up: string; down: string; log: string } {
  const log = join(directory, `${name}.log`);
  const write = (kind: 'up' | 'down', command: string) => {
    const path = join(directory, `${name}-${kind}.sh`);
    writeFileSync(path, `#!/bin/sh\necho "${kind} $*" >> ${log}\n${command}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  return {
    up: write('up', 'ip addr add "$2"/24 dev "$1"'),
    down: write('down', 'ip addr del "$2"/24 dev "$1" 2>/dev/null || true'),
    log,
  };
}

function scriptCalls(log: string): string[] {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
}

interface Ucarp {
  child: ChildProcess;
  lines: string[];
  log: string;
  seen(pattern: RegExp, after?: number): number;
}

function startUcarp(
  h: Hosts,
  options: { advskew: number; preempt?: boolean; passphrase?: string; name?: string },
): Ucarp {
  const files = scripts(h.directory, options.name ?? 'ucarp');
  const child = h.lab.spawn(h.ucarp, [
    UCARP,
    ...['-i', 'eth0', '-s', UCARP_ADDRESS, '-v', String(VHID), '-p', options.passphrase ?? PASSPHRASE],
    ...['-a', VIP, '-k', String(options.advskew), '-u', files.up, '-d', files.down, '-f', 'none'],
    ...(options.preempt ? ['-P'] : []),
  ]);
  const lines: string[] = [];
  readLines(child.stderr, (text) => lines.push(text));
  readLines(child.stdout, (text) => lines.push(text));
  return {
    child,
    lines,
    log: files.log,
    seen: (pattern, after = -1) => lines.findIndex((line, index) => index > after && pattern.test(line)),
  };
}

async function waitForLine(ucarp: Ucarp, pattern: RegExp, after = -1): Promise<number> {
  let index = -1;
  await waitFor(
    () => {
      index = ucarp.seen(pattern, after);
      return index !== -1;
    },
    { timeoutMs: DEADLINE_MS, message: `ucarp to log ${pattern} (${ucarp.lines.slice(-5).join(' | ')})` },
  );
  return index;
}

async function hasVip(lab: Lab, ns: string): Promise<boolean> {
  const links = (await lab.execJson(ns, ['ip', '-j', 'addr', 'show', 'dev', 'eth0'])) as {
    addr_info: { local: string }[];
  }[];
  return links.some((link) => link.addr_info.some((address) => address.local === VIP));
}

function carpConfig(options: { advskew: number; passphrase?: string; preempt?: boolean }): string {
  return `carp_instance web {
  interface eth0
  vhid ${VHID}
  advbase 1
  advskew ${options.advskew}
  passphrase ${options.passphrase ?? PASSPHRASE}
  virtual_ipaddress {
    ${VIP}/24
  }
${options.preempt ? '  preempt\n' : ''}}
`;
}

/** Waits until tandem has sent `count` more adverts than now: the peer had that many chances to misbehave. */
async function advertsLater(agent: AgentProcess, instance: string, count: number): Promise<void> {
  const start = (await agent.instance(instance)).counters.advertsSent;
  await waitFor(async () => (await agent.instance(instance)).counters.advertsSent >= start + count, {
    timeoutMs: DEADLINE_MS,
    message: `${count} adverts from ${agent.name}`,
  });
}

/** Waits until tandem has received `count` more adverts than now. */
async function heardLater(agent: AgentProcess, instance: string, count: number): Promise<void> {
  const start = (await agent.instance(instance)).counters.advertsReceived;
  await waitFor(async () => (await agent.instance(instance)).counters.advertsReceived >= start + count, {
    timeoutMs: DEADLINE_MS,
    message: `${count} adverts heard by ${agent.name}`,
  });
}

test('tandem MASTER, ucarp BACKUP: ucarp never claims the VIP; on SIGTERM tandem bows out and a plain ucarp takes over', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const h = await hosts(lab);
    const agent = await startAgent(lab, h.tandem, carpConfig({ advskew: 0 }), 'tandem');
    await agent.waitForState('web', 'MASTER', DEADLINE_MS);
    assert.equal(await hasVip(lab, h.tandem), true, 'tandem holds the VIP');
    const ucarp = startUcarp(h, { advskew: 100 });
    const backup = await waitForLine(ucarp, /Switching to state: BACKUP/);
    await advertsLater(agent, 'web', 4);
    assert.equal(
      ucarp.seen(/Switching to state: MASTER/),
      -1,
      `ucarp stays BACKUP: ${ucarp.lines.join(' | ')}`,
    );
    assert.equal(await hasVip(lab, h.ucarp), false, 'ucarp never claimed the VIP');
    assert.deepEqual(scriptCalls(ucarp.log), [`down eth0 ${VIP}`], 'only the down script at start');
    const status = await agent.instance('web');
    assert.equal(status.state, 'MASTER');
    assert.equal(status.counters.discarded['auth-mismatch'], 0);
    assert.equal(status.counters.advertsReceived, 0, 'a slower backup ucarp sends nothing');

    assert.equal(await agent.stop(), 0, 'tandem exits 0');
    // The bow-out (advbase 255, advskew 255) makes ucarp's "going to time out" rule fire: no -P needed.
    await waitForLine(ucarp, /Putting MASTER DOWN \(going to time out\)/, backup);
    await waitForLine(ucarp, /Switching to state: MASTER/, backup);
    await waitFor(() => hasVip(lab, h.ucarp), { timeoutMs: DEADLINE_MS, message: 'ucarp to add the VIP' });
    assert.equal(await hasVip(lab, h.tandem), false, 'tandem released the VIP');
  });
});

test('ucarp MASTER, tandem BACKUP: tandem never claims the VIP; takes over on kill -9 and on a pulled cable', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const h = await hosts(lab);
    const first = startUcarp(h, { advskew: 0, name: 'first' });
    await waitForLine(first, /Switching to state: MASTER/);
    await waitFor(() => hasVip(lab, h.ucarp), { timeoutMs: DEADLINE_MS, message: 'ucarp to add the VIP' });
    const agent = await startAgent(lab, h.tandem, carpConfig({ advskew: 100 }), 'tandem');
    await agent.waitForState('web', 'BACKUP', DEADLINE_MS);
    await heardLater(agent, 'web', 4);
    let status = await agent.instance('web');
    assert.equal(status.state, 'BACKUP');
    assert.equal(status.masterAddress, UCARP_ADDRESS);
    assert.equal(status.counters.transitions, 1, 'INIT -> BACKUP only');
    assert.equal(await hasVip(lab, h.tandem), false, 'tandem never claimed the VIP');

    // kill -9: no bow-out; tandem waits out master down (3 x (1 + 100/256) s) and takes over.
    first.child.kill('SIGKILL');
    await agent.waitForState('web', 'MASTER', DEADLINE_MS);
    status = await agent.instance('web');
    assert.equal(status.lastTransition?.reason, 'master-down-expired');
    assert.equal(await hasVip(lab, h.tandem), true, 'tandem holds the VIP');
    await lab.exec(h.ucarp, ['ip', 'addr', 'del', `${VIP}/24`, 'dev', 'eth0']).catch(() => undefined);

    // A preempting ucarp that advertises more often takes the VIP back; then its cable is pulled.
    const second = startUcarp(h, { advskew: 0, preempt: true, name: 'second' });
    await agent.waitForState('web', 'BACKUP', DEADLINE_MS);
    status = await agent.instance('web');
    assert.equal(status.lastTransition?.reason, 'more-frequent-master');
    await waitForLine(second, /Switching to state: MASTER/);
    await heardLater(agent, 'web', 3);
    assert.equal(await hasVip(lab, h.tandem), false, 'tandem released the VIP to the better master');
    await lab.exec(h.ucarpPort.ns, ['ip', 'link', 'set', h.ucarpPort.bridgePort, 'down']);
    await agent.waitForState('web', 'MASTER', DEADLINE_MS);
    assert.equal((await agent.instance('web')).lastTransition?.reason, 'master-down-expired');
    assert.equal(await hasVip(lab, h.tandem), true);
  });
});

test('a wrong passphrase: each side refuses the other (counted, "Bad digest") and both stay MASTER', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const h = await hosts(lab);
    const agent = await startAgent(lab, h.tandem, carpConfig({ advskew: 0, passphrase: 'other' }), 'tandem');
    await agent.waitForState('web', 'MASTER', DEADLINE_MS);
    const ucarp = startUcarp(h, { advskew: 0 });
    await waitForLine(ucarp, /Switching to state: MASTER/);
    await waitForLine(ucarp, /Bad digest/);
    await waitFor(async () => (await agent.instance('web')).counters.discarded['auth-mismatch'] >= 3, {
      timeoutMs: DEADLINE_MS,
      message: 'tandem to count three auth-mismatch discards',
    });
    await advertsLater(agent, 'web', 2);
    const status = await agent.instance('web');
    assert.equal(status.state, 'MASTER');
    assert.equal(status.counters.advertsReceived, 0, 'nothing accepted');
    assert.equal(status.counters.transitions, 2, 'INIT -> BACKUP -> MASTER only');
    assert.equal(ucarp.seen(/Switching to state: BACKUP/, ucarp.seen(/Switching to state: MASTER/)), -1);
  });
});

test('tandem carp with ucarp’s command line: scripts get INTERFACE VIP XPARAM; SIGTERM with -z runs down and ucarp takes over', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const h = await hosts(lab);
    const own = scripts(h.directory, 'tandem');
    const agent = await startCarpAgent(
      lab,
      h.tandem,
      [
        ...['-i', 'eth0', '-s', TANDEM_ADDRESS, '-v', String(VHID), '-p', PASSPHRASE, '-a', VIP],
        ...['-u', own.up, '-d', own.down, '-x', 'extra value', '-z', '-f', 'none'],
      ],
      'tandem-carp',
    );
    const name = `carp${VHID}`;
    await agent.waitForState(name, 'MASTER', DEADLINE_MS);
    await waitFor(() => hasVip(lab, h.tandem), {
      timeoutMs: DEADLINE_MS,
      message: 'the up script to add the VIP',
    });
    const status = await agent.instance(name);
    assert.equal(status.protocol, 'carp');
    assert.deepEqual(status.carp, { vhid: VHID, advbase: 1, advskew: 0, demote: 0, flavour: 'ucarp' });
    const ucarp = startUcarp(h, { advskew: 50 });
    const backup = await waitForLine(ucarp, /Switching to state: BACKUP/);
    await advertsLater(agent, name, 3);
    assert.equal(ucarp.seen(/Switching to state: MASTER/), -1, 'ucarp stays BACKUP');

    assert.equal(await agent.stop(), 0);
    assert.deepEqual(scriptCalls(own.log), [
      `down eth0 ${VIP} extra value`,
      `up eth0 ${VIP} extra value`,
      `down eth0 ${VIP} extra value`,
    ]);
    assert.equal(await hasVip(lab, h.tandem), false, 'the down script removed the VIP');
    await waitForLine(ucarp, /Switching to state: MASTER/, backup);
    await waitFor(() => hasVip(lab, h.ucarp), { timeoutMs: DEADLINE_MS, message: 'ucarp to add the VIP' });
  });
});

/**
 * The dumps on their own (src/daemon/dump.ts): what the data and statistics dumps say for a known status, the
 * timers from the RFC formulas, the trackers read through the registry interface, and the writer: mode 0600,
 * whole files only, a burst coalesced. Plus which node options count as a debugger (signals.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { VrrpInstanceConfig } from '../../src/config/schema.js';
import type { AgentStatus } from '../../src/daemon/agent.js';
import {
  type DumpInput,
  DumpWriter,
  dataDump,
  formatData,
  formatStats,
  writeAtomically,
} from '../../src/daemon/dump.js';
import { inspectorOptions } from '../../src/daemon/signals.js';
import type { TrackerSource } from '../../src/watchers/tracking.js';
import { DISCARD_REASONS, EVENT_COUNTERS, newInstanceCounters } from '../../src/vrrp/counters.js';

const COUNTERS = newInstanceCounters();
COUNTERS.advertsReceived = 31;
COUNTERS.discarded['bad-ttl'] = 2;

const STATUS: AgentStatus = {
  pid: 4242,
  routerId: 'lb1',
  uptimeSeconds: 12.5,
  reloads: 1,
  instances: [
    {
      name: 'VI_1',
      interface: 'eth0',
      vrid: 51,
      version: 2,
      family: 4,
      state: 'BACKUP',
      priority: 100,
      effectivePriority: 80,
      masterAddress: '192.0.2.2',
      sourceAddress: '192.0.2.1',
      vips: ['192.0.2.100/24'],
      timeInStateSeconds: 3.25,
      lastTransition: { from: 'INIT', to: 'BACKUP', reason: 'startup' },
      faults: [],
      counters: COUNTERS,
      masterAdverInterval: 1000,
      skewTime: 609,
      masterDownInterval: 3609,
      stats: { adverTx: 0, adverRx: 31, garpTx: 0, neighborAdverTx: 0, transitions: 1 },
      warnings: [],
    },
  ],
  sockets: [
    {
      interface: 'eth0',
      family: 4,
      vrids: [51],
      counters: {
        received: 33,
        unknownVrid: 0,
        unknownVhid: 0,
        neitherProtocol: 0,
        malformedIp: 0,
        sendErrors: 0,
      },
    },
  ],
  control: { requests: 3, badRequests: 1 },
  memory: { rssBytes: 50_000_000, heapUsedBytes: 8_000_000, heapTotalBytes: 12_000_000 },
};

/** eth0 up, every other interface down; every script failed (scriptKind reads a tracker's `state`). */
const TRACKERS: TrackerSource = {
  linkUp: (name) => name === 'eth0',
  onLink: () => () => undefined,
  tracker: () => ({ state: 'fail', start() {}, stop() {}, onChange: () => () => undefined }) as never,
};

function input(): DumpInput {
  const config = {
    name: 'VI_1',
    interface: 'eth0',
    priority: 100,
    version: 2,
    advertIntervalCentiseconds: 100,
    preempt: true,
    preemptDelaySeconds: 5,
    dontTrackPrimary: false,
    trackInterfaces: [{ name: 'eth1', weight: -10, reverse: false }],
    trackScripts: [{ name: 'chk_haproxy', weight: -20, reverse: false }],
    trackFiles: [],
    trackProcesses: [],
  } as unknown as VrrpInstanceConfig;
  return {
    status: STATUS,
    sources: [{ config, trackers: TRACKERS, group: undefined }],
    runtimeDir: '/run/tandem',
    controlSocket: '/run/tandem/tandem.sock',
  };
}

const NOW = new Date('2026-01-02T03:04:05.000Z');

test('the data dump: state, priorities, RFC timers, VIPs and every tracker, readable and as JSON', () => {
  const dump = dataDump(input(), NOW);
  const [instance] = dump.instances;
  // RFC 3768 §6.1: Skew_Time (256 - 80) / 256 s; Master_Down_Interval 3 × 1 s + Skew_Time.
  assert.deepEqual(instance?.timers, {
    advertIntervalSeconds: 1,
    skewTimeSeconds: 0.6875,
    masterDownIntervalSeconds: 3.6875,
    preempt: true,
    preemptDelaySeconds: 5,
  });
  assert.deepEqual(instance?.trackers, {
    interfaces: [
      { name: 'eth0', weight: 0, reverse: false, up: true },
      { name: 'eth1', weight: -10, reverse: false, up: false },
    ],
    objects: [
      { name: 'chk_haproxy', cause: 'script chk_haproxy', contribution: { fault: false, delta: -20 } },
    ],
  });
  assert.equal(
    formatData(dump),
    [
      'tandem data dump, pid 4242, 2026-01-02T03:04:05.000Z',
      'router_id lb1, up 12.5 s, 1 reload(s)',
      'runtime directory /run/tandem, control socket /run/tandem/tandem.sock',
      '',
      'VRRP instance VI_1',
      '  interface eth0, IPv4, VRID 51, VRRPv2',
      '  state BACKUP for 3.25 s (INIT -> BACKUP: startup)',
      '  priority 100, effective 80',
      '  master 192.0.2.2, advertising from 192.0.2.1',
      '  advert interval 1 s, skew time 0.6875 s, master down interval 3.6875 s',
      '  preempt yes, delay 5 s',
      '  VIPs 192.0.2.100/24',
      '  faults -',
      '  trackers',
      '    interface eth0: up, weight 0',
      '    interface eth1: down, weight -10',
      '    script chk_haproxy: priority -20',
      '',
    ].join('\n'),
  );
});

test('the statistics dump lists every counter of instances, sockets and the control socket', () => {
  const text = formatStats(STATUS, NOW);
  const lines = text.split('\n');
  assert.equal(lines[0], 'tandem statistics, pid 4242, 2026-01-02T03:04:05.000Z');
  assert.equal(lines[2], 'VRRP instance VI_1 (BACKUP)');
  for (const name of EVENT_COUNTERS)
    assert.ok(lines.includes(`  ${name} ${COUNTERS[name]}`), `${name} is in the dump: ${text}`);
  assert.ok(lines.includes('  discarded'));
  for (const reason of DISCARD_REASONS)
    assert.ok(lines.includes(`    ${reason} ${COUNTERS.discarded[reason]}`), `${reason} is in the dump`);
  assert.ok(lines.includes('    bad-ttl 2') && lines.includes('  advertsReceived 31'));
  assert.deepEqual(lines.slice(lines.indexOf('socket eth0 IPv4, VRIDs 51')), [
    'socket eth0 IPv4, VRIDs 51',
    '  received 33',
    '  unknownVrid 0',
    '  unknownVhid 0',
    '  neitherProtocol 0',
    '  malformedIp 0',
    '  sendErrors 0',
    '',
    'control socket',
    '  requests 3',
    '  badRequests 1',
    '',
  ]);
});

test('dumps are written whole, mode 0600, through a fresh name; a burst is coalesced; a failure is logged', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-dump-'));
  try {
    const logs: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const log = {
      info: (fields: object, message: string) => logs.push({ level: 'info', fields: { ...fields }, message }),
      error: (fields: object, message: string) =>
        logs.push({ level: 'error', fields: { ...fields }, message }),
    };
    let taken = 0;
    const writer = new DumpWriter(
      directory,
      () => {
        taken++;
        return input();
      },
      log,
    );
    await Promise.all([1, 2, 3, 4, 5].map(() => writer.request('json', 'SIGRTMIN+2')));
    await writer.request('json', 'SIGRTMIN+2');
    const path = join(directory, 'tandem.json');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { tandem: { pid: number } }).tandem.pid, 4242);
    assert.equal(taken, 3, 'a burst of 5 is written twice (the first, and one for the rest), then once more');
    assert.deepEqual(readdirSync(directory), ['tandem.json'], 'no temporary file left');
    assert.deepEqual(logs[0], {
      level: 'info',
      fields: { signal: 'SIGRTMIN+2', dump: 'json', file: path },
      message: `json dump written to ${path}`,
    });
    // The temporary name is created with O_EXCL: nothing planted is followed; the target is replaced, not
    // written through (a link in place of the dump is replaced by the dump).
    symlinkSync('/etc/passwd', join(directory, 'tandem.data'));
    await writeAtomically(directory, 'tandem.data', 'x\n');
    assert.equal(readFileSync(join(directory, 'tandem.data'), 'utf8'), 'x\n');
    assert.ok(statSync(join(directory, 'tandem.data')).isFile());
    const missing = new DumpWriter(join(directory, 'gone'), input, log);
    await missing.request('stats', 'SIGUSR2');
    assert.equal(logs.at(-1)?.level, 'error');
    assert.equal(logs.at(-1)?.message, 'stats dump could not be written');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('inspectorOptions finds --inspect* and --debug* in node options and NODE_OPTIONS, nothing else', () => {
  assert.deepEqual(inspectorOptions(['--import', 'tsx'], undefined), []);
  assert.deepEqual(inspectorOptions(['--inspect'], ''), ['--inspect']);
  assert.deepEqual(inspectorOptions(['--inspect-brk=0.0.0.0:9229'], undefined), [
    '--inspect-brk=0.0.0.0:9229',
  ]);
  assert.deepEqual(inspectorOptions([], '--max-old-space-size=512  --inspect-port=0'), ['--inspect-port=0']);
  assert.deepEqual(inspectorOptions([], '--debug-port=1'), ['--debug-port=1']);
  assert.deepEqual(inspectorOptions(['--inspector-ish', '--debugger'], '--enable-source-maps'), []);
});

/**
 * A CARP virtual host as the instance runtime runs it (src/daemon/carp-instances.ts) and `tandem carp`'s
 * configuration (src/daemon/carp-command.ts): what each carp_instance setting becomes, demotion weights, the
 * calls of ucarp's scripts (spawn.c: SCRIPT INTERFACE VIP [XPARAM]) and the neutral start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HookEvent, HookState } from '../../src/actions/notify.js';
import { parseUcarpArguments } from '../../src/carp/ucarp-options.js';
import { loadConfig } from '../../src/config/loader.js';
import { memoryFileSystem } from '../../src/config/files.js';
import { carpConfig } from '../../src/daemon/carp-command.js';
import {
  carpSettingsOf,
  demotionOf,
  neutralStart,
  runnableConfig,
  ucarpHookSource,
} from '../../src/daemon/carp-instances.js';

const event = (state: HookState): HookEvent => ({ kind: 'INSTANCE', name: 'carp5', state, priority: 254 });

async function load(text: string) {
  const result = await loadConfig('/t.conf', { files: memoryFileSystem({ '/t.conf': text }) });
  assert.ok(result.config, JSON.stringify(result.diagnostics));
  return result.config;
}

test('a carp_instance becomes a runtime entry: vhid as id, OpenBSD rules and HMAC, VIPs owned, weights as demotions', async () => {
  const config = runnableConfig(
    await load(`vrrp_script chk {
  script "/bin/true"
}
carp_instance web {
  interface eth0
  vhid 7
  advbase 2
  advskew 100
  passphrase s3cret
  virtual_ipaddress {
    192.0.2.100/24
  }
  track_interface {
    eth1 weight 3
  }
  track_script {
    chk
  }
}`),
  );
  assert.equal(runnableConfig(config), config, 'idempotent');
  const [entry] = config.instances;
  assert.ok(entry);
  const carp = carpSettingsOf(entry);
  assert.deepEqual(carp, {
    vhid: 7,
    advbase: 2,
    advskew: 100,
    deadRatio: 3,
    flavour: 'openbsd',
    hmac: 'openbsd',
    passphrase: { value: 's3cret' },
    hashedAddresses: ['192.0.2.100'],
    neutral: false,
  });
  assert.equal(entry.vrid, 7);
  assert.equal(entry.priority, 254);
  assert.equal(entry.acceptMode, true);
  assert.deepEqual(
    entry.vips.map((vip) => vip.address),
    ['192.0.2.100'],
  );
  // A weight of 3 is subtracted while eth1 is down: 254 -> 251, advertised as demotion 3; no weight: FAULT.
  assert.deepEqual(entry.trackInterfaces, [{ name: 'eth1', weight: -3, reverse: false }]);
  assert.deepEqual(entry.trackScripts, [{ name: 'chk', weight: 0, reverse: false }]);
  assert.equal(demotionOf(251), 3);
  assert.equal(demotionOf(254), 0);
  assert.equal(carpSettingsOf(config.instances[0] as never)?.ucarp, undefined);
});

test("ucarp's scripts: down at start unless -n, up on MASTER, down on BACKUP and on leaving MASTER for FAULT, -z at exit", () => {
  const scripts = {
    up: '/etc/up.sh',
    down: '/etc/down.sh',
    virtualAddress: '192.0.2.50',
    extraParameter: 'extra value',
    neutral: false,
    shutdownAtExit: true,
  };
  const run = (source: ReturnType<typeof ucarpHookSource>, states: HookState[]) =>
    states.map((state) => source(event(state)).map((hook) => hook.argv.join(' ')));
  const up = '/etc/up.sh eth0 192.0.2.50 extra value';
  const down = '/etc/down.sh eth0 192.0.2.50 extra value';
  assert.deepEqual(
    run(ucarpHookSource(scripts, 'eth0'), ['BACKUP', 'MASTER', 'FAULT', 'BACKUP', 'MASTER', 'STOP']),
    [[down], [up], [down], [down], [up], [down]],
  );
  assert.deepEqual(
    run(ucarpHookSource({ ...scripts, neutral: true, shutdownAtExit: false }, 'eth0'), [
      'BACKUP',
      'MASTER',
      'STOP',
    ]),
    [[], [up], []],
  );
  // -z runs nothing when BACKUP at exit; no -x: two arguments.
  const { extraParameter: _extra, ...plain } = scripts;
  assert.deepEqual(run(ucarpHookSource(plain, 'eth1'), ['BACKUP', 'STOP']), [
    ['/etc/down.sh eth1 192.0.2.50'],
    [],
  ]);
});

test('carp_instance neutral: the first BACKUP runs no hook, later ones do', () => {
  const calls: HookState[] = [];
  const source = neutralStart((e) => {
    calls.push(e.state);
    return [{ argv: ['/bin/true'] }];
  });
  assert.deepEqual(source(event('BACKUP')), []);
  assert.equal(source(event('MASTER')).length, 1);
  assert.equal(source(event('BACKUP')).length, 1);
  assert.deepEqual(calls, ['MASTER', 'BACKUP']);
});

test("tandem carp: ucarp's command line becomes one CARP entry with ucarp's rules, HMAC and scripts, no VIP of tandem's", async () => {
  const parsed = parseUcarpArguments([
    '-i',
    'eth0',
    '-s',
    '192.0.2.1',
    '-v',
    '5',
    '-p',
    'secret',
    '-a',
    '192.0.2.50',
    '-P',
    '-k',
    '20',
    '-r',
    '4',
    '-u',
    '/etc/up.sh',
    '-d',
    '/etc/down.sh',
    '-x',
    'x',
    '-n',
    '-z',
  ]);
  assert.equal(parsed.kind, 'options');
  if (parsed.kind !== 'options') return;
  const config = await carpConfig(parsed.options, 'secret');
  assert.deepEqual(config.carpInstances, []);
  const [entry] = config.instances;
  assert.ok(entry);
  assert.equal(entry.name, 'carp5');
  assert.equal(entry.preempt, true);
  assert.deepEqual(entry.vips, []);
  assert.equal(entry.mcastSrcIp, '192.0.2.1');
  assert.equal(entry.mcastDstIp, '224.0.0.18');
  assert.deepEqual(carpSettingsOf(entry), {
    vhid: 5,
    advbase: 1,
    advskew: 20,
    deadRatio: 4,
    flavour: 'ucarp',
    hmac: 'ucarp',
    passphrase: { value: 'secret' },
    hashedAddresses: ['192.0.2.50'],
    neutral: true,
    ucarp: {
      up: '/etc/up.sh',
      down: '/etc/down.sh',
      virtualAddress: '192.0.2.50',
      extraParameter: 'x',
      neutral: true,
      shutdownAtExit: true,
    },
  });
});

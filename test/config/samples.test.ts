/**
 * Every VRRP sample of Debian's keepalived package is accepted by `--lenient`, and yields the instances the
 * sample declares. CI installs keepalived (.ci/run); a missing sample directory fails loudly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, type TandemConfig, type VrrpInstanceConfig } from '../../src/config/index.js';

const SAMPLES = '/usr/share/doc/keepalived/samples';

/** The facts of an instance that a sample states, in one comparable line. */
function summary(i: VrrpInstanceConfig): string {
  const vips = i.vips.map(
    (v) =>
      `${v.address}/${v.prefixLength}${v.dev ? ` dev ${v.dev}` : ''}${v.label ? ` label ${v.label}` : ''}`,
  );
  const auth = i.auth.type === 'pass' ? ` auth ${i.auth.password}` : '';
  return `${i.name} ${i.state} ${i.interface} vrid ${i.vrid} prio ${i.priority} adv ${i.advertIntervalCentiseconds} v${i.version}${auth} [${vips.join(', ')}]`;
}

function tracks(list: { name: string; weight: number }[]): string {
  return list.map((t) => `${t.name}:${t.weight}`).join(' ');
}

/** A value without its `source` positions, for comparing what was read rather than where. */
function withoutSources(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, inner: unknown) => (key === 'source' ? undefined : inner)));
}

async function load(name: string): Promise<TandemConfig> {
  const file = path.join(SAMPLES, name);
  assert.ok(
    fs.existsSync(file),
    `${file} is missing: install Debian's keepalived package (apt-get install keepalived)`,
  );
  const result = await loadConfig(file, { lenient: true, configId: 'tandem-test' });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors, [], `${name} must be accepted by --lenient`);
  assert.ok(result.config);
  return result.config;
}

const ADDRESS_BLOCK_200 = [
  '192.168.200.16/32',
  '192.168.200.17/32 dev eth1',
  '192.168.200.18/32 dev eth2',
].join(', ');

test('the list of VRRP samples is the one the issue names', async () => {
  assert.ok(fs.existsSync(SAMPLES), `${SAMPLES} is missing: install Debian's keepalived package`);
  const vrrpSamples = fs
    .readdirSync(SAMPLES)
    .filter((f) => /^keepalived\.conf\.(vrrp.*|track_interface|IPv6)$/.test(f))
    .sort();
  assert.deepEqual(vrrpSamples, [
    'keepalived.conf.IPv6',
    'keepalived.conf.track_interface',
    'keepalived.conf.vrrp',
    'keepalived.conf.vrrp.localcheck',
    'keepalived.conf.vrrp.lvs_syncd',
    'keepalived.conf.vrrp.routes',
    'keepalived.conf.vrrp.rules',
    'keepalived.conf.vrrp.scripts',
    'keepalived.conf.vrrp.static_ipaddress',
    'keepalived.conf.vrrp.sync',
  ]);
});

test('keepalived.conf.vrrp', async () => {
  const config = await load('keepalived.conf.vrrp');
  assert.deepEqual(config.instances.map(summary), [
    // The second 192.168.200.18 (with a label) repeats the first and is dropped with a warning.
    'VI_1 MASTER eth0 vrid 51 prio 100 adv 100 v2 auth 1111 [192.168.200.16/32, 192.168.200.17/32, 192.168.200.18/32]',
    'VI_2 BACKUP eth0 vrid 50 prio 50 adv 100 v2 [192.168.200.13/32, 192.168.200.14/32, 192.168.200.15/32]',
    'VI_3 MASTER eth1 vrid 52 prio 100 adv 100 v2 auth 1111 [192.168.201.13/32, 192.168.201.14/32, 192.168.201.15/32]',
    'VI_4 BACKUP eth1 vrid 53 prio 50 adv 100 v2 [192.168.201.16/32, 192.168.201.17/32, 192.168.201.18/32]',
  ]);
  assert.equal(config.instances[0]?.garp.masterDelaySeconds, 10);
  assert.equal(config.instances[1]?.garp.masterDelaySeconds, 5);
  assert.equal(config.global.routerId, 'LVS_DEVEL');
  assert.deepEqual(config.global.smtp.notificationEmail, ['acassen']);
  assert.equal(config.global.smtp.connectTimeoutSeconds, 30);
  assert.ok(config.instances.every((i) => i.smtpAlert));
});

test('keepalived.conf.vrrp.localcheck', async () => {
  const config = await load('keepalived.conf.vrrp.localcheck');
  assert.deepEqual(
    config.scripts.map((s) => [s.name, s.command.argv, s.intervalSeconds, s.weight, s.rise, s.fall]),
    [
      ['chk_sshd', ['killall', '-0', 'sshd'], 2, -4, 2, 2],
      ['chk_haproxy', ['killall', '-0', 'haproxy'], 2, 0, 1, 1],
      ['chk_http_port', ['</dev/tcp/127.0.0.1/80'], 1, -2, 1, 1],
      ['chk_https_port', ['</dev/tcp/127.0.0.1/443'], 1, -2, 1, 1],
      ['chk_smtp_port', ['</dev/tcp/127.0.0.1/25'], 1, -2, 1, 1],
    ],
  );
  assert.deepEqual(config.instances.map(summary), [
    'VI_1 MASTER eth0 vrid 51 prio 100 adv 100 v2 [192.168.200.18/25]',
    'VI_2 MASTER eth1 vrid 52 prio 100 adv 100 v2 [192.168.201.18/26]',
    'VI_3 BACKUP eth0 vrid 53 prio 100 adv 100 v2 [192.168.200.19/27]',
    'VI_4 BACKUP eth1 vrid 54 prio 100 adv 100 v2 [192.168.201.19/28]',
    'VI_5 MASTER eth0 vrid 55 prio 100 adv 100 v2 [192.168.200.20/27]',
    'VI_6 MASTER eth0 vrid 56 prio 100 adv 100 v2 [192.168.200.21/27]',
    'VI_7 MASTER eth0 vrid 57 prio 100 adv 100 v2 [192.168.200.22/27]',
    'VI_8 MASTER eth0 vrid 58 prio 100 adv 100 v2 [192.168.200.23/27]',
    'VI_9 MASTER eth0 vrid 59 prio 100 adv 100 v2 [192.168.200.24/27]',
  ]);
  const [vi1, vi2] = config.instances;
  assert.equal(tracks(vi1?.trackInterfaces ?? []), 'eth1:2 eth2:-2 eth3:0');
  // chk_sshd has no weight in the instance: the script's own -4 applies.
  assert.equal(
    tracks(vi1?.trackScripts ?? []),
    'chk_sshd:-4 chk_haproxy:2 chk_http_port:-2 chk_https_port:-2 chk_smtp_port:-2',
  );
  assert.equal(tracks(vi2?.trackInterfaces ?? []), 'eth0:2 eth2:-2 eth3:0');
  assert.equal(
    tracks(vi2?.trackScripts ?? []),
    'chk_haproxy:2 chk_http_port:-2 chk_https_port:-2 chk_smtp_port:-2',
  );
});

test('keepalived.conf.vrrp.lvs_syncd', async () => {
  const config = await load('keepalived.conf.vrrp.lvs_syncd');
  assert.deepEqual(config.instances.map(summary), [
    'VI_1 MASTER eth0 vrid 51 prio 150 adv 100 v2 auth grr02 [192.168.200.16/32, 192.168.200.17/32, 192.168.200.18/32]',
    'VI_2 BACKUP eth0 vrid 52 prio 100 adv 100 v2 [192.168.200.19/32, 192.168.200.20/32, 192.168.200.21/32]',
    'VI_3 BACKUP eth1 vrid 53 prio 100 adv 100 v2 [192.168.201.19/32, 192.168.201.20/32, 192.168.201.21/32]',
  ]);
  assert.deepEqual(config.global.lvsSyncDaemon, { interface: 'eth1', instance: 'VI_1' });
  // `vrrp_sync_group VG1 { VI_2 VI_3 }` has no group block: keepalived ignores the names, so the group is empty.
  assert.deepEqual(config.syncGroups, []);
});

test('keepalived.conf.vrrp.routes', async () => {
  const config = await load('keepalived.conf.vrrp.routes');
  assert.deepEqual(config.instances.map(summary), [
    `VI_1 MASTER eth0 vrid 51 prio 100 adv 100 v2 [${ADDRESS_BLOCK_200}]`,
  ]);
  assert.deepEqual(
    config.instances[0]?.routes.map((r) => [r.type, r.src, r.destination, r.via, r.dev, r.table]),
    [
      [undefined, '192.168.100.1', '192.168.109.0/24', ['192.168.200.254'], 'eth1', undefined],
      [undefined, undefined, '192.168.110.0/24', ['192.168.200.254'], 'eth1', undefined],
      [undefined, undefined, '192.168.111.0/24', undefined, 'eth2', undefined],
      [undefined, undefined, '192.168.112.0/24', ['192.168.100.254'], undefined, undefined],
      [
        undefined,
        undefined,
        '192.168.113.0/24',
        ['192.168.100.252', '192.168.100.253'],
        undefined,
        undefined,
      ],
      ['blackhole', undefined, '192.168.113.1/32', undefined, undefined, undefined],
      [undefined, undefined, '0.0.0.0/0', ['192.168.0.1'], undefined, '100'],
    ],
  );
});

test('keepalived.conf.vrrp.rules', async () => {
  const config = await load('keepalived.conf.vrrp.rules');
  assert.deepEqual(config.instances.map(summary), [
    `VI_1 MASTER eth0 vrid 51 prio 100 adv 100 v2 [${ADDRESS_BLOCK_200}]`,
  ]);
  // `to 192.168.200./24` is not an address: keepalived skips that rule, and so does --lenient.
  assert.deepEqual(
    config.instances[0]?.rules.map((r) => [r.from, r.to, r.table]),
    [['192.168.200.0/24', undefined, '2']],
  );
});

test('keepalived.conf.vrrp.scripts', async () => {
  const config = await load('keepalived.conf.vrrp.scripts');
  assert.deepEqual(config.instances.map(summary), [
    'VI_1 MASTER eth0 vrid 51 prio 100 adv 100 v2 auth 1111 [192.168.200.16/32, 192.168.200.17/32, 192.168.200.18/32]',
    'VI_2 MASTER eth0 vrid 52 prio 150 adv 100 v2 [192.168.200.100/27]',
    'VI_3 MASTER eth0 vrid 53 prio 150 adv 100 v2 [192.168.200.101/27]',
  ]);
  assert.deepEqual(withoutSources(config.instances[0]?.notify), {
    backup: { argv: ['/usr/local/bin/vrrp.sh', 'BACKUP', 'VI_1'] },
    master: { argv: ['/usr/local/bin/vrrp.sh', 'MASTER', 'VI_1'] },
    fault: { argv: ['/usr/local/bin/vrrp.sh', 'FAULT', 'VI_1'] },
  });
  assert.deepEqual(
    config.syncGroups.map((g) => [g.name, g.members, g.notify.master?.argv]),
    [['G1', ['VI_2', 'VI_3'], ['/usr/local/bin/vrrp.mast', 'arg1', 'arg2']]],
  );
  assert.deepEqual(
    config.instances.map((i) => i.syncGroup),
    [undefined, 'G1', 'G1'],
  );
});

test('keepalived.conf.vrrp.static_ipaddress', async () => {
  const config = await load('keepalived.conf.vrrp.static_ipaddress');
  assert.deepEqual(config.instances.map(summary), [
    'VI_1 MASTER eth0 vrid 51 prio 100 adv 100 v2 [192.168.200.20/32]',
  ]);
  assert.equal(config.instances[0]?.routes.length, 4);
});

test('keepalived.conf.vrrp.sync', async () => {
  const config = await load('keepalived.conf.vrrp.sync');
  assert.deepEqual(
    config.instances.map(
      (i) => `${i.name} ${i.state} ${i.interface} ${i.vrid} ${i.vips[0]?.address}/${i.vips[0]?.prefixLength}`,
    ),
    [
      'VI_1 MASTER eth0 51 192.168.200.18/25',
      'VI_2 MASTER eth1 52 192.168.201.18/26',
      'VI_3 BACKUP eth0 53 192.168.200.19/27',
      'VI_4 BACKUP eth1 54 192.168.201.19/28',
      'VI_5 MASTER eth0 55 192.168.200.20/27',
      'VI_6 MASTER eth0 56 192.168.200.21/27',
      'VI_7 MASTER eth0 57 192.168.200.22/27',
      'VI_8 MASTER eth0 58 192.168.200.23/27',
      'VI_9 MASTER eth0 59 192.168.200.24/27',
    ],
  );
  assert.deepEqual(
    config.syncGroups.map((g) => [g.name, g.members.join(' '), g.notify.fault?.argv.join(' ')]),
    [
      ['G1', 'VI_1 VI_2 VI_5 VI_6 VI_7 VI_8 VI_9', '/usr/local/bin/vrrp.fault arg1 arg2'],
      ['G2', 'VI_3 VI_4', undefined],
    ],
  );
});

test('keepalived.conf.track_interface', async () => {
  const config = await load('keepalived.conf.track_interface');
  assert.deepEqual(config.instances.map(summary), [
    `VI_1 MASTER eth0.1 vrid 51 prio 100 adv 100 v2 [${ADDRESS_BLOCK_200}]`,
  ]);
  assert.equal(tracks(config.instances[0]?.trackInterfaces ?? []), 'eth0:0 eth1:0');
  assert.equal(config.instances[0]?.routes.length, 3);
});

test('keepalived.conf.IPv6 (only LVS sections: no VRRP instance)', async () => {
  const config = await load('keepalived.conf.IPv6');
  assert.deepEqual(config.instances, []);
  assert.equal(config.global.routerId, 'LVS_DEVEL');
});

test('without --lenient, samples with LVS or static sections are rejected as unsupported', async () => {
  const result = await loadConfig(path.join(SAMPLES, 'keepalived.conf.vrrp.routes'));
  assert.equal(result.config, undefined);
  assert.deepEqual(
    result.diagnostics.filter((d) => d.severity === 'error').map((d) => [d.line, d.code]),
    [[7, 'TANDEM_ECONFIG_UNSUPPORTED']],
  );
});

/**
 * `tandem run` refuses what the agent does not implement yet, from the keyword table's levels, and `tandem check`
 * refuses exactly the same: no configuration passes check that run refuses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDiagnostic } from '../../src/config/diagnostics.js';
import { runCheck } from '../../src/daemon/check-command.js';
import { memoryFileSystem } from '../../src/config/files.js';
import { loadConfig } from '../../src/config/loader.js';
import { SECTIONS } from '../../src/config/keywords.js';
import { isNotImplementedYet } from '../../src/config/support.js';
import { notYetEnforced } from '../../src/daemon/not-yet-enforced.js';

/** An instance with `extra` lines after `interface eth0` (line 3). */
function instance(...extra: string[]): string {
  return [
    'vrrp_instance VI_1 {',
    '  virtual_router_id 30',
    '  interface eth0',
    ...extra.map((line) => `  ${line}`),
    '  virtual_ipaddress {',
    '    192.0.2.10/24',
    '  }',
    '}',
    '',
  ].join('\n');
}

async function refusals(text: string, lenient = false): Promise<string[]> {
  const { config, diagnostics } = await loadConfig('t.conf', {
    files: memoryFileSystem({ 't.conf': text }),
    lenient,
  });
  assert.ok(config, diagnostics.map(formatDiagnostic).join('\n'));
  return notYetEnforced(config, lenient, 't.conf').map(formatDiagnostic);
}

test('run refuses each use of what is not implemented yet, at the keyword that asks for it', async () => {
  assert.deepEqual(await refusals(instance('use_vmac', 'vmac_xmit_base')), [
    't.conf:4:3: error: use_vmac in vrrp_instance VI_1 is not implemented yet (run on a macvlan with the virtual router MAC (RFC 5798 §7.3)); tandem refuses to run it (--lenient runs without it)',
    't.conf:5:3: error: vmac_xmit_base in vrrp_instance VI_1 is not implemented yet (with use_vmac, send and receive adverts on the base interface); tandem refuses to run it (--lenient runs without it)',
  ]);
  const lenient = await refusals(instance('use_vmac'), true);
  assert.match(lenient[0] ?? '', /^t\.conf:4:3: warning: use_vmac .* tandem runs without it \(--lenient\)$/);
  assert.deepEqual(await refusals(instance()), []);
});

test('values that ask for what tandem already does pass; others are refused', async () => {
  const refused = async (...lines: string[]) => (await refusals(instance(...lines))).length;
  assert.equal(await refused('unicast_ttl 255'), 0);
  assert.equal(await refused('unicast_ttl 64'), 1);
  assert.equal(await refused('down_timer_adverts 3'), 0);
  assert.equal(await refused('down_timer_adverts 4'), 1);
  assert.equal(await refused('garp_lower_prio_delay 0'), 0);
  assert.equal(await refused('garp_lower_prio_delay 5'), 1);
  assert.equal(await refused('notify_priority_changes off'), 0);
  assert.equal(await refused('notify_priority_changes'), 1);
  assert.equal(await refused('mcast_dst_ip 224.0.0.18'), 0);
  assert.equal(await refused('mcast_dst_ip 224.0.0.19'), 1);
  assert.equal(await refused('accept'), 0);
  assert.equal(await refused('no_accept'), 1);
  // A unicast instance sends to its peers: the multicast group does not matter.
  assert.equal(await refused('mcast_dst_ip 224.0.0.19', 'unicast_peer {', '  192.0.2.2', '}'), 0);
});

test('uses that depend on other lines: strict mode implies no_accept, a global group, lvs_sync_daemon alone', async () => {
  const strict = await refusals(instance('strict_mode'));
  assert.deepEqual(strict, [
    't.conf:4:3: error: no_accept in vrrp_instance VI_1 is not implemented yet (strict mode implies no_accept for a priority below 255: dropping packets to the VIPs); tandem refuses to run it (--lenient runs without it)',
  ]);
  assert.deepEqual(await refusals(instance('strict_mode', 'priority 255')), [], 'the owner accepts anyway');
  assert.match(
    (await refusals('global_defs {\n  vrrp_mcast_group4 224.0.0.20\n}\n' + instance()))[0] ?? '',
    /^t\.conf:2:3: error: vrrp_mcast_group4 in global_defs \(for vrrp_instance VI_1\) is not implemented yet \(adverts to the multicast group 224\.0\.0\.20\)/,
  );
  assert.match(
    (await refusals('global_defs {\n  lvs_sync_daemon eth1\n}\n' + instance()))[0] ?? '',
    /^t\.conf:2:3: error: lvs_sync_daemon in global_defs is not implemented yet \(a sync daemon that follows no vrrp_instance\)/,
  );
  assert.deepEqual(await refusals('global_defs {\n  lvs_sync_daemon eth1 VI_1\n}\n' + instance()), []);
});

test('check reports exactly what run refuses, for every keyword not implemented yet', async () => {
  const text =
    'global_defs {\n  vrrp_garp_extra_if 60\n  log_unknown_vrids\n  nftables\n  tandem_handover break_before_make\n}\n' +
    instance('use_vmac', 'promote_secondaries', 'track_src_ip', 'old_unicast_checksum') +
    'carp_instance C {\n  interface eth0\n  vhid 1\n  passphrase x\n  virtual_ipaddress {\n    192.0.2.20/24\n  }\n}\n';
  const files = memoryFileSystem({ 't.conf': text });
  const check = await runCheck('t.conf', { files });
  const { config } = await loadConfig('t.conf', { files });
  assert.ok(config);
  const run = notYetEnforced(config, false, 't.conf').map(formatDiagnostic);
  assert.equal(check.exitCode, 1);
  assert.deepEqual(check.stderr.trimEnd().split('\n'), run);
  assert.deepEqual(
    config.unimplemented.map((use) => use.keyword),
    [
      'vrrp_garp_extra_if',
      'log_unknown_vrids',
      'nftables',
      'tandem_handover',
      'use_vmac',
      'promote_secondaries',
      'track_src_ip',
      'old_unicast_checksum',
    ],
  );
  // With --lenient both let it through, as warnings.
  const lenient = await runCheck('t.conf', { files, lenient: true });
  assert.equal(lenient.exitCode, 0);
  assert.ok(notYetEnforced(config, true, 't.conf').every((d) => d.severity === 'warning'));
});

test('the refusals come from the table: every keyword refused this way is marked not implemented yet', async () => {
  const pending = new Set(
    SECTIONS.flatMap((section) =>
      section.keywords.filter((k) => isNotImplementedYet(k.support)).map((k) => `${section.id}:${k.name}`),
    ),
  );
  const { config } = await loadConfig('t.conf', {
    files: memoryFileSystem({
      't.conf':
        'global_defs {\n  vrrp_mcast_group4 224.0.0.20\n}\n' +
        instance('use_vmac', 'no_accept', 'unicast_ttl 1', '') +
        instance('strict_mode').replace('VI_1', 'VI_2').replace('eth0', 'eth1'),
    }),
  });
  assert.ok(config);
  for (const use of config.unimplemented)
    assert.ok(pending.has(`${use.section}:${use.keyword}`), use.keyword);
});

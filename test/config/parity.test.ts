/**
 * keepalived parity in the configuration layer (issue 14) and the keywords of later waves (issues 12, 13): every
 * keyword keepalived runs for VRRP is read into the schema with its values checked at FILE:LINE:COL, whether or
 * not the agent acts on it yet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byPosition, conf, diagnosticsOf, instance, loadText } from './helpers.js';

/** The instance VI_1 of `text`, asserting it loads without any diagnostic. */
async function instanceOf(text: string) {
  const result = await loadText(text);
  assert.deepEqual(result.diagnostics, []);
  const vi = result.config?.instances[0];
  assert.ok(vi);
  return vi;
}

async function globalOf(...lines: string[]) {
  const result = await loadText(conf('global_defs {', ...lines.map((l) => `    ${l}`), '}') + instance());
  assert.deepEqual(result.diagnostics, []);
  assert.ok(result.config);
  return result.config.global;
}

test('the VRRP instance keywords keepalived runs are read into the schema', async () => {
  const vi = await instanceOf(
    instance(
      'use_vmac_addr',
      'track_src_ip',
      'unicast_fault_no_peer',
      'old_unicast_checksum never',
      'garp_extra_if all 120',
      'down_timer_adverts 5',
      'promote_secondaries',
      'notify_master_rx_lower_pri "/usr/local/bin/lower.sh x"',
      'notify_priority_changes on',
      'notify_deleted /usr/local/bin/deleted.sh',
    ),
  );
  assert.deepEqual(
    {
      useVmacAddr: vi.useVmacAddr,
      trackSrcIp: vi.trackSrcIp,
      unicastFaultNoPeer: vi.unicastFaultNoPeer,
      oldUnicastChecksum: vi.oldUnicastChecksum,
      garpExtraIf: vi.garpExtraIf,
      downTimerAdverts: vi.downTimerAdverts,
      promoteSecondaries: vi.promoteSecondaries,
      lower: vi.notify.masterRxLowerPri?.argv,
      notifyPriorityChanges: vi.notifyPriorityChanges,
      notifyDeleted: vi.notifyDeleted,
      deleted: vi.notify.deleted?.argv,
    },
    {
      useVmacAddr: true,
      trackSrcIp: true,
      unicastFaultNoPeer: true,
      oldUnicastChecksum: 'never',
      garpExtraIf: { intervalSeconds: 120, allInterfaces: true },
      downTimerAdverts: 5,
      promoteSecondaries: true,
      lower: ['/usr/local/bin/lower.sh', 'x'],
      notifyPriorityChanges: true,
      notifyDeleted: true,
      deleted: ['/usr/local/bin/deleted.sh'],
    },
  );
  const bare = await instanceOf(instance('old_unicast_checksum', 'notify_deleted'));
  assert.equal(bare.oldUnicastChecksum, 'always');
  assert.equal(bare.notifyDeleted, true);
  assert.equal(bare.notify.deleted, undefined);
});

test('global defaults flow into instances: vrrp_down_timer_adverts, vrrp_garp_extra_if, vrrp_notify_priority_changes', async () => {
  const result = await loadText(
    conf(
      'global_defs {',
      '    vrrp_down_timer_adverts 4',
      '    vrrp_garp_extra_if 300',
      '    vrrp_notify_priority_changes',
      '    fifo_write_vrrp_states_on_reload',
      '    log_unknown_vrids',
      '}',
    ) + instance(),
  );
  assert.deepEqual(result.diagnostics, []);
  const config = result.config;
  assert.ok(config);
  const vi = config.instances[0];
  assert.equal(vi?.downTimerAdverts, 4);
  assert.deepEqual(vi?.garpExtraIf, { intervalSeconds: 300, allInterfaces: false });
  assert.equal(vi?.notifyPriorityChanges, true);
  assert.equal(config.global.fifoWriteStatesOnReload, true);
  assert.equal(config.global.logUnknownVrids, true);
});

test('wrong values of the new instance keywords are errors at the value', async () => {
  assert.deepEqual(
    await diagnosticsOf(
      instance(
        'down_timer_adverts 0',
        'garp_extra_if all',
        'garp_extra_if 90000',
        'old_unicast_checksum always',
        'notify_priority_changes maybe',
      ),
    ),
    [
      "test.conf:4:24: error: down_timer_adverts must be an integer from 1 to 100, found '0'",
      'test.conf:5:5: error: garp_extra_if needs an interval in seconds',
      "test.conf:6:19: error: garp_extra_if must be an integer from 0 to 86400, found '90000'",
      "test.conf:7:26: error: old_unicast_checksum takes only 'never', found 'always'",
      "test.conf:8:29: error: notify_priority_changes must be one of on, off, true, false, yes, no, found 'maybe'",
      "test.conf:6:5: warning: 'garp_extra_if' is given again in vrrp_instance VI_1; this replaces the value from line 5",
    ].sort(byPosition),
  );
});

test('VIP options: peer, preferred_lft, -nodad, home, mngtmpaddr, noprefixroute', async () => {
  const vi = await instanceOf(instance().replace('192.0.2.10/24', '192.0.2.10 peer 192.0.2.11/31 dev eth1'));
  const [peer] = vi.vips;
  assert.deepEqual(
    [peer?.address, peer?.prefixLength, peer?.peer, peer?.dev],
    ['192.0.2.10', 31, '192.0.2.11', 'eth1'],
  );
  const result = await loadText(
    instance(
      'virtual_ipaddress_excluded {',
      '    2001:db8::1/64 preferred_lft forever -nodad home mngtmpaddr noprefixroute',
      '    2001:db8::2 preferred_lft 0',
      '}',
    ),
  );
  assert.deepEqual(result.diagnostics, []);
  const [first, second] = result.config?.instances[0]?.excludedVips ?? [];
  assert.deepEqual(
    {
      preferredLifetime: first?.preferredLifetime,
      duplicateAddressDetection: first?.duplicateAddressDetection,
      home: first?.home,
      manageTempAddress: first?.manageTempAddress,
      noPrefixRoute: first?.noPrefixRoute,
    },
    {
      preferredLifetime: 'forever',
      duplicateAddressDetection: true,
      home: true,
      manageTempAddress: true,
      noPrefixRoute: true,
    },
  );
  assert.equal(second?.preferredLifetime, 0);
  // Each is implemented (the VIP manager sets them; test/daemon/parity-netns.test.ts reads them back).
  assert.deepEqual(result.config?.unimplemented, []);
  // keepalived applies preferred_lft and -nodad to IPv6 only: on IPv4 they are ignored with a warning.
  const v4 = await loadText(instance().replace('192.0.2.10/24', '192.0.2.10/24 preferred_lft 0'));
  assert.match(
    v4.diagnostics.map((d) => d.message).join('\n'),
    /preferred_lft and -nodad apply to IPv6 addresses only; ignored/,
  );
});

test('VIP option errors: peer of the other family, a prefix on the address, brd with peer, a wrong lifetime', async () => {
  const vips = (...entries: string[]) =>
    diagnosticsOf(instance().replace('        192.0.2.10/24', entries.map((e) => `        ${e}`).join('\n')));
  assert.deepEqual(await vips('192.0.2.10 peer 2001:db8::1'), [
    'test.conf:5:25: error: peer 2001:db8::1 of 192.0.2.10 in virtual_ipaddress of vrrp_instance VI_1 is IPv6, the address is IPv4',
  ]);
  assert.deepEqual(await vips('192.0.2.10/24 peer 192.0.2.11'), [
    'test.conf:5:9: error: 192.0.2.10/24: give the prefix length on the peer, not on the address (virtual_ipaddress of vrrp_instance VI_1)',
  ]);
  assert.deepEqual(await vips('192.0.2.10 peer 192.0.2.11/30 brd +'), [
    'test.conf:5:9: error: 192.0.2.10 in virtual_ipaddress of vrrp_instance VI_1: brd and peer exclude each other',
  ]);
  assert.deepEqual(await vips('2001:db8::1 preferred_lft never'), [
    "test.conf:5:35: error: preferred_lft must be an integer from 0 to 4294967294, found 'never'",
  ]);
  assert.deepEqual(await vips('192.0.2.10 peer'), [
    "test.conf:5:20: error: option 'peer' in virtual_ipaddress of vrrp_instance VI_1 needs a value",
  ]);
});

test('vrrp_iptables and nftables', async () => {
  assert.deepEqual((await globalOf('vrrp_iptables')).iptables, { inChain: 'INPUT', outChain: 'OUTPUT' });
  assert.deepEqual((await globalOf('vrrp_iptables keepalived_in keepalived_out')).iptables, {
    inChain: 'keepalived_in',
    outChain: 'keepalived_out',
  });
  assert.deepEqual((await globalOf('vrrp_iptables keepalived')).iptables, { inChain: 'keepalived' });
  assert.deepEqual((await globalOf('nftables')).nftables, {
    table: 'keepalived',
    priority: -1,
    counters: false,
    ifindex: false,
  });
  assert.deepEqual(
    (await globalOf('nftables_priority -5', 'nftables ha', 'nftables_counters', 'nftables_ifindex')).nftables,
    {
      table: 'ha',
      priority: -5,
      counters: true,
      ifindex: true,
    },
  );
  // tandem filters for no_accept without `nftables` too (keepalived does not): the settings apply to its table.
  assert.deepEqual(await diagnosticsOf(conf('global_defs {', '    nftables_counters', '}') + instance()), []);
  assert.deepEqual((await globalOf('nftables_counters')).nftables, {
    priority: -1,
    counters: true,
    ifindex: false,
  });
  assert.deepEqual(await diagnosticsOf(conf('global_defs {', '    vrrp_iptables a a', '}') + instance()), [
    'test.conf:2:21: error: vrrp_iptables: the in and out chains must differ',
  ]);
});

test('tandem_metrics_listen: ADDRESS:PORT, [IPv6]:PORT, a bare port or nothing means loopback', async () => {
  assert.deepEqual((await globalOf('tandem_metrics_listen 192.0.2.5:9100')).metricsListen, {
    address: '192.0.2.5',
    port: 9100,
    family: 4,
  });
  assert.deepEqual((await globalOf('tandem_metrics_listen [::1]:9650')).metricsListen, {
    address: '::1',
    port: 9650,
    family: 6,
  });
  assert.deepEqual((await globalOf('tandem_metrics_listen 9200')).metricsListen, {
    address: '127.0.0.1',
    port: 9200,
    family: 4,
  });
  assert.deepEqual((await globalOf('tandem_metrics_listen')).metricsListen, {
    address: '127.0.0.1',
    port: 9650,
    family: 4,
  });
  assert.equal((await globalOf()).metricsListen, undefined, 'off without the keyword');
  const bad = async (value: string) =>
    (await diagnosticsOf(conf('global_defs {', `    tandem_metrics_listen ${value}`, '}') + instance()))[0];
  assert.equal(
    await bad('::1:9650'),
    'test.conf:2:27: error: ::1:9650 is not ADDRESS:PORT, [IPv6]:PORT or PORT (write an IPv6 address in brackets: [::1]:9650)',
  );
  assert.equal(
    await bad('2001:db8::1'),
    'test.conf:2:27: error: 2001:db8::1 is not ADDRESS:PORT, [IPv6]:PORT or PORT (write an IPv6 address in brackets: [::1]:9650)',
  );
  assert.equal(
    await bad('127.0.0.1:0'),
    'test.conf:2:27: error: the port of 127.0.0.1:0 must be from 1 to 65535',
  );
  assert.equal(
    await bad('[192.0.2.1]:80'),
    'test.conf:2:27: error: the address of [192.0.2.1]:80 must be an IPv4 address, or an IPv6 address in brackets',
  );
  assert.equal(
    await bad('localhost:80'),
    'test.conf:2:27: error: the address of localhost:80 must be an IPv4 address, or an IPv6 address in brackets',
  );
});

test('tandem_handover: make_before_break (the default) or break_before_make', async () => {
  assert.equal((await globalOf()).handover, 'make-before-break');
  assert.equal((await globalOf('tandem_handover break_before_make')).handover, 'break-before-make');
  assert.equal((await globalOf('tandem_handover make_before_break')).handover, 'make-before-break');
  assert.deepEqual(
    await diagnosticsOf(conf('global_defs {', '    tandem_handover graceful', '}') + instance()),
    [
      "test.conf:2:21: error: tandem_handover must be make_before_break or break_before_make, found 'graceful'",
    ],
  );
});

test('random_seed is read and checked', async () => {
  assert.equal((await globalOf('random_seed 42')).randomSeed, 42);
  assert.deepEqual(await diagnosticsOf(conf('global_defs {', '    random_seed -1', '}') + instance()), [
    "test.conf:2:17: error: random_seed must be an integer from 0 to 4294967295, found '-1'",
  ]);
});

/** The normalized TandemConfig: defaults filled in, values converted, references resolved. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conf, instance, loadText } from './helpers.js';

test('a minimal instance gets keepalived defaults', async () => {
  const result = await loadText(instance());
  assert.deepEqual(result.diagnostics, []);
  const config = result.config;
  assert.ok(config);
  assert.deepEqual(config.instances[0], {
    name: 'VI_1',
    source: { file: 'test.conf', line: 1, column: 15 },
    state: 'BACKUP',
    interface: 'eth0',
    vrid: 51,
    priority: 100,
    addressOwner: false,
    advertIntervalCentiseconds: 100,
    version: 2,
    family: 4,
    preempt: true,
    preemptDelaySeconds: 0,
    auth: { type: 'none' },
    vips: [
      {
        address: '192.0.2.10',
        prefixLength: 24,
        family: 4,
        noTrack: false,
        source: { file: 'test.conf', line: 5, column: 9 },
      },
    ],
    excludedVips: [],
    routes: [],
    rules: [],
    trackInterfaces: [],
    trackScripts: [],
    trackFiles: [],
    trackProcesses: [],
    unicastPeers: [],
    mcastDstIp: '224.0.0.18',
    vmacXmitBase: false,
    dontTrackPrimary: false,
    garp: {
      masterDelaySeconds: 5,
      masterRepeat: 5,
      lowerPrioDelaySeconds: 5,
      lowerPrioRepeat: 5,
      masterRefreshSeconds: 0,
      masterRefreshRepeat: 1,
    },
    lowerPrioNoAdvert: false,
    higherPrioSendAdvert: false,
    acceptMode: true,
    strictMode: false,
    skipCheckAdvAddr: false,
    checkUnicastSrc: false,
    notify: {},
    smtpAlert: false,
    services: [],
    notifyDeleted: false,
    notifyPriorityChanges: false,
    useVmacAddr: false,
    trackSrcIp: false,
    unicastFaultNoPeer: false,
    downTimerAdverts: 3,
    promoteSecondaries: false,
  });
  assert.deepEqual(config.global, {
    enableScriptSecurity: false,
    vrrpVersion: 2,
    mcastGroup4: '224.0.0.18',
    mcastGroup6: 'ff02::12',
    garp: {
      masterDelaySeconds: 5,
      masterRepeat: 5,
      lowerPrioDelaySeconds: 5,
      lowerPrioRepeat: 5,
      masterRefreshSeconds: 0,
      masterRefreshRepeat: 1,
    },
    garpIntervalSeconds: 0,
    gnaIntervalSeconds: 0,
    startupDelaySeconds: 0,
    strict: false,
    lowerPrioNoAdvert: false,
    higherPrioSendAdvert: false,
    skipCheckAdvAddr: false,
    checkUnicastSrc: false,
    smtp: { notificationEmail: [], alert: false },
    notifyTimeoutSeconds: 30,
    runtimeDir: '/run/tandem',
    controlSocket: '/run/tandem/tandem.sock',
    downTimerAdverts: 3,
    notifyPriorityChanges: false,
    fifoWriteStatesOnReload: false,
    logUnknownVrids: false,
    handover: 'make-before-break',
  });
  assert.deepEqual(config.carpInstances, []);
  assert.deepEqual(config.unimplemented, []);
});

test('IPv6 VIPs make an IPv6 VRRPv3 instance on ff02::12, with canonical addresses', async () => {
  const config = (
    await loadText(
      instance('advert_int 0.5').replace('192.0.2.10/24', '2001:DB8:0:0::A/64 dev eth1 label eth1:v6'),
    )
  ).config;
  const vi = config?.instances[0];
  assert.equal(vi?.family, 6);
  assert.equal(vi?.version, 3);
  assert.equal(vi?.advertIntervalCentiseconds, 50);
  assert.equal(vi?.mcastDstIp, 'ff02::12');
  assert.deepEqual(
    vi?.vips.map((v) => [v.address, v.prefixLength, v.dev, v.label]),
    [['2001:db8::a', 64, 'eth1', 'eth1:v6']],
  );
  // A bare IPv6 address is a /128, a bare IPv4 address a /32 (as keepalived).
  assert.equal(
    (await loadText(instance().replace('192.0.2.10/24', '2001:db8::1'))).config?.instances[0]?.vips[0]
      ?.prefixLength,
    128,
  );
  assert.equal(
    (await loadText(instance().replace('192.0.2.10/24', '192.0.2.10'))).config?.instances[0]?.vips[0]
      ?.prefixLength,
    32,
  );
});

test('every instance keyword lands in the normalized instance', async () => {
  const text =
    conf(
      'global_defs {',
      '    router_id lb1',
      '    script_user nobody nogroup',
      '    enable_script_security',
      '    vrrp_version 3',
      '    vrrp_garp_master_delay 2',
      '    vrrp_garp_master_repeat 3',
      '    vrrp_garp_master_refresh 60',
      '    vrrp_startup_delay 5.5',
      '    vrrp_notify_fifo /run/tandem/vrrp.fifo',
      '    notify_fifo /run/tandem/all.fifo root',
      '    lvs_sync_daemon eth1 VI_1 id 7 port 8849',
      '    tandem_notify_timeout 10',
      '}',
      'vrrp_script chk {',
      '    script "/usr/bin/check \'a b\' c"',
      '    interval 3',
      '    timeout 2',
      '    weight -20 reverse',
      '    rise 2',
      '    fall 4',
      '    user www-data',
      '    init_fail',
      '}',
      'track_file flag {',
      '    file /run/flag',
      '    weight -5',
      '    init_file 1 overwrite',
      '}',
      'vrrp_track_process haproxy {',
      '    process haproxy -f /etc/haproxy.cfg',
      '    param_match partial',
      '    quorum 2',
      '    delay 0.5',
      '}',
    ) +
    instance(
      'state BACKUP',
      'priority 150',
      'advert_int 0.25',
      'nopreempt',
      'preempt_delay 12.5',
      'unicast_src_ip 192.0.2.1',
      'unicast_peer {',
      '    192.0.2.2 min_ttl 250',
      '    192.0.2.3',
      '}',
      'use_vmac vrrp51 00:00:5e:00:01',
      'vmac_xmit_base',
      'dont_track_primary',
      'garp_master_delay 1',
      'garp_lower_prio_repeat 2',
      'lower_prio_no_advert',
      'higher_prio_send_advert on',
      'no_accept',
      'track_interface {',
      '    eth9 weight -10 reverse',
      '}',
      'track_script {',
      '    chk',
      '}',
      'track_file {',
      '    flag weight 3',
      '}',
      'track_process {',
      '    haproxy',
      '}',
      'notify "/etc/tandem/notify.sh --all" tandem',
      'notify_master /etc/tandem/master.sh',
      'virtual_ipaddress_excluded {',
      '    2001:db8::10/64 no_track',
      '}',
      'virtual_routes {',
      '    198.51.100.0/24 via 192.0.2.254 dev eth0 table 10 metric 5',
      '}',
      'virtual_rules {',
      '    from 192.0.2.10/32 table 10 preference 100',
      '}',
    );
  const result = await loadText(text);
  assert.deepEqual(result.diagnostics, []);
  const config = result.config;
  assert.ok(config);
  const NOTIFY_LINE = text.split('\n').findIndex((line) => line.trim().startsWith('notify "')) + 1;
  assert.equal(config.global.routerId, 'lb1');
  assert.deepEqual(config.global.scriptUser, { user: 'nobody', group: 'nogroup' });
  assert.equal(config.global.enableScriptSecurity, true);
  assert.equal(config.global.startupDelaySeconds, 5.5);
  assert.deepEqual(config.global.vrrpNotifyFifo, { path: '/run/tandem/vrrp.fifo' });
  assert.deepEqual(config.global.notifyFifo, { path: '/run/tandem/all.fifo', user: 'root' });
  assert.deepEqual(config.global.lvsSyncDaemon, {
    interface: 'eth1',
    instance: 'VI_1',
    syncId: 7,
    port: 8849,
  });
  assert.equal(config.global.notifyTimeoutSeconds, 10);
  assert.deepEqual(config.scripts[0], {
    name: 'chk',
    source: { file: 'test.conf', line: 15, column: 13 },
    command: {
      argv: ['/usr/bin/check', 'a b', 'c'],
      user: 'www-data',
      source: { file: 'test.conf', line: 16, column: 5 },
    },
    intervalSeconds: 3,
    timeoutSeconds: 2,
    weight: -20,
    reverse: true,
    rise: 2,
    fall: 4,
    initFail: true,
  });
  assert.deepEqual(config.trackFiles[0]?.init, { value: 1, overwrite: true });
  assert.deepEqual(config.trackProcesses[0]?.process, ['haproxy', '-f', '/etc/haproxy.cfg']);
  assert.equal(config.trackProcesses[0]?.paramMatch, 'partial');
  assert.equal(config.trackProcesses[0]?.forkDelaySeconds, 0.5);
  const vi = config.instances[0];
  assert.ok(vi);
  assert.equal(vi.state, 'BACKUP');
  assert.equal(vi.priority, 150);
  assert.equal(vi.version, 3, 'the global vrrp_version applies');
  assert.equal(vi.advertIntervalCentiseconds, 25);
  assert.equal(vi.preempt, false);
  assert.equal(vi.preemptDelaySeconds, 12.5);
  assert.equal(vi.unicastSrcIp, '192.0.2.1');
  assert.deepEqual(vi.unicastPeers, [{ address: '192.0.2.2', minTtl: 250 }, { address: '192.0.2.3' }]);
  assert.equal(vi.checkUnicastSrc, true, 'min_ttl turns on check_unicast_src');
  assert.deepEqual(vi.useVmac, { name: 'vrrp51', mac: '00:00:5e:00:01' });
  assert.equal(vi.vmacXmitBase, true);
  assert.equal(vi.dontTrackPrimary, true);
  assert.deepEqual(vi.garp, {
    masterDelaySeconds: 1,
    masterRepeat: 3,
    lowerPrioDelaySeconds: 2,
    lowerPrioRepeat: 2,
    masterRefreshSeconds: 60,
    masterRefreshRepeat: 1,
  });
  assert.equal(vi.lowerPrioNoAdvert, true);
  assert.equal(vi.higherPrioSendAdvert, true);
  assert.equal(vi.acceptMode, false);
  assert.deepEqual(vi.trackInterfaces, [{ name: 'eth9', weight: -10, reverse: true }]);
  assert.deepEqual(vi.trackScripts, [{ name: 'chk', weight: -20, reverse: true }]);
  assert.deepEqual(vi.trackFiles, [{ name: 'flag', weight: 3, reverse: false }]);
  assert.deepEqual(vi.trackProcesses, [{ name: 'haproxy', weight: 1, reverse: false }]);
  assert.deepEqual(vi.notify, {
    any: {
      argv: ['/etc/tandem/notify.sh', '--all'],
      user: 'tandem',
      source: { file: 'test.conf', line: NOTIFY_LINE, column: 5 },
    },
    master: {
      argv: ['/etc/tandem/master.sh'],
      source: { file: 'test.conf', line: NOTIFY_LINE + 1, column: 5 },
    },
  });
  // use_vmac, vmac_xmit_base and no_accept are implemented: nothing of this instance is refused.
  assert.deepEqual(config.unimplemented, []);
  assert.deepEqual(
    vi.excludedVips.map((v) => [v.address, v.family, v.noTrack]),
    [['2001:db8::10', 6, true]],
  );
  assert.deepEqual(
    vi.routes.map((r) => [r.destination, r.via, r.dev, r.table, r.metric]),
    [['198.51.100.0/24', ['192.0.2.254'], 'eth0', '10', 5]],
  );
  assert.deepEqual(
    vi.rules.map((r) => [r.from, r.table, r.preference]),
    [['192.0.2.10/32', '10', 100]],
  );
});

test('sync group members get their tracking weights set to 0 unless sync_group_tracking_weight', async () => {
  const text =
    conf('vrrp_script chk {', '    script /bin/true', '    weight 10', '}') +
    instance('track_script {', '    chk', '}') +
    instance().replace('VI_1', 'VI_2').replace('eth0', 'eth1') +
    conf('vrrp_sync_group G {', '    group {', '        VI_1', '        VI_2', '    }', '}');
  const result = await loadText(text);
  assert.deepEqual(result.config?.instances[0]?.trackScripts, [{ name: 'chk', weight: 0, reverse: false }]);
  assert.equal(result.config?.instances[0]?.syncGroup, 'G');
  assert.equal(result.diagnostics[0]?.code, 'TANDEM_WCONFIG_ADJUSTED');
  const kept = await loadText(
    text.replace('vrrp_sync_group G {', 'vrrp_sync_group G {\n    sync_group_tracking_weight'),
  );
  assert.deepEqual(kept.config?.instances[0]?.trackScripts, [{ name: 'chk', weight: 10, reverse: false }]);
});

test('strict mode defaults accept to address ownership and lower_prio_no_advert to on', async () => {
  const config = (
    await loadText(conf('global_defs {', '    vrrp_strict', '}') + instance('priority 255', 'state MASTER'))
  ).config;
  assert.equal(config?.instances[0]?.strictMode, true);
  assert.equal(config?.instances[0]?.acceptMode, true);
  assert.equal(config?.instances[0]?.lowerPrioNoAdvert, true);
  const backup = (await loadText(conf('global_defs {', '    vrrp_strict', '}') + instance('priority 200')))
    .config;
  assert.equal(backup?.instances[0]?.acceptMode, false);
});

test('vrrp_min_garp means one gratuitous ARP and no second burst', async () => {
  const config = (await loadText(conf('global_defs {', '    vrrp_min_garp', '}') + instance())).config;
  assert.equal(config?.instances[0]?.garp.masterRepeat, 1);
  assert.equal(config?.instances[0]?.garp.masterDelaySeconds, 0);
});

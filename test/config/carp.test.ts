/** carp_instance blocks (issue 16): read into TandemConfig.carpInstances, every problem at its FILE:LINE:COL. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byPosition, conf, diagnosticsOf, instance, loadText } from './helpers.js';

/** A valid carp_instance with `extra` lines after `passphrase` (line 5); the VIP is on line 7 + extra. */
function carp(...extra: string[]): string {
  return conf(
    'carp_instance web {',
    '    interface eth0',
    '    vhid 10',
    '    passphrase s3cret',
    ...extra.map((line) => `    ${line}`),
    '    virtual_ipaddress {',
    '        192.0.2.100/24',
    '    }',
    '}',
  );
}

test('a carp_instance is read with ucarp defaults: advbase 1, advskew 0, deadratio 3, no preempt', async () => {
  const result = await loadText(carp());
  // No diagnostic: not even "no vrrp_instance is defined", a carp_instance is something to run.
  assert.deepEqual(result.diagnostics, []);
  assert.deepEqual(result.config?.carpInstances, [
    {
      name: 'web',
      source: { file: 'test.conf', line: 1, column: 15 },
      interface: 'eth0',
      vhid: 10,
      advbaseSeconds: 1,
      advskew: 0,
      passphrase: 's3cret',
      family: 4,
      vips: [
        {
          address: '192.0.2.100',
          prefixLength: 24,
          family: 4,
          noTrack: false,
          source: { file: 'test.conf', line: 6, column: 9 },
        },
      ],
      preempt: false,
      unicastPeers: [],
      mcastDstIp: '224.0.0.18',
      deadratio: 3,
      neutral: false,
      dontTrackPrimary: false,
      trackInterfaces: [],
      trackScripts: [],
      trackFiles: [],
      trackProcesses: [],
      notify: {},
      services: [],
    },
  ]);
  // Implemented: nothing for check and run to refuse.
  assert.deepEqual(result.config?.unimplemented, []);
});

test('every carp_instance keyword lands in the schema; what it shares with vrrp_instance reads the same', async () => {
  const text =
    conf('vrrp_script chk {', '    script /bin/true', '    weight -30', '}') +
    conf('tandem_service haproxy {', '    on_master /usr/local/bin/up', '}') +
    carp(
      'advbase 2',
      'advskew 100',
      'preempt',
      'unicast_src_ip 192.0.2.10',
      'unicast_peer {',
      '    192.0.2.11',
      '}',
      'deadratio 5',
      'neutral',
      'dont_track_primary',
      'track_interface {',
      '    eth1 weight 20',
      '    eth2',
      '}',
      'track_script {',
      '    chk',
      '}',
      'notify_master /usr/local/bin/vip-up',
      'notify_backup "/usr/local/bin/vip-down now"',
      'tandem_service haproxy',
    ).replace('    passphrase s3cret\n', '    passphrase_file /etc/tandem/carp.pass\n');
  const result = await loadText(text);
  assert.deepEqual(result.diagnostics, []);
  const c = result.config?.carpInstances[0];
  assert.ok(c);
  assert.deepEqual(
    {
      advbaseSeconds: c.advbaseSeconds,
      advskew: c.advskew,
      passphrase: c.passphrase,
      passphraseFile: c.passphraseFile,
      preempt: c.preempt,
      srcIp: c.srcIp,
      unicastPeers: c.unicastPeers,
      deadratio: c.deadratio,
      neutral: c.neutral,
      dontTrackPrimary: c.dontTrackPrimary,
      trackInterfaces: c.trackInterfaces,
      trackScripts: c.trackScripts,
      master: c.notify.master?.argv,
      backup: c.notify.backup?.argv,
      services: c.services,
    },
    {
      advbaseSeconds: 2,
      advskew: 100,
      passphrase: undefined,
      passphraseFile: '/etc/tandem/carp.pass',
      preempt: true,
      srcIp: '192.0.2.10',
      unicastPeers: [{ address: '192.0.2.11' }],
      deadratio: 5,
      neutral: true,
      dontTrackPrimary: true,
      // Demotions: a weight adds to the demotion counter; none means FAULT (0), not the script's VRRP weight.
      trackInterfaces: [
        { name: 'eth1', weight: 20, reverse: false },
        { name: 'eth2', weight: 0, reverse: false },
      ],
      trackScripts: [{ name: 'chk', weight: 0, reverse: false }],
      master: ['/usr/local/bin/vip-up'],
      backup: ['/usr/local/bin/vip-down', 'now'],
      services: ['haproxy'],
    },
  );
});

test('carp_instance errors: missing settings, a passphrase too long, the bow-out advskew, ranges', async () => {
  assert.deepEqual(await diagnosticsOf(conf('carp_instance web {', '    advbase 1', '}')), [
    'test.conf:1:15: error: carp_instance web has no interface',
    'test.conf:1:15: error: carp_instance web has no vhid',
    'test.conf:1:15: error: carp_instance web has no virtual_ipaddress (ucarp needs -a too)',
    'test.conf:1:15: error: carp_instance web has no passphrase or passphrase_file (ucarp needs -p or -o too)',
  ]);
  assert.deepEqual(
    await diagnosticsOf(
      carp(
        'advskew 255',
        'advbase 0',
        'vhid 256',
        'passphrase 123456789012345678901',
        'deadratio 0',
        'passphrase_file relative.pass',
      ),
    ),
    [
      'test.conf:5:13: error: advskew 255 is reserved for bowing out (the advert of a stopping master); use 0 to 254',
      "test.conf:6:13: error: advbase must be an integer from 1 to 255, found '0'",
      "test.conf:7:10: error: vhid must be an integer from 1 to 255, found '256'",
      "test.conf:7:5: warning: 'vhid' is given again in carp_instance web; this replaces the value from line 3",
      'test.conf:8:16: error: passphrase must be 1 to 20 bytes (the CARP key length), found 21',
      "test.conf:8:5: warning: 'passphrase' is given again in carp_instance web; this replaces the value from line 4",
      "test.conf:9:15: error: deadratio must be an integer from 1 to 255, found '0'",
      "test.conf:10:21: error: passphrase_file must be an absolute path, found 'relative.pass'",
    ].sort(byPosition),
  );
  assert.deepEqual(await diagnosticsOf(carp('passphrase_file /etc/tandem/carp.pass')), [
    'test.conf:5:21: error: carp_instance web has both passphrase and passphrase_file; give one',
  ]);
});

test('carp_instance shares the vrrp_instance checks: families, peers, tracked names, demotion range', async () => {
  assert.deepEqual(
    await diagnosticsOf(
      carp(
        'unicast_src_ip 2001:db8::1',
        'unicast_peer {',
        '    192.0.2.100',
        '    192.0.2.100',
        '}',
        'track_script {',
        '    chk_nginx',
        '}',
        'track_interface {',
        '    eth1 weight -5',
        '}',
        'mcast_dst_ip 192.0.2.1',
      ),
    ),
    [
      'test.conf:5:20: error: unicast_src_ip 2001:db8::1 is IPv6 but carp_instance web is IPv4',
      'test.conf:8:9: error: unicast peer 192.0.2.100 is listed twice (first at line 7)',
      "test.conf:11:9: error: track_script of carp_instance web refers to vrrp_script 'chk_nginx', which is not defined",
      "test.conf:14:21: error: weight of eth1 must be an integer from 0 to 255, found '-5'",
      'test.conf:16:18: error: mcast_dst_ip of carp_instance web must be a multicast address, found 192.0.2.1',
    ],
  );
  assert.deepEqual(
    await diagnosticsOf(carp().replace('192.0.2.100/24', '192.0.2.100/24\n        2001:db8::100/64')),
    [
      'test.conf:7:9: error: virtual_ipaddress 2001:db8::100 is IPv6 but carp_instance web is IPv4 (from 192.0.2.100)',
    ],
  );
  assert.deepEqual(await diagnosticsOf(carp('virtual_router_id 5')), [
    "test.conf:5:5: error: unknown keyword 'virtual_router_id' in carp_instance web (it belongs in vrrp_instance)",
  ]);
});

test('vhids are unique per interface and family among CARP instances, not against VRRP', async () => {
  const second = carp()
    .replace('carp_instance web', 'carp_instance mail')
    .replace('192.0.2.100', '192.0.2.101');
  assert.deepEqual(await diagnosticsOf(carp() + second), [
    'test.conf:11:5: error: vhid 10 on eth0 (IPv4) is already used by carp_instance web at test.conf:1:15',
  ]);
  assert.deepEqual(await diagnosticsOf(carp() + second.replace('eth0', 'eth1')), []);
  // A vrrp_instance with VRID 10 on the same interface: the headers tell them apart.
  assert.deepEqual(
    await diagnosticsOf(carp() + instance().replace('virtual_router_id 51', 'virtual_router_id 10')),
    [],
  );
});

test('a carp_instance may not take the name of a vrrp_instance (status, hooks and FIFO lines name instances)', async () => {
  const result = await loadText(`vrrp_instance web {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.100/24
  }
}
${carp()}`);
  assert.deepEqual(
    result.diagnostics.map((d) => [d.line, d.message]),
    [[9, 'carp_instance web has the name of the vrrp_instance at test.conf:1:15; instance names are shared']],
  );
});

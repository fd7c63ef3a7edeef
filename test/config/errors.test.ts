/** Every class of configuration error, with its exact message and position. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conf, diagnosticsOf, instance, loadText } from './helpers.js';

async function assertDiagnostics(text: string, expected: string[], options = {}): Promise<void> {
  assert.deepEqual(await diagnosticsOf(text, options), expected);
}

test('an unknown keyword names the section and suggests the closest keyword', async () => {
  await assertDiagnostics(instance('prority 100'), [
    "test.conf:4:5: error: unknown keyword 'prority' in vrrp_instance VI_1 (did you mean 'priority'?)",
  ]);
  await assertDiagnostics(conf('global_defs {', '    router_idd r1', '}') + instance(), [
    "test.conf:2:5: error: unknown keyword 'router_idd' in global_defs (did you mean 'router_id'?)",
  ]);
  await assertDiagnostics(conf('vrrp_instnace VI_2 {', '}'), [
    "test.conf:1:1: error: unknown keyword 'vrrp_instnace' at top level (did you mean 'vrrp_instance'?)",
  ]);
});

test('a keyword of another section says where it belongs', async () => {
  await assertDiagnostics(conf('global_defs {', '    priority 100', '}') + instance(), [
    "test.conf:2:5: error: unknown keyword 'priority' in global_defs (it belongs in vrrp_instance)",
  ]);
});

test('a keyword without any close match gets no suggestion', async () => {
  await assertDiagnostics(instance('frobnicate yes'), [
    "test.conf:4:5: error: unknown keyword 'frobnicate' in vrrp_instance VI_1",
  ]);
});

test('an unsupported keepalived keyword or section is an error naming it as unsupported', async () => {
  const text =
    instance('use_ipvlan') +
    conf('virtual_server 192.0.2.1 80 {', '  real_server 192.0.2.2 80 {', '    weight 1', '  }', '}');
  await assertDiagnostics(text, [
    "test.conf:4:5: error: unsupported keepalived keyword 'use_ipvlan' in vrrp_instance VI_1 (tandem does not implement ipvlan interfaces; ignored)",
    "test.conf:9:1: error: unsupported keepalived section 'virtual_server' at top level (tandem does not implement the LVS side (virtual servers); the block is skipped)",
  ]);
  const result = await loadText(text);
  assert.equal(result.config, undefined);
  assert.deepEqual(
    result.diagnostics.map((d) => d.code),
    ['TANDEM_ECONFIG_UNSUPPORTED', 'TANDEM_ECONFIG_UNSUPPORTED'],
  );
});

test('--lenient downgrades unsupported keywords, and only those', async () => {
  await assertDiagnostics(
    instance('use_ipvlan', 'prority 1'),
    [
      "test.conf:4:5: warning: unsupported keepalived keyword 'use_ipvlan' in vrrp_instance VI_1 (tandem does not implement ipvlan interfaces; ignored)",
      "test.conf:5:5: error: unknown keyword 'prority' in vrrp_instance VI_1 (did you mean 'priority'?)",
    ],
    { lenient: true },
  );
  const lenient = await loadText(instance('use_ipvlan'), { lenient: true });
  assert.ok(lenient.config, 'an unsupported keyword alone is valid with --lenient');
  assert.equal(lenient.config.instances[0]?.name, 'VI_1');
});

test('an unsupported option of a VIP is reported as unsupported', async () => {
  const text = instance().replace('192.0.2.10/24', '192.0.2.10/24 autojoin');
  await assertDiagnostics(text, [
    "test.conf:5:23: error: unsupported keepalived option 'autojoin' in virtual_ipaddress of vrrp_instance VI_1 (tandem does not implement it; ignored)",
  ]);
});

test('VRID must be 1-255', async () => {
  await assertDiagnostics(instance().replace('virtual_router_id 51', 'virtual_router_id 0'), [
    "test.conf:2:23: error: virtual_router_id must be an integer from 1 to 255, found '0'",
  ]);
  await assertDiagnostics(instance().replace('virtual_router_id 51', 'virtual_router_id 256'), [
    "test.conf:2:23: error: virtual_router_id must be an integer from 1 to 255, found '256'",
  ]);
  await assertDiagnostics(instance().replace('virtual_router_id 51', 'virtual_router_id abc'), [
    "test.conf:2:23: error: virtual_router_id must be an integer from 1 to 255, found 'abc'",
  ]);
});

test('a missing VRID or interface is an error at the instance name', async () => {
  await assertDiagnostics(instance().replace('    virtual_router_id 51\n', ''), [
    'test.conf:1:15: error: vrrp_instance VI_1 has no virtual_router_id',
  ]);
  await assertDiagnostics(instance().replace('    interface eth0\n', ''), [
    'test.conf:1:15: error: vrrp_instance VI_1 has no interface',
  ]);
});

test('priority must be 1-255; 255 marks the address owner', async () => {
  await assertDiagnostics(instance('priority 0'), [
    "test.conf:4:14: error: priority must be an integer from 1 to 255, found '0'",
  ]);
  await assertDiagnostics(instance('priority 256'), [
    "test.conf:4:14: error: priority must be an integer from 1 to 255, found '256'",
  ]);
  const owner = await loadText(instance('priority 255'));
  assert.deepEqual(owner.diagnostics, []);
  assert.equal(owner.config?.instances[0]?.addressOwner, true);
  assert.equal((await loadText(instance('priority 254'))).config?.instances[0]?.addressOwner, false);
});

test('advert_int: whole seconds 1-255 for VRRPv2, 0.01-40.95 s for VRRPv3', async () => {
  await assertDiagnostics(instance('advert_int 1.5'), [
    'test.conf:4:16: error: advert_int of a VRRPv2 instance must be whole seconds from 1 to 255, found 1.5 (use version 3 for sub-second adverts)',
  ]);
  await assertDiagnostics(instance('version 3', 'advert_int 41'), [
    'test.conf:5:16: error: advert_int of a VRRPv3 instance must be from 0.01 to 40.95 seconds in steps of 0.01, found 41',
  ]);
  await assertDiagnostics(instance('version 3', 'advert_int 0.015'), [
    'test.conf:5:16: error: advert_int of a VRRPv3 instance must be from 0.01 to 40.95 seconds in steps of 0.01, found 0.015',
  ]);
  await assertDiagnostics(instance('advert_int 0'), [
    "test.conf:4:16: error: advert_int must be a number of seconds from 0.01 to 255, found '0'",
  ]);
  assert.equal(
    (await loadText(instance('version 3', 'advert_int 0.05'))).config?.instances[0]
      ?.advertIntervalCentiseconds,
    5,
  );
  assert.equal(
    (await loadText(instance('advert_int 255'))).config?.instances[0]?.advertIntervalCentiseconds,
    25500,
  );
});

test('addresses must parse', async () => {
  await assertDiagnostics(instance().replace('192.0.2.10/24', '192.0.2.300'), [
    "test.conf:5:9: error: address in virtual_ipaddress of vrrp_instance VI_1 must be an IPv4 or IPv6 address with an optional /prefix-length, found '192.0.2.300'",
  ]);
  await assertDiagnostics(instance().replace('192.0.2.10/24', '192.0.2.1/33'), [
    "test.conf:5:9: error: address in virtual_ipaddress of vrrp_instance VI_1 must be an IPv4 or IPv6 address with an optional /prefix-length, found '192.0.2.1/33'",
  ]);
  await assertDiagnostics(instance('unicast_src_ip 192.0.2'), [
    "test.conf:4:20: error: unicast_src_ip must be an IPv4 or IPv6 address, found '192.0.2'",
  ]);
});

test("addresses must match the instance's family; excluded VIPs may be of the other family", async () => {
  await assertDiagnostics(instance().replace('192.0.2.10/24', '192.0.2.10/24\n        2001:db8::1'), [
    'test.conf:6:9: error: virtual_ipaddress 2001:db8::1 is IPv6 but vrrp_instance VI_1 is IPv4 (from 192.0.2.10); put other-family addresses in virtual_ipaddress_excluded',
  ]);
  await assertDiagnostics(instance('unicast_peer {', '    2001:db8::2', '}'), [
    'test.conf:5:9: error: unicast peer 2001:db8::2 is IPv6 but vrrp_instance VI_1 is IPv4',
  ]);
  await assertDiagnostics(instance('mcast_src_ip 2001:db8::5'), [
    'test.conf:4:18: error: mcast_src_ip 2001:db8::5 is IPv6 but vrrp_instance VI_1 is IPv4',
  ]);
  const excluded = await loadText(instance('virtual_ipaddress_excluded {', '    2001:db8::1/64', '}'));
  assert.deepEqual(excluded.diagnostics, []);
  assert.equal(excluded.config?.instances[0]?.excludedVips[0]?.address, '2001:db8::1');
});

test('VRIDs are unique per interface and family', async () => {
  const second = instance().replace('VI_1', 'VI_2').replace('192.0.2.10', '192.0.2.11');
  await assertDiagnostics(instance() + second, [
    'test.conf:9:5: error: virtual_router_id 51 on eth0 (IPv4) is already used by vrrp_instance VI_1 at test.conf:1:15',
  ]);
  // Another interface, or the other family, may reuse the VRID.
  assert.deepEqual(await diagnosticsOf(instance() + second.replace('eth0', 'eth1')), []);
  assert.deepEqual(await diagnosticsOf(instance() + second.replace('192.0.2.11/24', '2001:db8::11/64')), []);
});

test('every tracked script, file and process must be defined', async () => {
  const text =
    instance(
      'track_script {',
      '    chk_web weight 10',
      '}',
      'track_file {',
      '    flag',
      '}',
      'track_process {',
      '    haproxy',
      '}',
    ) + conf('vrrp_script chk_wb {', '    script /bin/true', '}');
  await assertDiagnostics(text, [
    "test.conf:5:9: error: track_script of vrrp_instance VI_1 refers to vrrp_script 'chk_web', which is not defined (did you mean 'chk_wb'?)",
    "test.conf:8:9: error: track_file of vrrp_instance VI_1 refers to track_file 'flag', which is not defined",
    "test.conf:11:9: error: track_process of vrrp_instance VI_1 refers to vrrp_track_process 'haproxy', which is not defined",
  ]);
});

test('every sync group member must be defined, and in one group only', async () => {
  const second = instance().replace('VI_1', 'VI_2').replace('eth0', 'eth1');
  const text =
    instance() +
    second +
    conf(
      'vrrp_sync_group G1 {',
      '    group {',
      '        VI_1',
      '        VI_9',
      '    }',
      '}',
      'vrrp_sync_group G2 {',
      '    group {',
      '        VI_1',
      '        VI_2',
      '    }',
      '}',
    );
  await assertDiagnostics(text, [
    'test.conf:15:17: warning: vrrp_sync_group G1 has only one member; a sync group of one has no effect',
    "test.conf:18:9: error: vrrp_sync_group G1 lists vrrp_instance 'VI_9', which is not defined (did you mean 'VI_1'?)",
    'test.conf:21:17: warning: vrrp_sync_group G2 has only one member; a sync group of one has no effect',
    'test.conf:23:9: error: vrrp_instance VI_1 is already a member of vrrp_sync_group G1',
  ]);
});

test('a unicast peer is not the source itself, nor listed twice', async () => {
  await assertDiagnostics(
    instance(
      'unicast_src_ip 192.0.2.1',
      'unicast_peer {',
      '    192.0.2.1',
      '    192.0.2.2',
      '    192.0.2.2',
      '}',
    ),
    [
      "test.conf:6:9: error: unicast peer 192.0.2.1 is the instance's own unicast_src_ip",
      'test.conf:8:9: error: unicast peer 192.0.2.2 is listed twice (first at line 7)',
    ],
  );
});

test('a wrong number of values is reported at the extra value or the keyword', async () => {
  await assertDiagnostics(instance('priority 100 200'), [
    "test.conf:4:18: error: unexpected '200' after 'priority' (priority <1-255>)",
  ]);
  await assertDiagnostics(instance('priority'), [
    "test.conf:4:5: error: 'priority' needs 1 value (priority <1-255>)",
  ]);
});

test('syntax errors: unbalanced braces and unterminated quotes', async () => {
  await assertDiagnostics(conf('vrrp_instance VI_1 {', '    interface eth0'), [
    "test.conf:1:20: error: '{' is never closed",
  ]);
  await assertDiagnostics(instance() + '}\n', ["test.conf:8:1: error: unexpected '}' with no open block"]);
  await assertDiagnostics(instance('notify_master "/bin/echo hi'), [
    'test.conf:4:19: error: unterminated " quote',
  ]);
});

test('an unreadable main or included file is a diagnostic, not an exception', async () => {
  await assertDiagnostics(conf('include nothere.conf') + instance(), [
    "test.conf:1:9: error: cannot read 'nothere.conf': no such file or directory",
  ]);
  const missing = await loadText('', { files: undefined });
  assert.ok(missing.config, 'an empty file is valid');
  assert.deepEqual(await diagnosticsOf(''), [
    'test.conf:1:1: warning: no vrrp_instance is defined; tandem has nothing to run',
  ]);
});

test('every error of a file is reported in one run', async () => {
  const text = conf(
    'global_defs {',
    '    vrrp_versoin 3',
    '}',
    'vrrp_instance VI_1 {',
    '    interface eth0',
    '    virtual_router_id 0',
    '    priority 300',
    '    advert_int x',
    '    state UP',
    '    virtual_ipaddress {',
    '        192.0.2.1 lable eth0:1',
    '    }',
    '}',
  );
  await assertDiagnostics(text, [
    "test.conf:2:5: error: unknown keyword 'vrrp_versoin' in global_defs (did you mean 'vrrp_version'?)",
    "test.conf:6:23: error: virtual_router_id must be an integer from 1 to 255, found '0'",
    "test.conf:7:14: error: priority must be an integer from 1 to 255, found '300'",
    "test.conf:8:16: error: advert_int must be a number of seconds from 0.01 to 255, found 'x'",
    "test.conf:9:11: error: state must be MASTER or BACKUP, found 'UP'",
    "test.conf:11:19: error: unknown option 'lable' in virtual_ipaddress of vrrp_instance VI_1 (did you mean 'label'?)",
  ]);
});

test('values keepalived adjusts are warnings: long passwords, IPv6 with version 2', async () => {
  const text = instance('authentication {', '    auth_type PASS', '    auth_pass 123456789', '}');
  await assertDiagnostics(text, [
    "test.conf:6:19: warning: auth_pass is longer than 8 bytes; only '12345678' is used (as keepalived does)",
  ]);
  assert.deepEqual((await loadText(text)).config?.instances[0]?.auth, { type: 'pass', password: '12345678' });
  const v6 = instance('version 2').replace('192.0.2.10/24', '2001:db8::10/64');
  await assertDiagnostics(v6, [
    'test.conf:4:5: warning: vrrp_instance VI_1 is IPv6, which VRRPv2 cannot carry; version 3 is used (as keepalived does)',
  ]);
  assert.equal((await loadText(v6)).config?.instances[0]?.version, 3);
});

test('a repeated single-valued keyword warns that it replaces the earlier value', async () => {
  await assertDiagnostics(instance('priority 100', 'priority 150'), [
    "test.conf:5:5: warning: 'priority' is given again in vrrp_instance VI_1; this replaces the value from line 4",
  ]);
  assert.equal(
    (await loadText(instance('priority 100', 'priority 150'))).config?.instances[0]?.priority,
    150,
  );
});

test('strict mode rejects what RFC-strict VRRP forbids', async () => {
  await assertDiagnostics(
    instance('strict_mode', 'state MASTER', 'authentication {', '    auth_type PASS', '    auth_pass x', '}'),
    [
      'test.conf:5:5: error: vrrp_instance VI_1 in strict mode can have state MASTER only with priority 255',
      'test.conf:6:5: error: vrrp_instance VI_1 in strict mode cannot use authentication',
    ],
  );
});

test('diagnostics carry stable codes', async () => {
  const codes = async (text: string): Promise<string[]> =>
    (await loadText(text)).diagnostics.map((d) => d.code);
  assert.deepEqual(await codes(instance('prority 1')), ['TANDEM_ECONFIG_UNKNOWN_KEYWORD']);
  assert.deepEqual(await codes(instance('priority 0')), ['TANDEM_ECONFIG_VALUE']);
  assert.deepEqual(await codes(instance('track_script {', '    x', '}')), ['TANDEM_ECONFIG_REFERENCE']);
  assert.deepEqual(await codes(instance().replace('    interface eth0\n', '')), ['TANDEM_ECONFIG_MISSING']);
  assert.deepEqual(
    await codes(instance('unicast_src_ip 192.0.2.1', 'unicast_peer {', '    192.0.2.1', '}')),
    ['TANDEM_ECONFIG_CONFLICT'],
  );
  assert.deepEqual(await codes(instance() + '}'), ['TANDEM_ECONFIG_SYNTAX']);
  assert.deepEqual(await codes('include x.conf'), ['TANDEM_ECONFIG_IO']);
});

test('notify_fifo and vrrp_notify_fifo must be different FIFOs', async () => {
  const text =
    conf('global_defs {', '    notify_fifo /run/f', '    vrrp_notify_fifo /run/f', '}') + instance();
  await assertDiagnostics(text, [
    "test.conf:3:22: error: notify_fifo and vrrp_notify_fifo are both '/run/f'; they must differ",
  ]);
});

test('vrrp_script: user may come before script', async () => {
  const result = await loadText(
    conf('vrrp_script chk {', '    user nobody', '    script /bin/true', '}') + instance(),
  );
  assert.deepEqual(result.config?.scripts[0]?.command, {
    argv: ['/bin/true'],
    user: 'nobody',
    source: { file: 'test.conf', line: 3, column: 5 },
  });
});

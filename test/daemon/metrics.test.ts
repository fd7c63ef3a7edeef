import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TandemEvent } from '../../src/daemon/events.js';
import { MetricsError, TandemMetrics } from '../../src/daemon/metrics.js';
import { KEEPALIVED_DISCARD_FAMILIES, type TelemetrySnapshot } from '../../src/daemon/metrics-snapshot.js';
import { DISCARD_REASONS, type Family, fakeSnapshot, parseExposition } from '../helpers/telemetry.js';

function metricsOf(snapshot: () => TelemetrySnapshot = fakeSnapshot, processMetrics = false) {
  return new TandemMetrics({ snapshot, discardReasons: DISCARD_REASONS, version: '9.9.9', processMetrics });
}

function value(family: Family | undefined, labels: Record<string, string>): number | undefined {
  assert.ok(family, 'family missing');
  const found = family.samples.filter((sample) =>
    Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted),
  );
  assert.ok(found.length <= 1, `several samples match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

test('keepalived families have mehdy/keepalived-exporter names, help texts, types and labels', async () => {
  const families = parseExposition(await metricsOf().render());
  const instanceLabels = ['iname', 'intf', 'vrid'];
  // [name, type, help, labels] as collector.go's fillMetrics and Collect declare them.
  const expected: [string, string, string, string[]][] = [
    ['keepalived_up', 'gauge', 'Status', []],
    ['keepalived_vrrp_state', 'gauge', 'State of vrrp', [...instanceLabels, 'ip_address']],
    [
      'keepalived_vrrp_excluded_state',
      'gauge',
      'State of vrrp with excluded VIP',
      [...instanceLabels, 'ip_address'],
    ],
    ['keepalived_gratuitous_arp_delay_total', 'counter', 'Gratuitous ARP delay', instanceLabels],
    ['keepalived_advertisements_received_total', 'counter', 'Advertisements received', instanceLabels],
    ['keepalived_advertisements_sent_total', 'counter', 'Advertisements sent', instanceLabels],
    ['keepalived_become_master_total', 'counter', 'Became master', instanceLabels],
    ['keepalived_release_master_total', 'counter', 'Released master', instanceLabels],
    ['keepalived_packet_length_errors_total', 'counter', 'Packet length errors', instanceLabels],
    [
      'keepalived_advertisements_interval_errors_total',
      'counter',
      'Advertisement interval errors',
      instanceLabels,
    ],
    ['keepalived_ip_ttl_errors_total', 'counter', 'TTL errors', instanceLabels],
    ['keepalived_invalid_type_received_total', 'counter', 'Invalid type errors', instanceLabels],
    ['keepalived_address_list_errors_total', 'counter', 'Address list errors', instanceLabels],
    ['keepalived_authentication_invalid_total', 'counter', 'Authentication invalid', instanceLabels],
    ['keepalived_authentication_mismatch_total', 'counter', 'Authentication mismatch', instanceLabels],
    ['keepalived_authentication_failure_total', 'counter', 'Authentication failure', instanceLabels],
    ['keepalived_priority_zero_received_total', 'counter', 'Priority zero received', instanceLabels],
    ['keepalived_priority_zero_sent_total', 'counter', 'Priority zero sent', instanceLabels],
    ['keepalived_script_status', 'gauge', 'Tracker Script Status', ['name']],
    ['keepalived_script_state', 'gauge', 'Tracker Script State', ['name']],
  ];
  for (const [name, type, help, labels] of expected) {
    const family = families.get(name);
    assert.ok(family, `${name} is rendered`);
    assert.equal(family.type, type, name);
    assert.equal(family.help, help, name);
    assert.ok(family.samples.length > 0, `${name} has samples`);
    for (const sample of family.samples)
      assert.deepEqual(Object.keys(sample.labels).sort(), [...labels].sort(), name);
  }
});

test('keepalived values: states by number per VIP, the VIP text keepalived writes, summed discard reasons', async () => {
  const families = parseExposition(await metricsOf().render());
  const state = families.get('keepalived_vrrp_state');
  assert.deepEqual(
    state?.samples.map((sample) => [
      sample.labels.iname,
      sample.labels.intf,
      sample.labels.ip_address,
      sample.value,
    ]),
    [
      // A /24 VIP keeps its prefix, a host one does not (keepalived's ipaddresstos); `intf` is the VIP's dev.
      ['VI_1', 'eth0', '192.0.2.10/24', 2],
      ['VI_1', 'eth1', '192.0.2.11', 2],
      ['VI_6', 'eth0', '2001:db8::10/64', 1],
      // An instance without VIPs is reported once, on its own interface, with an empty ip_address.
      ['CARP_1', 'eth2', '', 1],
    ],
  );
  assert.deepEqual(
    families
      .get('keepalived_vrrp_excluded_state')
      ?.samples.map((sample) => [sample.labels.ip_address, sample.value]),
    [['198.51.100.7', 2]],
  );
  const vi1 = { iname: 'VI_1', intf: 'eth0', vrid: '51' };
  assert.equal(value(families.get('keepalived_up'), {}), 1);
  assert.equal(value(families.get('keepalived_advertisements_sent_total'), vi1), 1234);
  assert.equal(value(families.get('keepalived_advertisements_received_total'), vi1), 17);
  assert.equal(value(families.get('keepalived_priority_zero_sent_total'), vi1), 1);
  assert.equal(value(families.get('keepalived_priority_zero_received_total'), vi1), 2);
  assert.equal(value(families.get('keepalived_become_master_total'), vi1), 5, 'every transition to MASTER');
  assert.equal(
    value(families.get('keepalived_release_master_total'), vi1),
    4,
    'every transition from MASTER',
  );
  assert.equal(
    value(families.get('keepalived_packet_length_errors_total'), vi1),
    3 + 4,
    'truncated + count-mismatch',
  );
  assert.equal(value(families.get('keepalived_ip_ttl_errors_total'), vi1), 5);
  assert.equal(value(families.get('keepalived_address_list_errors_total'), vi1), 6);
  assert.equal(value(families.get('keepalived_authentication_failure_total'), vi1), 7);
  assert.equal(value(families.get('keepalived_advertisements_interval_errors_total'), vi1), 8);
  assert.equal(value(families.get('keepalived_authentication_invalid_total'), vi1), 9 + 10);
  assert.equal(value(families.get('keepalived_authentication_mismatch_total'), vi1), 0);
  assert.equal(value(families.get('keepalived_gratuitous_arp_delay_total'), vi1), 5);
  assert.equal(value(families.get('keepalived_script_status'), { name: 'chk_haproxy' }), 1, 'GOOD');
  assert.equal(value(families.get('keepalived_script_status'), { name: 'chk_slow' }), 0, 'BAD');
  assert.equal(value(families.get('keepalived_script_state'), { name: 'chk_slow' }), 1, 'running');
});

test('every discard reason is present for every instance, at zero when unseen', async () => {
  const families = parseExposition(await metricsOf().render());
  const discarded = families.get('tandem_discarded_total');
  assert.equal(discarded?.type, 'counter');
  for (const instance of fakeSnapshot().instances) {
    for (const reason of DISCARD_REASONS) {
      const expected = instance.counters[reason] ?? 0;
      assert.equal(
        value(discarded, { iname: instance.name, reason }),
        expected,
        `${instance.name} ${reason}`,
      );
    }
  }
  assert.equal(discarded?.samples.length, DISCARD_REASONS.length * fakeSnapshot().instances.length);
  assert.equal(value(discarded, { iname: 'CARP_1', reason: 'bad-checksum' }), 0);
});

test('tandem families: CARP alongside VRRP, transitions by from/to/reason, trackers, hooks present at zero', async () => {
  const families = parseExposition(await metricsOf().render());
  assert.deepEqual(
    families
      .get('tandem_instance_info')
      ?.samples.map((sample) => [sample.labels.iname, sample.labels.protocol, sample.labels.family]),
    [
      ['VI_1', 'vrrp', 'ipv4'],
      ['VI_6', 'vrrp', 'ipv6'],
      ['CARP_1', 'carp', 'ipv4'],
    ],
  );
  const states = families.get('tandem_instance_state');
  assert.equal(value(states, { iname: 'VI_1', state: 'MASTER' }), 1);
  assert.equal(value(states, { iname: 'VI_1', state: 'BACKUP' }), 0);
  assert.equal(
    states?.samples.filter((sample) => sample.value === 1).length,
    3,
    'one current state per instance',
  );
  assert.equal(value(families.get('tandem_effective_priority'), { iname: 'VI_1' }), 140);
  assert.equal(value(families.get('tandem_priority'), { iname: 'VI_1' }), 150);
  const transitions = families.get('tandem_transitions_total');
  assert.equal(
    value(transitions, { iname: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'priority-zero-received' }),
    2,
  );
  assert.equal(
    value(transitions, { iname: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master-down-expired' }),
    3,
  );
  assert.equal(value(families.get('tandem_split_brain_events_total'), { iname: 'VI_1' }), 2);
  const age = families.get('tandem_master_advert_age_seconds');
  assert.equal(value(age, { iname: 'VI_6' }), 0.25);
  assert.equal(value(age, { iname: 'VI_1' }), undefined, 'a MASTER hears no master: no series');
  const trackers = families.get('tandem_tracker_state');
  assert.equal(value(trackers, { kind: 'interface', name: 'eth1', state: 'down' }), 1);
  assert.equal(value(trackers, { kind: 'interface', name: 'eth1', state: 'up' }), 0);
  assert.equal(
    value(families.get('tandem_notify_fifo_dropped_total'), { fifo: '/run/tandem/notify.fifo' }),
    3,
  );
  assert.equal(value(families.get('tandem_reloads_total'), {}), 2);
  assert.equal(value(families.get('tandem_event_subscribers_dropped_total'), {}), 4);
  assert.equal(value(families.get('tandem_build_info'), { version: '9.9.9' }), 1);
  for (const name of ['tandem_hook_runs_total', 'tandem_hook_failures_total', 'tandem_hook_timeouts_total']) {
    const family = families.get(name);
    assert.equal(value(family, { iname: 'VI_1', hook: 'notify_master' }), 0, name);
    assert.equal(
      value(family, { iname: 'G1', hook: 'notify' }),
      0,
      `${name}: sync group hooks under the group`,
    );
  }
});

test('hook runs, failures, timeouts and durations come from hook-end events', async () => {
  const metrics = metricsOf();
  let seq = 0;
  const end = (fields: Partial<TandemEvent & { type: 'hook-end' }>): TandemEvent =>
    ({
      type: 'hook-end',
      instance: 'VI_1',
      hook: 'notify_master',
      state: 'MASTER',
      outcome: 'ok',
      exitCode: 0,
      signal: null,
      durationMs: 20,
      seq: ++seq,
      time: new Date(0).toISOString(),
      ...fields,
    }) as TandemEvent;
  metrics.observe(end({}));
  metrics.observe(end({ outcome: 'failed', exitCode: 3, durationMs: 300 }));
  metrics.observe(end({ outcome: 'timeout', exitCode: null, signal: 'SIGKILL', durationMs: 10_000 }));
  metrics.observe(end({ instance: undefined, syncGroup: 'G1', hook: 'notify', durationMs: 2 } as never));
  metrics.observe({ type: 'reload', ok: true, kept: [], stopped: [], started: [], seq: ++seq, time: '' });
  const families = parseExposition(await metrics.render());
  const vi1 = { iname: 'VI_1', hook: 'notify_master' };
  assert.equal(value(families.get('tandem_hook_runs_total'), vi1), 3);
  assert.equal(value(families.get('tandem_hook_failures_total'), vi1), 1);
  assert.equal(value(families.get('tandem_hook_timeouts_total'), vi1), 1);
  assert.equal(value(families.get('tandem_hook_runs_total'), { iname: 'G1', hook: 'notify' }), 1);
  const duration = families.get('tandem_hook_duration_seconds');
  assert.equal(duration?.type, 'histogram');
  const bucket = (le: string) =>
    duration?.samples.find(
      (sample) =>
        sample.name.endsWith('_bucket') && sample.labels.iname === 'VI_1' && sample.labels.le === le,
    )?.value;
  assert.equal(bucket('0.025'), 1);
  assert.equal(bucket('0.5'), 2);
  assert.equal(bucket('10'), 3);
  const sum = duration?.samples.find(
    (sample) => sample.name.endsWith('_sum') && sample.labels.iname === 'VI_1',
  );
  assert.ok(Math.abs((sum?.value ?? 0) - 10.32) < 1e-9);
});

test('one scrape takes one snapshot, and an instance gone from it is gone from the output', async () => {
  let calls = 0;
  let snapshot = fakeSnapshot();
  const metrics = metricsOf(() => {
    calls++;
    return snapshot;
  }, true);
  const first = await metrics.render();
  assert.equal(calls, 1);
  assert.match(first, /iname="CARP_1"/);
  snapshot = { ...snapshot, instances: snapshot.instances.filter((instance) => instance.name !== 'CARP_1') };
  const second = await metrics.render();
  assert.equal(calls, 2);
  assert.doesNotMatch(second, /iname="CARP_1"/);
  assert.match(second, /^process_resident_memory_bytes \d+/m, 'process metrics');
  assert.match(second, /^nodejs_eventloop_lag_seconds /m);
});

test('rendering family by family gives exactly what prom-client renders in one go', async () => {
  const metrics = metricsOf();
  assert.equal(await metrics.render(), await metrics.registry.metrics());
});

test('renders asked for together share one snapshot and one text', async () => {
  let calls = 0;
  const metrics = metricsOf(() => {
    calls++;
    return fakeSnapshot();
  });
  const texts = await Promise.all([metrics.render(), metrics.render(), metrics.render()]);
  assert.equal(calls, 1);
  assert.equal(new Set(texts).size, 1);
});

test('a mapping to a discard reason the table does not have is refused at construction', () => {
  const reasons = DISCARD_REASONS.filter((reason) => reason !== 'bad-ttl');
  assert.throws(
    () =>
      new TandemMetrics({
        snapshot: fakeSnapshot,
        discardReasons: reasons,
        version: '0',
        processMetrics: false,
      }),
    (error: unknown) =>
      error instanceof MetricsError &&
      error.code === 'TANDEM_EMETRICS_REASON' &&
      /bad-ttl/.test(error.message),
  );
  // Every reason the keepalived families sum is one of the table's.
  for (const mapped of Object.values(KEEPALIVED_DISCARD_FAMILIES))
    for (const reason of mapped) assert.ok((DISCARD_REASONS as readonly string[]).includes(reason), reason);
});

test('docs/metrics.md has a row for every keepalived_* and tandem_* family rendered', async () => {
  const doc = readFileSync(
    join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'metrics.md'),
    'utf8',
  );
  const families = parseExposition(await metricsOf().render());
  const ours = [...families.keys()].filter((name) => /^(keepalived|tandem)_/.test(name));
  assert.ok(ours.length > 30);
  for (const name of ours) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
    assert.ok(row, `docs/metrics.md documents ${name}`);
    assert.ok(row.includes(`| ${families.get(name)?.type} |`), `${name}: its type in the row`);
  }
});

test('promtool check metrics accepts the whole rendered output, process metrics included', async () => {
  const text = await metricsOf(fakeSnapshot, true).render();
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(result.error, undefined, 'promtool runs (Debian package prometheus; .ci/run installs it)');
  assert.equal(result.status, 0, `promtool check metrics: ${result.stdout}${result.stderr}`);
});

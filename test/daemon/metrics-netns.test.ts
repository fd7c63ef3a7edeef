/**
 * The metrics endpoint of real `tandem run` agents in namespaces: two agents (a priority 150, b 100, VRRPv3 at
 * advert_int 0.1) each serve /metrics on their namespace's loopback (a on IPv6 [::1], b on 127.0.0.1); a scrape
 * passes `promtool check metrics`, has every keepalived-exporter family and every counter of the table from
 * zero, and its values follow a SIGTERM handover (b's state, became-master, the priority-0 transition reason).
 * A reload moves b's endpoint to another port, then removes it; `tandem events` saw the transition and the
 * reloads. b tracks a script and runs notify_master: the script and tracker families say up, the hook
 * families count its run and duration. Scrapes run with curl inside the namespace (the endpoint is on its loopback); values are polled
 * against a deadline because the endpoint renders at most once a second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TandemEvent } from '../../src/daemon/events.js';
import { streamEvents } from '../../src/daemon/events-command.js';
import { DISCARD_REASONS, EVENT_COUNTERS } from '../../src/vrrp/counters.js';
import { type AgentProcess, startAgent } from '../helpers/agents.js';
import { type Lab, requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { type Family, parseExposition } from '../helpers/telemetry.js';

const VIP = '192.0.2.100';

function config(priority: number, listen: string | undefined): string {
  return `
global_defs {
  router_id lab
  ${listen !== undefined ? `tandem_metrics_listen ${listen}` : ''}
}
vrrp_script chk_ok {
  script "/bin/true"
  interval 1
}
vrrp_instance VI_1 {
  track_script {
    chk_ok
  }
  notify_master "/bin/true"
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority ${priority}
  version 3
  advert_int 0.1
  virtual_ipaddress {
    ${VIP}/24
  }
}
`;
}

interface Scrape {
  status: number;
  body: string;
}

async function scrape(lab: Lab, ns: string, url: string): Promise<Scrape> {
  const result = await lab.exec(ns, ['curl', '-sS', '-g', '-m', '5', '-w', '\n%{http_code}', url], {
    allowFailure: true,
  });
  if (result.code !== 0) return { status: 0, body: result.stderr };
  const cut = result.stdout.lastIndexOf('\n');
  return { status: Number(result.stdout.slice(cut + 1)), body: result.stdout.slice(0, cut) };
}

/** A sample's value; a histogram's `_count`, `_sum` and `_bucket` series are found in their family. */
function sample(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
  return family?.samples.find(
    (candidate) =>
      candidate.name === name &&
      Object.entries(labels).every(([key, value]) => candidate.labels[key] === value),
  )?.value;
}

/** Scrapes until `check` holds for the parsed families (the endpoint renders at most once a second). */
async function scrapeUntil(
  lab: Lab,
  ns: string,
  url: string,
  check: (families: Map<string, Family>) => boolean,
  message: string,
): Promise<Map<string, Family>> {
  return waitFor(
    async () => {
      const { status, body } = await scrape(lab, ns, url);
      if (status !== 200) return undefined;
      const families = parseExposition(body);
      return check(families) ? families : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 200, message },
  );
}

function promtoolCheck(text: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(result.error, undefined, 'promtool runs (Debian package prometheus)');
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

async function events(agent: AgentProcess): Promise<TandemEvent[]> {
  const seen: TandemEvent[] = [];
  await streamEvents(join(agent.runtimeDir, 'tandem.sock'), { follow: false }, (event) => seen.push(event));
  return seen;
}

test('metrics of running agents: exporter families, promtool-clean, values follow a handover and a reload', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const a = await lab.namespace('a');
    const b = await lab.namespace('b');
    await lab.connect(a, sw, { addresses: ['192.0.2.1/24'] });
    await lab.connect(b, sw, { addresses: ['192.0.2.2/24'] });
    const agentA = await startAgent(lab, a, config(150, '[::1]:9650'), 'a');
    const agentB = await startAgent(lab, b, config(100, '127.0.0.1:9650'), 'b');
    await agentA.waitForState('VI_1', 'MASTER');
    await agentB.waitForState('VI_1', 'BACKUP');
    const urlA = 'http://[::1]:9650/metrics';
    const urlB = 'http://127.0.0.1:9650/metrics';

    // a: MASTER, served on IPv6 loopback; the whole text passes promtool.
    const first = await scrape(lab, a, urlA);
    assert.equal(first.status, 200, first.body);
    const check = promtoolCheck(first.body);
    assert.equal(check.status, 0, `promtool check metrics: ${check.output}`);
    const familiesA = await scrapeUntil(
      lab,
      a,
      urlA,
      (families) => (sample(families, 'keepalived_advertisements_sent_total', { iname: 'VI_1' }) ?? 0) > 0,
      'a has sent adverts',
    );
    const labels = { iname: 'VI_1', intf: 'eth0', vrid: '51' };
    assert.equal(sample(familiesA, 'keepalived_up', {}), 1);
    assert.equal(sample(familiesA, 'keepalived_vrrp_state', { ...labels, ip_address: `${VIP}/24` }), 2);
    assert.equal(sample(familiesA, 'tandem_effective_priority', labels), 150);
    for (const name of [
      'keepalived_advertisements_received_total',
      'keepalived_become_master_total',
      'keepalived_release_master_total',
      'keepalived_packet_length_errors_total',
      'keepalived_advertisements_interval_errors_total',
      'keepalived_ip_ttl_errors_total',
      'keepalived_invalid_type_received_total',
      'keepalived_address_list_errors_total',
      'keepalived_authentication_invalid_total',
      'keepalived_authentication_mismatch_total',
      'keepalived_authentication_failure_total',
      'keepalived_priority_zero_received_total',
      'keepalived_priority_zero_sent_total',
      'keepalived_gratuitous_arp_delay_total',
    ])
      assert.notEqual(sample(familiesA, name, labels), undefined, `${name} for VI_1`);
    // Every reason and every event counter of the table, from zero, whatever they are named.
    for (const reason of DISCARD_REASONS)
      assert.notEqual(sample(familiesA, 'tandem_discarded_total', { ...labels, reason }), undefined, reason);
    for (const event of EVENT_COUNTERS)
      assert.notEqual(
        sample(familiesA, 'tandem_instance_events_total', { ...labels, event }),
        undefined,
        event,
      );
    assert.ok(familiesA.has('process_cpu_seconds_total'), 'process metrics');
    assert.ok(familiesA.has('nodejs_eventloop_lag_p99_seconds'), 'event loop delay');
    assert.equal((await scrape(lab, a, 'http://[::1]:9650/nope')).status, 404);

    // b: BACKUP, hears a.
    const familiesB = await scrapeUntil(
      lab,
      b,
      urlB,
      (families) => sample(families, 'tandem_master_advert_age_seconds', labels) !== undefined,
      'b reports the age of the master advert',
    );
    assert.equal(sample(familiesB, 'keepalived_vrrp_state', { ...labels, ip_address: `${VIP}/24` }), 1);
    assert.ok((sample(familiesB, 'tandem_master_advert_age_seconds', labels) as number) < 1);
    assert.equal(sample(familiesB, 'keepalived_become_master_total', labels), 0);
    // The tracked script passes: keepalived's GOOD, tandem's tracker up; notify_master is listed from zero.
    assert.equal(sample(familiesB, 'keepalived_script_status', { name: 'chk_ok' }), 1);
    assert.notEqual(sample(familiesB, 'keepalived_script_state', { name: 'chk_ok' }), undefined);
    assert.equal(
      sample(familiesB, 'tandem_tracker_state', { kind: 'script', name: 'chk_ok', state: 'up' }),
      1,
    );
    assert.equal(
      sample(familiesB, 'tandem_tracker_state', { kind: 'interface', name: 'eth0', state: 'up' }),
      1,
    );
    assert.equal(sample(familiesB, 'tandem_hook_runs_total', { iname: 'VI_1', hook: 'notify_master' }), 0);

    // SIGTERM on a: a hands over with priority 0, b takes over; b's metrics follow.
    assert.equal(await agentA.stop(), 0);
    await agentB.waitForState('VI_1', 'MASTER');
    const after = await scrapeUntil(
      lab,
      b,
      urlB,
      (families) => sample(families, 'keepalived_vrrp_state', { ...labels, ip_address: `${VIP}/24` }) === 2,
      'b MASTER in its metrics',
    );
    assert.equal(sample(after, 'keepalived_become_master_total', labels), 1);
    assert.ok((sample(after, 'keepalived_priority_zero_received_total', labels) as number) >= 1);
    assert.equal(
      sample(after, 'tandem_transitions_total', {
        ...labels,
        from: 'BACKUP',
        to: 'MASTER',
        reason: 'priority-zero-received',
      }),
      1,
    );
    assert.equal(sample(after, 'tandem_master_advert_age_seconds', labels), undefined, 'no master heard');
    assert.equal(sample(after, 'tandem_instance_state', { ...labels, state: 'MASTER' }), 1);
    // b's notify_master ran once, successfully, and its duration was observed.
    const hooked = await scrapeUntil(
      lab,
      b,
      urlB,
      (families) =>
        sample(families, 'tandem_hook_runs_total', { iname: 'VI_1', hook: 'notify_master' }) === 1,
      "b's notify_master run counted",
    );
    const hook = { iname: 'VI_1', hook: 'notify_master' };
    assert.equal(sample(hooked, 'tandem_hook_failures_total', hook), 0);
    assert.equal(sample(hooked, 'tandem_hook_timeouts_total', hook), 0);
    assert.equal(sample(hooked, 'tandem_hook_duration_seconds_count', hook), 1);
    assert.equal((await agentB.instance('VI_1')).lastTransition?.reason, 'priority-zero-received');
    assert.equal(promtoolCheck((await scrape(lab, b, urlB)).body).status, 0);

    // A reload moves the endpoint to another port, then another removes it.
    writeFileSync(agentB.configFile, config(100, '127.0.0.1:9651'));
    agentB.signal('SIGHUP');
    await scrapeUntil(lab, b, 'http://127.0.0.1:9651/metrics', () => true, 'b serves on the new port');
    assert.equal((await scrape(lab, b, urlB)).status, 0, 'the old port is closed');
    const moved = await scrapeUntil(
      lab,
      b,
      'http://127.0.0.1:9651/metrics',
      (families) => sample(families, 'tandem_reloads_total', {}) === 1,
      'the reload is counted',
    );
    // The instance did not change: its counters carried over the reload.
    assert.equal(sample(moved, 'keepalived_become_master_total', labels), 1);
    writeFileSync(agentB.configFile, config(100, undefined));
    agentB.signal('SIGHUP');
    await waitFor(async () => (await agentB.status()).reloads === 2, { message: 'second reload' });
    await waitFor(async () => (await scrape(lab, b, 'http://127.0.0.1:9651/metrics')).status === 0, {
      message: 'the endpoint is gone once tandem_metrics_listen is',
    });

    // tandem events: the handover and both reloads, in order.
    const seen = await events(agentB);
    const transition = seen.find((event) => event.type === 'transition' && event.to === 'MASTER');
    assert.ok(transition, `a transition to MASTER among ${JSON.stringify(seen)}`);
    assert.equal(transition.type === 'transition' && transition.reason, 'priority-zero-received');
    const reloads = seen.filter((event) => event.type === 'reload');
    assert.equal(reloads.length, 2);
    assert.ok(reloads.every((event) => event.type === 'reload' && event.ok && event.kept.includes('VI_1')));
    assert.ok(seen.every((event, index) => index === 0 || event.seq > (seen[index - 1] as TandemEvent).seq));
  });
});

/**
 * A fake agent snapshot for the metrics tests: two VRRP instances (one IPv4 MASTER with a /24 VIP, an excluded
 * VIP and split-brain history; one IPv6 BACKUP hearing a master), one CARP instance without VIPs, scripts,
 * trackers, a FIFO. The values are distinct so a test can tell which one landed where.
 */
import assert from 'node:assert/strict';
import type { InstanceTelemetry, TelemetrySnapshot } from '../../src/daemon/metrics-snapshot.js';

/** The discard reasons of docs/operations.md (receive checks, decode, election), as the counter table holds them. */
export const DISCARD_REASONS = [
  'unknown-peer',
  'bad-ttl',
  'truncated',
  'oversized',
  'bad-version',
  'bad-type',
  'bad-vrid',
  'count-mismatch',
  'bad-checksum',
  'zero-interval',
  'auth-unsupported',
  'bad-auth-type',
  'version-mismatch',
  'auth-type-mismatch',
  'auth-mismatch',
  'address-mismatch',
  'interval-mismatch',
  'lower-priority',
  'own-advert',
  'family-mismatch',
  'vrid-mismatch',
] as const;

function counters(values: Record<string, number>): InstanceTelemetry['counters'] {
  const table: Record<string, number> = {
    advertsSent: 0,
    advertsReceived: 0,
    priorityZeroSent: 0,
    priorityZeroReceived: 0,
  };
  for (const reason of DISCARD_REASONS) table[reason] = 0;
  return { ...table, ...values } as InstanceTelemetry['counters'];
}

export function fakeSnapshot(): TelemetrySnapshot {
  return {
    instances: [
      {
        name: 'VI_1',
        protocol: 'vrrp',
        interface: 'eth0',
        vrid: 51,
        family: 4,
        version: 2,
        state: 'MASTER',
        priority: 150,
        effectivePriority: 140,
        vips: [
          { address: '192.0.2.10', prefixLength: 24, interface: 'eth0', excluded: false },
          { address: '192.0.2.11', prefixLength: 32, interface: 'eth1', excluded: false },
          { address: '198.51.100.7', prefixLength: 32, interface: 'eth0', excluded: true },
        ],
        garpMasterDelaySeconds: 5,
        counters: counters({
          advertsSent: 1234,
          advertsReceived: 17,
          priorityZeroSent: 1,
          priorityZeroReceived: 2,
          truncated: 3,
          'count-mismatch': 4,
          'bad-ttl': 5,
          'address-mismatch': 6,
          'auth-mismatch': 7,
          'interval-mismatch': 8,
          'bad-auth-type': 9,
          'auth-unsupported': 10,
        }),
        transitions: [
          { from: 'INIT', to: 'BACKUP', reason: 'startup', count: 1 },
          { from: 'BACKUP', to: 'MASTER', reason: 'master-down-expired', count: 3 },
          { from: 'BACKUP', to: 'MASTER', reason: 'priority-zero-received', count: 2 },
          { from: 'MASTER', to: 'BACKUP', reason: 'higher-priority-advert', count: 4 },
        ],
        splitBrainEvents: 2,
        hooks: ['notify_master', 'notify'],
        secondsSinceMasterAdvert: undefined,
      },
      {
        name: 'VI_6',
        protocol: 'vrrp',
        interface: 'eth0',
        vrid: 52,
        family: 6,
        version: 3,
        state: 'BACKUP',
        priority: 100,
        effectivePriority: 100,
        vips: [{ address: '2001:db8::10', prefixLength: 64, interface: 'eth0', excluded: false }],
        garpMasterDelaySeconds: 2,
        counters: counters({ advertsReceived: 900 }),
        transitions: [{ from: 'INIT', to: 'BACKUP', reason: 'startup', count: 1 }],
        splitBrainEvents: 0,
        hooks: [],
        secondsSinceMasterAdvert: 0.25,
      },
      {
        name: 'CARP_1',
        protocol: 'carp',
        interface: 'eth2',
        vrid: 7,
        family: 4,
        version: 2,
        state: 'BACKUP',
        priority: 100,
        effectivePriority: 100,
        vips: [],
        garpMasterDelaySeconds: 0,
        counters: counters({}),
        transitions: [],
        splitBrainEvents: 0,
        hooks: [],
        secondsSinceMasterAdvert: 1,
      },
    ],
    groupHooks: [{ syncGroup: 'G1', hooks: ['notify'] }],
    scripts: [
      { name: 'chk_haproxy', status: 'GOOD', state: 'idle' },
      { name: 'chk_slow', status: 'BAD', state: 'running' },
    ],
    trackers: [
      { kind: 'script', name: 'chk_haproxy', state: 'up' },
      { kind: 'interface', name: 'eth1', state: 'down' },
      { kind: 'file', name: 'maintenance', state: 'unknown' },
    ],
    fifos: [{ path: '/run/tandem/notify.fifo', dropped: 3 }],
    agent: { reloads: 2, controlBadRequests: 1, eventSubscribersDropped: 4 },
  };
}

export interface Family {
  type: string;
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** Parses the Prometheus text format enough to compare families, labels and values. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (name: string) => {
    let family = families.get(name);
    if (!family) families.set(name, (family = { type: '', help: '', samples: [] }));
    return family;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const family = familyOf(meta[2] as string);
      if (meta[1] === 'HELP') family.help = meta[3] as string;
      else family.type = meta[3] as string;
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(sample, `not a sample line: ${line}`);
    const name = sample[1] as string;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[key as string] = value as string;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const family = families.has(name) ? familyOf(name) : families.has(base) ? familyOf(base) : familyOf(name);
    family.samples.push({ name, labels, value: Number(sample[3]) });
  }
  return families;
}

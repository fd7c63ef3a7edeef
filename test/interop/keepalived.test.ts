/**
 * Interop with keepalived 2.2 (Debian's package) as the other box: for VRRPv2 (with and without PASS auth),
 * VRRPv3 over IPv4 and IPv6, VRRPv3 IPv4 unicast and VRRPv2 IPv4 unicast with PASS auth, both roles each way. One config text drives both daemons
 * (only the priority differs; in unicast mode the source and the peer swap too). Checked each time: the right
 * box wins the election, holds the VIPs (and the other does not), there is never a dual MASTER after
 * convergence, a SIGTERM of the MASTER hands over to the other box (sooner than Master_Down_Interval), and tandem's
 * receive counters show the adverts it took and no discards. A mismatched auth_pass is counted and leaves both
 * MASTER.
 *
 * Each variant gets its own lab: a bridge, namespace `tandem` (192.0.2.1, 2001:db8::1) and namespace `kad`
 * (192.0.2.2, 2001:db8::2), both on eth0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AgentProcess, startAgent } from '../helpers/agents.js';
import {
  type KeepalivedProcess,
  addressesOn,
  keepalivedVersion,
  startKeepalived,
} from '../helpers/keepalived.js';
import { type Lab, type Port, requireRoot, waitFor, withLab } from '../helpers/netns.js';
import { formatAddress } from '../../src/vrrp/address.js';
import { decode } from '../../src/vrrp/packet.js';

const INSTANCE = 'VI_1';
const IFNAME = 'eth0';
const HIGH_PRIORITY = 200;
const LOW_PRIORITY = 100;
/** RFC 3768 §6.1, RFC 5798 §6.1: Master_Down_Interval is three advert intervals plus Skew_Time. */
const MASTER_DOWN_ADVERTS = 3;
/** Receive discards that mean the two implementations disagree on the wire format for a matching config. */
const WIRE_DISAGREEMENTS = ['address-mismatch', 'auth-mismatch', 'auth-type-mismatch', 'bad-checksum'];

/**
 * What keepalived 2.2 logs when its receive checks reject an advert (vrrp.c: vrrp_check_packet and the checks
 * around it), each as "(INSTANCE) MESSAGE" or "(INSTANCE): MESSAGE". Matched against the message of a line that
 * names an instance, never against a whole line: keepalived also logs its command line, wrapped over several
 * lines, and a temporary path in it can hold any word.
 */
const KEEPALIVED_REJECTIONS = [
  /^vrrp packet too (short|long)/,
  /^invalid TTL\/HL/,
  /^TTL\/HL \d+ not in range/,
  /^wrong version/,
  /^Invalid auth type/,
  /^received a \d+ auth, expecting/,
  /^received an invalid passwd/,
  /^advertisement interval mismatch/,
  /^Invalid packet type/,
  /^received an unexpected ip number count/,
  /^Invalid VRRPv[23] checksum/,
  /^Checksum ERROR/,
  /^Expected \w+icast packet but received/,
  /^expected \d+ VIPs but received/,
  /^ip address associated with VRID \d+ not present/,
  /^Received AH header but auth type not AH/,
  /^IPSEC-AH : invalid/,
];

/** "(VI_1) Entering MASTER STATE" -> { instance: 'VI_1', message: 'Entering MASTER STATE' }; else undefined. */
function instanceMessage(text: string): { instance: string; message: string } | undefined {
  const match = /^\(([^)\s]+)\):? (.*)$/.exec(text);
  return match ? { instance: match[1] as string, message: match[2] as string } : undefined;
}

/** The receive-check rejections among keepalived's log lines (without their timestamps). */
function keepalivedRejections(lines: string[]): string[] {
  return lines.filter((text) => {
    const parsed = instanceMessage(text);
    return parsed !== undefined && KEEPALIVED_REJECTIONS.some((pattern) => pattern.test(parsed.message));
  });
}

type Box = 'tandem' | 'kad';

const HOST_ADDRESSES: Record<Box, { v4: string; v6: string }> = {
  tandem: { v4: '192.0.2.1', v6: '2001:db8::1' },
  kad: { v4: '192.0.2.2', v6: '2001:db8::2' },
};

interface ConfigOptions {
  priority: number;
  /** Overrides the variant's auth_pass (the negative case). */
  authPass?: string;
}

interface Variant {
  name: string;
  version: 2 | 3;
  family: 4 | 6;
  advertSeconds: number;
  /** VIP addresses as `ip -j addr` shows them (no prefix length). */
  vips: string[];
  /** Where tandem's adverts go: the group, or keepalived's address in unicast mode. */
  tandemAdvertDestination: string;
  config(box: Box, options: ConfigOptions): string;
}

interface InstanceText {
  version: 2 | 3;
  vrid: number;
  advertInt: string;
  vips: string[];
  authPass?: string;
  unicast?: { source: string; peer: string };
}

/** A keepalived.conf both daemons read; the same text for both but for the priority (and unicast direction). */
function keepalivedConf(instance: InstanceText, priority: number): string {
  const lines = [
    'global_defs {',
    `    vrrp_version ${instance.version}`,
    '}',
    '',
    `vrrp_instance ${INSTANCE} {`,
    `    interface ${IFNAME}`,
    `    virtual_router_id ${instance.vrid}`,
    `    priority ${priority}`,
    `    advert_int ${instance.advertInt}`,
  ];
  if (instance.authPass !== undefined) {
    lines.push(
      '    authentication {',
      '        auth_type PASS',
      `        auth_pass ${instance.authPass}`,
      '    }',
    );
  }
  if (instance.unicast) {
    lines.push(
      `    unicast_src_ip ${instance.unicast.source}`,
      '    unicast_peer {',
      `        ${instance.unicast.peer}`,
      '    }',
    );
  }
  lines.push('    virtual_ipaddress {', ...instance.vips.map((vip) => `        ${vip}`), '    }', '}', '');
  return lines.join('\n');
}

function other(box: Box): Box {
  return box === 'tandem' ? 'kad' : 'tandem';
}

const VARIANTS: Variant[] = [
  {
    name: 'VRRPv2, no authentication',
    version: 2,
    family: 4,
    advertSeconds: 1,
    vips: ['192.0.2.100', '192.0.2.101'],
    tandemAdvertDestination: '224.0.0.18',
    config: (_box, { priority }) =>
      keepalivedConf(
        { version: 2, vrid: 51, advertInt: '1', vips: ['192.0.2.100/24', '192.0.2.101/24'] },
        priority,
      ),
  },
  {
    name: 'VRRPv2, PASS authentication',
    version: 2,
    family: 4,
    advertSeconds: 1,
    vips: ['192.0.2.110'],
    tandemAdvertDestination: '224.0.0.18',
    config: (_box, { priority, authPass }) =>
      keepalivedConf(
        { version: 2, vrid: 52, advertInt: '1', vips: ['192.0.2.110/24'], authPass: authPass ?? 'secret12' },
        priority,
      ),
  },
  {
    name: 'VRRPv3 over IPv4',
    version: 3,
    family: 4,
    advertSeconds: 1,
    vips: ['192.0.2.120', '192.0.2.121'],
    tandemAdvertDestination: '224.0.0.18',
    config: (_box, { priority }) =>
      keepalivedConf(
        { version: 3, vrid: 53, advertInt: '1', vips: ['192.0.2.120/24', '192.0.2.121/24'] },
        priority,
      ),
  },
  {
    name: 'VRRPv3 over IPv6',
    version: 3,
    family: 6,
    advertSeconds: 1,
    // RFC 5798 §5.2.9: the link-local VIP first.
    vips: ['fe80::54', '2001:db8::120'],
    tandemAdvertDestination: 'ff02::12',
    config: (_box, { priority }) =>
      keepalivedConf(
        { version: 3, vrid: 54, advertInt: '1', vips: ['fe80::54/64', '2001:db8::120/64'] },
        priority,
      ),
  },
  {
    name: 'VRRPv3 over IPv4 unicast',
    version: 3,
    family: 4,
    advertSeconds: 1,
    vips: ['192.0.2.150'],
    tandemAdvertDestination: HOST_ADDRESSES.kad.v4,
    config: (box, { priority }) =>
      keepalivedConf(
        {
          version: 3,
          vrid: 57,
          advertInt: '1',
          vips: ['192.0.2.150/24'],
          unicast: { source: HOST_ADDRESSES[box].v4, peer: HOST_ADDRESSES[other(box)].v4 },
        },
        priority,
      ),
  },
  {
    // keepalived's defaults with the usual HAProxy-pair additions: the pair docs/migrating.md swaps box by box.
    name: 'VRRPv2 over IPv4 unicast, PASS authentication',
    version: 2,
    family: 4,
    advertSeconds: 1,
    vips: ['192.0.2.160'],
    tandemAdvertDestination: HOST_ADDRESSES.kad.v4,
    config: (box, { priority }) =>
      keepalivedConf(
        {
          version: 2,
          vrid: 58,
          advertInt: '1',
          vips: ['192.0.2.160/24'],
          authPass: 'secret12',
          unicast: { source: HOST_ADDRESSES[box].v4, peer: HOST_ADDRESSES[other(box)].v4 },
        },
        priority,
      ),
  },
];

interface Pair {
  lab: Lab;
  ns: Record<Box, string>;
  ports: Record<Box, Port>;
}

async function pairLab(lab: Lab): Promise<Pair> {
  const sw = await lab.bridge('sw');
  const ns = { tandem: await lab.namespace('tandem'), kad: await lab.namespace('kad') };
  const ports: Partial<Record<Box, Port>> = {};
  for (const box of ['tandem', 'kad'] as const) {
    // No DAD: the link-local address adverts go out from is usable as soon as the link is up.
    await lab.sysctl(ns[box], 'net.ipv6.conf.default.accept_dad', '0');
    ports[box] = await lab.connect(ns[box], sw, {
      ifname: IFNAME,
      addresses: [`${HOST_ADDRESSES[box].v4}/24`, `${HOST_ADDRESSES[box].v6}/64`],
    });
    await waitFor(
      async () =>
        (
          await lab.exec(ns[box], ['ip', '-6', 'addr', 'show', 'dev', IFNAME, 'scope', 'link', '-tentative'])
        ).stdout.includes('fe80::'),
      { message: `a usable IPv6 link-local address in ${box}` },
    );
  }
  return { lab, ns, ports: ports as Record<Box, Port> };
}

/** Skew_Time (RFC 3768 §6.1, RFC 5798 §6.1) in ms for `priority` and an advert interval in seconds. */
function skewTimeMs(priority: number, advertSeconds: number): number {
  return ((256 - priority) * advertSeconds * 1000) / 256;
}

/**
 * A takeover after a priority-0 advert is due after Skew_Time (RFC 3768 §6.4.2, RFC 5798 §6.4.2); without one
 * it would come after Master_Down_Interval. Taking over sooner than that is what shows the handover worked,
 * however loaded the machine is (how much sooner is measured and reported, not asserted).
 */
function assertHandover(takeoverMs: number, variant: Variant, who: string): void {
  const masterDownMs =
    MASTER_DOWN_ADVERTS * variant.advertSeconds * 1000 + skewTimeMs(LOW_PRIORITY, variant.advertSeconds);
  assert.ok(
    takeoverMs < masterDownMs,
    `${who} took over ${takeoverMs} ms after the SIGTERM: a handover, sooner than Master_Down_Interval (${masterDownMs} ms)`,
  );
}

async function holdsVips(pair: Pair, box: Box, variant: Variant): Promise<boolean> {
  const addresses = await addressesOn(pair.lab, pair.ns[box], IFNAME);
  return variant.vips.every((vip) => addresses.includes(vip));
}

async function holdsNoVip(pair: Pair, box: Box, variant: Variant): Promise<boolean> {
  const addresses = await addressesOn(pair.lab, pair.ns[box], IFNAME);
  return variant.vips.every((vip) => !addresses.includes(vip));
}

/** Waits until `master` holds every VIP and `backup` none. */
async function waitForVips(pair: Pair, variant: Variant, master: Box): Promise<void> {
  await waitFor(
    async () => (await holdsVips(pair, master, variant)) && (await holdsNoVip(pair, other(master), variant)),
    { timeoutMs: 5000, message: `the VIPs on ${master} only` },
  );
}

/**
 * Samples both states and both address lists over two advert intervals, counted in the adverts tandem sent
 * or heard (the master's, whichever it is), at least five times: exactly one MASTER, `master`, and the VIPs
 * on it alone, every time.
 */
async function assertStableMaster(
  pair: Pair,
  variant: Variant,
  tandem: AgentProcess,
  kad: KeepalivedProcess,
  master: Box,
): Promise<void> {
  const adverts = async () => {
    const { counters } = await tandem.instance(INSTANCE);
    return (counters.advertsSent as number) + (counters.advertsReceived as number);
  };
  const start = await adverts();
  const deadline = Date.now() + 10 * variant.advertSeconds * 1000 + 5000;
  let samples = 0;
  while (samples < 5 || (await adverts()) < start + 2) {
    assert.ok(Date.now() < deadline, `two adverts seen within ${deadline} (sample ${samples})`);
    const tandemState = (await tandem.instance(INSTANCE)).state;
    const kadState = kad.state(INSTANCE);
    assert.ok(
      !(tandemState === 'MASTER' && kadState === 'MASTER'),
      `dual MASTER after convergence (sample ${samples})`,
    );
    assert.deepEqual(
      { tandem: tandemState, kad: kadState },
      master === 'tandem' ? { tandem: 'MASTER', kad: 'BACKUP' } : { tandem: 'BACKUP', kad: 'MASTER' },
      `states at sample ${samples}`,
    );
    assert.ok(await holdsVips(pair, master, variant), `${master} holds the VIPs at sample ${samples}`);
    assert.ok(
      await holdsNoVip(pair, other(master), variant),
      `${other(master)} holds no VIP at sample ${samples}`,
    );
    samples++;
  }
}

interface WireAdvert {
  source: string;
  destination: string;
  ttl: number;
  payload: Buffer;
}

/** The IP header fields and VRRP payload of one captured Ethernet frame. */
function wireAdvert(frame: Buffer): WireAdvert {
  const etherType = frame.readUInt16BE(12);
  const ip = frame.subarray(14);
  if (etherType === 0x0800) {
    const headerLength = ((ip[0] as number) & 0x0f) * 4;
    return {
      source: formatAddress(4, ip, 12),
      destination: formatAddress(4, ip, 16),
      ttl: ip[8] as number,
      payload: ip.subarray(headerLength, ip.readUInt16BE(2)),
    };
  }
  assert.equal(etherType, 0x86dd, 'an IPv4 or IPv6 frame');
  return {
    source: formatAddress(6, ip, 8),
    destination: formatAddress(6, ip, 24),
    ttl: ip[7] as number,
    payload: ip.subarray(40, 40 + ip.readUInt16BE(4)),
  };
}

/**
 * Captures two of tandem's adverts as keepalived's box receives them and checks what keepalived relies on: the
 * source is the address tandem reports (its primary IPv4 or its own link-local address, never a VIP), the
 * destination is the group or the unicast peer, TTL / hop limit 255, the checksum verifies against the
 * headers as sent, and the advert carries the configured version and priority.
 */
async function assertTandemAdverts(pair: Pair, variant: Variant, tandem: AgentProcess): Promise<void> {
  const protocol = variant.family === 4 ? 'ip proto 112' : 'ip6 proto 112';
  const capture = pair.lab.capture(
    pair.ns.kad,
    IFNAME,
    `ether src ${pair.ports.tandem.mac} and ${protocol}`,
    2,
  );
  await capture.ready;
  const adverts = (await capture.frames).map((frame) => wireAdvert(frame));
  const { sourceAddress } = await tandem.instance(INSTANCE);
  if (variant.family === 4) assert.equal(sourceAddress, HOST_ADDRESSES.tandem.v4);
  else assert.match(sourceAddress, /^fe80::/);
  const destination = variant.tandemAdvertDestination;
  for (const advert of adverts) {
    assert.deepEqual(
      { source: advert.source, destination: advert.destination, ttl: advert.ttl },
      { source: sourceAddress, destination, ttl: 255 },
      'advert IP header',
    );
    assert.ok(!variant.vips.includes(advert.source), `the source ${advert.source} is not a VIP`);
    const decoded = decode(advert.payload, {
      family: variant.family,
      pseudoHeader: { source: advert.source, destination: advert.destination },
    });
    assert.ok(decoded.ok, `tandem's advert decodes: ${JSON.stringify(decoded)}`);
    assert.equal(decoded.value.version, variant.version);
    assert.equal(decoded.value.priority, HIGH_PRIORITY);
    if (variant.version === 3) assert.equal(decoded.value.checksumMode, 'pseudo-header');
  }
}

function assertKeepalivedAccepted(kad: KeepalivedProcess, context: string): void {
  assert.deepEqual(
    keepalivedRejections(kad.linesMatching(/./)),
    [],
    `${context}: keepalived rejected no advert`,
  );
}

function assertNoWireDisagreement(counters: Record<string, unknown>, context: string): void {
  const discarded = counters.discarded as Record<string, number>;
  for (const reason of WIRE_DISAGREEMENTS) {
    assert.equal(
      discarded[reason] ?? 0,
      0,
      `${context}: no '${reason}' discards (counters: ${JSON.stringify(counters)})`,
    );
  }
  // The table lists every reason from zero: none may have counted anything.
  assert.deepEqual(
    Object.entries(discarded).filter(([, count]) => count > 0),
    [],
    `${context}: no discards at all (counters: ${JSON.stringify(counters)})`,
  );
}

/** tandem has the higher priority: it wins; SIGTERM hands over to keepalived. Returns keepalived's takeover ms. */
async function tandemMaster(pair: Pair, variant: Variant): Promise<number> {
  const tandem = await startAgent(
    pair.lab,
    pair.ns.tandem,
    variant.config('tandem', { priority: HIGH_PRIORITY }),
    'tandem',
  );
  const kad = await startKeepalived(
    pair.lab,
    pair.ns.kad,
    variant.config('kad', { priority: LOW_PRIORITY }),
    'kad',
  );
  await tandem.waitForState(INSTANCE, 'MASTER');
  await kad.waitForState(INSTANCE, 'BACKUP');
  await waitForVips(pair, variant, 'tandem');
  await assertStableMaster(pair, variant, tandem, kad, 'tandem');
  assert.equal(kad.transitionTime(INSTANCE, 'MASTER', 0), undefined, 'keepalived was never MASTER');

  await assertTandemAdverts(pair, variant, tandem);
  const status = await tandem.instance(INSTANCE);
  assert.ok((status.counters.advertsSent as number) > 0, 'tandem sent adverts');
  assertNoWireDisagreement(status.counters, 'tandem as MASTER');
  assertKeepalivedAccepted(kad, 'keepalived as BACKUP');

  const since = Date.now();
  assert.equal(await tandem.stop(), 0, 'tandem exits 0 on SIGTERM');
  await kad.waitForState(INSTANCE, 'MASTER', 5000);
  assert.notDeepEqual(
    kad.linesMatching(/Backup received priority 0 advertisement/, since),
    [],
    "keepalived took tandem's priority-0 advert",
  );
  assertKeepalivedAccepted(kad, 'keepalived after the handover');
  const takeoverMs = (kad.transitionTime(INSTANCE, 'MASTER', since) as number) - since;
  assertHandover(takeoverMs, variant, 'keepalived');
  await waitForVips(pair, variant, 'kad');
  assert.equal(await kad.stop(), 0, 'keepalived exits 0 on SIGTERM');
  return takeoverMs;
}

/** keepalived has the higher priority: it wins; its SIGTERM (priority 0) hands over to tandem. */
async function keepalivedMaster(pair: Pair, variant: Variant): Promise<number> {
  const kad = await startKeepalived(
    pair.lab,
    pair.ns.kad,
    variant.config('kad', { priority: HIGH_PRIORITY }),
    'kad',
  );
  const tandem = await startAgent(
    pair.lab,
    pair.ns.tandem,
    variant.config('tandem', { priority: LOW_PRIORITY }),
    'tandem',
  );
  await kad.waitForState(INSTANCE, 'MASTER');
  await tandem.waitForState(INSTANCE, 'BACKUP');
  await waitForVips(pair, variant, 'kad');
  const kadAddress = variant.family === 4 ? HOST_ADDRESSES.kad.v4 : undefined;
  await waitFor(
    async () => {
      const status = await tandem.instance(INSTANCE);
      return (status.counters.advertsReceived as number) > 0 && status.masterAddress !== null;
    },
    { message: 'tandem counts adverts from keepalived' },
  );
  await assertStableMaster(pair, variant, tandem, kad, 'kad');
  assert.equal(tandem.transitionTime(INSTANCE, 'MASTER', 0), undefined, 'tandem was never MASTER');

  const status = await tandem.instance(INSTANCE);
  assert.ok((status.counters.advertsReceived as number) > 0, 'tandem received keepalived adverts');
  if (kadAddress) assert.equal(status.masterAddress, kadAddress, 'tandem knows keepalived as the master');
  else {
    assert.match(
      String(status.masterAddress),
      /^fe80::/,
      'the IPv6 master is known by its link-local address',
    );
    assert.ok(!variant.vips.includes(String(status.masterAddress)), 'not by a VIP');
  }
  assertNoWireDisagreement(status.counters, 'tandem as BACKUP');
  assertKeepalivedAccepted(kad, 'keepalived as MASTER');

  const since = Date.now();
  assert.equal(await kad.stop(), 0, 'keepalived exits 0 on SIGTERM');
  await tandem.waitForState(INSTANCE, 'MASTER', 5000);
  const takeoverMs = (tandem.transitionTime(INSTANCE, 'MASTER', since) as number) - since;
  assertHandover(takeoverMs, variant, 'tandem');
  const after = await tandem.instance(INSTANCE);
  assert.ok((after.counters.priorityZeroReceived as number) > 0, 'tandem saw the priority-0 advert');
  assert.deepEqual(
    { from: after.lastTransition?.from, to: after.lastTransition?.to },
    { from: 'BACKUP', to: 'MASTER' },
  );
  await waitForVips(pair, variant, 'tandem');
  assert.equal(await tandem.stop(), 0, 'tandem exits 0 on SIGTERM');
  return takeoverMs;
}

test("keepalived's log is read by structure: its wrapped command line is not a rejected advert", () => {
  const lines = [
    "Command line: 'keepalived' '-n' '-l' '-D' '-G' '-P' '-f'",
    "              '/tmp/tandem-keepalived-kad-TTLbad/keepalived.conf' '-p'",
    "              '/tmp/tandem-keepalived-kad-wrongX/invalid.pid' '-r'",
    '(VI_1) Entering BACKUP STATE (init)',
    '(VI_1) received lower priority (100) advert from 192.0.2.1 - discarding',
    '(VI_1) received an invalid passwd!',
    '(VI_1): Checksum ERROR to 224.0.0.18, checksum: pkt 0x1, calc 0x2 acc 0x3, previous acc 0x4',
    '(VI_1) ip address associated with VRID 51 not present in MASTER advert: 192.0.2.100',
  ];
  assert.deepEqual(keepalivedRejections(lines), lines.slice(5));
});

test('keepalived is installed (Debian 2.2)', () => {
  assert.match(keepalivedVersion(), /^Keepalived v2\.2\./);
});

for (const variant of VARIANTS) {
  test(`interop with keepalived: ${variant.name}`, async (t) => {
    requireRoot();
    await withLab(async (lab) => {
      const pair = await pairLab(lab);
      const kadTakeover = await tandemMaster(pair, variant);
      const tandemTakeover = await keepalivedMaster(pair, variant);
      t.diagnostic(`takeover after SIGTERM: keepalived ${kadTakeover} ms, tandem ${tandemTakeover} ms`);
    });
  });
}

test('interop with keepalived: a different auth_pass is counted and leaves both MASTER', async () => {
  requireRoot();
  const variant = VARIANTS[1] as Variant;
  await withLab(async (lab) => {
    const pair = await pairLab(lab);
    const tandem = await startAgent(
      lab,
      pair.ns.tandem,
      variant.config('tandem', { priority: HIGH_PRIORITY, authPass: 'secret12' }),
      'tandem',
    );
    const kad = await startKeepalived(
      lab,
      pair.ns.kad,
      variant.config('kad', { priority: LOW_PRIORITY, authPass: 'other123' }),
      'kad',
    );
    await tandem.waitForState(INSTANCE, 'MASTER');
    await kad.waitForState(INSTANCE, 'MASTER');
    await waitFor(
      async () => {
        const discarded = (await tandem.instance(INSTANCE)).counters.discarded as Record<string, number>;
        return (discarded['auth-mismatch'] ?? 0) > 0;
      },
      { message: "tandem counts keepalived's adverts as 'auth-mismatch'" },
    );
    const status = await tandem.instance(INSTANCE);
    assert.equal(status.state, 'MASTER');
    assert.equal(status.counters.advertsReceived, 0, 'no advert with the wrong password was taken');
    await waitFor(
      () =>
        keepalivedRejections(kad.linesMatching(/./)).some((text) =>
          text.includes('received an invalid passwd'),
        ),
      {
        message: "keepalived rejects tandem's adverts for their password too",
      },
    );
    assert.ok(await holdsVips(pair, 'tandem', variant), 'tandem holds the VIP');
    assert.ok(
      await holdsVips(pair, 'kad', variant),
      'keepalived holds the VIP too (that is what a mismatch does)',
    );
  });
});

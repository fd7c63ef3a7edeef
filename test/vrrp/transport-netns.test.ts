/**
 * The VRRP transport on a real (namespaced) segment: what goes on the wire when tandem sends an advert. The IPv6
 * case that matters is a link-local VIP on the interface (RFC 5798 §5.2.9 puts one first): the kernel's source
 * address selection picks it for ff02::12, while the advert must come from the router's own link-local
 * address (RFC 5798 §5.1.2.1), with hop limit 255 and a checksum over the pseudo-header actually sent.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { formatAddress } from '../../src/vrrp/address.js';
import { decode } from '../../src/vrrp/packet.js';
import { type Lab, requireRoot, waitFor, withLab } from '../helpers/netns.js';

interface Fixture {
  source: string;
  destination: string;
  vrrpHex: string;
}

function fixture(name: string): Fixture {
  return JSON.parse(
    readFileSync(new URL(`../fixtures/keepalived/${name}.json`, import.meta.url), 'utf8'),
  ) as Fixture;
}

interface Ipv6Frame {
  trafficClass: number;
  hopLimit: number;
  source: string;
  destination: string;
  payload: Buffer;
}

function ipv6Frame(frame: Buffer): Ipv6Frame {
  assert.equal(frame.readUInt16BE(12), 0x86dd, 'an IPv6 frame');
  const ip = frame.subarray(14);
  return {
    trafficClass: (ip.readUInt32BE(0) >>> 20) & 0xff,
    hopLimit: ip[7] as number,
    source: formatAddress(6, ip, 8),
    destination: formatAddress(6, ip, 24),
    payload: ip.subarray(40, 40 + ip.readUInt16BE(4)),
  };
}

async function linkLocal(lab: Lab, ns: string, ifname: string, except: string): Promise<string> {
  return waitFor(
    async () => {
      const [link] = (await lab.execJson(ns, ['ip', '-6', '-j', 'addr', 'show', 'dev', ifname])) as {
        addr_info: { local: string; scope: string; tentative?: boolean }[];
      }[];
      return link?.addr_info.find(
        (address) => address.scope === 'link' && !address.tentative && address.local !== except,
      )?.local;
    },
    { message: `the link-local address of ${ifname}` },
  );
}

test('an IPv6 advert leaves from the given link-local address, not a link-local VIP, with hop limit 255', async () => {
  requireRoot();
  const { vrrpHex } = fixture('v3-ipv6');
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const nsA = await lab.namespace('a');
    const nsB = await lab.namespace('b');
    await lab.sysctl(nsA, 'net.ipv6.conf.default.accept_dad', '0');
    const a = await lab.connect(nsA, sw, { addresses: ['2001:db8::1/64'] });
    const b = await lab.connect(nsB, sw, { addresses: ['2001:db8::2/64'] });
    const own = await linkLocal(lab, nsA, a.ifname, 'fe80::54');
    // The VIP, as the VIP manager adds it; the kernel now prefers it as the source towards ff02::12.
    await lab.exec(nsA, ['ip', 'addr', 'add', 'fe80::54/64', 'dev', a.ifname, 'nodad']);

    const capture = lab.capture(nsB, b.ifname, 'ip6 proto 112', 2);
    await capture.ready;
    const send = (source: string) =>
      lab.exec(
        nsA,
        lab.nodeArgv('test/vrrp/fixtures/transport-send.ts', a.ifname, '6', 'ff02::12', source, vrrpHex),
      );
    assert.deepEqual(JSON.parse((await send(own)).stdout), { sent: true });
    assert.deepEqual(JSON.parse((await send('-')).stdout), { sent: true });
    const [withSource, kernelChoice] = (await capture.frames).map((frame) => ipv6Frame(frame));
    assert.ok(withSource && kernelChoice);

    assert.equal(withSource.source, own, 'the advert comes from the interface link-local address');
    assert.equal(withSource.destination, 'ff02::12');
    assert.equal(withSource.hopLimit, 255, 'RFC 5798 §5.1.2.3: hop limit 255');
    assert.equal(withSource.trafficClass, 0xc0, 'traffic class internetwork control, as keepalived sends');
    const decoded = decode(withSource.payload, {
      family: 6,
      pseudoHeader: { source: withSource.source, destination: withSource.destination },
    });
    assert.ok(decoded.ok, `the checksum verifies against the header sent: ${JSON.stringify(decoded)}`);
    assert.equal(decoded.value.priority, 120);

    // Without a source the kernel chooses, and it chooses the VIP: why callers must pass the source.
    assert.equal(kernelChoice.source, 'fe80::54');
    assert.equal(kernelChoice.hopLimit, 255);
    // Either way the kernel checksums over the pseudo-header it really sent (IPV6_CHECKSUM).
    assert.ok(
      decode(kernelChoice.payload, {
        family: 6,
        pseudoHeader: { source: kernelChoice.source, destination: 'ff02::12' },
      }).ok,
    );
  });
});

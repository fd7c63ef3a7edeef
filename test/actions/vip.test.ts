import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  NetlinkError,
  type AddressSpec,
  type NetlinkEvent,
  type RtNetlink,
  type SubscribeOptions,
} from '../../src/actions/netlink.js';
import { VipManager } from '../../src/actions/vip.js';

/** An in-memory kernel: enough of rtnetlink for VipManager, with failures on demand. */
class FakeNetlink implements RtNetlink {
  readonly addresses = new Map<string, AddressSpec>();
  readonly calls: string[] = [];
  failAdd = new Set<string>();
  subscriber: SubscribeOptions | undefined;

  async listLinks() {
    return [
      { name: 'eth0', index: 2, mac: '52:54:00:12:34:56', up: true, lowerUp: true, operstate: 'up' as const },
    ];
  }
  async linkByName(name: string) {
    const link = (await this.listLinks()).find((candidate) => candidate.name === name);
    assert.ok(link);
    return link;
  }
  async listAddresses() {
    return [...this.addresses.values()].map((spec) => ({
      ifindex: spec.ifindex,
      family: spec.address.includes(':') ? (6 as const) : (4 as const),
      address: spec.address,
      prefixLength: spec.prefixLength,
      scope: 0,
      secondary: false,
      tentative: false,
      nodad: spec.nodad === true,
    }));
  }
  async addAddress(spec: AddressSpec) {
    this.calls.push(`add ${spec.address}`);
    if (this.failAdd.has(spec.address))
      throw new NetlinkError('adding', new Error('Request rejected: EINVAL'));
    if (this.addresses.has(spec.address))
      throw new NetlinkError('adding', new Error('Request rejected: EEXIST'));
    this.addresses.set(spec.address, spec);
  }
  async deleteAddress(spec: AddressSpec) {
    this.calls.push(`del ${spec.address}`);
    if (!this.addresses.delete(spec.address)) {
      throw new NetlinkError('deleting', new Error('Request rejected: EADDRNOTAVAIL'));
    }
  }
  async listRoutes() {
    return [];
  }
  async addRoute() {}
  async deleteRoute() {}
  async listRules() {
    return [];
  }
  async addRule() {}
  async deleteRule() {}
  subscribe(options: SubscribeOptions) {
    this.subscriber = options;
    return { close: () => (this.subscriber = undefined) };
  }
  close() {}
  /** Removes an address "from outside" and delivers the event. */
  removeFromOutside(address: string) {
    const spec = this.addresses.get(address);
    assert.ok(spec);
    this.addresses.delete(address);
    const event: NetlinkEvent = {
      kind: 'address',
      action: 'del',
      address: {
        ifindex: spec.ifindex,
        family: address.includes(':') ? 6 : 4,
        address,
        prefixLength: spec.prefixLength,
        scope: 0,
        secondary: false,
        tentative: false,
        nodad: false,
      },
    };
    this.subscriber?.onEvent(event);
  }
}

function recordingLogger() {
  const lines: { level: string; message: string | undefined }[] = [];
  const log = (level: string) => (_object: object, message?: string) => lines.push({ level, message });
  return { lines, logger: { info: log('info'), warn: log('warn'), error: log('error') } };
}

describe('VipManager', () => {
  test('rejects a bad scope, a bad address or a mixed-family rule when constructed', () => {
    const { logger } = recordingLogger();
    const netlink = new FakeNetlink();
    const make = (options: Partial<ConstructorParameters<typeof VipManager>[0]>) =>
      new VipManager({ netlink, logger, interface: 'eth0', vips: [], ...options });
    assert.throws(() => make({ vips: [{ address: '192.0.2.1', prefixLength: 24, scope: 'galaxy' }] }), {
      code: 'TANDEM_EVIPCONFIG',
    });
    assert.throws(() => make({ vips: [{ address: '192.0.2.300', prefixLength: 24 }] }), {
      code: 'TANDEM_EADDRESS',
    });
    assert.throws(
      () =>
        make({
          rules: [
            {
              from: { address: '192.0.2.1', prefixLength: 32 },
              to: { address: '2001:db8::1', prefixLength: 128 },
              table: 1,
            },
          ],
        }),
      { code: 'TANDEM_EVIPCONFIG' },
    );
  });

  test('one VIP failing does not stop the others, and the failure is reported and logged', async () => {
    const { lines, logger } = recordingLogger();
    const netlink = new FakeNetlink();
    netlink.failAdd.add('192.0.2.100');
    const manager = new VipManager({
      netlink,
      logger,
      interface: 'eth0',
      vips: [
        { address: '192.0.2.100', prefixLength: 24 },
        { address: '192.0.2.101', prefixLength: 24 },
      ],
    });
    const result = await manager.claim();
    assert.equal(result.applied, 1);
    assert.deepEqual(
      result.failed.map(({ what }) => what),
      ['address 192.0.2.100/24'],
    );
    assert.ok(netlink.addresses.has('192.0.2.101'));
    assert.ok(lines.some((line) => line.level === 'error'));
  });

  test('an event-driven restore never overtakes a release queued before it', async () => {
    const { logger } = recordingLogger();
    const netlink = new FakeNetlink();
    const manager = new VipManager({
      netlink,
      logger,
      interface: 'eth0',
      vips: [{ address: '192.0.2.100', prefixLength: 24 }],
    });
    await manager.claim();
    manager.watch();
    const release = manager.release();
    // The deletion event of our own release arrives while the release is in flight: it must not re-add.
    netlink.removeFromOutside('192.0.2.100');
    await release;
    await manager.reconcile();
    assert.equal(netlink.addresses.size, 0);
    assert.ok(!netlink.calls.slice(1).includes('add 192.0.2.100'), netlink.calls.join(', '));
  });

  test('IPv6 VIPs are added with nodad and without the IPv4-only label and broadcast', async () => {
    const { logger } = recordingLogger();
    const netlink = new FakeNetlink();
    const manager = new VipManager({
      netlink,
      logger,
      interface: 'eth0',
      vips: [{ address: '2001:db8::100', prefixLength: 64, label: 'eth0:v6', brd: '+' }],
    });
    await manager.claim();
    assert.deepEqual(netlink.addresses.get('2001:db8::100'), {
      ifindex: 2,
      address: '2001:db8::100',
      prefixLength: 64,
      nodad: true,
    });
  });
});

/**
 * `npm run bench:receive`: the receive path of a backup, in one process, without sockets: what one advert of
 * the current master costs from the batch the native addon hands JavaScript (the `readVrrpRecords` format) to
 * the re-armed Master_Down_Timer, through the same code as the daemon: `readIPv4Batch` (transport.ts), the
 * VRID demultiplexer, each instance's advert channel (the receive ladder) and its driver (`step`, the timer
 * heap). This is the common case of RFC 5798 §6.4.2 that a backup runs for every advert: "same master, re-arm".
 *
 * It prints the CPU time per advert and the bytes allocated per advert. Allocations are read as the growth of
 * the V8 heap between two forced collections while no collection ran in between (the young generation is made
 * large enough by the npm script's --max-semi-space-size; a round during which a collection ran is measured
 * again). Numbers go in docs/performance.md; nothing here asserts a time.
 */
import { Session } from 'node:inspector';
import { createTimerHeap } from '../src/core/timers.js';
import type { Logger } from '../src/core/logger.js';
import { VRRP_RECORD_HEADER_BYTES } from '../src/native.js';
import { AdvertChannel } from '../src/vrrp/advert-channel.js';
import { VridDemux } from '../src/vrrp/demux.js';
import { encode, VRRP_PROTOCOL } from '../src/vrrp/packet.js';
import { VrrpInstance } from '../src/vrrp/instance.js';
import { newInstanceCounters } from '../src/vrrp/counters.js';
import { PacketView, readIPv4Batch } from '../src/vrrp/transport.js';
import { parseIPv4 } from '../src/vrrp/address.js';

const MASTER = '192.0.2.1';
const BACKUP = '192.0.2.2';
const GROUP = '224.0.0.18';
const MASTER_PRIORITY = 150;

const silent: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
} as unknown as Logger;

const vipOf = (index: number) => `198.51.100.${index}`;

/** One IPv4 datagram of the master's advert for `vrid`, as a raw socket reads it. */
function datagram(vrid: number): Uint8Array {
  const payload = encode(
    {
      version: 3,
      family: 4,
      vrid,
      priority: MASTER_PRIORITY,
      advertIntervalCentiseconds: 10,
      addresses: [vipOf(vrid)],
      auth: { type: 'none' },
    },
    { pseudoHeader: { source: MASTER, destination: GROUP } },
  );
  const packet = new Uint8Array(20 + payload.length);
  packet[0] = 0x45;
  packet[1] = 0xc0;
  packet[2] = packet.length >> 8;
  packet[3] = packet.length & 0xff;
  packet[8] = 255;
  packet[9] = VRRP_PROTOCOL;
  packet.set(parseIPv4(MASTER) as Uint8Array, 12);
  packet.set(parseIPv4(GROUP) as Uint8Array, 16);
  packet.set(payload, 20);
  return packet;
}

/** A batch of one datagram per instance, in the addon's record format (native.ts, `forEachVrrpRecord`). */
function batchOf(count: number): Buffer {
  const records = Array.from({ length: count }, (_, index) => {
    const data = datagram(index + 1);
    const record = Buffer.alloc(VRRP_RECORD_HEADER_BYTES + data.length);
    record.writeUInt16LE(data.length, 0);
    record.set(data, VRRP_RECORD_HEADER_BYTES);
    return record;
  });
  return Buffer.concat(records);
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

export async function benchReceivePath(count: number, rounds: number) {
  const clock = createTimerHeap();
  const demux = new VridDemux();
  const instances = Array.from({ length: count }, (_, index) => {
    const vrid = index + 1;
    const counters = newInstanceCounters();
    const instance = new VrrpInstance(
      `S_${vrid}`,
      {
        version: 3,
        family: 4,
        vrid,
        priority: 100,
        advertIntervalCentiseconds: 10,
        preempt: true,
        preemptDelayMicroseconds: 0,
        primaryAddress: BACKUP,
        acceptMode: false,
        lowerPriorityNoAdvert: false,
        higherPrioritySendAdvert: false,
      },
      clock,
      {
        sendAdvert: async () => undefined,
        claimVips: async () => undefined,
        releaseVips: async () => undefined,
        announce: async () => undefined,
        notify: () => undefined,
      },
      silent,
      counters,
    );
    const channel = new AdvertChannel({
      version: 3,
      family: 4,
      vrid,
      advertIntervalCentiseconds: 10,
      addresses: [vipOf(vrid)],
      auth: { type: 'none' },
      source: BACKUP,
      destinations: [GROUP],
      receive: { skipCheckAdvAddr: false, unicastPeers: [], priority: 100 },
      counters,
      clock,
      log: silent,
      deliver: (advert, source) => instance.receive(advert, source),
    });
    channel.open({
      register: (id, handler) => void demux.register(id, handler),
      unregister: (id) => demux.unregister(id),
      send: async () => undefined,
    });
    instance.start();
    return instance;
  });
  const batch = batchOf(count);
  const deliver = (packet: Parameters<VridDemux['deliver']>[0]) => demux.deliver(packet);
  const view = new PacketView(4);
  const round = async () => {
    readIPv4Batch(batch, count, view, deliver);
    await settle();
  };
  // Warm-up: every instance BACKUP with the master learned, the code optimised.
  for (let warm = 0; warm < 200; warm++) await round();
  const states = new Set(instances.map((instance) => instance.state));
  if (states.size !== 1 || !states.has('BACKUP'))
    throw new Error(`expected every instance BACKUP, found ${[...states].join(', ')}`);

  const cpuStart = process.cpuUsage();
  for (let index = 0; index < rounds; index++) await round();
  const cpu = process.cpuUsage(cpuStart);
  const cpuNanosecondsPerAdvert = ((cpu.user + cpu.system) * 1000) / (rounds * count);

  // Allocations: V8's sampling heap profiler, keeping the samples of objects already collected, so the sum is
  // what was allocated, not what survived; by function, to see who allocates.
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('HeapProfiler.startSampling', {
    samplingInterval: 64,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const measured = Math.max(1, Math.min(rounds, Math.floor(20_000 / count)));
  for (let index = 0; index < measured; index++) await round();
  const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: { head: SamplingNode } };
  session.disconnect();
  const byFunction = new Map<string, number>();
  let total = 0;
  const walk = (node: SamplingNode) => {
    total += node.selfSize;
    if (node.selfSize > 0) {
      const { functionName, url, lineNumber } = node.callFrame;
      const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(src|netns-lab)\//, '$1/')}:${lineNumber + 1}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
    }
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  const adverts = measured * count;
  const allocators = [...byFunction.entries()]
    .sort((left, right) => right[1] - left[1])
    .slice(0, 12)
    .map(([where, bytes]) => ({ where, bytesPerAdvert: bytes / adverts }));
  const bytesPerAdvert = total / adverts;
  for (const instance of instances) await instance.stop();
  const received = instances.reduce((sum, instance) => sum + instance.counters.advertsReceived, 0);
  return { count, rounds, received, cpuNanosecondsPerAdvert, bytesPerAdvert, allocators };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.argv[2] ?? 200);
  const rounds = Number(process.argv[3] ?? 2000);
  const result = await benchReceivePath(count, rounds);
  process.stdout.write(
    `receive path, ${count} instances x ${rounds} rounds (same master, re-arm): ` +
      `${Math.round(result.cpuNanosecondsPerAdvert)} ns CPU and ${Math.round(result.bytesPerAdvert)} B allocated per advert\n`,
  );
  for (const { where, bytesPerAdvert } of result.allocators)
    process.stdout.write(`  ${Math.round(bytesPerAdvert).toString().padStart(6)} B  ${where}\n`);
}

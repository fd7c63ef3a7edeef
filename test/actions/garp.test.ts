import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  GarpScheduler,
  GarpSender,
  InvalidFrameInputError,
  arpAnnouncementFrame,
  icmpv6Checksum,
  unsolicitedNeighbourAdvertFrame,
  type GarpClock,
  type PacketSocket,
} from '../../src/actions/garp.js';
import { systemClock } from '../../src/core/clock.js';

const MAC = '52:54:00:12:34:56';

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

describe('arpAnnouncementFrame', () => {
  test('is a broadcast ARP request with sender = target = VIP (golden bytes)', () => {
    const frame = arpAnnouncementFrame({ mac: MAC, ip: '192.0.2.100' });
    assert.deepEqual(
      frame,
      hex(`
        ffffffffffff 525400123456 0806
        0001 0800 06 04 0001
        525400123456 c0000264
        ffffffffffff c0000264`),
    );
  });

  test('rejects an IPv6 address and a malformed MAC', () => {
    assert.throws(() => arpAnnouncementFrame({ mac: MAC, ip: '2001:db8::1' }), InvalidFrameInputError);
    assert.throws(() => arpAnnouncementFrame({ mac: '52:54:00:12:34', ip: '192.0.2.1' }), {
      code: 'TANDEM_EADDRESS',
    });
  });
});

describe('unsolicitedNeighbourAdvertFrame', () => {
  const header = (payloadChecksum: string, flags: string, source: string) =>
    hex(`
      333300000001 525400123456 86dd
      60000000 0020 3a ff
      ${source}
      ff020000000000000000000000000001
      88 00 ${payloadChecksum} ${flags}000000
      20010db8000000000000000000000100
      02 01 525400123456`);

  test('goes to ff02::1 with hop limit 255, Override set, target link-layer option (golden bytes)', () => {
    const frame = unsolicitedNeighbourAdvertFrame({ mac: MAC, ip: '2001:db8::100' });
    assert.deepEqual(frame, header('7271', '20', '20010db8000000000000000000000100'));
  });

  test('sets the Router flag when asked', () => {
    const frame = unsolicitedNeighbourAdvertFrame({ mac: MAC, ip: '2001:db8::100', router: true });
    assert.deepEqual(frame, header('f270', 'a0', '20010db8000000000000000000000100'));
  });

  test('uses an explicit source address in the header and the checksum', () => {
    const frame = unsolicitedNeighbourAdvertFrame({
      mac: MAC,
      ip: '2001:db8::100',
      srcIp: 'fe80::5054:ff:fe12:3456',
    });
    assert.deepEqual(frame, header('1eed', '20', 'fe80000000000000505400fffe123456'));
  });

  test('checksum of the whole message including its checksum field is zero', () => {
    const frame = unsolicitedNeighbourAdvertFrame({ mac: MAC, ip: '2001:db8::100' });
    const source = frame.subarray(22, 38);
    const destination = frame.subarray(38, 54);
    const icmpSum = icmpv6Checksum(source, destination, frame.subarray(54));
    assert.equal(icmpSum, 0);
  });

  test('rejects an IPv4 target', () => {
    assert.throws(
      () => unsolicitedNeighbourAdvertFrame({ mac: MAC, ip: '192.0.2.1' }),
      InvalidFrameInputError,
    );
  });
});

class RecordingSocket implements PacketSocket {
  readonly sent: { ifindex: number; frame: Buffer }[] = [];
  failFor: Set<string> = new Set();
  send(ifindex: number, frame: Buffer): void {
    // ARP target protocol address at 38..42; NA target at 62..78.
    const isArp = frame.readUInt16BE(12) === 0x0806;
    const target = isArp ? [...frame.subarray(38, 42)].join('.') : frame.subarray(62, 78).toString('hex');
    if (this.failFor.has(target)) throw new Error('ENOBUFS');
    this.sent.push({ ifindex, frame });
  }
  close(): void {}
}

describe('GarpSender', () => {
  const iface = { name: 'eth0', index: 7, mac: MAC };

  test('sends one ARP per IPv4 VIP and one NA per IPv6 VIP on the interface', () => {
    const socket = new RecordingSocket();
    const sender = new GarpSender({
      socket,
      iface,
      vips: ['192.0.2.100', '2001:db8::100', '192.0.2.101'],
      isRouter: () => true,
    });
    const result = sender.sendRound();
    assert.deepEqual(result, { sent: 3, failed: [] });
    assert.deepEqual(
      socket.sent.map(({ ifindex }) => ifindex),
      [7, 7, 7],
    );
    assert.deepEqual(socket.sent[0]?.frame, arpAnnouncementFrame({ mac: MAC, ip: '192.0.2.100' }));
    assert.deepEqual(
      socket.sent[1]?.frame,
      unsolicitedNeighbourAdvertFrame({ mac: MAC, ip: '2001:db8::100', router: true }),
    );
    assert.deepEqual(socket.sent[2]?.frame, arpAnnouncementFrame({ mac: MAC, ip: '192.0.2.101' }));
  });

  test('a failed frame is reported and logged, and the others are still sent', () => {
    const socket = new RecordingSocket();
    socket.failFor.add('192.0.2.100');
    const warnings: object[] = [];
    const logger = { info: () => {}, warn: (object: object) => warnings.push(object), error: () => {} };
    const sender = new GarpSender({ socket, iface, vips: ['192.0.2.100', '192.0.2.101'], logger });
    const result = sender.sendRound();
    assert.equal(result.sent, 1);
    assert.deepEqual(
      result.failed.map(({ ip }) => ip),
      ['192.0.2.100'],
    );
    assert.equal(warnings.length, 1);
  });

  test('rejects a malformed VIP at construction', () => {
    assert.throws(() => new GarpSender({ socket: new RecordingSocket(), iface, vips: ['192.0.2.300'] }), {
      code: 'TANDEM_EADDRESS',
    });
  });
});

/** A manual clock: timers fire only when the test advances time. */
class FakeClock implements GarpClock {
  time = 0;
  #next = 0;
  readonly timers = new Map<number, { at: number; callback: () => void }>();
  nowMicroseconds(): number {
    return this.time;
  }
  setTimer(callback: () => void, microseconds: number): unknown {
    const handle = ++this.#next;
    this.timers.set(handle, { at: this.time + microseconds, callback });
    return handle;
  }
  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Advances to `to`, firing due timers in time order (timers armed meanwhile included). */
  advanceTo(to: number): void {
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, timer]) => timer.at <= to)
        .sort(([, a], [, b]) => a.at - b.at)[0];
      if (due === undefined) break;
      const [handle, timer] = due;
      this.timers.delete(handle);
      this.time = timer.at;
      timer.callback();
    }
    this.time = to;
  }
}

function countingSender(clock: FakeClock) {
  const rounds: number[] = [];
  return {
    rounds,
    sender: {
      sendRound: () => {
        rounds.push(clock.nowMicroseconds());
        return { sent: 1, failed: [] };
      },
    },
  };
}

describe('GarpScheduler', () => {
  test('sends a burst at once, a second burst after the delay, then nothing without refresh', () => {
    const clock = new FakeClock();
    const { rounds, sender } = countingSender(clock);
    const scheduler = new GarpScheduler({
      sender,
      clock,
      timing: { repeat: 5, delayUs: 5_000_000, refreshUs: 0, refreshRepeat: 1 },
    });
    const first = scheduler.start();
    assert.deepEqual(first, { sent: 1, failed: [] });
    assert.deepEqual(rounds, [0, 0, 0, 0, 0]);
    clock.advanceTo(4_999_999);
    assert.equal(rounds.length, 5);
    clock.advanceTo(60_000_000);
    assert.deepEqual(rounds.slice(5), [5_000_000, 5_000_000, 5_000_000, 5_000_000, 5_000_000]);
    assert.equal(clock.timers.size, 0);
  });

  test('spaces the rounds of a burst by the interval', () => {
    const clock = new FakeClock();
    const { rounds, sender } = countingSender(clock);
    const scheduler = new GarpScheduler({
      sender,
      clock,
      timing: { repeat: 3, delayUs: 0, refreshUs: 0, refreshRepeat: 1, intervalUs: 10_000 },
    });
    scheduler.start();
    clock.advanceTo(1_000_000);
    assert.deepEqual(rounds, [0, 10_000, 20_000]);
  });

  test('refreshes periodically, anchored to the start, skipping refreshes missed in a stall', () => {
    const clock = new FakeClock();
    const { rounds, sender } = countingSender(clock);
    const scheduler = new GarpScheduler({
      sender,
      clock,
      timing: { repeat: 1, delayUs: 0, refreshUs: 1_000_000, refreshRepeat: 2 },
    });
    scheduler.start();
    clock.advanceTo(2_500_000);
    assert.deepEqual(rounds, [0, 1_000_000, 1_000_000, 2_000_000, 2_000_000]);
    // A stall: the timer for 3 s fires late at 5.5 s; the 4 s and 5 s refreshes are skipped, not bunched.
    const [handle, timer] = [...clock.timers.entries()][0]!;
    clock.timers.set(handle, { ...timer, at: 5_500_000 });
    clock.advanceTo(6_500_000);
    assert.deepEqual(rounds.slice(5), [5_500_000, 5_500_000, 6_000_000, 6_000_000]);
  });

  test('stop() cancels the pending second burst and refreshes', () => {
    const clock = new FakeClock();
    const { rounds, sender } = countingSender(clock);
    const scheduler = new GarpScheduler({
      sender,
      clock,
      timing: { repeat: 2, delayUs: 5_000_000, refreshUs: 1_000_000, refreshRepeat: 1, intervalUs: 1000 },
    });
    scheduler.start();
    assert.equal(scheduler.running, true);
    scheduler.stop();
    assert.equal(scheduler.running, false);
    assert.equal(clock.timers.size, 0);
    clock.advanceTo(60_000_000);
    assert.deepEqual(rounds, [0]);
  });

  test('start() again restarts the schedule instead of doubling it', () => {
    const clock = new FakeClock();
    const { rounds, sender } = countingSender(clock);
    const scheduler = new GarpScheduler({
      sender,
      clock,
      timing: { repeat: 1, delayUs: 5_000_000, refreshUs: 0, refreshRepeat: 1 },
    });
    scheduler.start();
    clock.advanceTo(1_000_000);
    scheduler.start();
    clock.advanceTo(20_000_000);
    assert.deepEqual(rounds, [0, 1_000_000, 6_000_000]);
  });

  test("runs on the instance driver's systemClock (real timers, microseconds as numbers)", async () => {
    const rounds: number[] = [];
    const sender = {
      sendRound: () => {
        rounds.push(systemClock.nowMicroseconds());
        return { sent: 1, failed: [] };
      },
    };
    const scheduler = new GarpScheduler({
      sender,
      clock: systemClock,
      timing: { repeat: 2, delayUs: 20_000, refreshUs: 0, refreshRepeat: 1, intervalUs: 1_000 },
    });
    try {
      scheduler.start();
      const deadline = Date.now() + 5_000;
      while (rounds.length < 4 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(rounds.length, 4);
      const [first, , second] = rounds as [number, number, number, number];
      // Microseconds are read as microseconds: 20 ms (libuv may fire up to a millisecond early), not 0 or 20 s.
      assert.ok(second - first >= 18_000, `second burst ${second - first} us after the first`);
    } finally {
      scheduler.stop();
    }
  });
});

/**
 * The CARP HMAC (src/vrrp/carp-auth.ts). No OpenBSD box runs here and no published CARP test vectors were found,
 * so OpenBSD's variant is proven by golden digests derived from ip_carp.c carp_hmac_prepare_ctx /
 * carp_hmac_generate and cross-checked with a second implementation written below from that description alone:
 * explicit ipad/opad over SHA-1 (not createHmac), the C "smallest address greater than the last" loop (not a
 * sort), ifconfig's strlcpy key. ucarp's variant is proven against the real ucarp in ucarp-fixtures.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  type CounterHistory,
  type CounterPolicy,
  CarpAuthError,
  carpKey,
  checkCounter,
  createCarpAuthenticator,
} from '../../src/vrrp/carp-auth.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function sha1(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** IPv6 text to bytes for the plain forms used here (hex groups and one `::`). */
function ipv6Bytes(text: string): Buffer {
  const [head = '', tail] = text.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  all.forEach((group, index) => out.writeUInt16BE(parseInt(group, 16), index * 2));
  return out;
}

/** ip_carp.c carp_hmac_prepare_ctx + carp_hmac_generate, transcribed step by step. */
function referenceOpenbsdDigest(input: {
  passphrase: string;
  vhid: number;
  v4: string[];
  v6: string[];
  context: 'HMAC_ORIG' | 'HMAC_NOV6LL';
  lladdr?: number[];
  counterHex: string;
}): string {
  // ifconfig setcarp_passwd: strlcpy(carpr.carpr_key, val, CARP_KEY_LEN) into a zeroed 20-byte key.
  const key = Buffer.alloc(20);
  Buffer.from(input.passphrase, 'utf8').copy(key, 0, 0, 19);
  // "compute ipad from key": the key in a zeroed 64-byte pad, XOR 0x36.
  const pad = Buffer.alloc(64);
  key.copy(pad);
  const ipad = Buffer.from(pad.map((value) => value ^ 0x36));
  const inner: number[] = [...ipad, 2 /* CARP_VERSION */, 1 /* CARP_ADVERTISEMENT */];
  if (input.lladdr) inner.push(...input.lladdr);
  inner.push(input.vhid & 0xff);
  // "Hash the addresses from smallest to largest, not interface order".
  const v4 = input.v4.map((text) => text.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0));
  let last = 0;
  for (;;) {
    let cur = 0xffffffff;
    let found = false;
    for (const value of v4) {
      if (value > last && value < cur) {
        cur = value;
        found = true;
      }
    }
    if (!found) break;
    inner.push((cur >>> 24) & 0xff, (cur >>> 16) & 0xff, (cur >>> 8) & 0xff, cur & 0xff);
    last = cur;
  }
  const v6 = input.v6.flatMap((text) => {
    const bytes = ipv6Bytes(text);
    // IN6_IS_SCOPE_EMBED (link-local here): skipped in HMAC_NOV6LL, scope word cleared in HMAC_ORIG.
    if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) {
      if (input.context === 'HMAC_NOV6LL') return [];
      bytes[2] = 0;
      bytes[3] = 0;
    }
    return [bytes];
  });
  let last6: Buffer = Buffer.alloc(16, 0);
  for (;;) {
    let cur6: Buffer = Buffer.alloc(16, 0xff);
    let found = false;
    for (const bytes of v6) {
      if (Buffer.compare(bytes, last6) > 0 && Buffer.compare(bytes, cur6) < 0) {
        cur6 = bytes;
        found = true;
      }
    }
    if (!found) break;
    inner.push(...cur6);
    last6 = cur6;
  }
  inner.push(...Buffer.from(input.counterHex, 'hex'));
  const innerDigest = sha1(Buffer.from(inner));
  // "convert ipad to opad", then the outer hash.
  const opad = Buffer.from(pad.map((value) => value ^ 0x5c));
  return sha1(opad, innerDigest).toString('hex');
}

const COUNTER_HEX = '0123456789abcdef';
const COUNTER = 0x0123456789abcdefn;

interface OpenbsdCase {
  name: string;
  passphrase: string;
  vhid: number;
  v4: string[];
  v6: string[];
  lladdr?: number[];
  /** The digest OpenBSD signs with (HMAC_NOV6LL), derived once from the algorithm and frozen here. */
  golden: string;
}

const OPENBSD: OpenbsdCase[] = [
  {
    name: 'one IPv4 address (the same bytes ucarp hashes)',
    passphrase: 'mekmitasdigoat',
    vhid: 1,
    v4: ['192.0.2.10'],
    v6: [],
    golden: '3459004fa58b5993d762e466267cf9561782c989',
  },
  {
    name: 'several IPv4 addresses, out of order, one twice',
    passphrase: 'mekmitasdigoat',
    vhid: 2,
    v4: ['198.51.100.20', '192.0.2.3', '198.51.100.20', '10.0.0.1'],
    v6: [],
    golden: 'b6957a1991c4c29b92ec7dc6c6fc8dd356b9040c',
  },
  {
    name: 'IPv4 and IPv6, with a link-local address',
    passphrase: 'secret',
    vhid: 42,
    v4: ['192.0.2.42'],
    v6: ['2001:db8::42', 'fe80::42', '2001:db8::1'],
    golden: 'f97e51b539d5e34be4391ae499fc99284c2b3d56',
  },
  {
    name: 'a link-layer address set by hand',
    passphrase: 'secret',
    vhid: 7,
    v4: ['192.0.2.7'],
    v6: [],
    lladdr: [0x02, 0x00, 0x00, 0x00, 0x00, 0x07],
    golden: '4323f2159ff191205b704022559c0f83f583d6a2',
  },
  {
    name: 'a passphrase longer than 19 bytes (ifconfig keeps 19)',
    passphrase: 'a-rather-long-passphrase-indeed',
    vhid: 200,
    v4: ['203.0.113.200'],
    v6: [],
    golden: 'f11afdd9ddedbb26e953a290a7030c8feed6c3e3',
  },
];

for (const item of OPENBSD) {
  test(`OpenBSD HMAC: ${item.name}`, () => {
    const authenticator = createCarpAuthenticator({
      variant: 'openbsd',
      passphrase: item.passphrase,
      vhid: item.vhid,
      addresses: [...item.v4, ...item.v6],
      ...(item.lladdr ? { linkLayerAddress: Uint8Array.from(item.lladdr) } : {}),
    });
    const reference = (context: 'HMAC_ORIG' | 'HMAC_NOV6LL') =>
      referenceOpenbsdDigest({ ...item, context, counterHex: COUNTER_HEX });
    assert.equal(reference('HMAC_NOV6LL'), item.golden, 'the second implementation gives the golden digest');
    assert.equal(hex(authenticator.sign(COUNTER)), item.golden, 'carp_prepare_ad signs with HMAC_NOV6LL');
    assert.equal(authenticator.verify(COUNTER, Buffer.from(reference('HMAC_ORIG'), 'hex')), true);
    assert.equal(authenticator.verify(COUNTER, Buffer.from(item.golden, 'hex')), true);
    assert.equal(authenticator.verify(COUNTER + 1n, Buffer.from(item.golden, 'hex')), false);
    const flipped = Buffer.from(item.golden, 'hex');
    flipped[19] = flipped[19]! ^ 1;
    assert.equal(authenticator.verify(COUNTER, flipped), false);
    assert.equal(authenticator.verify(COUNTER, flipped.subarray(0, 19)), false);
  });
}

test('OpenBSD HMAC: a link-local address makes HMAC_ORIG differ from HMAC_NOV6LL, and both verify', () => {
  const item = OPENBSD[2]!;
  const orig = referenceOpenbsdDigest({ ...item, context: 'HMAC_ORIG', counterHex: COUNTER_HEX });
  assert.notEqual(orig, item.golden);
  // A peer that signs with its link-local address in a scope-embedded form still matches once cleared.
  const embedded = createCarpAuthenticator({
    variant: 'openbsd',
    passphrase: item.passphrase,
    vhid: item.vhid,
    addresses: ['192.0.2.42', '2001:db8::42', 'fe80:3::42', '2001:db8::1'],
  });
  assert.equal(embedded.verify(COUNTER, Buffer.from(orig, 'hex')), true);
});

test('OpenBSD HMAC: address order and zone suffixes do not matter; the address set does', () => {
  const base = { variant: 'openbsd' as const, passphrase: 'secret', vhid: 9 };
  const digest = (addresses: string[]) => hex(createCarpAuthenticator({ ...base, addresses }).sign(COUNTER));
  const reference = digest(['192.0.2.1', '192.0.2.2', '2001:db8::9']);
  assert.equal(digest(['2001:db8::9', '192.0.2.2', '192.0.2.1', '192.0.2.2']), reference);
  assert.notEqual(digest(['192.0.2.1', '2001:db8::9']), reference);
  assert.equal(
    digest(['192.0.2.1', '192.0.2.2', '2001:db8::9', 'fe80::9%eth0']),
    reference,
    'a link-local address is not signed (HMAC_NOV6LL)',
  );
});

test('OpenBSD HMAC: 0.0.0.0 and 255.255.255.255 are never hashed (the C walk starts above one, below the other)', () => {
  const base = { variant: 'openbsd' as const, passphrase: 'secret', vhid: 9 };
  const digest = (addresses: string[]) => hex(createCarpAuthenticator({ ...base, addresses }).sign(COUNTER));
  assert.equal(digest(['192.0.2.1', '0.0.0.0', '255.255.255.255']), digest(['192.0.2.1']));
  assert.equal(
    digest(['192.0.2.1', '0.0.0.0', '255.255.255.255']),
    referenceOpenbsdDigest({
      passphrase: 'secret',
      vhid: 9,
      v4: ['192.0.2.1', '0.0.0.0', '255.255.255.255'],
      v6: [],
      context: 'HMAC_NOV6LL',
      counterHex: COUNTER_HEX,
    }),
  );
});

test('with one IPv4 address and the default link-layer address, OpenBSD and ucarp sign alike', () => {
  const options = { passphrase: 'mekmitasdigoat', vhid: 1, addresses: ['192.0.2.10'] };
  const openbsd = createCarpAuthenticator({ ...options, variant: 'openbsd' });
  const ucarp = createCarpAuthenticator({ ...options, variant: 'ucarp' });
  assert.equal(hex(ucarp.sign(COUNTER)), hex(openbsd.sign(COUNTER)));
  assert.equal(hex(ucarp.sign(COUNTER)), OPENBSD[0]!.golden);
});

test('ucarp HMAC: the key is 1-19 bytes and exactly one IPv4 address is hashed', () => {
  const base = { variant: 'ucarp' as const, vhid: 1, addresses: ['192.0.2.1'] };
  assert.throws(() => createCarpAuthenticator({ ...base, passphrase: '' }), CarpAuthError);
  assert.throws(
    () => createCarpAuthenticator({ ...base, passphrase: '01234567890123456789' }),
    /Password too long/,
  );
  assert.doesNotThrow(() => createCarpAuthenticator({ ...base, passphrase: '0123456789012345678' }));
  assert.throws(
    () => createCarpAuthenticator({ ...base, passphrase: 'x', addresses: ['192.0.2.1', '192.0.2.2'] }),
    /exactly one IPv4/,
  );
  assert.throws(
    () => createCarpAuthenticator({ ...base, passphrase: 'x', addresses: ['2001:db8::1'] }),
    /IPv4/,
  );
  assert.throws(
    () => createCarpAuthenticator({ ...base, passphrase: 'x', addresses: ['nonsense'] }),
    /address/,
  );
  assert.throws(() => createCarpAuthenticator({ ...base, passphrase: 'x', vhid: 0 }), /vhid/);
  assert.throws(
    () =>
      createCarpAuthenticator({
        variant: 'openbsd',
        passphrase: 'x',
        vhid: 1,
        addresses: ['192.0.2.1'],
        linkLayerAddress: new Uint8Array(5),
      }),
    /6 bytes/,
  );
});

test('carpKey: C-string passphrases, OpenBSD keeps 19 bytes, ucarp refuses more', () => {
  assert.equal(hex(carpKey('abc', 'ucarp')), '616263');
  assert.equal(hex(carpKey(Uint8Array.from([0x61, 0, 0x62]), 'ucarp')), '61', 'cut at the NUL byte');
  assert.equal(carpKey('x'.repeat(30), 'openbsd').length, 19);
  assert.equal(carpKey('', 'openbsd').length, 0, 'OpenBSD without `pass` keys with zeros');
  assert.equal(hex(carpKey('pä', 'ucarp')), '70c3a4', 'text is taken as UTF-8');
});

// The counter check.

const POLICY: CounterPolicy = { forgetAfterMicroseconds: 3_000_000 };

/** Feeds counters one per second through checkCounter, keeping the history as a receiver would. */
function feed(counters: bigint[], policy = POLICY, start?: CounterHistory) {
  let history = start;
  const reasons: string[] = [];
  counters.forEach((counter, index) => {
    const verdict = checkCounter(history, counter, (index + 1) * 1_000_000, policy);
    reasons.push(verdict.reason);
    if (verdict.accept) history = verdict.history;
  });
  return { reasons, history };
}

test('counter: ucarp alone draws a fresh random counter each advert, all accepted; a repeat is a replay', () => {
  const { reasons } = feed([
    0x315b8019265c50e9n,
    0x6e5484e3050db1ban,
    0x2ff99da79668b666n,
    0x6e5484e3050db1ban,
  ]);
  assert.deepEqual(reasons, ['first', 'new-counter', 'new-counter', 'replayed']);
});

test('counter: FreeBSD and a ucarp that heard a peer increment; an old counter is a replay', () => {
  const { reasons } = feed([100n, 101n, 102n, 101n, 103n]);
  assert.deepEqual(reasons, ['first', 'new-counter', 'new-counter', 'replayed', 'new-counter']);
});

test('counter: OpenBSD repeats its replay cookie; a new cookie (a re-created vhost) is accepted', () => {
  const { reasons, history } = feed([0xaaaan, 0xaaaan, 0xaaaan, 0xbbbbn, 0xbbbbn]);
  assert.deepEqual(reasons, ['first', 'constant', 'constant', 'new-cookie', 'constant']);
  assert.equal(history?.pattern, 'constant');
});

test('counter: an advert carrying a counter this router sent is its own, looped back', () => {
  const verdict = checkCounter(undefined, 7n, 0, { ...POLICY, ownCounters: new Set([7n]) });
  assert.equal(verdict.reason, 'own-counter');
  assert.equal(verdict.accept, false);
});

test('counter: a rejection changes nothing and says why', () => {
  const first = checkCounter(undefined, 1n, 0, POLICY);
  assert.ok(first.accept);
  const second = checkCounter(first.history, 2n, 1, POLICY);
  assert.ok(second.accept);
  const replay = checkCounter(second.history, 1n, 2, POLICY);
  assert.equal(replay.accept, false);
  if (!replay.accept) assert.match(replay.detail, /already accepted/);
  assert.equal(second.history.lastSeenMicroseconds, 1, 'the kept history is untouched');
});

test('counter: after a silence a varying sender may come back constant (replaced by an OpenBSD box)', () => {
  const varying = feed([1n, 2n, 3n]).history!;
  assert.equal(varying.pattern, 'varying');
  const later = varying.lastSeenMicroseconds + 10_000_000;
  const restarted = checkCounter(varying, 0xc00c1en, later, POLICY);
  assert.equal(restarted.reason, 'restarted');
  assert.ok(restarted.accept);
  const again = checkCounter(restarted.history, 0xc00c1en, later + 1_000_000, POLICY);
  assert.equal(again.reason, 'constant');
  // An old counter of the varying sender is still refused after the silence.
  assert.equal(checkCounter(varying, 2n, later, POLICY).reason, 'replayed');
  assert.equal(checkCounter(restarted.history, 2n, later + 1, POLICY).reason, 'replayed');
});

test('counter: at most `capacity` counters are remembered', () => {
  const { history } = feed(
    Array.from({ length: 10 }, (_, index) => BigInt(index)),
    { ...POLICY, capacity: 4 },
  );
  assert.deepEqual(history?.recent, [9n, 8n, 7n, 6n]);
  assert.equal(checkCounter(history, 2n, 11_000_000, { ...POLICY, capacity: 4 }).reason, 'new-counter');
  assert.equal(checkCounter(history, 7n, 11_000_000, { ...POLICY, capacity: 4 }).reason, 'replayed');
});

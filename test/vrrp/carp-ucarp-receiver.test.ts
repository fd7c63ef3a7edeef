/**
 * The real ucarp as the receiver of adverts built by tandem's CARP codec and signed with its ucarp HMAC (sent
 * through tandem's protocol-112 socket from a second namespace). What ucarp logs proves that it accepts them
 * and what it does with them, rule by rule, as carp.c and the CARP profile say:
 *   - signed with a wrong passphrase: "Bad digest", ucarp stays MASTER (and so would both boxes);
 *   - more frequent (advbase 0, advskew 128): "Preferred master advertised", ucarp goes BACKUP;
 *   - a bow-out (advbase 255, advskew 255): "Putting MASTER DOWN (going to time out)", ucarp takes over at
 *     once, without -P, instead of waiting for its master-down interval.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readLines, requireRoot, waitFor, withLab } from '../helpers/netns.js';

const UCARP = '/usr/sbin/ucarp';
const VHID = 5;
const VIP = '192.0.2.50';
const PASSPHRASE = 'secret';

interface Line {
  text: string;
  index: number;
}

test('ucarp accepts tandem-signed adverts: wrong key refused, a better master obeyed, a bow-out taken over at once', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const sw = await lab.bridge('sw');
    const a = await lab.namespace('ucarp');
    const b = await lab.namespace('tandem');
    await lab.connect(a, sw, { ifname: 'eth0', addresses: ['192.0.2.1/24'] });
    await lab.connect(b, sw, { ifname: 'eth0', addresses: ['192.0.2.2/24'] });
    const ucarp = lab.spawn(a, [
      UCARP,
      '-i',
      'eth0',
      '-s',
      '192.0.2.1',
      '-v',
      String(VHID),
      '-p',
      PASSPHRASE,
      '-a',
      VIP,
      '-f',
      'none',
    ]);
    const log: Line[] = [];
    readLines(ucarp.stderr, (text) => log.push({ text, index: log.length }));
    const seen = (pattern: RegExp, after = -1) =>
      log.find((line) => line.index > after && pattern.test(line.text));
    const waitForLine = (pattern: RegExp, after: number, message: string) =>
      waitFor(() => seen(pattern, after), { timeoutMs: 15_000, message: `ucarp to log ${message}` });

    const master = await waitForLine(/Switching to state: MASTER/, -1, 'MASTER (alone on the link)');

    const phase = (plan: object[]) =>
      lab.exec(
        b,
        lab.nodeArgv(
          'test/vrrp/fixtures/carp-send.ts',
          'eth0',
          '192.0.2.2',
          '224.0.0.18',
          String(VHID),
          VIP,
          JSON.stringify(plan),
        ),
      );

    // Wrong passphrase: carp.c compares the digest and logs "Bad digest - ... Check vhid, password and virtual IP
    // address"; it never acts on the advert.
    const wrong = await phase([{ passphrase: 'wrong', advbase: 0, advskew: 128, count: 3, gapMs: 200 }]);
    assert.deepEqual(JSON.parse(wrong.stdout), { sent: 3 });
    const badDigest = await waitForLine(/Bad digest/, master.index, '"Bad digest"');
    assert.match(badDigest.text, /Check vhid, password and virtual IP address/);
    await waitFor(() => log.filter((line) => /Bad digest/.test(line.text)).length === 3, {
      timeoutMs: 15_000,
      message: 'ucarp to refuse all three adverts',
    });
    assert.equal(seen(/Switching to state: BACKUP/, master.index), undefined, 'ucarp stays MASTER');

    // Right passphrase, more frequent: ucarp yields. Then a bow-out in the same run, before ucarp's own
    // master-down interval (3 s) could pass: ucarp takes over through its "going to time out" rule.
    const right = await phase([
      { passphrase: PASSPHRASE, advbase: 0, advskew: 128, count: 4, gapMs: 300 },
      { passphrase: PASSPHRASE, advbase: 255, advskew: 255, count: 1, gapMs: 0 },
    ]);
    assert.deepEqual(JSON.parse(right.stdout), { sent: 5 });
    const preferred = await waitForLine(/Preferred master advertised/, badDigest.index, 'a preferred master');
    const backup = await waitForLine(/Switching to state: BACKUP/, master.index, 'BACKUP');
    const timeOut = await waitForLine(
      /Putting MASTER DOWN \(going to time out\)/,
      backup.index,
      'the bow-out rule',
    );
    const again = await waitForLine(/Switching to state: MASTER/, backup.index, 'MASTER again');
    // carp.c switches state first, then says why.
    assert.equal(preferred.index, backup.index + 1, JSON.stringify(log.map((line) => line.text)));
    assert.equal(timeOut.index, again.index + 1, JSON.stringify(log.map((line) => line.text)));
    assert.equal(
      seen(/Bad digest/, badDigest.index + 2),
      undefined,
      'the right passphrase verified every time',
    );
  });
});

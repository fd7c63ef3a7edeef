/**
 * The parser beside the real ucarp (/usr/sbin/ucarp, Debian's 1.5.2): the same wrong command lines, run in a
 * throwaway namespace (every one of them stops before ucarp touches a network), must give the same first error in
 * the same words. Where tandem differs on purpose, the test pins down what ucarp does instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUcarpArguments } from '../../src/carp/ucarp-options.js';
import { requireRoot, withLab } from '../helpers/netns.js';

const UCARP = '/usr/sbin/ucarp';
const BASE = ['-f', 'none', '-i', 'lo', '-s', '192.0.2.1', '-v', '1', '-p', 'secret', '-a', '192.0.2.9'];

interface UcarpRun {
  code: number;
  /** The first error ucarp printed: a getopt complaint ("/usr/sbin/ucarp: ...", argv[0] first) or an "[ERROR] ..." log line. */
  firstError: string | undefined;
  warnings: string[];
  printedUsage: boolean;
}

function withoutOption(argv: string[], option: string): string[] {
  const at = argv.indexOf(option);
  return [...argv.slice(0, at), ...argv.slice(at + 2)];
}

/** Command lines every one of which ucarp refuses before opening a socket or the interface. */
const CASES: { name: string; argv: string[] }[] = [
  { name: 'vhid 0', argv: [...BASE, '-v', '0'] },
  { name: 'vhid 256', argv: [...BASE, '-v', '256'] },
  { name: 'vhid abc', argv: [...BASE, '-v', 'abc'] },
  { name: 'vhid -1', argv: [...BASE, '-v', '-1'] },
  { name: 'no vhid', argv: withoutOption(BASE, '-v') },
  { name: 'no password', argv: withoutOption(BASE, '-p') },
  { name: 'empty password', argv: [...BASE, '-p', ''] },
  { name: 'no source address', argv: withoutOption(BASE, '-s') },
  { name: 'source 0.0.0.0', argv: [...BASE, '-s', '0.0.0.0'] },
  { name: 'no VIP', argv: withoutOption(BASE, '-a') },
  { name: 'invalid source', argv: [...BASE, '-s', 'nonsense'] },
  { name: 'source with a leading zero', argv: [...BASE, '-s', '192.0.2.01'] },
  { name: 'IPv6 VIP', argv: [...BASE, '-a', '2001:db8::1'] },
  { name: 'invalid group', argv: [...BASE, '--mcast=x'] },
  { name: 'advbase 0, advskew 0', argv: [...BASE, '-b', '0'] },
  { name: 'deadratio 0', argv: [...BASE, '-r', '0'] },
  { name: 'deadratio abc', argv: [...BASE, '--deadratio=abc'] },
  { name: 'password of 20 bytes', argv: [...BASE, '-p', '01234567890123456789'] },
  { name: 'unknown long option', argv: [...BASE, '--bogus'] },
  { name: 'unknown short option', argv: [...BASE, '-Q'] },
  { name: 'ambiguous abbreviation', argv: [...BASE, '--d'] },
  { name: 'ambiguous abbreviation with a value', argv: [...BASE, '--pa=x'] },
  { name: 'a flag given a value', argv: [...BASE, '--preempt=1'] },
  { name: 'long option without its value', argv: [...BASE, '--vhid'] },
  { name: 'short option without its value', argv: [...BASE, '-v'] },
  {
    name: 'abbreviated options that are all fine but the dead ratio',
    argv: ['-f', 'none', '-i', 'lo', '--vh=2', '--pas=x', '--src=192.0.2.1', '--add=192.0.2.9', '--dead=0'],
  },
  {
    name: 'clustered flags then a missing password',
    argv: ['-f', 'none', '-i', 'lo', '-PnDv3', '-s', '192.0.2.1', '-a', '192.0.2.9'],
  },
];

async function runUcarp(
  lab: import('../helpers/netns.js').Lab,
  ns: string,
  argv: string[],
): Promise<UcarpRun> {
  const result = await lab.exec(ns, [UCARP, ...argv], { allowFailure: true, timeoutMs: 10_000 });
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  let firstError: string | undefined;
  const warnings: string[] = [];
  for (const line of lines) {
    const getopt = /^(?:\S*\/)?ucarp: (.*)$/.exec(line);
    const logged = /\[(ERROR|WARNING)\] (.*)$/.exec(line);
    if (getopt) firstError ??= getopt[1];
    else if (logged?.[1] === 'ERROR') firstError ??= logged[2];
    else if (logged?.[1] === 'WARNING') warnings.push(logged[2] as string);
  }
  return {
    code: result.code,
    firstError,
    warnings,
    printedUsage: result.stdout.includes('--interface=<if>'),
  };
}

test("the parser gives the real ucarp's first error, in its words, for every wrong command line", async () => {
  requireRoot();
  await withLab(async (lab) => {
    const ns = await lab.namespace('ucarp');
    for (const item of CASES) {
      const real = await runUcarp(lab, ns, item.argv);
      assert.ok(real.firstError, `${item.name}: ucarp printed no error (exit ${real.code})`);
      const ours = parseUcarpArguments(item.argv);
      assert.equal(ours.kind, 'error', `${item.name}: ${JSON.stringify(ours)}`);
      if (ours.kind !== 'error') continue;
      assert.equal(ours.errors[0], real.firstError, item.name);
      // What ucarp warned about before the error, tandem warns about too.
      for (const warning of real.warnings)
        assert.ok(ours.warnings.includes(warning), `${item.name}: ${warning}`);
      // ucarp answers a getopt error with its usage and status 0, a bad value with 1, a long password with 2;
      // tandem always reports an error (the CLI exits non-zero).
      const getopt = /option/.test(real.firstError ?? '');
      if (getopt) assert.deepEqual([real.code, real.printedUsage], [0, true], item.name);
      else
        assert.ok(real.code === 1 || (real.code === 2 && real.firstError === 'Password too long'), item.name);
    }
  });
});

test('an unknown syslog facility: ucarp logs an error and goes on, tandem warns in the same words', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const ns = await lab.namespace('ucarp');
    const argv = [...BASE, '-f', 'nosuch', '-r', '0'];
    const real = await runUcarp(lab, ns, argv);
    assert.equal(real.firstError, 'Unknown syslog facility: [nosuch]');
    assert.equal(real.code, 1, 'it went on to the next check, the dead ratio, and stopped there');
    const ours = parseUcarpArguments(argv);
    assert.equal(ours.kind, 'error');
    if (ours.kind === 'error') {
      assert.deepEqual(ours.errors, ["Dead ratio can't be zero"]);
      assert.ok(ours.warnings.includes('Unknown syslog facility: [nosuch]'));
    }
  });
});

test('where tandem is stricter, ucarp takes the command line as it is (it would wrap or reject -m)', async () => {
  requireRoot();
  await withLab(async (lab) => {
    const ns = await lab.namespace('ucarp');
    // ucarp 1.5.2's getopt string has no m: -m is refused although its help lists it; tandem accepts it.
    const realM = await runUcarp(lab, ns, [...BASE, '-m', '239.192.0.1', '-Q']);
    assert.equal(realM.firstError, "invalid option -- 'm'");
    const oursM = parseUcarpArguments([...BASE, '-m', '239.192.0.1']);
    assert.equal(oursM.kind === 'options' && oursM.options.multicastGroup, '239.192.0.1');
    // advskew 256 passes ucarp's parsing (it becomes 0), so the next error shows; tandem stops at the value.
    const realSkew = await runUcarp(lab, ns, [...BASE, '-k', '256', '-r', '0']);
    assert.equal(realSkew.firstError, "Dead ratio can't be zero");
    const oursSkew = parseUcarpArguments([...BASE, '-k', '256', '-r', '0']);
    assert.equal(oursSkew.kind === 'error' && oursSkew.errors[0], 'advskew must be between 0 and 255.');
  });
});

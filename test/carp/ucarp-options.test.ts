/**
 * ucarp's command line (src/carp/ucarp-options.ts), option by option and error by error. The messages and the
 * getopt behaviour were taken from the real ucarp 1.5.2; ucarp-real.test.ts runs it beside the parser on the
 * same mistakes, and ucarp-fixtures.test.ts checks what it did on the wire with the command lines it was given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type UcarpOptions,
  type UcarpParseResult,
  UcarpOptionsError,
  describeUcarpOptions,
  parseUcarpArguments,
  passwordFromPassfile,
  ucarpScriptArguments,
} from '../../src/carp/ucarp-options.js';

const BASE = ['-i', 'eth0', '-s', '192.0.2.1', '-v', '1', '-p', 'secret', '-a', '192.0.2.9'];

function options(argv: string[]): UcarpOptions {
  const result = parseUcarpArguments(argv);
  assert.equal(result.kind, 'options', JSON.stringify(result));
  return (result as Extract<UcarpParseResult, { kind: 'options' }>).options;
}

function warnings(argv: string[]): string[] {
  const result = parseUcarpArguments(argv);
  assert.equal(result.kind, 'options', JSON.stringify(result));
  return (result as Extract<UcarpParseResult, { kind: 'options' }>).warnings;
}

function errors(argv: string[]): string[] {
  const result = parseUcarpArguments(argv);
  assert.equal(result.kind, 'error', JSON.stringify(result));
  return (result as Extract<UcarpParseResult, { kind: 'error' }>).errors;
}

test('the smallest command line gets ucarp defaults, and ucarp warnings about missing scripts', () => {
  assert.deepEqual(options(BASE), {
    interface: 'eth0',
    sourceAddress: '192.0.2.1',
    multicastGroup: '224.0.0.18',
    vhid: 1,
    password: { from: 'argument', value: 'secret' },
    preempt: false,
    neutral: false,
    virtualAddress: '192.0.2.9',
    advbase: 1,
    advskew: 0,
    deadRatio: 3,
    debug: false,
    shutdownAtExit: false,
    daemonize: false,
    ignoreInterfaceState: false,
    broadcast: false,
    syslog: { enabled: true, facility: 'daemon' },
    logLevel: 'info',
  });
  assert.deepEqual(warnings(BASE), [
    'Warning: no script called when going up',
    'Warning: no script called when going down',
  ]);
});

/** Each option in its short and long form, with what it sets. */
const EACH: { short: string[]; long: string[]; expect: Partial<UcarpOptions> }[] = [
  { short: ['-i', 'bond0'], long: ['--interface=bond0'], expect: { interface: 'bond0' } },
  { short: ['-s', '192.0.2.7'], long: ['--srcip=192.0.2.7'], expect: { sourceAddress: '192.0.2.7' } },
  {
    short: ['-m', '239.192.0.1'],
    long: ['--mcastip=239.192.0.1'],
    expect: { multicastGroup: '239.192.0.1' },
  },
  { short: ['-v', '200'], long: ['--vhid=200'], expect: { vhid: 200 } },
  {
    short: ['-p', 'other'],
    long: ['--pass=other'],
    expect: { password: { from: 'argument', value: 'other' } },
  },
  {
    short: ['-o', '/etc/ucarp.pass'],
    long: ['--passfile=/etc/ucarp.pass'],
    expect: { password: { from: 'file', path: '/etc/ucarp.pass' } },
  },
  { short: ['-P'], long: ['--preempt'], expect: { preempt: true } },
  { short: ['-n'], long: ['--neutral'], expect: { neutral: true } },
  {
    short: ['-a', '198.51.100.1'],
    long: ['--addr=198.51.100.1'],
    expect: { virtualAddress: '198.51.100.1' },
  },
  { short: ['-b', '5'], long: ['--advbase=5'], expect: { advbase: 5 } },
  { short: ['-k', '100'], long: ['--advskew=100'], expect: { advskew: 100 } },
  {
    short: ['-u', '/etc/vip-up.sh'],
    long: ['--upscript=/etc/vip-up.sh'],
    expect: { upscript: '/etc/vip-up.sh' },
  },
  {
    short: ['-d', '/etc/vip-down.sh'],
    long: ['--downscript=/etc/vip-down.sh'],
    expect: { downscript: '/etc/vip-down.sh' },
  },
  { short: ['-r', '5'], long: ['--deadratio=5'], expect: { deadRatio: 5 } },
  { short: ['-D'], long: ['--debug'], expect: { debug: true, logLevel: 'debug' } },
  { short: ['-z'], long: ['--shutdown'], expect: { shutdownAtExit: true } },
  { short: ['-B'], long: ['--daemonize'], expect: { daemonize: true } },
  { short: ['-S'], long: ['--ignoreifstate'], expect: { ignoreInterfaceState: true } },
  { short: ['-M'], long: ['--nomcast'], expect: { broadcast: true } },
  {
    short: ['-f', 'local3'],
    long: ['--facility=local3'],
    expect: { syslog: { enabled: true, facility: 'local3' } },
  },
  { short: ['-x', 'extra'], long: ['--xparam=extra'], expect: { extraParameter: 'extra' } },
];

for (const { short, long, expect } of EACH) {
  test(`option ${short[0]} / ${long[0]!.split('=')[0]}`, () => {
    for (const form of [short, long]) {
      const parsed = options([...BASE, ...form]);
      for (const [key, value] of Object.entries(expect)) {
        assert.deepEqual(parsed[key as keyof UcarpOptions], value, `${form.join(' ')}: ${key}`);
      }
    }
  });
}

test("tandem's own options sit beside ucarp's", () => {
  const parsed = options([...BASE, '--runtime-dir', '/run/tandem-carp', '--log-level=warn', '-D']);
  assert.equal(parsed.runtimeDirectory, '/run/tandem-carp');
  assert.equal(parsed.logLevel, 'warn', '--log-level wins over -D');
  assert.deepEqual(errors([...BASE, '--log-level=loud']), [
    "--log-level must be one of trace, debug, info, warn, error, fatal, got 'loud'",
  ]);
  assert.deepEqual(errors([...BASE, '--runtime-dir=']), ['--runtime-dir needs a directory']);
});

test('getopt_long forms: value attached, after =, in the next word; clustered flags; abbreviations', () => {
  const parsed = options([
    '-ieth0',
    '-s192.0.2.1',
    '-PnDv3',
    '-pxx',
    '--add',
    '192.0.2.9',
    '--mcast=239.192.0.3',
    '--dead',
    '4',
  ]);
  assert.equal(parsed.interface, 'eth0');
  assert.equal(parsed.vhid, 3);
  assert.equal(parsed.preempt && parsed.neutral && parsed.debug, true);
  assert.deepEqual(parsed.password, { from: 'argument', value: 'xx' });
  assert.equal(parsed.virtualAddress, '192.0.2.9');
  assert.equal(parsed.multicastGroup, '239.192.0.3', '--mcast is a unique prefix of --mcastip');
  assert.equal(parsed.deadRatio, 4);
  assert.equal(options([...BASE, '-p', '-dash-first']).password.from, 'argument', 'a value may start with -');
  assert.deepEqual(options([...BASE, '-p', '-dash-first']).password, {
    from: 'argument',
    value: '-dash-first',
  });
});

test('the last of repeated options wins, -p and -o alike', () => {
  assert.deepEqual(options([...BASE, '-o', '/etc/pass']).password, { from: 'file', path: '/etc/pass' });
  assert.deepEqual(options([...BASE, '-o', '/etc/pass', '-p', 'again']).password, {
    from: 'argument',
    value: 'again',
  });
  assert.equal(options([...BASE, '-v', '9']).vhid, 9);
});

test('operands are ignored as ucarp ignores them, with a warning; -- ends the options', () => {
  assert.ok(warnings([...BASE, 'stray']).includes("ignoring 'stray': ucarp takes no operands"));
  const parsed = parseUcarpArguments([...BASE, '--', '-v', '300']);
  assert.equal(parsed.kind, 'options');
  if (parsed.kind === 'options') {
    assert.equal(parsed.options.vhid, 1);
    assert.ok(parsed.warnings.includes("ignoring '-v': ucarp takes no operands"));
  }
});

test('numbers are C numbers (strtoul, base 0), with a warning when that surprises', () => {
  const cases: [string, number][] = [
    ['0x10', 16],
    ['010', 8],
    [' 5', 5],
    ['5abc', 5],
    ['+7', 7],
  ];
  for (const [text, value] of cases) {
    const result = parseUcarpArguments([...BASE, '-v', text]);
    assert.equal(result.kind, 'options', text);
    if (result.kind !== 'options') continue;
    assert.equal(result.options.vhid, value, text);
    assert.ok(
      result.warnings.some((warning) => warning.startsWith(`-v '${text}' reads as ${value}`)),
      text,
    );
  }
  assert.equal(warnings([...BASE, '-v', '12']).length, 2, 'a plain number warns of nothing more');
});

test("vhid outside 1-255 is ucarp's error", () => {
  for (const text of ['0', '256', '-1', 'abc', '0x100', '']) {
    assert.deepEqual(errors([...BASE, '-v', text]), ['vhid must be between 1 and 255.'], text);
  }
});

test('advskew and advbase outside 0-255 are errors (ucarp would wrap them modulo 256)', () => {
  assert.deepEqual(errors([...BASE, '-k', '256']), ['advskew must be between 0 and 255.']);
  assert.deepEqual(errors([...BASE, '-k', '-1']), ['advskew must be between 0 and 255.']);
  assert.deepEqual(errors([...BASE, '--advbase=300']), ['advbase must be between 0 and 255.']);
  assert.equal(options([...BASE, '-k', '255']).advskew, 255);
  assert.equal(options([...BASE, '-b', '255']).advbase, 255);
});

test('advbase 0 needs an advskew; 255 with 255 is the bow-out signal', () => {
  assert.deepEqual(errors([...BASE, '-b', '0']), ['You must supply an advertisement time base']);
  assert.deepEqual(options([...BASE, '-b', '0', '-k', '10']).advbase, 0);
  assert.match(errors([...BASE, '-b', '255', '-k', '255'])[0]!, /bow-out/);
});

test("deadratio: zero (or not a number) is ucarp's error, more than 32 bits is tandem's", () => {
  assert.deepEqual(errors([...BASE, '-r', '0']), ["Dead ratio can't be zero"]);
  assert.deepEqual(errors([...BASE, '-r', 'abc']), ["Dead ratio can't be zero"]);
  assert.deepEqual(errors([...BASE, '-r', '4294967296']), ['deadratio must be between 1 and 4294967295.']);
  assert.equal(options([...BASE, '-r', '4294967295']).deadRatio, 4294967295);
});

test("each missing required option is named with ucarp's words, all of them at once", () => {
  assert.deepEqual(errors([]), [
    'You must supply a network interface',
    'You must supply a valid virtual host id',
    'You must supply a password',
    'You must supply a persistent source address',
    'You must supply a virtual host address',
  ]);
  const without = (option: string) => {
    const at = BASE.indexOf(option);
    return [...BASE.slice(0, at), ...BASE.slice(at + 2)];
  };
  assert.deepEqual(errors(without('-i')), ['You must supply a network interface']);
  assert.deepEqual(errors(without('-v')), ['You must supply a valid virtual host id']);
  assert.deepEqual(errors(without('-p')), ['You must supply a password']);
  assert.deepEqual(errors(without('-s')), ['You must supply a persistent source address']);
  assert.deepEqual(errors(without('-a')), ['You must supply a virtual host address']);
  assert.deepEqual(errors([...BASE, '-p', '']), ['You must supply a password']);
  assert.deepEqual(errors([...BASE, '-i', '']), ['You must supply a network interface']);
  assert.deepEqual(errors([...BASE, '-s', '0.0.0.0']), ['You must supply a persistent source address']);
  assert.deepEqual(errors([...BASE, '-a', '0.0.0.0']), ['You must supply a virtual host address']);
});

test('addresses are dotted-quad IPv4 as inet_pton reads them', () => {
  for (const text of ['nonsense', '192.0.2.1.5', '192.0.2.01', '2001:db8::1', '192.0.2']) {
    assert.deepEqual(errors([...BASE, '-a', text]), [`Invalid address: [${text}]`], text);
  }
  assert.deepEqual(errors([...BASE, '-s', 'x']), ['Invalid address: [x]']);
  assert.deepEqual(errors([...BASE, '-m', 'x']), ['Invalid address: [x]']);
});

test('a group that is not multicast is only good with --nomcast', () => {
  assert.ok(
    warnings([...BASE, '-m', '192.0.2.255']).some((warning) => /not a multicast group/.test(warning)),
  );
  assert.ok(
    !warnings([...BASE, '-m', '192.0.2.255', '-M']).some((warning) => /not a multicast/.test(warning)),
  );
});

test('the password is 1-19 bytes (ucarp\'s "Password too long"), counted in bytes', () => {
  assert.equal(options([...BASE, '-p', '0123456789012345678']).password.from, 'argument');
  assert.deepEqual(errors([...BASE, '-p', '01234567890123456789']), ['Password too long']);
  assert.deepEqual(errors([...BASE, '-p', 'ääääääääää']), ['Password too long'], '10 characters, 20 bytes');
});

test("syslog facility: none turns it off, names are case-blind, an unknown one is ucarp's non-fatal complaint", () => {
  assert.deepEqual(options([...BASE, '-f', 'none']).syslog, { enabled: false });
  assert.deepEqual(options([...BASE, '-f', 'NONE']).syslog, { enabled: false });
  assert.deepEqual(options([...BASE, '-f', 'LOCAL7']).syslog, { enabled: true, facility: 'local7' });
  const result = parseUcarpArguments([...BASE, '-f', 'nosuch']);
  assert.equal(result.kind, 'options');
  if (result.kind === 'options') {
    assert.deepEqual(result.options.syslog, { enabled: true, facility: 'daemon' });
    assert.ok(result.warnings.includes('Unknown syslog facility: [nosuch]'));
  }
});

test("getopt errors carry getopt's words and stop the parse where ucarp stops", () => {
  assert.deepEqual(errors([...BASE, '--bogus']), ["unrecognized option '--bogus'"]);
  assert.deepEqual(errors([...BASE, '--bogus=1']), ["unrecognized option '--bogus=1'"]);
  assert.deepEqual(errors([...BASE, '-Q']), ["invalid option -- 'Q'"]);
  assert.deepEqual(errors([...BASE, '-PQ']), ["invalid option -- 'Q'"]);
  assert.deepEqual(errors([...BASE, '--d']), [
    "option '--d' is ambiguous; possibilities: '--downscript' '--deadratio' '--debug' '--daemonize'",
  ]);
  assert.deepEqual(errors([...BASE, '--pa=x']), [
    "option '--pa=x' is ambiguous; possibilities: '--pass' '--passfile'",
  ]);
  assert.deepEqual(errors([...BASE, '--preempt=1']), ["option '--preempt' doesn't allow an argument"]);
  assert.deepEqual(errors([...BASE, '--vhid']), ["option '--vhid' requires an argument"]);
  assert.deepEqual(errors([...BASE, '--vh']), ["option '--vhid' requires an argument"]);
  assert.deepEqual(errors([...BASE, '-v']), ["option requires an argument -- 'v'"]);
  assert.deepEqual(errors(['-v', '0', '--bogus']), [
    'vhid must be between 1 and 255.',
    "unrecognized option '--bogus'",
  ]);
});

test('-h prints the summary wherever it stands, unless an error came before it', () => {
  assert.equal(parseUcarpArguments(['-h']).kind, 'help');
  assert.equal(parseUcarpArguments([...BASE, '--help', '--bogus']).kind, 'help');
  assert.equal(parseUcarpArguments(['--he']).kind, 'help');
  assert.equal(parseUcarpArguments(['-v', '0', '-h']).kind, 'error');
  const text = describeUcarpOptions();
  for (const option of [
    '-i',
    '-s',
    '-m',
    '-v',
    '-p',
    '-o',
    '-P',
    '-n',
    '-a',
    '-b',
    '-k',
    '-u',
    '-d',
    '-r',
    '-D',
    '-z',
    '-B',
    '-S',
    '-M',
    '-f',
    '-x',
    '-h',
  ]) {
    assert.match(text, new RegExp(`^  ${option}, --`, 'm'), option);
  }
  assert.match(text, /--runtime-dir/);
  assert.match(text, /--log-level/);
});

test('UcarpOptionsError carries every error under a stable code', () => {
  const error = new UcarpOptionsError(errors([]));
  assert.equal(error.code, 'TANDEM_EUCARP_OPTIONS');
  assert.equal(error.errors.length, 5);
  assert.match(error.message, /network interface\nYou must supply a valid virtual host id/);
});

test('passfile: the first line without its newline, a C string, 1-19 bytes', () => {
  const read = (text: string | Uint8Array) =>
    passwordFromPassfile(typeof text === 'string' ? new TextEncoder().encode(text) : text, '/etc/pass');
  const password = (text: string | Uint8Array) => {
    const result = read(text);
    assert.ok(result.ok, JSON.stringify(result));
    return Buffer.from(result.password).toString('latin1');
  };
  assert.equal(password('secret\nsecond line\n'), 'secret');
  assert.equal(password('secret'), 'secret', 'no newline at the end');
  assert.equal(password('secret\r\n'), 'secret\r', 'fgets keeps the carriage return');
  assert.equal(password(Uint8Array.from([0x61, 0x62, 0, 0x63, 0x0a])), 'ab');
  assert.deepEqual(read(''), {
    ok: false,
    error: 'error reading passfile /etc/pass: unexpected end of file',
  });
  assert.deepEqual(read('\n'), { ok: false, error: 'You must supply a password' });
  assert.deepEqual(read('01234567890123456789\n'), { ok: false, error: 'Password too long' });
  assert.deepEqual(read('x'.repeat(600)), { ok: false, error: 'Password too long' });
});

test('scripts get interface, VIP as written and the extra parameter when there is one', () => {
  assert.deepEqual(ucarpScriptArguments(options(BASE)), ['eth0', '192.0.2.9']);
  assert.deepEqual(ucarpScriptArguments(options([...BASE, '-x', 'extra value'])), [
    'eth0',
    '192.0.2.9',
    'extra value',
  ]);
  assert.deepEqual(ucarpScriptArguments(options([...BASE, '-x', ''])), ['eth0', '192.0.2.9', '']);
});

/**
 * keepalived's line generators and pre-defined parameters (keepalived.conf(5), "Sequence blocks", "List
 * blocks", "Pre-defined definitions"; lib/parser.c add_seq, add_lst, get_random): ~SEQ, ~SEQx, ~LST,
 * ${_RANDOM [MIN [MAX]]} with random_seed, ${_ENV NAME}.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiagnosticSink, formatDiagnostic } from '../../src/config/diagnostics.js';
import { memoryFileSystem } from '../../src/config/files.js';
import { Lexer, type LexerOptions } from '../../src/config/lexer.js';
import { GlibcRandom } from '../../src/config/random.js';
import { conf, loadText } from './helpers.js';

/** The logical lines of `text` as arrays of words, and the diagnostics. */
async function lex(
  text: string,
  options: Partial<LexerOptions> = {},
): Promise<{ lines: string[][]; diagnostics: string[] }> {
  const sink = new DiagnosticSink(false);
  const lexer = new Lexer({
    files: memoryFileSystem({ 'a.conf': text }),
    sink,
    configId: 'main',
    ...options,
  });
  const lines = new Map<number, string[]>();
  for (const token of await lexer.run('a.conf')) {
    const line = lines.get(token.lineId) ?? [];
    line.push(token.text);
    lines.set(token.lineId, line);
  }
  return { lines: [...lines.values()], diagnostics: sink.diagnostics.map(formatDiagnostic) };
}

/** The words of each line, joined with spaces, asserting there is no diagnostic. */
async function lines(text: string, options: Partial<LexerOptions> = {}): Promise<string[]> {
  const result = await lex(text, options);
  assert.deepEqual(result.diagnostics, []);
  return result.lines.map((words) => words.join(' '));
}

test('~SEQ(var, start, end) repeats the rest of the line (the man page example)', async () => {
  assert.deepEqual(await lines('~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1\n'), [
    'ip_address 10.0.0.1',
    'ip_address 10.0.1.1',
    'ip_address 10.0.2.1',
    'ip_address 10.0.3.1',
  ]);
});

test('~SEQx formats in hexadecimal; numbers may be written in hex or octal as strtol reads them', async () => {
  const expected = ['a fe80::20:90:1', 'a fe80::20:a0:1', 'a fe80::20:b0:1', 'a fe80::20:c0:1'];
  assert.deepEqual(await lines('~SEQx(SUBNET, 144, 16, 192) a fe80::20:${SUBNET}:1\n'), expected);
  assert.deepEqual(await lines('~SEQx(SUBNET, 0x90, 0x10, 0xc0) a fe80::20:${SUBNET}:1\n'), expected);
  assert.deepEqual(await lines('~SEQ(N, 010, 011) n $N\n'), ['n 8', 'n 9']);
});

test('~SEQ defaults: one number is the end, two are start and end; steps may go down', async () => {
  assert.deepEqual(await lines('~SEQ(N, 3) n $N\n'), ['n 1', 'n 2', 'n 3']);
  assert.deepEqual(await lines('~SEQ(N, -2) n $N\n'), ['n -1', 'n -2']);
  assert.deepEqual(await lines('~SEQ(N, 0) n $N\n'), ['n 1', 'n 0']);
  assert.deepEqual(await lines('~SEQ(N, 5, 3) n $N\n'), ['n 5', 'n 4', 'n 3']);
  assert.deepEqual(await lines('~SEQ(N, 10, -4, 1) n $N\n'), ['n 10', 'n 6', 'n 2']);
});

test('nested generators: the outer one varies slowest (the man page example)', async () => {
  assert.deepEqual(
    await lines(
      'virtual_ipaddress {\n  ~SEQx(AD2, 0x90, 0x10, 0xa0) ~SEQx(AD1, 0x12, -1, 0x11) fe81::10:${AD2}:${AD1}\n}\n',
    ),
    ['virtual_ipaddress {', 'fe81::10:90:12', 'fe81::10:90:11', 'fe81::10:a0:12', 'fe81::10:a0:11', '}'],
  );
});

test('~LST: one variable, several variables in braces, missing values empty; combined with ~SEQ', async () => {
  assert.deepEqual(await lines('~LST(IP, 1, 2) ~LST(IP1, 5,6) 192.169.${IP}.${IP1}\n'), [
    '192.169.1.5',
    '192.169.1.6',
    '192.169.2.5',
    '192.169.2.6',
  ]);
  assert.deepEqual(await lines('~LST({IP, IP1}, {10,1},{20,4},{5,6},{12,8}) 192.168.${IP}.${IP1}\n'), [
    '192.168.10.1',
    '192.168.20.4',
    '192.168.5.6',
    '192.168.12.8',
  ]);
  assert.deepEqual(await lines('~LST({A, B}, {x}, {y, z}) v${A}w${B}\n'), ['vxw', 'vywz']);
  assert.deepEqual(
    await lines('~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,170) 192.${IP2}.${IP}.${IP1}\n'),
    ['192.168.10.1', '192.170.10.1', '192.168.20.4', '192.170.20.4'],
  );
});

test('generator parameters may be definitions, and a generated line may be a multi-line definition', async () => {
  const text = conf(
    '$FIRST=2',
    '$BLOCK= \\',
    'track_file t_${N} { \\',
    '    file /run/t${N} \\',
    '}',
    '~SEQ(N, $FIRST, 3) $BLOCK',
  );
  assert.deepEqual(await lines(text), [
    'track_file t_2 {',
    'file /run/t2',
    '}',
    'track_file t_3 {',
    'file /run/t3',
    '}',
  ]);
});

test('generated instances load, with errors reported at the generating line', async () => {
  const text = conf(
    '~SEQ(N, 1, 2) vrrp_instance VI_${N} { interface eth${N}',
    '~SEQ(N, 1, 2) virtual_router_id ${N}',
  );
  // Each generated line stands alone: braces across generated lines are as written, one line each.
  const { lines: words } = await lex(text);
  assert.deepEqual(
    words.map((w) => w.join(' ')),
    [
      'vrrp_instance VI_1 { interface eth1',
      'vrrp_instance VI_2 { interface eth2',
      'virtual_router_id 1',
      'virtual_router_id 2',
    ],
  );
  const result = await loadText(conf('vrrp_instance VI_1 {', '  ~SEQ(N, 1, 2) prority $N', '}'));
  assert.deepEqual(
    result.diagnostics.filter((d) => d.code === 'TANDEM_ECONFIG_UNKNOWN_KEYWORD').map(formatDiagnostic),
    [
      "test.conf:2:17: error: unknown keyword 'prority' in vrrp_instance VI_1 (did you mean 'priority'?)",
      "test.conf:2:17: error: unknown keyword 'prority' in vrrp_instance VI_1 (did you mean 'priority'?)",
    ],
  );
});

test('wrong generator specifications are errors at the ~ that starts them', async () => {
  const cases: [string, string][] = [
    [
      '~SEQ(N, 1, 0, 5) x',
      "invalid ~SEQ specification '~SEQ(N, 1, 0, 5)': the step must be non-zero and go from the start towards the end",
    ],
    [
      '~SEQ(N, 5, 1, 1) x',
      "invalid ~SEQ specification '~SEQ(N, 5, 1, 1)': the step must be non-zero and go from the start towards the end",
    ],
    [
      '~SEQx(N, -1, 3) x',
      "invalid ~SEQ specification '~SEQx(N, -1, 3)': ~SEQx takes non-negative numbers only",
    ],
    ['~SEQ(N, a, 3) x', "invalid ~SEQ specification '~SEQ(N, a, 3)': the bounds and step must be integers"],
    ['~SEQ(N) x', "invalid ~SEQ specification '~SEQ(N)': expected 1 to 3 numbers after the variable"],
    ['~SEQ(N, 1, 3 x', "invalid ~SEQ specification '~SEQ(N, 1, 3 x': no closing ')'"],
    [
      '~SEQ(N, 1, 70000) x',
      "invalid ~SEQ specification '~SEQ(N, 1, 70000)': it takes more than 65536 values",
    ],
    [
      '~LST({A, B}, {1, 2, 3}) x',
      "invalid ~LST specification '~LST({A, B}, {1, 2, 3})': a value set has more values than there are variables",
    ],
    ['~LST(A) x', "invalid ~LST specification '~LST(A)': expected values after the variables"],
    ['~LST(1A, 2) x', "invalid ~LST specification '~LST(1A, 2)': the variables must be names"],
  ];
  for (const [line, message] of cases) {
    const { lines: words, diagnostics } = await lex(`  ${line}\n`);
    assert.deepEqual(diagnostics, [`a.conf:1:3: error: ${message}`], line);
    assert.deepEqual(words, [], `${line}: nothing is generated`);
  }
});

test('${_RANDOM}: glibc random() from random_seed, so keepalived and tandem draw the same numbers', async () => {
  // glibc: srandom(42); random() -> 71876166, 708592740, 1483128881 (checked against the C library).
  const glibc = new GlibcRandom(42);
  assert.deepEqual([glibc.next(), glibc.next(), glibc.next()], [71876166, 708592740, 1483128881]);
  assert.deepEqual([new GlibcRandom(0).next(), new GlibcRandom(1).next()], [1804289383, 1804289383]);
  const text = conf('random_seed 42', 'a ${_RANDOM}', 'b ${_RANDOM 10}', 'c ${_RANDOM 1 6}');
  assert.deepEqual(await lines(text), [
    'random_seed 42',
    `a ${71876166 % 32768}`,
    `b ${(708592740 % (32767 - 10 + 1)) + 10}`,
    `c ${(1483128881 % 6) + 1}`,
  ]);
  // Without random_seed, two loads differ (a fresh seed each time, as keepalived seeds from the time).
  const draws = new Set<string>();
  for (let n = 0; n < 5; n++)
    draws.add((await lines('x ${_RANDOM 0 1000000} ${_RANDOM 0 1000000}\n'))[0] ?? '');
  assert.ok(draws.size > 1, 'five loads drew the same numbers');
});

test('${_RANDOM} and ${_ENV} parameters are checked', async () => {
  assert.deepEqual((await lex('x ${_RANDOM 5 2}\n', { randomSeed: 1 })).diagnostics, [
    'a.conf:1:3: error: ${_RANDOM 5 2}: MIN exceeds MAX',
  ]);
  assert.deepEqual((await lex('x ${_RANDOM a}\n')).diagnostics, [
    "a.conf:1:3: error: ${_RANDOM [MIN [MAX]]} takes non-negative integers, found 'a'",
  ]);
  assert.deepEqual((await lex('x ${_RANDOM 1 2 3}\n')).diagnostics, [
    'a.conf:1:3: error: ${_RANDOM [MIN [MAX]]} takes at most 2 parameters, found 3',
  ]);
  assert.deepEqual((await lex('x ${_ENV}\n')).diagnostics, [
    'a.conf:1:3: error: ${_ENV NAME} takes one parameter, found 0',
  ]);
  // Parameters to a user definition: not a reference, left as written (keepalived's find_definition).
  assert.match((await lines(conf('$A=1', 'x ${A 2}')))[0] ?? '', /^x \$\{A 2/);
});

test('${_ENV NAME} is the environment variable, empty when it is not set', async () => {
  const environment = { TANDEM_SITE: 'paris' };
  assert.deepEqual(await lines('router_id lb-${_ENV TANDEM_SITE}-${_ENV NOT_SET}x\n', { environment }), [
    'router_id lb-paris-x',
  ]);
});

test('a bare $NAME may be followed by a comma or a parenthesis (keepalived)', async () => {
  assert.deepEqual(await lines(conf('$A=1', 'x $A,$A) $A')), ['x 1,1) 1']);
});

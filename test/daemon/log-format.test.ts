import { test } from 'node:test';
import assert from 'node:assert/strict';
import yargs from 'yargs';
import {
  type LogArguments,
  createLogger,
  formatLocalTime,
  formatLogLine,
  isJournalStream,
  logLevelOf,
  logOptions,
  loggerOptionsOf,
  textDestination,
} from '../../src/daemon/log-format.js';
import { DiagnosticPrinter, WarningDedupe } from '../../src/daemon/warning-dedupe.js';
import type { Diagnostic } from '../../src/config/diagnostics.js';

/** An in-memory log sink (STYLE.md): the lines the logger wrote. */
function sink() {
  const lines: string[] = [];
  return { lines, write: (text: string) => lines.push(...text.split('\n').filter((line) => line !== '')) };
}

const LOCAL_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3} /;

test('text lines: local time, level word, instance, message, key fields first, one line each', () => {
  const out = sink();
  const log = createLogger({ format: 'text', level: 'info', tty: false, destination: out });
  const instance = log.child({ instance: 'VI_1', vrid: 51, interface: 'eth0', family: 4 });
  instance.info(
    { from: 'BACKUP', to: 'MASTER', reason: 'master-down-expired', priority: 100, master: '192.0.2.2' },
    'BACKUP -> MASTER',
  );
  instance.warn(
    { count: 3, source: '192.0.2.9', reason: 'bad-ttl', detail: 'expected TTL 255, got 64' },
    'advert discarded',
  );
  log.child({ syncGroup: 'G1' }).info({ state: 'MASTER' }, 'sync group G1 is MASTER');
  const error = Object.assign(new Error('interface eth9 not found'), { code: 'TANDEM_EINSTANCE' });
  log.error({ err: error }, 'start failed');
  log.debug({}, 'not at info');
  assert.equal(out.lines.length, 4);
  for (const line of out.lines) assert.match(line, LOCAL_TIME);
  const rest = out.lines.map((line) => line.replace(LOCAL_TIME, ''));
  assert.deepEqual(rest, [
    // from/to are the message already; reason and priority come first, interface/vrid/family/pid are left out.
    'INFO  VI_1: BACKUP -> MASTER reason=master-down-expired priority=100 master=192.0.2.2',
    'WARN  VI_1: advert discarded reason=bad-ttl count=3 source=192.0.2.9 detail="expected TTL 255, got 64"',
    'INFO  group G1: sync group G1 is MASTER state=MASTER',
    'ERROR start failed err="interface eth9 not found (TANDEM_EINSTANCE)"',
  ]);
});

test('JSON stays pino JSON for machines; auto picks text on a terminal only', () => {
  const json = sink();
  createLogger({ format: 'auto', level: 'info', tty: false, destination: json })
    .child({ instance: 'VI_1' })
    .info({ reason: 'startup' }, 'INIT -> BACKUP');
  const record = JSON.parse(json.lines[0] as string) as Record<string, unknown>;
  assert.equal(record.level, 30);
  assert.equal(record.instance, 'VI_1');
  assert.equal(record.msg, 'INIT -> BACKUP');
  assert.equal(typeof record.time, 'number');
  const tty = sink();
  createLogger({ format: 'auto', level: 'info', tty: true, color: false, destination: tty }).info(
    {},
    'hello',
  );
  assert.match(tty.lines[0] as string, /INFO {2}hello$/);
  const forcedJson = sink();
  createLogger({ format: 'json', level: 'info', tty: true, destination: forcedJson }).info({}, 'hello');
  assert.equal((JSON.parse(forcedJson.lines[0] as string) as { msg: string }).msg, 'hello');
});

test('under systemd, each line carries its syslog severity for journald; JOURNAL_STREAM must be stdout', () => {
  const json = sink();
  const log = createLogger({ format: 'json', level: 'debug', tty: false, journal: true, destination: json });
  log.debug({}, 'detail');
  log.info({}, 'started');
  log.warn({}, 'careful');
  log.error({}, 'failed');
  log.fatal({}, 'gone');
  assert.deepEqual(
    json.lines.map((line) => line.slice(0, 3)),
    ['<7>', '<6>', '<4>', '<3>', '<2>'],
  );
  assert.equal((JSON.parse((json.lines[2] as string).slice(3)) as { msg: string }).msg, 'careful');
  const text = sink();
  createLogger({ format: 'text', level: 'info', tty: false, journal: true, destination: text }).warn(
    {},
    'careful',
  );
  assert.match(text.lines[0] as string, /^<4>\d{4}-\d{2}-\d{2} .* WARN {2}careful$/);
  const plain = sink();
  createLogger({ format: 'json', level: 'info', tty: false, destination: plain }).info({}, 'x');
  assert.ok((plain.lines[0] as string).startsWith('{'), 'no prefix unless the journal is stdout');
  const stdout = () => ({ dev: 25, ino: 4242 });
  assert.equal(isJournalStream({ JOURNAL_STREAM: '25:4242' }, stdout), true);
  assert.equal(isJournalStream({ JOURNAL_STREAM: '25:4243' }, stdout), false, 'stdout was redirected');
  assert.equal(isJournalStream({}, stdout), false);
  assert.equal(isJournalStream({ JOURNAL_STREAM: 'junk' }, stdout), false);
});

test('colour only when asked; values with spaces or quotes are quoted; objects are JSON', () => {
  const colored = formatLogLine({ level: 40, time: 0, msg: 'careful' }, { color: true });
  const escape = String.fromCharCode(27);
  assert.ok(colored.endsWith(`${escape}[33mWARN ${escape}[0m careful`), colored);
  const plain = formatLogLine({
    level: 30,
    time: 0,
    msg: 'x',
    note: 'two words',
    quote: 'a"b',
    list: [1, 2],
    flag: true,
  });
  assert.match(plain, /x note="two words" quote="a\\"b" list=\[1,2\] flag=true$/);
  assert.equal(formatLocalTime(new Date(2025, 0, 2, 3, 4, 5, 6)), '2025-01-02 03:04:05.006');
});

test('the text destination passes through what is not a JSON record rather than lose it', () => {
  const out = sink();
  const destination = textDestination(out);
  destination.write('plain words\n{"level":30,"time":0,"msg":"ok"}\n');
  assert.equal(out.lines[0], 'plain words');
  assert.match(out.lines[1] as string, /INFO {2}ok$/);
});

test('--log-level wins, keepalived -D means debug, the default is info', async () => {
  const parse = async (args: string[]) =>
    (await logOptions(yargs(args)).strict().parseAsync()) as unknown as LogArguments;
  assert.equal(logLevelOf(await parse([])), 'info');
  assert.equal(logLevelOf(await parse(['-D'])), 'debug');
  assert.equal(logLevelOf(await parse(['--log-detail'])), 'debug');
  assert.equal(logLevelOf(await parse(['-D', '--log-level', 'warn'])), 'warn');
  const argv = await parse(['--log-format', 'text']);
  assert.deepEqual(loggerOptionsOf(argv, false), { format: 'text', level: 'info', tty: false });
  await assert.rejects(
    async () =>
      logOptions(yargs(['--log-format', 'xml']))
        .exitProcess(false)
        .fail(false)
        .parseAsync(),
    /Invalid values/,
  );
});

test('warnings are printed once per distinct warning across reloads; errors every time', () => {
  const at = (severity: Diagnostic['severity'], message: string, line: number): Diagnostic => ({
    file: '/etc/tandem/tandem.conf',
    line,
    column: 1,
    severity,
    message,
    code: severity === 'error' ? 'TANDEM_ECONFIG_VALUE' : 'TANDEM_WCONFIG_DEPRECATED',
  });
  const printer = new DiagnosticPrinter();
  const first = [at('warning', 'old spelling', 3), at('warning', 'no effect', 9)];
  assert.deepEqual(printer.toPrint(first), first);
  // Reload with the same warnings, one moved by an edit above it: nothing new to say.
  assert.deepEqual(printer.toPrint([at('warning', 'old spelling', 4), at('warning', 'no effect', 10)]), []);
  // A refused reload: the error is printed; a new warning too; the known one not.
  const error = at('error', 'bad value', 12);
  const third = [at('warning', 'old spelling', 4), error, at('warning', 'brand new', 2)];
  assert.deepEqual(printer.toPrint(third), [error, third[2]]);
  assert.deepEqual(printer.toPrint([error]), [error], 'an error is printed every time');
  // A warning that went away and came back is news again.
  assert.deepEqual(printer.toPrint([at('warning', 'old spelling', 4)]).length, 1);
  const dedupe = new WarningDedupe<string>((text) => text);
  assert.deepEqual(dedupe.fresh(['a', 'a', 'b']), ['a', 'b'], 'duplicates within one load are said once');
});

/**
 * ucarp 1.5's command line, parsed the way ucarp parses it (ucarp.c main, ucarp_p.h's getopt_long table), into a
 * typed value: the same options, the same long names and abbreviations, the same numbers (C strtoul with base
 * 0), the same checks and, where ucarp has one, the same message. Pure: the passfile is named here and read at
 * the edge (`passwordFromPassfile` gives its meaning).
 *
 * Where tandem differs, on purpose (docs/carp.md lists them): an unknown or malformed option is an error, not
 * ucarp's usage text with exit status 0; `-m` is accepted as the help text promises (ucarp 1.5.2's getopt string
 * lacks it); advbase, advskew and deadratio outside their byte or word are errors instead of wrapping; advbase
 * 255 with advskew 255 (the bow-out signal) is refused; `-i` is required (ucarp falls back to libpcap's "any",
 * which then fails); every error is reported, not only the first; `--runtime-dir` and `--log-level` are
 * tandem's own.
 */
import { parseIPv4 } from '../vrrp/address.js';
import { TandemError } from '../errors.js';

/** ucarp.h DEFAULT_ADVBASE, DEFAULT_DEAD_RATIO, DEFAULT_MCASTIP. */
export const UCARP_DEFAULT_ADVBASE = 1;
export const UCARP_DEFAULT_ADVSKEW = 0;
export const UCARP_DEFAULT_DEAD_RATIO = 3;
export const UCARP_DEFAULT_GROUP = '224.0.0.18';
/** carp.c docarp: the passphrase must fit the 20-byte key with its NUL ("Password too long"). */
export const UCARP_PASSWORD_MAX_BYTES = 19;
/** ucarp.c `-o`: fgets into a 512-byte buffer. */
export const UCARP_PASSFILE_LINE_BYTES = 511;
const BYTE_MAX = 255;
const UINT32_MAX = 0xffffffff;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** glibc <syslog.h> facilitynames, matched without regard to case as ucarp's strcasecmp does. */
export const SYSLOG_FACILITIES = [
  'auth',
  'authpriv',
  'cron',
  'daemon',
  'ftp',
  'kern',
  'lpr',
  'mail',
  'mark',
  'news',
  'security',
  'syslog',
  'user',
  'uucp',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const;

export type UcarpPassword = { from: 'argument'; value: string } | { from: 'file'; path: string };

/** What a ucarp command line asks for, in host values. */
export interface UcarpOptions {
  /** `-i`: the interface to run on. */
  interface: string;
  /** `-s`: this host's own address, the source of its adverts and the election's tie-breaker. */
  sourceAddress: string;
  /** `-m` / `--mcastip`: where adverts go (224.0.0.18 unless changed). */
  multicastGroup: string;
  /** `-v`: 1-255. */
  vhid: number;
  /** `-p` or `-o`, whichever came last. */
  password: UcarpPassword;
  /** `-P`: take over from a master that advertises less often. */
  preempt: boolean;
  /** `-n`: no down script on the first entry into BACKUP. */
  neutral: boolean;
  /** `-a`: the VIP, as written (it is the scripts' second argument). */
  virtualAddress: string;
  /** `-b`: seconds. */
  advbase: number;
  /** `-k`: 1/256 s. */
  advskew: number;
  /** `-r`: a master is dead after advbase x deadRatio seconds (+ advskew/256) without adverts. */
  deadRatio: number;
  /** `-u`, `-d`. */
  upscript?: string;
  downscript?: string;
  /** `-D`. */
  debug: boolean;
  /** `-z`: run the down script at exit unless already BACKUP. */
  shutdownAtExit: boolean;
  /** `-B`. */
  daemonize: boolean;
  /** `-S`: keep going when the interface loses carrier. */
  ignoreInterfaceState: boolean;
  /** `-M`: Ethernet broadcast instead of the group's multicast MAC. */
  broadcast: boolean;
  /** `-f`: `none` turns syslog off; an unknown name keeps the default (daemon), as in ucarp. */
  syslog: { enabled: false } | { enabled: true; facility: string };
  /** `-x`: the scripts' third argument. */
  extraParameter?: string;
  /** tandem's `--runtime-dir`. */
  runtimeDirectory?: string;
  /** tandem's `--log-level`; `debug` when only `-D` is given, `info` otherwise. */
  logLevel: LogLevel;
}

export type UcarpParseResult =
  | { kind: 'help'; text: string }
  | { kind: 'options'; options: UcarpOptions; warnings: string[] }
  | { kind: 'error'; errors: string[]; warnings: string[] };

/** For the command that runs the parser: every error of a command line, with a stable code. */
export class UcarpOptionsError extends TandemError {
  readonly errors: readonly string[];

  constructor(errors: readonly string[]) {
    super('TANDEM_EUCARP_OPTIONS', errors.join('\n'));
    this.errors = errors;
  }
}

interface OptionSpec {
  short?: string;
  long: string;
  argument: boolean;
}

/** ucarp_p.h long_options, in its order (getopt lists ambiguous candidates in it), then tandem's. */
const OPTIONS: readonly OptionSpec[] = [
  { short: 'i', long: 'interface', argument: true },
  { short: 's', long: 'srcip', argument: true },
  { short: 'm', long: 'mcastip', argument: true },
  { short: 'v', long: 'vhid', argument: true },
  { short: 'p', long: 'pass', argument: true },
  { short: 'P', long: 'preempt', argument: false },
  { short: 'n', long: 'neutral', argument: false },
  { short: 'a', long: 'addr', argument: true },
  { short: 'h', long: 'help', argument: false },
  { short: 'b', long: 'advbase', argument: true },
  { short: 'k', long: 'advskew', argument: true },
  { short: 'u', long: 'upscript', argument: true },
  { short: 'd', long: 'downscript', argument: true },
  { short: 'r', long: 'deadratio', argument: true },
  { short: 'D', long: 'debug', argument: false },
  { short: 'z', long: 'shutdown', argument: false },
  { short: 'f', long: 'facility', argument: true },
  { short: 'B', long: 'daemonize', argument: false },
  { short: 'S', long: 'ignoreifstate', argument: false },
  { short: 'M', long: 'nomcast', argument: false },
  { short: 'o', long: 'passfile', argument: true },
  { short: 'x', long: 'xparam', argument: true },
  { long: 'runtime-dir', argument: true },
  { long: 'log-level', argument: true },
];

export const UCARP_USAGE = `Usage: tandem carp [OPTION]...
Runs one CARP virtual host with ucarp 1.5's command line: the same options with the same meaning.

  -i, --interface=IF       bind interface IF (required)
  -s, --srcip=IP           source (real) IP address of this host (required)
  -m, --mcastip=IP         multicast group IP address (default 224.0.0.18; --mcast works too)
  -v, --vhid=ID            virtual host identifier, 1-255 (required)
  -p, --pass=PASS          password, 1-19 bytes (required, or --passfile)
  -o, --passfile=FILE      read the password from the first line of FILE
  -P, --preempt            become master as soon as possible
  -n, --neutral            don't run the down script at start if backup
  -a, --addr=IP            virtual shared IP address (required)
  -b, --advbase=SECONDS    advertisement base, 0-255 (default 1)
  -k, --advskew=SKEW       advertisement skew in 1/256 s, 0-255 (default 0)
  -u, --upscript=FILE      run FILE to become master
  -d, --downscript=FILE    run FILE to become backup
  -r, --deadratio=RATIO    a master is dead after RATIO advbases without adverts (default 3)
  -D, --debug              enable debug output
  -z, --shutdown           run the down script at exit (unless backup)
  -B, --daemonize          run in background
  -S, --ignoreifstate      ignore interface state (down, no carrier)
  -M, --nomcast            use broadcast (instead of multicast) advertisements
  -f, --facility=FACILITY  syslog facility (default daemon; none turns syslog off)
  -x, --xparam=VALUE       extra parameter to send to the up/down scripts
  -h, --help               this summary
      --runtime-dir=DIR    tandem: private runtime directory (control socket inside)
      --log-level=LEVEL    tandem: trace, debug, info, warn, error or fatal (default info; debug with -D)

Scripts are called as: SCRIPT INTERFACE VIP [XPARAM]
`;

/** The summary `tandem carp --help` prints. */
export function describeUcarpOptions(): string {
  return UCARP_USAGE;
}

interface CNumber {
  /** strtoul's result: the magnitude negated modulo 2^64 for a leading '-', ULONG_MAX on overflow. */
  unsigned: bigint;
  /** strtol's result, clamped to LONG_MIN / LONG_MAX. */
  signed: bigint;
  /** Whether the text is a plain decimal number and nothing else. */
  plain: boolean;
}

const ULONG_MAX = (1n << 64n) - 1n;
const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

/** C strtoul / strtol with base 0 (glibc): leading space, a sign, 0x hex, 0 octal, stops at the first non-digit. */
function cNumber(text: string): CNumber {
  const match = /^[ \t\n\v\f\r]*([+-]?)(0[xX](?=[0-9a-fA-F])|0)?([0-9a-fA-F]*)/.exec(text) as RegExpExecArray;
  const [, sign = '', prefix = '', rest = ''] = match;
  const base = prefix.length === 2 ? 16 : prefix === '0' ? 8 : 10;
  const digitPattern = base === 16 ? /^[0-9a-fA-F]*/ : base === 8 ? /^[0-7]*/ : /^[0-9]*/;
  const digits = (digitPattern.exec(rest) as RegExpExecArray)[0];
  let magnitude = 0n;
  for (const digit of digits) magnitude = magnitude * BigInt(base) + BigInt(parseInt(digit, 16));
  const negative = sign === '-';
  const unsigned =
    magnitude > ULONG_MAX ? ULONG_MAX : negative ? (ULONG_MAX + 1n - magnitude) & ULONG_MAX : magnitude;
  const signedValue = negative ? -magnitude : magnitude;
  const signed = signedValue > LONG_MAX ? LONG_MAX : signedValue < LONG_MIN ? LONG_MIN : signedValue;
  return { unsigned, signed, plain: /^[0-9]+$/.test(text) && (text === '0' || !text.startsWith('0')) };
}

type Matched = { spec: OptionSpec; value?: string; name: string };

interface Scan {
  matched: Matched[];
  operands: string[];
  error?: string;
}

function findLong(name: string): { spec?: OptionSpec; error?: string } {
  const exact = OPTIONS.find((spec) => spec.long === name);
  if (exact) return { spec: exact };
  const candidates = OPTIONS.filter((spec) => spec.long.startsWith(name));
  if (candidates.length === 1) return { spec: candidates[0] as OptionSpec };
  if (candidates.length > 1)
    return { error: `possibilities: ${candidates.map((spec) => `'--${spec.long}'`).join(' ')}` };
  return {};
}

/**
 * GNU getopt_long over ucarp's table: options anywhere (operands are set aside), `--` ends them, long names may
 * be abbreviated to a unique prefix, `--name=value` or `--name value`, clustered short flags, `-vVALUE`. Stops at
 * the first option it cannot read, as ucarp does (it prints its usage there).
 */
function scan(argv: readonly string[]): Scan {
  const matched: Matched[] = [];
  const operands: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] as string;
    if (arg === '--') {
      operands.push(...argv.slice(index + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const equals = arg.indexOf('=');
      const name = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
      const found = findLong(name);
      if (found.error) return { matched, operands, error: `option '${arg}' is ambiguous; ${found.error}` };
      const spec = found.spec;
      if (!spec) return { matched, operands, error: `unrecognized option '${arg}'` };
      if (!spec.argument) {
        if (equals !== -1)
          return { matched, operands, error: `option '--${spec.long}' doesn't allow an argument` };
        matched.push({ spec, name: `--${spec.long}` });
        continue;
      }
      if (equals !== -1) {
        matched.push({ spec, value: arg.slice(equals + 1), name: `--${spec.long}` });
        continue;
      }
      const value = argv[index + 1];
      if (value === undefined)
        return { matched, operands, error: `option '--${spec.long}' requires an argument` };
      index++;
      matched.push({ spec, value, name: `--${spec.long}` });
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      operands.push(arg);
      continue;
    }
    for (let position = 1; position < arg.length; position++) {
      const letter = arg[position] as string;
      const spec = OPTIONS.find((candidate) => candidate.short === letter);
      if (!spec) return { matched, operands, error: `invalid option -- '${letter}'` };
      if (!spec.argument) {
        matched.push({ spec, name: `-${letter}` });
        continue;
      }
      let value: string | undefined = arg.slice(position + 1);
      if (value === '') {
        value = argv[index + 1];
        if (value === undefined)
          return { matched, operands, error: `option requires an argument -- '${letter}'` };
        index++;
      }
      matched.push({ spec, value, name: `-${letter}` });
      break;
    }
  }
  return { matched, operands };
}

/** The options only known once the whole command line is read (required ones, and the log level). */
type SettledLater = 'interface' | 'sourceAddress' | 'password' | 'virtualAddress' | 'logLevel';

/** Mutable accumulator of a parse. */
type Draft = Omit<UcarpOptions, SettledLater> &
  Partial<Pick<UcarpOptions, SettledLater>> & {
    /** Options whose value was refused: their "you must supply" check would only repeat the error. */
    invalid: Set<string>;
  };

function numberWarning(option: string, text: string, value: bigint): string {
  return `${option} '${text}' reads as ${value} (ucarp takes C numbers: a leading 0 is octal, 0x hex, and what follows the digits is ignored)`;
}

/** The byte options (-b, -k): ucarp wraps them modulo 256; tandem refuses what does not fit. */
function byteOption(
  name: string,
  option: string,
  text: string,
  errors: string[],
  warnings: string[],
): number | undefined {
  const parsed = cNumber(text);
  if (parsed.unsigned > BigInt(BYTE_MAX)) {
    errors.push(`${name} must be between 0 and ${BYTE_MAX}.`);
    return undefined;
  }
  if (!parsed.plain) warnings.push(numberWarning(option, text, parsed.unsigned));
  return Number(parsed.unsigned);
}

function applyOption(draft: Draft, option: Matched, errors: string[], warnings: string[]): void {
  const value = option.value ?? '';
  const before = errors.length;
  applyValue(draft, option, value, errors, warnings);
  if (errors.length > before) draft.invalid.add(option.spec.long);
}

function applyValue(
  draft: Draft,
  option: Matched,
  value: string,
  errors: string[],
  warnings: string[],
): void {
  switch (option.spec.long) {
    case 'interface':
      draft.interface = value;
      return;
    case 'srcip':
    case 'mcastip':
    case 'addr': {
      // ucarp.c: inet_pton(AF_INET, ...) == 0 -> "Invalid address: [%s]".
      if (!parseIPv4(value)) {
        errors.push(`Invalid address: [${value}]`);
        return;
      }
      if (option.spec.long === 'srcip') draft.sourceAddress = value;
      else if (option.spec.long === 'mcastip') draft.multicastGroup = value;
      else draft.virtualAddress = value;
      return;
    }
    case 'vhid': {
      // ucarp.c: strtoul(optarg) > 255 || strtol(optarg) < 1.
      const parsed = cNumber(value);
      if (parsed.unsigned > BigInt(BYTE_MAX) || parsed.signed < 1n) {
        errors.push('vhid must be between 1 and 255.');
        return;
      }
      if (!parsed.plain) warnings.push(numberWarning(option.name, value, parsed.unsigned));
      draft.vhid = Number(parsed.unsigned);
      return;
    }
    case 'pass':
      draft.password = { from: 'argument', value };
      return;
    case 'passfile':
      draft.password = { from: 'file', path: value };
      return;
    case 'preempt':
      draft.preempt = true;
      return;
    case 'neutral':
      draft.neutral = true;
      return;
    case 'advbase': {
      const advbase = byteOption('advbase', option.name, value, errors, warnings);
      if (advbase !== undefined) draft.advbase = advbase;
      return;
    }
    case 'advskew': {
      const advskew = byteOption('advskew', option.name, value, errors, warnings);
      if (advskew !== undefined) draft.advskew = advskew;
      return;
    }
    case 'upscript':
      draft.upscript = value;
      return;
    case 'downscript':
      draft.downscript = value;
      return;
    case 'deadratio': {
      const parsed = cNumber(value);
      if (parsed.unsigned > BigInt(UINT32_MAX)) {
        errors.push(`deadratio must be between 1 and ${UINT32_MAX}.`);
        return;
      }
      if (!parsed.plain) warnings.push(numberWarning(option.name, value, parsed.unsigned));
      draft.deadRatio = Number(parsed.unsigned);
      return;
    }
    case 'debug':
      draft.debug = true;
      return;
    case 'shutdown':
      draft.shutdownAtExit = true;
      return;
    case 'facility': {
      if (value.toLowerCase() === 'none') {
        draft.syslog = { enabled: false };
        return;
      }
      const facility = SYSLOG_FACILITIES.find((name) => name === value.toLowerCase());
      // ucarp.c logs this and goes on with the facility it had.
      if (facility) draft.syslog = { enabled: true, facility };
      else warnings.push(`Unknown syslog facility: [${value}]`);
      return;
    }
    case 'daemonize':
      draft.daemonize = true;
      return;
    case 'ignoreifstate':
      draft.ignoreInterfaceState = true;
      return;
    case 'nomcast':
      draft.broadcast = true;
      return;
    case 'xparam':
      draft.extraParameter = value;
      return;
    case 'runtime-dir':
      if (value === '') errors.push('--runtime-dir needs a directory');
      else draft.runtimeDirectory = value;
      return;
    case 'log-level': {
      const level = LOG_LEVELS.find((name) => name === value);
      if (level) draft.logLevel = level;
      else errors.push(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${value}'`);
      return;
    }
  }
}

/** ucarp.c main after getopt, in its order; then tandem's own checks. */
function finish(draft: Draft, errors: string[], warnings: string[]): UcarpParseResult {
  if (draft.interface === undefined || draft.interface === '')
    errors.push('You must supply a network interface');
  const missing = (long: string, absent: boolean, message: string) => {
    if (absent && !draft.invalid.has(long)) errors.push(message);
  };
  missing('vhid', draft.vhid === 0, 'You must supply a valid virtual host id');
  const password = draft.password;
  if (password === undefined || (password.from === 'argument' && password.value === ''))
    errors.push('You must supply a password');
  const timeBaseRefused = draft.invalid.has('advbase') || draft.invalid.has('advskew');
  missing(
    'advbase',
    !timeBaseRefused && draft.advbase === 0 && draft.advskew === 0,
    'You must supply an advertisement time base',
  );
  missing(
    'srcip',
    draft.sourceAddress === undefined || draft.sourceAddress === '0.0.0.0',
    'You must supply a persistent source address',
  );
  missing(
    'addr',
    draft.virtualAddress === undefined || draft.virtualAddress === '0.0.0.0',
    'You must supply a virtual host address',
  );
  if (draft.upscript === undefined) warnings.push('Warning: no script called when going up');
  if (draft.downscript === undefined) warnings.push('Warning: no script called when going down');
  missing('deadratio', draft.deadRatio === 0, "Dead ratio can't be zero");
  // carp.c docarp: the passphrase and its NUL must fit the 20-byte key.
  if (
    password?.from === 'argument' &&
    new TextEncoder().encode(password.value).length > UCARP_PASSWORD_MAX_BYTES
  )
    errors.push('Password too long');
  if (draft.advbase === BYTE_MAX && draft.advskew === BYTE_MAX) {
    errors.push(
      'advbase 255 with advskew 255 is the bow-out signal of a leaving master; choose a smaller advbase or advskew',
    );
  }
  const group = parseIPv4(draft.multicastGroup);
  if (group && ((group[0] as number) & 0xf0) !== 0xe0 && !draft.broadcast) {
    warnings.push(
      `${draft.multicastGroup} is not a multicast group; ucarp can only send to it with --nomcast (-M)`,
    );
  }
  if (errors.length > 0 || !password || !draft.interface || !draft.sourceAddress || !draft.virtualAddress)
    return { kind: 'error', errors, warnings };
  const { invalid: _invalid, ...settled } = draft;
  return {
    kind: 'options',
    warnings,
    options: {
      ...settled,
      interface: draft.interface,
      sourceAddress: draft.sourceAddress,
      password,
      virtualAddress: draft.virtualAddress,
      logLevel: draft.logLevel ?? (draft.debug ? 'debug' : 'info'),
    },
  };
}

/** Parses the arguments that follow `tandem carp` (or `ucarp`). */
export function parseUcarpArguments(argv: readonly string[]): UcarpParseResult {
  const scanned = scan(argv);
  const errors: string[] = [];
  const warnings: string[] = [];
  const draft: Draft = {
    multicastGroup: UCARP_DEFAULT_GROUP,
    vhid: 0,
    preempt: false,
    neutral: false,
    advbase: UCARP_DEFAULT_ADVBASE,
    advskew: UCARP_DEFAULT_ADVSKEW,
    deadRatio: UCARP_DEFAULT_DEAD_RATIO,
    debug: false,
    shutdownAtExit: false,
    daemonize: false,
    ignoreInterfaceState: false,
    broadcast: false,
    syslog: { enabled: true, facility: 'daemon' },
    invalid: new Set(),
  };
  for (const option of scanned.matched) {
    // ucarp.c: -h prints the usage and exits at once, whatever follows.
    if (option.spec.long === 'help' && errors.length === 0) return { kind: 'help', text: UCARP_USAGE };
    applyOption(draft, option, errors, warnings);
  }
  if (scanned.error !== undefined) return { kind: 'error', errors: [...errors, scanned.error], warnings };
  for (const operand of scanned.operands) warnings.push(`ignoring '${operand}': ucarp takes no operands`);
  return finish(draft, errors, warnings);
}

/**
 * ucarp's passfile (ucarp.c `-o`): the first line, fgets into 512 bytes (at most 511 of them), without its
 * newline, as a C string (cut at a NUL byte). An empty file is ucarp's "unexpected end of file".
 */
export function passwordFromPassfile(
  contents: Uint8Array,
  path: string,
): { ok: true; password: Uint8Array } | { ok: false; error: string } {
  if (contents.length === 0)
    return { ok: false, error: `error reading passfile ${path}: unexpected end of file` };
  const line = contents.subarray(0, UCARP_PASSFILE_LINE_BYTES);
  const newline = line.indexOf(0x0a);
  const withoutNewline = newline === -1 ? line : line.subarray(0, newline);
  const nul = withoutNewline.indexOf(0);
  const password = nul === -1 ? withoutNewline : withoutNewline.subarray(0, nul);
  if (password.length === 0) return { ok: false, error: 'You must supply a password' };
  if (password.length > UCARP_PASSWORD_MAX_BYTES) return { ok: false, error: 'Password too long' };
  return { ok: true, password: password.slice() };
}

/** spawn.c: execl(script, script, interface, vaddr_arg, xparam, NULL) — the argv after the script's name. */
export function ucarpScriptArguments(
  options: Pick<UcarpOptions, 'interface' | 'virtualAddress' | 'extraParameter'>,
): string[] {
  return [
    options.interface,
    options.virtualAddress,
    ...(options.extraParameter !== undefined ? [options.extraParameter] : []),
  ];
}

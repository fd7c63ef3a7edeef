/**
 * `tandem lab ...`: the netns lab from the command line (root only).
 *
 *   tandem lab up [--balancers N] [--family 4|6|both] [--peer tandem|keepalived]   build a lab and leave it running
 *   tandem lab down [--id ID]                                                      remove it (default: every lab)
 *   tandem lab drill [--scenario NAME ...] [--advert-int S] [--version 2|3] [--protocol vrrp|carp] [--repeat N]
 *                    [--json] [--junit FILE] [--timeline FILE.svg]                 failover drills, measured
 *   tandem lab bench [--advert-int S] [--repeat N] [--json]                        the drills, tandem vs keepalived
 *   tandem lab bench-scale [--quick] [--counts N ...] [--advert-ints S ...] [--window S] [--json]
 *                                                                                  N instances, tandem vs keepalived
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { type DrillOptions, type DrillReport, runDrill } from './drill.js';
import { benchReport, benchTable } from './bench.js';
import { runScaleBench, scaleTable } from './scale.js';
import { carpBenchTable, runCarpBench } from './carp-bench.js';
import type { DaemonKind, PeerKind } from './daemons.js';
import { LabError, isRoot } from './netns.js';
import { drillJunit, drillTable, liveTable } from './report.js';
import { drillTimeline } from './timeline.js';
import { SCENARIO_NAMES } from './scenarios.js';
import { type Family, MAX_BALANCERS } from './topology.js';
import { labDown, labUp, listLabs } from './updown.js';

/** Where labs keep their files: root-owned, not world-writable, not /tmp. */
export const DEFAULT_STATE_DIRECTORY = '/run/tandem-lab';

interface CommonArguments {
  balancers: number;
  family: string;
  'advert-int': number;
  version: number;
  protocol: string;
  peer: string;
  'state-dir': string;
}

interface DrillArguments extends CommonArguments {
  scenario: string[];
  repeat: number;
  margin: number;
  'probe-interval': number;
  json: boolean;
  junit?: string;
  timeline?: string;
}

function familiesOf(value: string): Family[] {
  return value === 'both' ? [4, 6] : [Number(value) as Family];
}

/**
 * Not root: one line that says so and how, exit status 1, no usage text and no stack (this is what a new user
 * running `npm run demo` sees first).
 */
function requireRoot(command: string): boolean {
  if (isRoot()) return true;
  // Run through npm (npm run demo / bench): repeat that command; otherwise the tandem command line.
  const script = process.env.npm_lifecycle_event;
  const how = script === undefined ? `sudo tandem lab ${command} ...` : `sudo npm run ${script}`;
  process.stderr.write(
    `tandem lab needs root (network namespaces, veth pairs, raw sockets): run it in a root shell, or with ${how}\n`,
  );
  process.exitCode = 1;
  return false;
}

/** Ctrl-C or SIGTERM during a drill: exit through process.exit so the labs' exit handlers delete everything. */
function exitCleanlyOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: removing the lab\n`);
      process.exit(130);
    });
}

function commonOptions<T>(yargs: Argv<T>) {
  return yargs
    .version(false)
    .option('balancers', { type: 'number', default: 2, describe: `balancer namespaces (2-${MAX_BALANCERS})` })
    .option('family', {
      type: 'string',
      default: '4',
      choices: ['4', '6', 'both'],
      describe: 'address families of the VIPs',
    })
    .option('advert-int', {
      type: 'number',
      default: 1,
      describe: 'advert_int in seconds (below 1 needs --version 3)',
    })
    .option('version', { type: 'number', default: 3, choices: [2, 3], describe: 'VRRP version' })
    .option('protocol', {
      type: 'string',
      default: 'vrrp',
      choices: ['vrrp', 'carp'],
      describe: 'carp: carp_instances (advbase = --advert-int, whole seconds), tandem only',
    })
    .option('peer', {
      type: 'string',
      default: 'tandem',
      choices: ['tandem', 'keepalived'],
      describe: 'the daemon on the balancers',
    })
    .option('state-dir', {
      type: 'string',
      default: DEFAULT_STATE_DIRECTORY,
      describe: 'where labs keep their files',
    })
    .check((argv) => {
      const balancers = argv.balancers as number;
      if (!Number.isInteger(balancers) || balancers < 2 || balancers > MAX_BALANCERS)
        throw new Error(`--balancers must be 2-${MAX_BALANCERS}, found ${balancers}`);
      if (argv.protocol === 'carp' && argv.peer === 'keepalived')
        throw new Error('--protocol carp runs tandem only (keepalived has no CARP)');
      return true;
    });
}

function drillOptionsOf(argv: DrillArguments, peer: PeerKind): DrillOptions {
  return {
    scenarios: argv.scenario,
    repeat: argv.repeat,
    balancers: argv.balancers,
    families: familiesOf(argv.family),
    version: argv.version as 2 | 3,
    advertInterval: argv['advert-int'],
    ...(argv.protocol === 'carp' ? { protocol: 'carp' as const } : {}),
    peer,
    marginMs: argv.margin,
    probeIntervalMs: argv['probe-interval'],
    stateDirectory: argv['state-dir'],
  };
}

function drillOptions<T>(yargs: Argv<T>) {
  return commonOptions(yargs)
    .option('peer', {
      type: 'string',
      default: 'tandem',
      choices: ['tandem', 'keepalived', 'mixed'],
      describe: 'the daemon on the balancers (mixed: tandem on b1, keepalived on the others)',
    })
    .option('scenario', {
      type: 'string',
      array: true,
      default: SCENARIO_NAMES,
      choices: SCENARIO_NAMES,
      describe: 'scenarios to run, in order',
    })
    .option('repeat', { type: 'number', default: 1, describe: 'runs of each scenario' })
    .option('margin', { type: 'number', default: 150, describe: 'ms added to every protocol bound' })
    .option('probe-interval', { type: 'number', default: 2, describe: 'ms between client requests (1-5)' })
    .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' });
}

/**
 * Live progress on stderr: a header, then one row per scenario run as it finishes. On a terminal the run in
 * progress shows on the row's line and is overwritten by its result; into a pipe or file only whole lines go.
 */
export function progress(
  options: DrillOptions,
  stream: { write: (text: string) => unknown; isTTY?: boolean } = process.stderr,
): DrillOptions {
  const table = liveTable(options.scenarios);
  const terminal = stream.isTTY === true;
  let started = false;
  return {
    ...options,
    onStart: (scenario, repeat) => {
      if (!started) stream.write(`${options.peer}, one row per run as it ends:\n${table.header}\n`);
      started = true;
      if (terminal) stream.write(`${scenario} #${repeat} running ...`);
    },
    onResult: (result) => stream.write(`${terminal ? '\r\x1b[K' : ''}${table.row(result)}\n`),
  };
}

const upCommand: CommandModule<object, CommonArguments> = {
  command: 'up',
  describe: 'build a lab and leave it running (balancers, client, bridge, daemons, echo responders)',
  builder: (yargs) => commonOptions(yargs),
  handler: async (argv) => {
    if (!requireRoot('up')) return;
    const record = await labUp({
      balancers: argv.balancers,
      families: familiesOf(argv.family),
      version: argv.version as 2 | 3,
      advertInterval: argv['advert-int'],
      peer: argv.peer as DaemonKind,
      stateDirectory: argv['state-dir'],
    });
    const lines = [
      `lab ${record.id} is up (${record.peer}); remove it with: tandem lab down --id ${record.id}`,
      ...record.balancers.map(
        (balancer) =>
          `  ${balancer.name}  ${balancer.ns}  ${balancer.addresses.join(' ')}  log ${balancer.log}`,
      ),
      `  client  ${record.client.ns}  ${record.client.addresses.join(' ')}`,
      `  VIP ${record.vips.join(' ')}; try: ip netns exec ${record.client.ns} ping -c1 ${record.vips[0]}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  },
};

const downCommand: CommandModule<object, { id?: string; 'state-dir': string }> = {
  command: 'down',
  describe: 'remove labs made by `tandem lab up` (all of them, or --id)',
  builder: (yargs) =>
    yargs
      .version(false)
      .option('id', { type: 'string', describe: 'the lab to remove' })
      .option('state-dir', { type: 'string', default: DEFAULT_STATE_DIRECTORY }),
  handler: async (argv) => {
    if (!requireRoot('down')) return;
    const labs = listLabs(argv['state-dir']).filter(
      (record) => argv.id === undefined || record.id === argv.id,
    );
    if (argv.id !== undefined && labs.length === 0)
      throw new LabError(
        'TANDEM_ELAB_NOTFOUND',
        `expected lab ${argv.id} under ${argv['state-dir']}, found none`,
      );
    for (const record of labs) {
      await labDown(record);
      process.stdout.write(`lab ${record.id} removed\n`);
    }
    if (labs.length === 0) process.stdout.write('no lab to remove\n');
  },
};

const drillCommand: CommandModule<object, DrillArguments> = {
  command: 'drill',
  describe: 'run failover scenarios on a fresh lab and measure what the client sees',
  builder: (yargs) =>
    drillOptions(yargs)
      .option('junit', { type: 'string', describe: 'write a JUnit XML report to FILE' })
      .option('timeline', {
        type: 'string',
        describe: 'write an SVG timeline of who answered the client to FILE',
      }),
  handler: async (argv) => {
    if (!requireRoot('drill')) return;
    exitCleanlyOnSignals();
    const report: DrillReport = await runDrill(progress(drillOptionsOf(argv, argv.peer as PeerKind)));
    if (argv.junit !== undefined) writeFileSync(argv.junit, drillJunit(report));
    if (argv.timeline !== undefined) writeFileSync(argv.timeline, drillTimeline(report));
    if (argv.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(drillTable(report) + '\n');
    if (argv.timeline !== undefined) process.stderr.write(`timeline: ${argv.timeline}\n`);
    if (argv.junit !== undefined) process.stderr.write(`JUnit report: ${argv.junit}\n`);
    if (!report.passed) process.exitCode = 1;
  },
};

const benchCommand: CommandModule<object, DrillArguments> = {
  command: 'bench',
  describe: 'run the drills with tandem and with keepalived on the same lab and compare',
  builder: (yargs) => drillOptions(yargs),
  handler: async (argv) => {
    if (!requireRoot('bench')) return;
    exitCleanlyOnSignals();
    const tandem = await runDrill(progress(drillOptionsOf(argv, 'tandem')));
    const keepalived = await runDrill(progress(drillOptionsOf(argv, 'keepalived')));
    const bench = benchReport(tandem, keepalived);
    if (argv.json) process.stdout.write(JSON.stringify(bench, null, 2) + '\n');
    else process.stdout.write(benchTable(bench) + '\n');
  },
};

interface ScaleArguments {
  quick: boolean;
  counts?: number[];
  'advert-ints': number[];
  window?: number;
  pause?: number;
  'startup-runs'?: number;
  'settle-timeout': number;
  daemons: string[];
  json: boolean;
  'state-dir': string;
}

const benchScaleCommand: CommandModule<object, ScaleArguments> = {
  command: 'bench-scale',
  describe: 'N instances on a master and a backup, tandem vs keepalived: CPU, RSS, fds, settle time, flaps',
  builder: (yargs) =>
    yargs
      .version(false)
      .option('quick', {
        type: 'boolean',
        default: false,
        describe: 'N = 1 and 200, a 10 s window, 3 start-up runs (for development)',
      })
      .option('counts', { type: 'number', array: true, describe: 'instance counts (default 1 200 1000)' })
      .option('advert-ints', {
        type: 'number',
        array: true,
        default: [0.1, 1],
        describe: 'advert_int values in seconds',
      })
      .option('window', { type: 'number', describe: 'measuring window in s (default 60, quick 10)' })
      .option('pause', { type: 'number', describe: 's between settling and the window (default 5, quick 2)' })
      .option('startup-runs', { type: 'number', describe: 'exec -> first advert runs (default 5, quick 3)' })
      .option('settle-timeout', { type: 'number', default: 180, describe: 's to wait for all VIPs' })
      .option('daemons', {
        type: 'string',
        array: true,
        choices: ['tandem', 'keepalived'],
        default: ['tandem', 'keepalived'],
        describe: 'which daemons to run (the ratios need both)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
      .option('state-dir', {
        type: 'string',
        default: DEFAULT_STATE_DIRECTORY,
        describe: 'where the daemons keep their files',
      }),
  handler: async (argv) => {
    if (!requireRoot('bench-scale')) return;
    exitCleanlyOnSignals();
    const report = await runScaleBench({
      counts: argv.counts ?? (argv.quick ? [1, 200] : [1, 200, 1000]),
      advertIntervals: argv['advert-ints'],
      daemons: argv.daemons as DaemonKind[],
      settleTimeoutMs: argv['settle-timeout'] * 1000,
      pauseMs: (argv.pause ?? (argv.quick ? 2 : 5)) * 1000,
      windowMs: (argv.window ?? (argv.quick ? 10 : 60)) * 1000,
      startupRuns: argv['startup-runs'] ?? (argv.quick ? 3 : 5),
      stateDirectory: argv['state-dir'],
      onProgress: (line) => process.stderr.write(`${line}\n`),
    });
    if (argv.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(scaleTable(report) + '\n');
  },
};

interface CarpBenchArguments {
  advbase: number;
  repeat: number;
  json: boolean;
  'state-dir': string;
}

const benchCarpCommand: CommandModule<object, CarpBenchArguments> = {
  command: 'bench-carp',
  describe: 'tandem carp and ucarp side by side: takeover after a graceful stop and a pulled cable',
  builder: (yargs) =>
    yargs
      .version(false)
      .option('advbase', { type: 'number', default: 1, describe: 'CARP advbase, s (ucarp -b)' })
      .option('repeat', { type: 'number', default: 3, describe: 'runs of each scenario and implementation' })
      .option('json', { type: 'boolean', default: false, describe: 'print the results as JSON' })
      .option('state-dir', {
        type: 'string',
        default: DEFAULT_STATE_DIRECTORY,
        describe: 'where the daemons keep their files',
      }),
  handler: async (argv) => {
    if (!requireRoot('bench-carp')) return;
    exitCleanlyOnSignals();
    mkdirSync(argv['state-dir'], { recursive: true, mode: 0o700 });
    const results = await runCarpBench({
      advbase: argv.advbase,
      repeat: argv.repeat,
      stateDirectory: argv['state-dir'],
      onResult: (result) =>
        process.stderr.write(
          `${result.implementation} ${result.scenario} #${result.repeat}: ${result.takeoverMs} ms\n`,
        ),
    });
    if (argv.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    else process.stdout.write(carpBenchTable(results, argv.advbase) + '\n');
  },
};

export const labCommand: CommandModule = {
  command: 'lab <command>',
  describe: 'network-namespace lab: failover drills measured from a client (root only)',
  builder: (yargs) =>
    yargs
      .command(upCommand)
      .command(downCommand)
      .command(drillCommand)
      .command(benchCommand)
      .command(benchScaleCommand)
      .command(benchCarpCommand)
      .demandCommand(1),
  handler: () => {},
};

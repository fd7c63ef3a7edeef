/**
 * `tandem lab up` / `tandem lab down`: a lab that outlives the command, to look at and play with by hand.
 * `up` builds the topology, starts a daemon and an echo responder on every balancer (detached, logging to
 * files in the balancer's directory) and saves what it made in STATE_DIR/ID/lab.json; `down` reads those files,
 * kills every process inside the lab's namespaces (by PID, from `ip netns pids`) and deletes the namespaces.
 */
import { mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { type VrrpParameters, balancerConfig, validateParameters } from './config.js';
import { type DaemonKind, keepalivedArgv } from './daemons.js';
import { programArgv, tandemArgv } from './entry.js';
import { Lab, LabError, run, waitFor, addressesOn } from './netns.js';
import { ECHO_PORT, buildTopology, vipOf } from './topology.js';

export interface UpOptions extends VrrpParameters {
  balancers: number;
  peer: DaemonKind;
  stateDirectory: string;
}

export interface LabRecord {
  id: string;
  peer: DaemonKind;
  directory: string;
  namespaces: string[];
  pids: number[];
  balancers: { name: string; ns: string; addresses: string[]; log: string; config: string }[];
  client: { ns: string; addresses: string[] };
  vips: string[];
  createdAt: string;
}

const RECORD_FILE = 'lab.json';

export async function labUp(options: UpOptions): Promise<LabRecord> {
  validateParameters(options);
  const lab = new Lab();
  const directory = join(options.stateDirectory, lab.id);
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const topology = await buildTopology(lab, options.balancers, options.families);
    const vips = topology.families.map(vipOf);
    const balancers: LabRecord['balancers'] = [];
    for (const balancer of topology.balancers) {
      const home = join(directory, balancer.name);
      mkdirSync(home, { recursive: true, mode: 0o700 });
      const config = join(home, options.peer === 'tandem' ? 'tandem.conf' : 'keepalived.conf');
      writeFileSync(
        config,
        balancerConfig({ name: balancer.name, priority: balancer.priority, directory: home }, options),
      );
      const log = join(home, `${options.peer}.log`);
      const output = openSync(log, 'a');
      const argv =
        options.peer === 'tandem'
          ? tandemArgv('run', '-f', config, '--runtime-dir', join(home, 'run'))
          : keepalivedArgv(config, home);
      lab.spawn(balancer.ns, argv, { detached: true, stdio: ['ignore', output, output] });
      lab.spawn(balancer.ns, programArgv('netns-lab/responder', balancer.name, String(ECHO_PORT), ...vips), {
        detached: true,
        stdio: ['ignore', 'ignore', output],
      });
      closeSync(output);
      balancers.push({ name: balancer.name, ns: balancer.ns, addresses: balancer.addresses, log, config });
    }
    const first = topology.balancers[0];
    if (first) {
      await waitFor(async () => (await addressesOn(lab, first.ns, 'eth0')).includes(vips[0] as string), {
        timeoutMs: 20_000 + 5000 * options.advertInterval,
        message: `${first.name} holds ${vips[0]} (log: ${balancers[0]?.log})`,
      });
    }
    const { namespaces, pids } = lab.detach();
    const record: LabRecord = {
      id: lab.id,
      peer: options.peer,
      directory,
      namespaces,
      pids,
      balancers,
      client: { ns: topology.client.ns, addresses: topology.client.addresses },
      vips,
      createdAt: new Date().toISOString(),
    };
    writeFileSync(join(directory, RECORD_FILE), JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
    return record;
  } catch (error) {
    await lab.cleanup().catch(() => undefined);
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}

export function listLabs(stateDirectory: string): LabRecord[] {
  let entries: string[];
  try {
    entries = readdirSync(stateDirectory);
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    try {
      return [JSON.parse(readFileSync(join(stateDirectory, entry, RECORD_FILE), 'utf8')) as LabRecord];
    } catch {
      return [];
    }
  });
}

async function namespacePids(ns: string): Promise<number[]> {
  const { stdout } = await run(['ip', 'netns', 'pids', ns], { allowFailure: true });
  return stdout
    .split('\n')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Removes one lab: its processes (SIGTERM, then SIGKILL after 3 s), namespaces and directory. */
export async function labDown(record: LabRecord): Promise<void> {
  const pids = new Set<number>();
  for (const ns of record.namespaces) for (const pid of await namespacePids(ns)) pids.add(pid);
  for (const pid of pids) kill(pid, 'SIGTERM');
  await waitFor(
    async () => {
      for (const ns of record.namespaces) if ((await namespacePids(ns)).length > 0) return false;
      return true;
    },
    { timeoutMs: 3000, message: 'lab processes gone' },
  ).catch(async () => {
    for (const ns of record.namespaces) for (const pid of await namespacePids(ns)) kill(pid, 'SIGKILL');
  });
  const failures: string[] = [];
  for (const ns of [...record.namespaces].reverse()) {
    const { code, stderr } = await run(['ip', 'netns', 'del', ns], { allowFailure: true });
    if (code !== 0 && !stderr.includes('No such file')) failures.push(`${ns}: ${stderr.trim()}`);
  }
  if (failures.length > 0)
    throw new LabError('TANDEM_ELAB_DOWN', `expected the namespaces deleted: ${failures.join('; ')}`);
  rmSync(record.directory, { recursive: true, force: true });
}

/**
 * The operator's planned moves, as control socket commands (docs/operations.md, "Switchover" and "Maintenance
 * mode"): `switchover` hands MASTER instances over make-before-break and keeps them BACKUP; `resume` lets them
 * preempt again; `maintenance` hands over and holds FAULT (cause `maintenance`) until turned off, kept in the
 * runtime directory so that a restart of the agent keeps it.
 *
 * Every check runs before anything changes: a request that names an unknown instance, or nothing that is
 * MASTER (for a switchover), is refused whole with a clear error. A VRRP backup is silent, so whether one is
 * there shows only when the MASTER asks (its priority 0): if nobody takes over within the handover bound, the
 * move is called off and the instance stays MASTER, having kept its VIPs all along; `force` releases anyway.
 * Members of a sync group move together (a member cannot hand over alone: its group would follow it
 * break-before-make).
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../core/logger.js';
import { TandemError } from '../errors.js';
import type { InstanceRuntime } from './instance-runtime.js';

/** The file in the runtime directory that lists the instances in maintenance. */
export const MAINTENANCE_FILE = 'maintenance.json';

export class HandoverCommandError extends TandemError {}

/** Which instances a request names: one, a sync group, or all; none means the only instance there is. */
interface Selection {
  instance?: string;
  group?: string;
  all?: boolean;
}

interface Request extends Selection {
  force?: boolean;
  on?: boolean;
}

export interface HandoverSources {
  runtimes(): readonly InstanceRuntime[];
  /** The sync groups by name, with their member names. */
  groups(): ReadonlyMap<string, readonly string[]>;
  runtimeDir: string;
  log: Logger;
}

function refuse(code: string, message: string): never {
  throw new HandoverCommandError(code, message);
}

/** Checks the shape of a request: bad input is refused before anything is looked at. */
function parseRequest(request: Record<string, unknown>, command: string): Request {
  const parsed: Request = {};
  for (const [key, value] of Object.entries(request)) {
    if (key === 'command') continue;
    if ((key === 'instance' || key === 'group') && typeof value === 'string' && value !== '') {
      parsed[key] = value;
    } else if ((key === 'all' || key === 'force' || key === 'on') && typeof value === 'boolean') {
      parsed[key] = value;
    } else {
      refuse(
        'TANDEM_ECONTROL_REQUEST',
        `${command}: unexpected ${JSON.stringify(key)}: ${JSON.stringify(value)}; expected instance (a name), group (a name), all, force${command === 'maintenance' ? ', on' : ''} (true or false)`,
      );
    }
  }
  const named = [parsed.instance, parsed.group, parsed.all ? true : undefined].filter(
    (value) => value !== undefined,
  );
  if (named.length > 1) refuse('TANDEM_ECONTROL_REQUEST', `${command}: name one instance, one group, or all`);
  return parsed;
}

export class HandoverCommands {
  private writing: Promise<void> = Promise.resolve();
  /** Instances in maintenance, as kept in the runtime directory. */
  private readonly inMaintenance = new Set<string>();

  constructor(private readonly sources: HandoverSources) {}

  private get file(): string {
    return join(this.sources.runtimeDir, MAINTENANCE_FILE);
  }

  /** Reads the maintenance list a previous run left; a missing file is none, a damaged one is logged. */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.sources.log.error({ err: error, file: this.file }, 'cannot read the maintenance list');
      return;
    }
    try {
      const parsed = JSON.parse(text) as { instances?: unknown };
      if (!Array.isArray(parsed.instances) || !parsed.instances.every((name) => typeof name === 'string'))
        throw new Error('expected {"instances": [NAME, ...]}');
      for (const name of parsed.instances as string[]) this.inMaintenance.add(name);
    } catch (error) {
      this.sources.log.error(
        { file: this.file, err: error },
        'the maintenance list is damaged; no instance is held in maintenance',
      );
    }
  }

  /** Puts the instances the list names in maintenance before they start (they start in FAULT). */
  apply(runtimes: readonly InstanceRuntime[]): void {
    for (const runtime of runtimes) {
      if (!this.inMaintenance.has(runtime.config.name)) continue;
      runtime.instance.maintenance(true);
      this.sources.log.warn(
        { instance: runtime.config.name },
        `vrrp_instance ${runtime.config.name} is in maintenance (tandem maintenance off ends it)`,
      );
    }
  }

  switchover(request: Record<string, unknown>): unknown {
    const parsed = parseRequest(request, 'switchover');
    const selected = this.select(parsed, 'switchover');
    const masters = selected.filter((runtime) => runtime.instance.state === 'MASTER');
    if (masters.length === 0) {
      refuse(
        'TANDEM_ESWITCHOVER_NOT_MASTER',
        `nothing to hand over: ${selected.map((runtime) => `${runtime.config.name} is ${runtime.instance.state}`).join(', ')}; only a MASTER switches over`,
      );
    }
    for (const runtime of masters) {
      runtime.instance.onHandoverAborted = undefined;
      runtime.instance.switchover(parsed.force === true);
      this.sources.log.info(
        { instance: runtime.config.name, force: parsed.force === true },
        'switchover asked',
      );
    }
    return {
      handingOver: masters.map((runtime) => runtime.config.name),
      skipped: selected
        .filter((runtime) => !masters.includes(runtime))
        .map((runtime) => ({ instance: runtime.config.name, state: runtime.instance.state })),
    };
  }

  resume(request: Record<string, unknown>): unknown {
    const selected = this.select(parseRequest(request, 'resume'), 'resume');
    for (const runtime of selected) runtime.instance.resume();
    return { resumed: selected.map((runtime) => runtime.config.name) };
  }

  maintenance(request: Record<string, unknown>): unknown {
    const parsed = parseRequest(request, 'maintenance');
    if (parsed.on === undefined)
      refuse('TANDEM_ECONTROL_REQUEST', 'maintenance: say on (true) or off (false)');
    const selected = this.select(parsed, 'maintenance');
    for (const runtime of selected) {
      const name = runtime.config.name;
      if (parsed.on) this.inMaintenance.add(name);
      else this.inMaintenance.delete(name);
      // Nobody took over: the instance stays MASTER, so it is not in maintenance either.
      runtime.instance.onHandoverAborted = (goal) => {
        if (goal !== 'FAULT' || !this.inMaintenance.delete(name)) return;
        this.sources.log.warn({ instance: name }, `maintenance of vrrp_instance ${name} called off`);
        this.save();
      };
      runtime.instance.maintenance(parsed.on, parsed.force === true);
      this.sources.log.info(
        { instance: runtime.config.name },
        `maintenance ${parsed.on ? 'on' : 'off'} for vrrp_instance ${runtime.config.name}`,
      );
    }
    const names = selected.map((runtime) => runtime.config.name);
    this.save();
    return parsed.on ? { maintenanceOn: names } : { maintenanceOff: names };
  }

  /** Resolves when the maintenance list is on disk (the last write asked for). */
  saved(): Promise<void> {
    return this.writing;
  }

  /** Writes the list atomically (a temporary file renamed over it), one write after the other. */
  private save(): void {
    const text = JSON.stringify({ instances: [...this.inMaintenance].sort() }) + '\n';
    const temporary = `${this.file}.new`;
    this.writing = this.writing.then(async () => {
      try {
        await writeFile(temporary, text, { mode: 0o600 });
        await rename(temporary, this.file);
      } catch (error) {
        this.sources.log.error(
          { err: error, file: this.file },
          'cannot write the maintenance list: it will not survive a restart of the agent',
        );
      }
    });
  }

  /** The running instances a request names, sync groups made whole; an unknown name is refused. */
  private select(selection: Selection, command: string): InstanceRuntime[] {
    const runtimes = this.sources.runtimes();
    const groups = this.sources.groups();
    const known = runtimes.map((runtime) => runtime.config.name);
    let names: string[];
    if (selection.all) {
      names = known;
    } else if (selection.group !== undefined) {
      const members = groups.get(selection.group);
      if (!members)
        refuse(
          'TANDEM_EUNKNOWN_GROUP',
          `${command}: no vrrp_sync_group ${selection.group}; running: ${[...groups.keys()].join(', ') || 'none'}`,
        );
      names = [...members];
    } else if (selection.instance !== undefined) {
      if (!known.includes(selection.instance))
        refuse(
          'TANDEM_EUNKNOWN_INSTANCE',
          `${command}: no vrrp_instance ${selection.instance}; running: ${known.join(', ') || 'none'}`,
        );
      names = [selection.instance];
    } else if (known.length === 1) {
      names = known;
    } else {
      refuse(
        'TANDEM_ECONTROL_REQUEST',
        `${command}: name an instance, --group G or --all (running: ${known.join(', ') || 'none'})`,
      );
    }
    // A sync group's members move together.
    for (const members of groups.values()) {
      if (members.some((member) => names.includes(member))) names = [...new Set([...names, ...members])];
    }
    return runtimes.filter((runtime) => names.includes(runtime.config.name));
  }
}

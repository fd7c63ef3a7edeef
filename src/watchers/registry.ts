/**
 * The shared trackers of one configuration: one link watcher, one ScriptTracker per vrrp_script, one
 * FileTracker per track_file, one ProcessTracker per vrrp_track_process (all reading one ProcessScanner).
 * Only what some instance or sync group tracks is started (keepalived runs no script nobody tracks).
 */
import type { RtNetlink } from '../actions/netlink.js';
import type { TandemConfig, TrackLists } from '../config/schema.js';
import { TandemError } from '../errors.js';
import type { Clock } from '../vrrp/instance.js';
import { FileTracker } from './file.js';
import type { EntryLookup } from './identity.js';
import { LinkWatcher } from './link.js';
import type { WatcherLogger } from './logger.js';
import { ProcessScanner, ProcessTracker } from './process.js';
import { type ScriptRunner, ScriptTracker } from './script.js';
import type { CheckState, TrackerSource } from './tracking.js';

export class UnknownTrackerError extends TandemError {
  constructor(kind: string, name: string) {
    super('TANDEM_ETRACKER', `expected a ${kind} named '${name}', found none in the configuration`);
  }
}

export interface TrackerRegistryOptions {
  clock?: Clock;
  log?: WatcherLogger;
  /** How scripts run (default: runHook, a process group killed at the timeout). */
  run?: ScriptRunner;
  /** How script user and group names resolve (default: getent, then /etc/passwd and /etc/group). */
  lookup?: EntryLookup;
  processScanIntervalMicroseconds?: number;
  procRoot?: string;
}

export class TrackerRegistry implements TrackerSource {
  readonly links: LinkWatcher;
  readonly scripts = new Map<string, ScriptTracker>();
  readonly files = new Map<string, FileTracker>();
  readonly processes = new Map<string, ProcessTracker>();
  readonly processScanner: ProcessScanner;
  private readonly used: { scripts: Set<string>; files: Set<string>; processes: Set<string> };

  constructor(config: TandemConfig, netlink: RtNetlink, options: TrackerRegistryOptions = {}) {
    const { clock, log } = options;
    const common = { ...(clock ? { clock } : {}), ...(log ? { log } : {}) };
    this.links = new LinkWatcher(netlink, log);
    this.processScanner = new ProcessScanner({
      ...common,
      ...(options.processScanIntervalMicroseconds !== undefined
        ? { intervalMicroseconds: options.processScanIntervalMicroseconds }
        : {}),
      ...(options.procRoot !== undefined ? { procRoot: options.procRoot } : {}),
    });
    for (const script of config.scripts) {
      this.scripts.set(
        script.name,
        new ScriptTracker(script, {
          ...common,
          ...(options.run ? { run: options.run } : {}),
          ...(options.lookup ? { lookup: options.lookup } : {}),
          ...(config.global.scriptUser ? { defaultUser: config.global.scriptUser } : {}),
        }),
      );
    }
    for (const file of config.trackFiles) this.files.set(file.name, new FileTracker(file, common));
    for (const process of config.trackProcesses)
      this.processes.set(process.name, new ProcessTracker(process, this.processScanner, common));

    const lists: TrackLists[] = [...config.instances, ...config.syncGroups];
    const names = (key: keyof TrackLists) => new Set(lists.flatMap((list) => list[key].map((t) => t.name)));
    this.used = {
      scripts: names('trackScripts'),
      files: names('trackFiles'),
      processes: names('trackProcesses'),
    };
  }

  /**
   * Starts what is tracked: reads the links, resolves script users (ScriptUserError), prepares track files
   * (FileTrackerError), scans the process table, starts the scripts. Resolves when every initial state is
   * known, except scripts, whose first results arrive as changes.
   */
  async start(): Promise<void> {
    try {
      await this.links.start();
      for (const name of this.used.files) this.files.get(name)?.start();
      const processes = [...this.used.processes].flatMap((name) => this.processes.get(name) ?? []);
      for (const tracker of processes) tracker.start();
      if (processes.length > 0) await this.processScanner.start();
      for (const name of this.used.scripts) this.scripts.get(name)?.start();
    } catch (error) {
      this.stop();
      throw error;
    }
  }

  stop(): void {
    for (const script of this.scripts.values()) script.stop();
    for (const file of this.files.values()) file.stop();
    for (const process of this.processes.values()) process.stop();
    this.processScanner.stop();
    this.links.stop();
  }

  // ---- TrackerSource ----

  linkUp(name: string): boolean {
    return this.links.current(name).up;
  }
  onLink(name: string, listener: () => void): () => void {
    return this.links.track(name, () => listener());
  }
  scriptState(name: string): CheckState {
    return this.script(name).state;
  }
  onScript(name: string, listener: () => void): () => void {
    return this.script(name).onChange(() => listener());
  }
  fileValue(name: string): number {
    return this.file(name).value;
  }
  onFile(name: string, listener: () => void): () => void {
    return this.file(name).onChange(() => listener());
  }
  processRunning(name: string): boolean {
    return this.process(name).running;
  }
  onProcess(name: string, listener: () => void): () => void {
    return this.process(name).onChange(() => listener());
  }

  script(name: string): ScriptTracker {
    const tracker = this.scripts.get(name);
    if (tracker === undefined) throw new UnknownTrackerError('vrrp_script', name);
    return tracker;
  }
  file(name: string): FileTracker {
    const tracker = this.files.get(name);
    if (tracker === undefined) throw new UnknownTrackerError('track_file', name);
    return tracker;
  }
  process(name: string): ProcessTracker {
    const tracker = this.processes.get(name);
    if (tracker === undefined) throw new UnknownTrackerError('vrrp_track_process', name);
    return tracker;
  }
}

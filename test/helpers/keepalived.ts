/**
 * A real keepalived (Debian's 2.2 package) as the other box in a lab namespace, for interop tests: its config
 * goes to a private temporary directory, it runs in the foreground with its log on stderr, and its VRRP state is
 * read from the "(VI_1) Entering MASTER STATE" lines it logs, each stamped with the time this process read it.
 *
 *   const peer = await startKeepalived(lab, ns, configText, 'k');
 *   await peer.waitForState('VI_1', 'BACKUP');
 *   peer.state('VI_1');                                 // the last state it logged entering, or undefined
 *   const at = peer.transitionTime('VI_1', 'MASTER', since);
 *   await peer.stop();                                  // SIGTERM (priority-0 advert), resolves with the exit code
 *
 * keepalived runs as `keepalived -n -l -D -G -P -f CONF -p PID -r VRRPPID` (no fork, log to the console with
 * detail, no syslog, VRRP subsystem only, its own pid files so nothing meets a system keepalived). With `-n` the
 * spawned process is the parent; the VRRP work happens in a child it forks. The lab kills the parent at cleanup;
 * the child is ended here by its PID (from its pid file, checked against its command line) in case the parent
 * died without taking it along.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExitInfo, type Lab, exitOf, readLines, waitFor } from './netns.js';

/** One line keepalived logged, with the time (epoch ms) this process received it. */
export interface KeepalivedLine {
  at: number;
  text: string;
}

/** "(VI_1) Entering MASTER STATE" / "(VI_1) Entering BACKUP STATE (init)" as keepalived 2.2 logs them. */
const TRANSITION = /\(([^)]+)\) Entering ([A-Z]+) STATE/;

export interface KeepalivedTransition {
  instance: string;
  state: string;
  at: number;
}

/** The version line of the installed keepalived, e.g. "Keepalived v2.2.7 (01/16,2022)". */
export function keepalivedVersion(): string {
  // keepalived --version prints on stderr and exits 0.
  const result = spawnSync('keepalived', ['--version'], { encoding: 'utf8' });
  if (result.error)
    throw new Error(`keepalived is not installed (apt-get install -y keepalived): ${result.error.message}`);
  return `${result.stderr}${result.stdout}`.split('\n')[0] ?? '';
}

/** "Sun Nov 22 02:31:37 2026: (VI_1) Entering MASTER STATE" -> "(VI_1) Entering MASTER STATE". */
function withoutTimestamp(text: string): string {
  return text.replace(/^\w{3} \w{3} +\d+ [\d:]+ \d{4}: /, '');
}

export class KeepalivedProcess {
  readonly lines: KeepalivedLine[] = [];
  readonly transitions: KeepalivedTransition[] = [];
  readonly stdout: string[] = [];
  readonly exited: Promise<ExitInfo>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly directory: string,
  ) {
    // keepalived -l logs to stderr; stdout gets block-buffered copies of some of the same lines, read apart so
    // that no state is counted twice or stamped late.
    readLines(child.stderr, (text) => {
      const at = Date.now();
      this.lines.push({ at, text });
      const match = TRANSITION.exec(text);
      if (match) this.transitions.push({ instance: match[1] as string, state: match[2] as string, at });
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.stdout.push(chunk));
    this.exited = exitOf(child);
  }

  get configFile(): string {
    return join(this.directory, 'keepalived.conf');
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The state keepalived last logged entering for `instance`; undefined before its first transition. */
  state(instance: string): string | undefined {
    return this.transitions.findLast((transition) => transition.instance === instance)?.state;
  }

  async waitForState(instance: string, state: string, timeoutMs = 10_000): Promise<KeepalivedTransition> {
    return waitFor(
      () => {
        if (!this.running) throw new Error(`${this.name} exited`);
        const last = this.transitions.findLast((transition) => transition.instance === instance);
        return last?.state === state ? last : undefined;
      },
      { timeoutMs, message: `${this.name}: ${instance} in ${state} (log: ${this.describe()})` },
    );
  }

  /** When (epoch ms, as read here) keepalived logged entering `state` for `instance` at or after `since`. */
  transitionTime(instance: string, state: string, since: number): number | undefined {
    return this.transitions.find(
      (transition) =>
        transition.instance === instance && transition.state === state && transition.at >= since,
    )?.at;
  }

  /** The lines logged at or after `since` that match `pattern`, without keepalived's timestamp. */
  linesMatching(pattern: RegExp, since = 0): string[] {
    return this.lines
      .filter((line) => line.at >= since && pattern.test(line.text))
      .map((line) => withoutTimestamp(line.text));
  }

  /** The VRRP child's PID from its pid file, if it is still this keepalived (command line names our config). */
  vrrpChildPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.directory, 'vrrp.pid'), 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 0) return undefined;
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return commandLine.includes(this.configFile) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** SIGTERM: keepalived sends priority-0 adverts as MASTER, removes its VIPs and exits. */
  async stop(timeoutMs = 10_000): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM');
    const { code } = await this.exited;
    await waitFor(() => this.vrrpChildPid() === undefined, {
      timeoutMs,
      message: `${this.name}: VRRP child gone`,
    });
    return code;
  }

  describe(): string {
    return JSON.stringify(this.lines.slice(-12).map((line) => withoutTimestamp(line.text)));
  }

  cleanup(): void {
    const pid = this.vrrpChildPid();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(this.directory, { recursive: true, force: true });
  }
}

/**
 * Writes `config` and starts keepalived in `ns`; resolves once it logged its first state (its VRRP child is
 * up and the instances are running), rejects with its log if it exits first.
 */
export async function startKeepalived(
  lab: Lab,
  ns: string,
  config: string,
  name: string,
): Promise<KeepalivedProcess> {
  const directory = mkdtempSync(join(tmpdir(), `tandem-keepalived-${name}-`));
  const configFile = join(directory, 'keepalived.conf');
  writeFileSync(configFile, config);
  const child = lab.spawn(ns, [
    'keepalived',
    '-n',
    '-l',
    '-D',
    '-G',
    '-P',
    '-f',
    configFile,
    '-p',
    join(directory, 'keepalived.pid'),
    '-r',
    join(directory, 'vrrp.pid'),
  ]);
  const peer = new KeepalivedProcess(name, child, directory);
  lab.onCleanup(() => peer.cleanup());
  await waitFor(
    () => {
      if (!peer.running) throw new Error(`${name}: keepalived exited: ${peer.describe()}`);
      return peer.transitions.length > 0;
    },
    { timeoutMs: 10_000, message: `${name}: keepalived started (log: ${peer.describe()})` },
  );
  return peer;
}

/** The addresses (without prefix length) configured on `ifname` in `ns`, from `ip -j addr`. */
export async function addressesOn(lab: Lab, ns: string, ifname: string): Promise<string[]> {
  const links = (await lab.execJson(ns, ['ip', '-j', 'addr', 'show', 'dev', ifname])) as {
    addr_info?: { local: string }[];
  }[];
  return links.flatMap((link) => (link.addr_info ?? []).map((info) => info.local));
}

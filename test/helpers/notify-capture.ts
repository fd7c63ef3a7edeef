/**
 * What any VRRP daemon (a real keepalived, or `tandem run`) writes to its notify FIFOs and which notify scripts
 * it runs, byte for byte, captured the same way whichever daemon it is, so that the two can be compared:
 *
 *   const capture = await captureNotifies(
 *     lab,
 *     (paths) => configText(paths),
 *     (text) => startAgent(lab, ns, text, 'a'),        // or startKeepalived(lab, ns, text, 'k')
 *     async (daemon) => { await daemon.waitForState('VI_1', 'MASTER'); },
 *   );
 *   capture.notifyFifo;       // Buffer: everything written to notify_fifo until the daemon exited
 *   capture.vrrpNotifyFifo;   // Buffer: the same for vrrp_notify_fifo
 *   capture.notifies;         // argv of every notify script run (argv[0] = the script path), in the order run
 *   capture.normalized(text); // text with the capture's private directory replaced by DIRECTORY_MARK
 *
 * The config names `paths.notifyFifo`, `paths.vrrpNotifyFifo` and uses `paths.recorder` as every notify script
 * (it appends its argv to a log, one record per run, in one append so that concurrent runs do not interleave).
 * The files live in a fresh directory of mode 0755 owned by root, so that only root can write it (tandem
 * refuses a FIFO in a directory another user could write). Both FIFOs are made beforehand and read by a `cat`
 * each, so no line is lost whenever it is written. After `drive`, the daemon is stopped (its STOP notifies
 * run), and the capture waits until both readers saw end-of-file and no notify script is still running.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Lab, exitOf, waitFor } from './netns.js';

/** Separators of the recorder's log: between arguments, and after a run. */
const ARGUMENT_END = '\x1f';
const RECORD_END = '\x1e\n';

/** Stands for the capture's private directory in normalized text, so two captures can be compared. */
export const DIRECTORY_MARK = '<capture>';

export interface NotifyCapturePaths {
  directory: string;
  notifyFifo: string;
  vrrpNotifyFifo: string;
  /** A script that records its argv; use it (with any arguments) for every notify of the config. */
  recorder: string;
}

export interface StoppableDaemon {
  stop(): Promise<unknown>;
}

export interface NotifyCapture<Daemon> {
  config: string;
  paths: NotifyCapturePaths;
  notifyFifo: Buffer;
  vrrpNotifyFifo: Buffer;
  notifies: string[][];
  daemon: Daemon;
  /** `text` with every occurrence of the capture's directory replaced by DIRECTORY_MARK. */
  normalized(text: string): string;
}

/** Collects what `cat path` reads; resolves at its end-of-file. */
function readFifo(path: string): { child: ChildProcess; bytes: Promise<Buffer> } {
  const child = spawn('cat', [path], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
  const bytes = exitOf(child).then(() => Buffer.concat(chunks));
  return { child, bytes };
}

/** Whether a process still runs `script` (a notify script the daemon started and has not finished). */
function scriptRunning(script: string): boolean {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(script);
      } catch {
        return false;
      }
    });
}

export async function captureNotifies<Daemon extends StoppableDaemon>(
  lab: Lab,
  config: (paths: NotifyCapturePaths) => string,
  start: (configText: string) => Promise<Daemon>,
  drive: (daemon: Daemon) => Promise<void>,
  { timeoutMs = 20_000 }: { timeoutMs?: number } = {},
): Promise<NotifyCapture<Daemon>> {
  const directory = mkdtempSync(join(tmpdir(), 'tandem-notify-capture-'));
  chmodSync(directory, 0o755);
  const readers: ChildProcess[] = [];
  lab.onCleanup(() => {
    for (const reader of readers)
      if (reader.exitCode === null && reader.signalCode === null) reader.kill('SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  });
  const paths: NotifyCapturePaths = {
    directory,
    notifyFifo: join(directory, 'notify.fifo'),
    vrrpNotifyFifo: join(directory, 'vrrp-notify.fifo'),
    recorder: join(directory, 'record-notify.sh'),
  };
  const log = join(directory, 'notify.log');
  writeFileSync(
    paths.recorder,
    `#!/bin/sh\nrecord=$(printf '%s${ARGUMENT_END}' "$0" "$@")\nprintf '%s${RECORD_END.replace('\n', '\\n')}' "$record" >> ${log}\n`,
  );
  chmodSync(paths.recorder, 0o755);
  writeFileSync(log, '');
  for (const fifo of [paths.notifyFifo, paths.vrrpNotifyFifo]) execFileSync('mkfifo', ['-m', '0600', fifo]);
  const notifyReader = readFifo(paths.notifyFifo);
  const vrrpReader = readFifo(paths.vrrpNotifyFifo);
  readers.push(notifyReader.child, vrrpReader.child);

  const text = config(paths);
  const daemon = await start(text);
  await drive(daemon);
  await daemon.stop();
  // The daemon held both FIFOs open for writing; with it gone the readers see end-of-file.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('FIFO readers saw no end-of-file after the daemon exited')),
      timeoutMs,
    );
  });
  const [notifyFifo, vrrpNotifyFifo] = await Promise.race([
    Promise.all([notifyReader.bytes, vrrpReader.bytes]),
    deadline,
  ]).finally(() => clearTimeout(timer));
  await waitFor(() => !scriptRunning(paths.recorder), { timeoutMs, message: 'notify scripts finished' });
  const notifies = readFileSync(log, 'utf8')
    .split(RECORD_END)
    .filter((record) => record !== '')
    .map((record) => record.split(ARGUMENT_END).slice(0, -1));
  return {
    config: text,
    paths,
    notifyFifo,
    vrrpNotifyFifo,
    notifies,
    daemon,
    normalized: (value) => value.split(directory).join(DIRECTORY_MARK),
  };
}

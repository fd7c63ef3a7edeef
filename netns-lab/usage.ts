/**
 * CPU time, memory and file descriptors of a daemon's processes, read from /proc: utime + stime from
 * /proc/PID/stat (fields 14 and 15, in clock ticks), VmHWM (peak resident set) and VmRSS from /proc/PID/status,
 * the entries of /proc/PID/fd.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second (sysconf(_SC_CLK_TCK)); 100 on every Linux architecture Node.js runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface Usage {
  cpuMs: number;
  peakRssKb: number;
}

export function processUsage(pid: number): Usage | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const peak = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return { cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND, peakRssKb: peak ? Number(peak[1]) : 0 };
  } catch {
    return undefined;
  }
}

/** Sums CPU over `pids` and takes the largest peak. */
export function usageOf(pids: readonly number[]): Usage {
  const usage: Usage = { cpuMs: 0, peakRssKb: 0 };
  for (const pid of pids) {
    const one = processUsage(pid);
    if (!one) continue;
    usage.cpuMs += one.cpuMs;
    usage.peakRssKb = Math.max(usage.peakRssKb, one.peakRssKb);
  }
  return usage;
}

/** A process as it is now: CPU so far, resident set, open file descriptors. */
export interface ProcessSample {
  cpuMs: number;
  rssKb: number;
  fds: number;
}

/** Sums over `pids` (a daemon's processes); PIDs that are gone count nothing. */
export function sampleProcesses(pids: readonly number[]): ProcessSample {
  const sample: ProcessSample = { cpuMs: 0, rssKb: 0, fds: 0 };
  for (const pid of pids) {
    const usage = processUsage(pid);
    if (!usage) continue;
    sample.cpuMs += usage.cpuMs;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      sample.rssKb += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
      sample.fds += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // Gone between the two reads.
    }
  }
  return sample;
}

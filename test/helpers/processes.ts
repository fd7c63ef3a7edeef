/** What tests ask of processes they did not start themselves (a hook's child): whether one still runs. */
import { readFileSync } from 'node:fs';

/** Whether `pid` runs: it exists and is not a zombie waiting for its reaper (a zombie runs nothing). */
export function processRuns(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state is the field after the command name, which may hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

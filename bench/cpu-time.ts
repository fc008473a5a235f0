/**
 * CPU time by process, for benches that explain where a run's time went (Linux /proc; undefined
 * elsewhere). A ratio against a baseline says how far a figure is from it; CPU seconds per event
 * by process say which process holds it back on a machine whose cores they all share.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** /proc/<pid>/stat counts in clock ticks, 100 a second on Linux (USER_HZ). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user and system) a process has used so far. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The pids whose command line contains `needle` (e.g. the Kafka broker's main class). */
export function findProcesses(needle: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(needle)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

/** CPU seconds used so far by a set of processes together; undefined when none can be read. */
export function cpuSecondsOf(pids: readonly number[]): number | undefined {
  const seconds = pids.map(processCpuSeconds).filter((s): s is number => s !== undefined);
  return seconds.length === 0 ? undefined : seconds.reduce((sum, s) => sum + s, 0);
}

/** CPU seconds this process has used so far. */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

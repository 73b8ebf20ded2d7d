/**
 * How much CPU *other* processes used during a measurement (Linux /proc only): on a small
 * shared machine a test suite running next to the bench skews the numbers, and this says so.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface CpuSample {
  /** All jiffies of all CPUs (busy + idle). */
  total: number;
  /** Busy jiffies of all CPUs. */
  busy: number;
  /** Jiffies used by the given processes and their descendants. */
  own: number;
}

/** /proc/<pid>/stat fields after the command: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Jiffies of the given processes and all their live descendants (a server may run worker processes). */
function ownJiffies(roots: number[]): number {
  const parent = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const f = statFields(pid);
    if (f) parent.set(pid, Number(f[1]));
  }
  const mine = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) if (!mine.has(pid) && mine.has(ppid)) { mine.add(pid); grew = true; }
  }
  let total = 0;
  for (const pid of mine) {
    const f = statFields(pid);
    if (f) total += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return total;
}

/** undefined where /proc is not available. */
export function sampleCpu(pids: number[]): CpuSample | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
    const [, ...vals] = line.trim().split(/\s+/);
    const n = vals.map(Number); // user nice system idle iowait irq softirq steal guest guest_nice
    const idle = n[3] + n[4];
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
    return { total, busy: total - idle, own: ownJiffies(pids) };
  } catch {
    return undefined;
  }
}

/** Share (0..1) of the machine's CPU capacity used by other processes between two samples. */
export function foreignShare(a: CpuSample | undefined, b: CpuSample | undefined): number {
  if (!a || !b || b.total <= a.total) return NaN;
  return Math.max(0, (b.busy - a.busy - (b.own - a.own)) / (b.total - a.total));
}

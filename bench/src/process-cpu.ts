import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      ticksPerSecond = 100;
    }
    if (!Number.isFinite(ticksPerSecond) || ticksPerSecond <= 0) ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

interface Stat {
  ppid: number;
  /** user + system CPU time, in clock ticks */
  ticks: number;
  /** the same for children that exited and were waited for */
  childTicks: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]),
      childTicks: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) used so far by `pid` and, with `descendants`, by its live child
 * processes (PostgreSQL's backends) except those in `exclude` (the bench's own connections).
 * Undefined where /proc is not available.
 */
export function cpuSeconds(
  pid: number,
  descendants = false,
  exclude: ReadonlySet<number> = new Set(),
): number | undefined {
  const own = readStat(pid);
  if (own === undefined) return undefined;
  let ticks = own.ticks;
  if (descendants) {
    // Backends that already exited were waited for by the postmaster: their time is here.
    ticks += own.childTicks;
    const children = new Map<number, number[]>();
    const stats = new Map<number, Stat>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = readStat(Number(entry));
      if (stat === undefined) continue;
      stats.set(Number(entry), stat);
      const list = children.get(stat.ppid) ?? [];
      list.push(Number(entry));
      children.set(stat.ppid, list);
    }
    const queue = [...(children.get(pid) ?? [])];
    while (queue.length > 0) {
      const child = queue.pop()!;
      if (exclude.has(child)) continue;
      ticks += stats.get(child)?.ticks ?? 0;
      queue.push(...(children.get(child) ?? []));
    }
  }
  return ticks / clockTicks();
}

/** Resident memory of `pid` in MiB, from /proc (undefined where it cannot be read). */
export function residentMiB(pid: number): number | undefined {
  try {
    const kib = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? undefined : Math.round(Number(kib) / 1024);
  } catch {
    return undefined;
  }
}

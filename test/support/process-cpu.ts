// CPU time of a child process, for the benchmarks' "CPU per ..." figures: user + system seconds so far, read from
// /proc/<pid>/stat (Linux; clock ticks of 10 ms, USER_HZ 100).
import { readFile } from 'node:fs/promises';

export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime
}

/** The whole machine's busy and total CPU seconds so far (every core; /proc/stat's first line, idle and iowait not
 * busy): whether the load beside a benchmark left it a core. */
export async function machineCpuSeconds(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: (total - ticks[3]! - ticks[4]!) / 100, total: total / 100 };
}

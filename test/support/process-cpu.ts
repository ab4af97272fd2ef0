// CPU time of a child process, for the benchmarks' "CPU per ..." figures: user + system seconds so far, read from
// /proc/<pid>/stat (Linux; clock ticks of 10 ms, USER_HZ 100).
import { readFile } from 'node:fs/promises';

export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime
}

// Memory of a child process, for the benchmarks' peak-RSS figures: resident now (VmRSS) or at its peak (VmHWM), read
// from /proc/<pid>/status (Linux), in MiB with one decimal.
import { readFile } from 'node:fs/promises';

export async function memoryMiB(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

// Memory of a child process, for the benchmarks' peak-RSS figures: resident now (VmRSS) and at its peak (VmHWM),
// read from /proc/<pid>/status (Linux), in MiB with one decimal.
import { readFile } from 'node:fs/promises';

export async function memoryMiB(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

/** A line for a log: the process's resident memory now and at peak, and the V8 heap in use from its metrics text. */
export async function memoryLine(pid: number, metrics: string, heapMetric: string): Promise<string> {
  const heap = Number(new RegExp(`^${heapMetric} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  const [rss, hwm] = await Promise.all([memoryMiB(pid, 'VmRSS'), memoryMiB(pid, 'VmHWM')]);
  return `rss ${rss} MiB, peak ${hwm} MiB, heap used ${Math.round(heap / 2 ** 20)} MiB`;
}

// CPU of a process and its direct children (the gateway and the WHIP bridge's ffmpeg it spawns) over a window, as a
// share of one core. Children are found in /proc/<pid>/task/*/children; each pid's time is taken as a delta, so a
// child that starts inside the window counts from zero and one that exits inside it loses its share (counted apart).
import { readdir, readFile } from 'node:fs/promises';
import { cpuSeconds } from '../test/support/process-cpu.ts';

async function childPids(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`);
  const lists = await Promise.all(
    tasks.map((t) => readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '')),
  );
  return [...new Set(lists.join(' ').split(/\s+/).filter(Boolean).map(Number))];
}

/** pid -> CPU seconds so far, for `pid` and its children (a child gone between the listing and the read is left out). */
async function treeCpu(pid: number): Promise<Map<number, number>> {
  const pids = [pid, ...(await childPids(pid))];
  const times = await Promise.all(pids.map((p) => cpuSeconds(p).catch(() => undefined)));
  return new Map(pids.flatMap((p, i) => (times[i] === undefined ? [] : [[p, times[i]] as const])));
}

export interface TreeCpu {
  /** The whole tree's CPU seconds per wall second (1 = one core). */
  coreFraction: number;
  /** The parent's own share. */
  parentCoreFraction: number;
  /** The children's share (for the gateway: the bridge's ffmpeg). */
  childrenCoreFraction: number;
  children: number;
  /** Children seen at the start and gone at the end (their time in the window is not counted). */
  childrenGone: number;
  seconds: number;
}

/** Starts a window; the returned function ends it and gives the figures. */
export async function startCpuWindow(pid: number): Promise<() => Promise<TreeCpu>> {
  const before = await treeCpu(pid);
  const startedAt = performance.now();
  return async () => {
    const after = await treeCpu(pid);
    const seconds = (performance.now() - startedAt) / 1000;
    let children = 0;
    for (const [p, t] of after) if (p !== pid) children += t - (before.get(p) ?? 0);
    const parent = after.get(pid)! - before.get(pid)!;
    const round = (x: number) => Math.round((x / seconds) * 1000) / 1000;
    return {
      coreFraction: round(parent + children),
      parentCoreFraction: round(parent),
      childrenCoreFraction: round(children),
      children: after.size - 1,
      childrenGone: [...before.keys()].filter((p) => p !== pid && !after.has(p)).length,
      seconds: Math.round(seconds * 10) / 10,
    };
  };
}

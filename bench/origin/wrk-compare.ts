// Two HTTP servers under the same wrk load, side by side in one run: a 1 s warm-up of each (file cache, JIT), then
// B, A, A, B so that drift on a shared machine cancels out. Besides req/s, the servers' CPU microseconds per request
// (their processes' user + system time): steadier than req/s when other work shares the cores.
import { cpuSeconds } from '../../test/support/process-cpu.ts';
import { runWrk, type WrkResult } from './wrk.ts';

export interface WrkLoad {
  seconds: number;
  connections: number;
  threads: number;
}

export interface WrkSide {
  url: string;
  /** The server's processes, whose CPU is counted. */
  pids: number[];
}

export interface WrkSideResult {
  rps: number;
  cpuUsPerRequest: number;
  latencyP99Ms: number;
}

const cpuOf = async (pids: number[]): Promise<number> =>
  (await Promise.all(pids.map(cpuSeconds))).reduce((a, b) => a + b, 0);

async function run(side: WrkSide, load: WrkLoad): Promise<WrkResult & { usPerRequest: number }> {
  const cpu0 = await cpuOf(side.pids);
  const result = await runWrk(side.url, load);
  const cpu = (await cpuOf(side.pids)) - cpu0;
  if (result.non2xx > 0 || result.socketErrors > 0) {
    throw new Error(`wrk saw errors on ${side.url}: ${JSON.stringify(result)}`);
  }
  return { ...result, usPerRequest: (cpu * 1e6) / (result.requestsPerSecond * load.seconds) };
}

const mean = (xs: number[], digits = 0): number =>
  Math.round((xs.reduce((s, x) => s + x, 0) / xs.length) * 10 ** digits) / 10 ** digits;

export async function wrkSideBySide(
  a: WrkSide,
  b: WrkSide,
  load: WrkLoad,
): Promise<{ a: WrkSideResult; b: WrkSideResult }> {
  await runWrk(a.url, { ...load, seconds: 1 });
  await runWrk(b.url, { ...load, seconds: 1 });
  const b1 = await run(b, load);
  const a1 = await run(a, load);
  const a2 = await run(a, load);
  const b2 = await run(b, load);
  const summary = (x: typeof a1, y: typeof a1): WrkSideResult => ({
    rps: mean([x.requestsPerSecond, y.requestsPerSecond]),
    cpuUsPerRequest: mean([x.usPerRequest, y.usPerRequest], 1),
    latencyP99Ms: mean([x.latencyP99Ms, y.latencyP99Ms], 2),
  });
  return { a: summary(a1, a2), b: summary(b1, b2) };
}

// Simulated HLS viewers: each has its own keep-alive connection (a minimal client, see keep-alive-client.ts) and session token, polls its variant playlist once
// per second and downloads every segment that newly appears (from the live edge), like a player at steady state.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { KeepAliveClient } from './keep-alive-client.ts';

/** Where a channel's HLS is: `${baseUrl}${path}/<rendition>/index.m3u8`. */
export interface ViewerChannel {
  baseUrl: string; // http://127.0.0.1:PORT
  path: string; // '/hls' on a transcoder's origin, '/<namespace>/<name>' through the gateway
}

export interface ViewerSimOptions {
  baseUrl: string; // http://127.0.0.1:PORT (the one channel at /hls when `channels` is not given)
  channels?: ViewerChannel[]; // viewers are spread over these, viewer i on channel i % channels.length
  renditions: string[]; // viewers are spread over these (ABR audiences watch every rung)
  viewers: number;
  seconds: number; // measured time, after the ramp
  rampSeconds: number; // viewers join evenly over this time; nothing measured during it
  requestTimeoutMs: number;
  threads?: number; // load generator threads (default 2): one event loop would lag before the origin does
}

export interface SliceResult {
  pollMs: number[];
  segmentMs: number[];
  pollFailures: number;
  segmentFailures: number;
  bytes: number;
  lagP99Ms: number;
  segmentUrls: string[]; // every distinct segment URL answered 200, ramp included
}

export interface ViewerSimResult {
  viewers: number;
  polls: number;
  pollFailures: number;
  pollP50Ms: number;
  pollP99Ms: number;
  pollMaxMs: number;
  segments: number;
  segmentFailures: number;
  segmentP99Ms: number;
  segmentMaxMs: number;
  megabytesPerSecond: number;
  loadGeneratorLagP99Ms: number; // this process's event loop delay: large values mean the client, not the origin, lagged
  loadGeneratorCpuPercent: number; // all load generator threads, % of one core
  distinctSegments: number; // distinct segment URLs answered 200 (over every channel), ramp included
}

export function segmentUris(playlist: string): string[] {
  return playlist
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

// Viewers [first, first + count) of options.viewers, in this thread.
export async function runViewerSlice(options: ViewerSimOptions, first: number, count: number): Promise<SliceResult> {
  const start = performance.now();
  const measureFrom = start + options.rampSeconds * 1000;
  const end = measureFrom + options.seconds * 1000;
  const result: SliceResult = {
    pollMs: [],
    segmentMs: [],
    pollFailures: 0,
    segmentFailures: 0,
    bytes: 0,
    lagP99Ms: 0,
    segmentUrls: [],
  };
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const channels = options.channels ?? [{ baseUrl: options.baseUrl, path: '/hls' }];
  const answered = new Set<string>();

  async function viewer(i: number): Promise<void> {
    const channel = channels[i % channels.length]!;
    const url = new URL(channel.baseUrl);
    const client = new KeepAliveClient(url.hostname, Number(url.port));
    const rendition = options.renditions[Math.floor(i / channels.length) % options.renditions.length]!;
    const token = `bench-viewer-${i}`;
    const base = `${channel.path}/${rendition}/`;
    const seen = new Set<string>();
    await sleep(Math.floor((i / options.viewers) * options.rampSeconds * 1000));
    try {
      let joined = false;
      while (performance.now() < end) {
        const t0 = performance.now();
        const measured = t0 >= measureFrom;
        let uris: string[] = [];
        try {
          const res = await client.get(`${base}index.m3u8?vs=${token}`, true, options.requestTimeoutMs);
          if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
          if (measured) result.pollMs.push(performance.now() - t0);
          uris = segmentUris(res.body);
        } catch {
          if (measured) result.pollFailures++;
        }
        // Join at the live edge: only the newest segment on the first poll.
        const fresh = joined ? uris.filter((u) => !seen.has(u)) : uris.slice(-1);
        for (const u of uris) seen.add(u);
        if (uris.length > 0) joined = true;
        for (const uri of fresh) {
          const s0 = performance.now();
          try {
            const res = await client.get(`${base}${uri}?vs=${token}`, false, options.requestTimeoutMs);
            if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
            answered.add(`${channel.baseUrl}${base}${uri}`);
            if (s0 >= measureFrom) {
              result.segmentMs.push(performance.now() - s0);
              result.bytes += res.length;
            }
          } catch {
            if (s0 >= measureFrom) result.segmentFailures++;
          }
        }
        if (seen.size > 64) for (const u of [...seen].slice(0, seen.size - 32)) seen.delete(u);
        const wait = t0 + 1000 - performance.now();
        if (wait > 0) await sleep(wait);
      }
    } finally {
      client.close();
    }
  }

  lag.enable();
  await Promise.all(Array.from({ length: count }, (_, k) => viewer(first + k)));
  lag.disable();
  result.lagP99Ms = lag.percentile(99) / 1e6;
  result.segmentUrls = [...answered];
  return result;
}

export async function simulateViewers(options: ViewerSimOptions): Promise<ViewerSimResult> {
  const threads = Math.max(1, Math.min(options.threads ?? 2, options.viewers));
  const per = Math.ceil(options.viewers / threads);
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const slices = await Promise.all(
    Array.from({ length: threads }, (_, t) => {
      const first = t * per;
      const count = Math.min(per, options.viewers - first);
      const worker = new Worker(new URL('./viewer-sim-worker.ts', import.meta.url), {
        workerData: { options, first, count },
      });
      return new Promise<SliceResult>((resolve, reject) => {
        worker.once('message', (r: SliceResult) => resolve(r));
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`viewer worker exited with ${code}`)));
      });
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const loadGeneratorCpuPercent = Math.round(((cpu.user + cpu.system) / 1000 / (performance.now() - wall0)) * 100);
  const pollMs = slices.flatMap((s) => s.pollMs).sort((a, b) => a - b);
  const segmentMs = slices.flatMap((s) => s.segmentMs).sort((a, b) => a - b);
  const sum = (f: (s: SliceResult) => number): number => slices.reduce((n, s) => n + f(s), 0);
  const round = (n: number): number => Math.round(n * 10) / 10;
  return {
    viewers: options.viewers,
    polls: pollMs.length,
    pollFailures: sum((s) => s.pollFailures),
    pollP50Ms: round(percentile(pollMs, 50)),
    pollP99Ms: round(percentile(pollMs, 99)),
    pollMaxMs: round(pollMs.at(-1) ?? NaN),
    segments: segmentMs.length,
    segmentFailures: sum((s) => s.segmentFailures),
    segmentP99Ms: round(percentile(segmentMs, 99)),
    segmentMaxMs: round(segmentMs.at(-1) ?? NaN),
    megabytesPerSecond: round(sum((s) => s.bytes) / 1e6 / options.seconds),
    loadGeneratorLagP99Ms: round(Math.max(...slices.map((s) => s.lagP99Ms))),
    loadGeneratorCpuPercent,
    distinctSegments: new Set(slices.flatMap((s) => s.segmentUrls)).size,
  };
}

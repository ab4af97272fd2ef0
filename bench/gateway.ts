// bench-gateway: what going through the gateway costs, each figure measured side by side in this run; prints ONE
// JSON line with
//  - rtmp: a publish routed by the real gateway process against the same publish sent straight to the backend
//    (test/support/gateway-rtmp-measure.ts): added latency p50/p99 per video message, and the gateway's CPU per
//    routed publish (% of a core, and its idle baseline over a window as long);
//  - publishes: concurrent publishes one gateway replica carries (bench/gateway-publishes.ts): steps of
//    BENCH_PUBLISH_STEP more publishes at BENCH_PUBLISH_KBPS, each held ~10 s, until one is not routed, loses messages, its latency p99
//    passes the 100 ms target or the gateway passes 90 % of a core (or the cap); the load generator's own lag and
//    the neighbours' CPU are measured beside, and a step they spoiled is reported as theirs (limitedBy);
//  - playback.wrk: one channel, a variant playlist and a 2 s 720p segment under the same wrk load, through the
//    gateway against straight from the transcoder's origin (bench/origin/origin-process.ts), B-A-A-B; req/s ratio,
//    p99 latencies and CPU per request of each server; and the segment through the gateway against nginx (one
//    worker, sendfile) serving the same file: the reference for the cache;
//  - playback.viewers: N simulated HLS viewers (playlist poll every second + every new segment) spread over C
//    channels, each channel an origin of its own over one real-time ffmpeg ladder, straight to the origins and then
//    through the gateway: poll and segment latencies both ways, and backend segment fetches per distinct segment the
//    viewers got, counted by the origins themselves (1 per gateway replica: the cache coalesces).
// usage: node bench/gateway.ts
//   env: BENCH_PARTS=rtmp,publishes,wrk,viewers  BENCH_RTMP_SECONDS=20  BENCH_RTMP_KBPS=3000  BENCH_WRK_SECONDS=4
//        BENCH_PUBLISH_KBPS=1000  BENCH_PUBLISH_STEP=50  BENCH_PUBLISH_STEP_SECONDS=10  BENCH_PUBLISH_MAX=1000
//        BENCH_PUBLISH_SECONDS=150 (the part's budget: at about 12 s a step, 12 steps: up to 600 publishes)
//        BENCH_VIEWERS=2000  BENCH_CHANNELS=5  BENCH_VIEWER_SECONDS=15
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { smallLadder, startHlsWriter, type HlsWriter } from '../test/support/ffmpeg-hls-writer.ts';
import { startGatewayProcess, type GatewayProcess, type GatewayRoute } from '../test/support/gateway-process.ts';
import { measureRouting } from '../test/support/gateway-rtmp-measure.ts';
import { cpuSeconds } from '../test/support/process-cpu.ts';
import { pickFreePort } from '../test/support/redis-process.ts';
import { startNginx, type NginxProcess } from './origin/nginx.ts';
import { startOriginProcess, type OriginChild } from './origin/origin-child.ts';
import { measurePublishCapacity } from './gateway-publishes.ts';
import { encodeStaticSample } from './origin/static-sample.ts';
import { simulateViewers, type ViewerChannel, type ViewerSimResult } from './origin/viewer-sim.ts';
import { wrkSideBySide } from './origin/wrk-compare.ts';

const env = (name: string, fallback: number): number => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got ${process.env[name]})`);
  return n;
};
const parts = (process.env.BENCH_PARTS ?? 'rtmp,publishes,wrk,viewers').split(',');
const rtmpSeconds = env('BENCH_RTMP_SECONDS', 20);
const rtmpKbps = env('BENCH_RTMP_KBPS', 3000);
const publishLoad = {
  kbps: env('BENCH_PUBLISH_KBPS', 1000),
  perStep: env('BENCH_PUBLISH_STEP', 50),
  stepSeconds: env('BENCH_PUBLISH_STEP_SECONDS', 10),
  maxPublishes: env('BENCH_PUBLISH_MAX', 1000),
  maxSeconds: env('BENCH_PUBLISH_SECONDS', 150),
};
const wrkLoad = { connections: 50, threads: 1, seconds: env('BENCH_WRK_SECONDS', 4) };
const viewers = env('BENCH_VIEWERS', 2000);
const channels = env('BENCH_CHANNELS', 5);
const viewerSeconds = env('BENCH_VIEWER_SECONDS', 15);
const segmentSeconds = 2;
const namespace = 'bench';

const log = (message: string): void => void process.stderr.write(`[bench-gateway] ${message}\n`);
const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** One route per origin: channel `ch-<i>` served by origins[i]. */
const routesTo = (origins: OriginChild[], name = (i: number) => `ch-${i}`): GatewayRoute[] =>
  origins.map((o, i) => ({
    key: randomBytes(16).toString('hex'),
    namespace,
    name: name(i),
    rtmp: '127.0.0.1:1',
    http: `127.0.0.1:${o.port}`,
  }));

/** Segment requests an origin answered 200 so far (its own counter: what the gateway really fetched). */
async function originSegmentRequests(origin: OriginChild): Promise<number> {
  const text = await origin.metrics();
  const line = /^livestream_transcoder_http_requests_total\{(?=[^}]*route="segment")(?=[^}]*code="200")[^}]*\} (\S+)/m;
  return Number(line.exec(text)?.[1] ?? 0);
}

async function wrkPlayback(root: string): Promise<Record<string, unknown>> {
  const hlsDir = join(root, 'static', 'hls');
  await mkdir(hlsDir, { recursive: true });
  log('encoding a 720p sample (3 x 2 s segments)');
  await encodeStaticSample(hlsDir, segmentSeconds);
  let origin: OriginChild | undefined;
  let gateway: GatewayProcess | undefined;
  let nginx: NginxProcess | undefined;
  try {
    origin = await startOriginProcess(hlsDir);
    gateway = await startGatewayProcess({ routes: routesTo([origin], () => 'static') });
    // One nginx worker: the gateway is one Node process.
    nginx = await startNginx({ port: await pickFreePort(), hlsDir, workDir: join(root, 'nginx'), workers: 1 });
    const sides = {
      gateway: (file: string) => ({
        url: `http://127.0.0.1:${gateway!.httpPort}/${namespace}/static/${file}`,
        pids: [gateway!.process.pid!],
      }),
      origin: (file: string) => ({ url: `http://127.0.0.1:${origin!.port}/hls/${file}`, pids: [origin!.proc.pid!] }),
      nginx: async (file: string) => ({
        url: `http://127.0.0.1:${nginx!.port}/hls/${file}`,
        pids: await nginx!.workerPids(),
      }),
    };
    const out: Record<string, Record<string, unknown>> = {};
    for (const [what, file] of [
      ['playlist', '720p/index.m3u8'],
      ['segment', '720p/seg-00001.ts'],
    ] as const) {
      const { a: viaGateway, b: direct } = await wrkSideBySide(sides.gateway(file), sides.origin(file), wrkLoad);
      const bytes = (await readFile(join(hlsDir, file))).length;
      out[what] = { rpsRatio: round(viaGateway.rps / direct.rps), gateway: viaGateway, origin: direct, bytes };
      log(`${what}: ${JSON.stringify(out[what])}`);
    }
    // The reference for segments from the cache: nginx serving the same file (sendfile).
    const { a: viaGateway, b: reference } = await wrkSideBySide(
      sides.gateway('720p/seg-00001.ts'),
      await sides.nginx('720p/seg-00001.ts'),
      wrkLoad,
    );
    out.segment!.vsNginx = { rpsRatio: round(viaGateway.rps / reference.rps), gateway: viaGateway, nginx: reference };
    log(`segment against nginx: ${JSON.stringify(out.segment!.vsNginx)}`);
    return { ...out, wrk: wrkLoad };
  } finally {
    await gateway?.close();
    await origin?.stop();
    await nginx?.stop();
  }
}

interface ViewerRun {
  sim: ViewerSimResult;
  originSegmentRequests: number;
  originCpuPercent: number;
  /** The servers' own event loop delay (max over the origins, or the gateway's): high with low CPU is starvation. */
  serverLagP99Ms: number;
  gatewayCpuPercent?: number;
}

/** nodejs_eventloop_lag_p99_seconds in ms; prom-client resets the histogram at each scrape. */
const lagP99Ms = (metrics: string): number =>
  round(Number(/^nodejs_eventloop_lag_p99_seconds (\S+)/m.exec(metrics)?.[1] ?? NaN) * 1000, 1);

async function viewerRun(to: ViewerChannel[], origins: OriginChild[], gateway?: GatewayProcess): Promise<ViewerRun> {
  const pids = origins.map((o) => o.proc.pid!);
  const cpuOf = async () => (await Promise.all(pids.map(cpuSeconds))).reduce((a, b) => a + b, 0);
  const requests = async () => (await Promise.all(origins.map(originSegmentRequests))).reduce((a, b) => a + b, 0);
  const lags = async () =>
    gateway
      ? lagP99Ms(await gateway.metrics())
      : Math.max(...(await Promise.all(origins.map(async (o) => lagP99Ms(await o.metrics())))));
  await lags(); // resets the histograms
  const [cpu0, gw0, req0, t0] = [await cpuOf(), await gateway?.cpuSeconds(), await requests(), performance.now()];
  const sim = await simulateViewers({
    baseUrl: to[0]!.baseUrl,
    channels: to,
    renditions: smallLadder.map((r) => r.name),
    viewers,
    seconds: viewerSeconds,
    rampSeconds: 3,
    requestTimeoutMs: 5_000,
  });
  const wall = (performance.now() - t0) / 1000;
  const run: ViewerRun = {
    sim,
    originSegmentRequests: (await requests()) - req0,
    originCpuPercent: Math.round((((await cpuOf()) - cpu0) / wall) * 100),
    serverLagP99Ms: await lags(),
  };
  if (gateway) run.gatewayCpuPercent = Math.round((((await gateway.cpuSeconds()) - gw0!) / wall) * 100);
  log(`${gateway ? 'through the gateway' : 'straight to the origins'}: ${JSON.stringify(run)}`);
  return run;
}

async function viewerPlayback(root: string): Promise<Record<string, unknown>> {
  const hlsDir = join(root, 'live', 'hls');
  await mkdir(hlsDir, { recursive: true });
  let writer: HlsWriter | undefined;
  const origins: OriginChild[] = [];
  let gateway: GatewayProcess | undefined;
  try {
    log(`a real-time ${smallLadder.map((r) => r.name).join('/')} ladder, ${channels} origins over it`);
    writer = await startHlsWriter({ dir: hlsDir, renditions: smallLadder, segmentSeconds, playlistLength: 6 });
    for (let i = 0; i < channels; i++) origins.push(await startOriginProcess(hlsDir));
    gateway = await startGatewayProcess({ routes: routesTo(origins) });
    await sleep(2 * segmentSeconds * 1000); // a few segments in every playlist
    const direct = await viewerRun(
      origins.map((o) => ({ baseUrl: `http://127.0.0.1:${o.port}`, path: '/hls' })),
      origins,
    );
    await sleep(2_000); // let that run's connections close
    const gatewayUrl = `http://127.0.0.1:${gateway.httpPort}`;
    const routed = await viewerRun(
      origins.map((_, i) => ({ baseUrl: gatewayUrl, path: `/${namespace}/ch-${i}` })),
      origins,
      gateway,
    );
    if (writer.process.exitCode !== null) throw new Error(`the ladder stopped: ${writer.stderr()}`);
    return summarizeViewers(direct, routed);
  } finally {
    await gateway?.close();
    await Promise.all(origins.map((o) => o.stop()));
    await writer?.stop();
  }
}

function summarizeViewers(direct: ViewerRun, routed: ViewerRun): Record<string, unknown> {
  const side = (r: ViewerRun) => ({
    pollP50Ms: r.sim.pollP50Ms,
    pollP99Ms: r.sim.pollP99Ms,
    segmentP99Ms: r.sim.segmentP99Ms,
    failures: r.sim.pollFailures + r.sim.segmentFailures,
    polls: r.sim.polls,
    segments: r.sim.segments,
    megabytesPerSecond: r.sim.megabytesPerSecond,
    distinctSegments: r.sim.distinctSegments,
    originSegmentRequests: r.originSegmentRequests,
    originCpuPercent: r.originCpuPercent,
    serverLagP99Ms: r.serverLagP99Ms,
    ...(r.gatewayCpuPercent !== undefined && { gatewayCpuPercent: r.gatewayCpuPercent }),
    loadGeneratorLagP99Ms: r.sim.loadGeneratorLagP99Ms,
    loadGeneratorCpuPercent: r.sim.loadGeneratorCpuPercent,
  });
  return {
    viewers,
    channels,
    seconds: viewerSeconds,
    gatewayReplicas: 1,
    backendFetchesPerSegment: round(routed.originSegmentRequests / routed.sim.distinctSegments),
    pollP99Ratio: round(routed.sim.pollP99Ms / direct.sim.pollP99Ms),
    segmentP99Ratio: round(routed.sim.segmentP99Ms / direct.sim.segmentP99Ms),
    direct: side(direct),
    gateway: side(routed),
  };
}

const root = await mkdtemp(join(tmpdir(), 'bench-gateway-'));
try {
  const started = Date.now();
  let rtmp: Record<string, unknown> | undefined;
  if (parts.includes('rtmp')) {
    log(`a ${rtmpKbps} kbit/s publish for ${rtmpSeconds} s, straight and through the gateway`);
    rtmp = { ...(await measureRouting({ kbps: rtmpKbps, seconds: rtmpSeconds })) };
    log(`rtmp: ${JSON.stringify(rtmp)}`);
  }
  let publishes: Record<string, unknown> | undefined;
  if (parts.includes('publishes')) {
    log(`concurrent ${publishLoad.kbps} kbit/s publishes through one gateway, ${publishLoad.perStep} more a step`);
    publishes = { ...(await measurePublishCapacity({ ...publishLoad, log: (m) => log(`publishes: ${m}`) })) };
  }
  const wrk = parts.includes('wrk') ? await wrkPlayback(root) : undefined;
  const viewerFigures = parts.includes('viewers') ? await viewerPlayback(root) : undefined;
  const result = {
    rtmp,
    publishes,
    playback: { wrk, viewers: viewerFigures },
    seconds: Math.round((Date.now() - started) / 1000),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await rm(root, { recursive: true, force: true });
}

// bench-whip: what a WHIP publish costs the gateway and how late its frames reach a viewer, beside an RTMP publish of
// the same 1280x720 30 fps clock source through the same gateway to the same transcoder, in one run; ONE JSON line.
//
//  - whip: headless Chromium draws the wall clock into a canvas (bench/whip-publisher.ts: a fake camera cannot carry
//    a live clock) and publishes canvas.captureStream(30) over WHIP to the real gateway process, whose werift session
//    and bridge ffmpeg publish it over RTMP to a standalone transcoder (test/support/gateway-channels.ts: passthrough
//    + 180p). CPU is the gateway process plus its children (the bridge's ffmpeg), from /proc, over the window.
//  - rtmp: ffmpeg publishes the latency bench's clock source (bench/latency/clock-code.ts, scaled to 720p; libx264
//    ultrafast, GOP 2 s) to the gateway's RTMP port; CPU is the gateway process (its RTMP proxy; no children).
// Both: a second Chromium page plays the channel's HLS through the gateway with hls.js (the latency bench's page and
// decoder, bench/latency/bench-page.ts and summary.ts) while the CPU window runs, so each CPU figure also holds
// proxying one HLS viewer. Latency is per presented frame: the clock it carries against the moment it was shown.
// usage: node bench/whip.ts   env: BENCH_SECONDS=30 (window per protocol) BENCH_SETTLE_SECONDS=5 BENCH_SAMPLE_MS=250
//                                  BENCH_WHIP_KBPS=2500 BENCH_RTMP_KBPS=2500
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { FfmpegProcess } from '../transcoder/src/ffmpeg/ffmpeg-process.ts';
import { playerHlsConfig } from '../contract/src/hls-js.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { gatewayTestNamespace, startGatewayRig, type GatewayRig } from '../test/support/gateway-channels.ts';
import { publisherArgs } from '../test/support/rtmp-publisher.ts';
import { waitFor } from '../test/support/wait-for.ts';
import { startBenchPageServer, type BenchPageServer, type PageSample, type PageState } from './latency/bench-page.ts';
import { clockSourceGraph, decodeClock, latencyMs } from './latency/clock-code.ts';
import { summarizeOutput } from './latency/summary.ts';
import { startCpuWindow, type TreeCpu } from './whip-cpu.ts';
import { scaledClockLayout, startWhipPublisher, type SenderStats } from './whip-publisher.ts';

const env = (name: string, fallback: number): number => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got ${process.env[name]})`);
  return n;
};
const seconds = env('BENCH_SECONDS', 30);
const settleSeconds = env('BENCH_SETTLE_SECONDS', 5);
const sampleMs = env('BENCH_SAMPLE_MS', 250);
const whipKbps = env('BENCH_WHIP_KBPS', 2500);
const rtmpKbps = env('BENCH_RTMP_KBPS', 2500);
const whipMinKbps = process.env.BENCH_WHIP_MIN_KBPS === '0' ? 0 : env('BENCH_WHIP_MIN_KBPS', 2000);
const fps = 30;
const layout = scaledClockLayout(1280, 720);

const log = (message: string): void => void process.stderr.write(`[bench-whip] ${message}\n`);
const load1 = (): number => Math.round(loadavg()[0]! * 100) / 100;

/** What one protocol's phase started: how to tell it died, and how to end it. */
interface Publish {
  failure(): string | undefined;
  stop(): Promise<void>;
}

interface PhaseResult {
  cpuCoreFraction: number;
  cpu: TreeCpu;
  latencyMs: { p50: number; p95: number; min: number; max: number } | null;
  reason?: string;
  frames: number;
  undecoded: number;
  heights?: number[];
  stalls?: number;
  errors?: string[];
  publishToPlaylistMs: number;
  publishToFirstFrameMs: number | null;
  transcoderSource?: Record<string, unknown>;
  loadAverage1m: { before: number; after: number };
}

const takeSamples = (page: Page): Promise<PageSample[]> =>
  page.evaluate(() => (globalThis as unknown as { latencyState?: PageState }).latencyState?.samples.splice(0) ?? []);
const pageState = (page: Page): Promise<Partial<PageState>> =>
  page.evaluate(() => {
    const s = (globalThis as unknown as { latencyState?: PageState }).latencyState;
    return s ? { stalls: s.stalls, errors: s.errors } : {};
  });

/** The source the transcoder saw last (its "source ready" log line, read after the phase's publish): codec, size,
 * keyframe interval. */
function transcoderSource(rig: GatewayRig): Record<string, unknown> | undefined {
  const line = rig.channels[0]!.transcoder.output()
    .split('\n')
    .findLast((l) => l.includes('"source ready"'));
  return line === undefined ? undefined : (JSON.parse(line) as { source?: Record<string, unknown> }).source;
}

/** The first variant's media playlist through the gateway (the master stays the same from one publish to the next). */
async function mediaPlaylist(masterUrl: string): Promise<string | undefined> {
  const master = await fetch(masterUrl);
  if (!master.ok) return undefined;
  const uri = (await master.text()).split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'));
  if (uri === undefined) return undefined;
  const media = await fetch(new URL(uri.trim(), masterUrl));
  return media.ok ? media.text() : undefined;
}

interface FailedPhase {
  cpuCoreFraction: null;
  latencyMs: null;
  reason: string;
  loadAverage1m: { after: number };
}

/** A phase that failed: its figures null, with the reason (the other protocol's figures still print). */
const failedPhase = (err: unknown): FailedPhase => ({
  cpuCoreFraction: null,
  latencyMs: null,
  reason: err instanceof Error ? err.message : String(err),
  loadAverage1m: { after: load1() },
});

/** When a shown frame was captured (its clock), or -Infinity when it does not decode. */
function capturedAt(sample: PageSample): number {
  const code = decodeClock(sample.top, sample.bottom);
  const age = code === undefined ? undefined : latencyMs(code, sample.at);
  return age === undefined ? -Infinity : sample.at - age;
}

interface PhaseContext {
  rig: GatewayRig;
  browser: Browser;
  pages: BenchPageServer;
}

/**
 * One protocol: publish, the HLS playlist through the gateway, a viewer page's first decoded frame, `settleSeconds`
 * unmeasured, then `seconds` of frames and of the gateway tree's CPU.
 */
async function phase(ctx: PhaseContext, name: string, start: () => Promise<Publish>): Promise<PhaseResult> {
  const channel = ctx.rig.channels[0]!;
  const playlist = () => mediaPlaylist(ctx.rig.playbackUrl(channel));
  const stale = await playlist(); // the previous phase's, still served until this publish writes new segments
  const startedAt = Date.now();
  const publish = await start();
  const viewer = await (await ctx.browser.newContext()).newPage();
  try {
    const abort = () => publish.failure();
    const changed = async () => ((await playlist()) ?? stale) !== stale;
    await waitFor(`${name}: a new playlist through the gateway`, changed, { timeoutMs: 60_000, abort });
    const publishToPlaylistMs = Date.now() - startedAt;
    await viewer.goto(ctx.pages.pageUrl(ctx.rig.playbackUrl(channel)));
    let publishToFirstFrameMs: number | null = null;
    const firstFrame = await waitFor(
      `${name}: a first frame of this publish in the viewer`,
      async () => {
        const decoded = (await takeSamples(viewer)).some((s) => capturedAt(s) >= startedAt);
        if (decoded) publishToFirstFrameMs = Date.now() - startedAt;
        return decoded;
      },
      { timeoutMs: 60_000, intervalMs: 500, abort },
    ).catch((err: Error) => err.message);
    log(`${name}: playlist after ${publishToPlaylistMs} ms, first frame after ${publishToFirstFrameMs} ms`);
    await sleep(settleSeconds * 1000);
    await takeSamples(viewer);
    const loadBefore = load1();
    const endCpu = await startCpuWindow(ctx.rig.gateway.process.pid!);
    const samples: PageSample[] = [];
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      await sleep(Math.min(1000, Math.max(0, until - Date.now())));
      samples.push(...(await takeSamples(viewer)).filter((s) => s.at < until));
    }
    const cpu = await endCpu();
    const failure = publish.failure();
    if (failure !== undefined) throw new Error(`${name}: the publish failed during the window: ${failure}`);
    const figures = summarizeOutput(samples);
    const { stalls, errors } = await pageState(viewer);
    const reason =
      typeof firstFrame === 'string'
        ? firstFrame
        : figures.frames === 0
          ? `no frame decoded in ${seconds} s`
          : undefined;
    return {
      cpuCoreFraction: cpu.coreFraction,
      cpu,
      latencyMs: reason ? null : { p50: figures.p50Ms, p95: figures.p95Ms, min: figures.minMs, max: figures.maxMs },
      ...(reason && { reason }),
      frames: figures.frames,
      undecoded: figures.undecoded,
      ...(figures.heights && { heights: figures.heights }),
      ...(stalls !== undefined && { stalls }),
      ...(errors?.length ? { errors } : {}),
      publishToPlaylistMs,
      publishToFirstFrameMs,
      transcoderSource: transcoderSource(ctx.rig),
      loadAverage1m: { before: loadBefore, after: load1() },
    };
  } finally {
    await viewer.close().catch(() => undefined);
    await publish.stop();
    await waitFor(`${name}: the transcoder without a publisher`, async () => (await channel.publishing()) === 0, {
      timeoutMs: 30_000,
    }).catch(() => log(`${name}: the transcoder still shows a publisher`));
  }
}

async function run(rig: GatewayRig): Promise<Record<string, unknown>> {
  const channel = rig.channels[0]!;
  const pages = await startBenchPageServer({ hlsConfig: playerHlsConfig, sampleMs });
  // The publisher and the viewer must not be throttled as background pages while the other one is in front.
  const browser = await launchChromium([
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
  ]);
  const ctx = { rig, browser, pages };
  const started = Date.now();
  try {
    let sender: { start?: SenderStats; end?: SenderStats } = {};
    log(`whip: canvas 1280x720@${fps} from Chromium to the gateway, ${seconds} s window`);
    const whipPublisher = await startWhipPublisher(browser, { layout, fps, videoKbps: whipKbps, minKbps: whipMinKbps });
    const whip: PhaseResult | FailedPhase = await phase(ctx, 'whip', async () => {
      const url = `http://127.0.0.1:${rig.httpPort}/${gatewayTestNamespace}/${channel.name}/whip`;
      const answer = await whipPublisher.publish(url, channel.key);
      if (answer.status !== 201) throw new Error(`WHIP answered ${answer.status}: ${answer.body}`);
      let ended: string | undefined;
      void sleep(settleSeconds * 1000 + 1000).then(async () => (sender.start = await whipPublisher.stats()));
      return {
        failure: () => ended,
        stop: async () => {
          sender.end = await whipPublisher.stats().catch(() => undefined);
          ended = `unpublished (${await whipPublisher.unpublish()})`;
        },
      };
    }).catch(failedPhase);
    await whipPublisher.close();
    const { start: s0, end: s1 } = sender;
    const sentKbps =
      s0?.bytesSent !== undefined && s1?.bytesSent !== undefined && s1.at! > s0.at!
        ? Math.round(((s1.bytesSent - s0.bytesSent) * 8) / (s1.at! - s0.at!))
        : undefined;
    sender = {};

    log(`rtmp: ffmpeg 1280x720@${fps} clock source to the gateway, ${seconds} s window`);
    const rtmp: PhaseResult | FailedPhase = await phase(ctx, 'rtmp', () => {
      const args = publisherArgs({
        url: rig.publishUrl(channel.key),
        size: '1280x720',
        preset: 'ultrafast',
        videoKbps: rtmpKbps,
      });
      const graph = clockSourceGraph(fps, layout);
      const ffmpeg = new FfmpegProcess({
        args: args.map((a) => (a.startsWith('testsrc2=') ? graph : a)),
        secrets: [channel.key],
      });
      return Promise.resolve({
        failure: () => (ffmpeg.running ? undefined : `the publisher exited: ${ffmpeg.stderrTail().join(' | ')}`),
        stop: async () => void (await ffmpeg.stop()),
      });
    }).catch(failedPhase);

    const diff = (a: number | null | undefined, b: number | null | undefined) =>
      a == null || b == null ? null : Math.round((a - b) * 1000) / 1000;
    return {
      bench: 'whip',
      durationSeconds: Math.round((Date.now() - started) / 1000),
      windowSeconds: seconds,
      settleSeconds,
      source: { width: layout.width, height: layout.height, fps },
      load: { cores: cpus().length, loadAverage1m: { whip: whip.loadAverage1m, rtmp: rtmp.loadAverage1m } },
      hlsConfig: playerHlsConfig,
      whip: {
        ...whip,
        publisher: `Chromium canvas.captureStream(${fps}) over WHIP, H.264, ${whipMinKbps || 'no'} floor to ${whipKbps} kbit/s`,
        sender: { ...s1, ...(sentKbps !== undefined && { sentKbps }) },
      },
      rtmp: { ...rtmp, publisher: `ffmpeg libx264 ultrafast ${rtmpKbps} kbit/s, GOP 2 s, AAC` },
      whipMinusRtmp: {
        cpuCoreFraction: diff(whip.cpuCoreFraction, rtmp.cpuCoreFraction),
        latencyP50Ms: diff(whip.latencyMs?.p50, rtmp.latencyMs?.p50),
      },
    };
  } finally {
    await browser.close();
    await pages.close();
  }
}

log('a standalone transcoder (passthrough + 180p) behind the real gateway process');
const rig = await startGatewayRig({ channels: 1 });
try {
  process.stdout.write(JSON.stringify(await run(rig)) + '\n');
} finally {
  await rig.close();
}

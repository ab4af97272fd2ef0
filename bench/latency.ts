// bench-latency: glass-to-glass latency of every output, measured the same way in one run; prints ONE JSON line.
//
// A real ffmpeg publisher (test/support/rtmp-publisher.ts's encoder settings) burns its wall clock into every frame
// as blocks (bench/latency/clock-code.ts) and publishes into a standalone transcoder (passthrough top rung + 180p,
// HTTP-FLV on), with a real gateway in front of it (test/support/gateway-channels.ts: the route table the operator
// would publish). All outputs watch the same frames at the same time:
//  - hls.direct / hls.gateway: hls.js in headless Chromium with the player page's settings (playerHlsConfig in
//    contract/src/hls-js.ts, or BENCH_HLS_CONFIG), from the origin and through the gateway; each presented
//    frame's clock is read off a canvas and set against the moment it was shown;
//  - llhls.direct / llhls.gateway: the same on a second channel with spec.hls.lowLatency (BENCH_PART_SECONDS, 0.5),
//    played with the player page's LL-HLS settings (playerLlHlsConfig, or BENCH_LLHLS_CONFIG); one publisher feeds
//    both channels (ffmpeg's tee muxer: one encode, the same frames and clock into both);
//  - flv.direct / flv.gateway: HTTP-FLV decoded by ffmpeg (there is no browser FLV player in the dependencies:
//    mpegts.js would be one), the stream's latency without a player buffer.
// Median and p95 per output over BENCH_SECONDS (default 60), in BENCH_JOINS rounds (3): at each the pages load again
// (a new viewer, joining at another point of the segment cycle) and settle (BENCH_SETTLE_SECONDS, 5) unmeasured.
// usage: node bench/latency.ts   env: BENCH_SECONDS=60 BENCH_JOINS=3 BENCH_SETTLE_SECONDS=5 BENCH_SAMPLE_MS=250
//                                      BENCH_HLS_CONFIG='{"liveSyncDurationCount":2}' (merged over the page's)
//                                      BENCH_LLHLS_CONFIG='{...}' BENCH_PART_SECONDS=0.5
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { FfmpegProcess } from '../transcoder/src/ffmpeg/ffmpeg-process.ts';
import { parsePlaylist } from '../transcoder/src/hls/playlists.ts';
import { playerHlsConfig, playerLlHlsConfig } from '../contract/src/hls-js.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { startGatewayRig, type GatewayRig, type TestChannel } from '../test/support/gateway-channels.ts';
import { publisherArgs } from '../test/support/rtmp-publisher.ts';
import { waitFor } from '../test/support/wait-for.ts';
import { startBenchPageServer, type BenchPageServer, type PageSample, type PageState } from './latency/bench-page.ts';
import { clockSourceGraph } from './latency/clock-code.ts';
import { startFlvReader, type FlvReader } from './latency/flv-reader.ts';
import { playlistFacts } from './latency/playlist-facts.ts';
import { summarizeOutput, type OutputFigures } from './latency/summary.ts';

const env = (name: string, fallback: number): number => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got ${process.env[name]})`);
  return n;
};
const seconds = env('BENCH_SECONDS', 60);
const settleSeconds = env('BENCH_SETTLE_SECONDS', 5);
const sampleMs = env('BENCH_SAMPLE_MS', 250);
const joins = Math.round(env('BENCH_JOINS', 3));
const hlsConfig: object = { ...playerHlsConfig, ...(JSON.parse(process.env.BENCH_HLS_CONFIG ?? '{}') as object) };
const llHlsConfig: object = {
  ...playerLlHlsConfig,
  ...(JSON.parse(process.env.BENCH_LLHLS_CONFIG ?? '{}') as object),
};
const partSeconds = env('BENCH_PART_SECONDS', 0.5);
const fps = 30;

const log = (message: string): void => void process.stderr.write(`[bench-latency] ${message}\n`);
const load1 = (): number => Math.round(loadavg()[0]! * 100) / 100;

/**
 * The clock publisher: rtmp-publisher.ts's encoder (veryfast, GOP 2 s, 800 kbit/s, AAC) over the clock pattern, one
 * encode sent to every channel by the tee muxer (the same frames everywhere, and one encoder's CPU on two cores).
 */
function startClockPublisher(channels: TestChannel[]): FfmpegProcess {
  const urls = channels.map((c) => `[f=flv:onfail=abort]rtmp://127.0.0.1:${c.rtmpPort}/live/${c.key}`);
  const args = publisherArgs({ url: urls.join('|') }).map((a) =>
    a.startsWith('testsrc2=') ? clockSourceGraph(fps) : a,
  );
  const muxer = args.lastIndexOf('flv'); // '-f', 'flv', <url> -> the tee muxer, which needs its streams mapped
  args.splice(muxer, 1, 'tee', '-map', '0:v', '-map', '1:a');
  return new FfmpegProcess({ args, secrets: channels.map((c) => c.key) });
}

interface Output {
  name: string;
  take(): Promise<PageSample[]>;
  /** Leaves and starts playing again (a new viewer); undefined where the start does not matter. */
  rejoin?(): Promise<void>;
  state(): Promise<Partial<PageState>>;
  stop(): Promise<void>;
}

function pageOutput(name: string, page: Page): Output {
  return {
    name,
    take: () =>
      page.evaluate(
        () => (globalThis as unknown as { latencyState?: PageState }).latencyState?.samples.splice(0) ?? [],
      ),
    state: () =>
      page.evaluate(() => {
        const s = (globalThis as unknown as { latencyState?: PageState }).latencyState;
        return s ? { stalls: s.stalls, playing: s.playing, visibility: s.visibility, errors: s.errors } : {};
      }),
    rejoin: async () => void (await page.reload()),
    stop: () => page.close(),
  };
}

function flvOutput(name: string, reader: FlvReader): Output {
  return {
    name,
    take: () => Promise.resolve(reader.take()),
    state: () => {
      const failure = reader.failure();
      return Promise.resolve(failure === undefined ? {} : { errors: [`ffmpeg exited: ${failure}`] });
    },
    stop: () => reader.stop(),
  };
}

/**
 * Collects every output's frames: once each has shown one, in `joins` rounds, each the players' settle time (frames
 * dropped) and then its share of the measured seconds. Pages join again (a reload) at each new round: hls.js keeps the
 * latency it starts with, which depends on when in the segment cycle it joined, so a single start is one draw.
 */
async function measure(outputs: Output[], joins: number): Promise<Map<string, PageSample[][]>> {
  const kept = new Map(outputs.map((o) => [o.name, [] as PageSample[][]]));
  const seen = new Set<string>();
  const collect = async (from: number, until: number) => {
    for (const o of outputs) {
      const samples = await o.take();
      if (samples.length > 0) seen.add(o.name);
      kept
        .get(o.name)!
        .at(-1)
        ?.push(...samples.filter((s) => s.at >= from && s.at < until));
    }
  };
  await waitFor(
    'a first frame on every output',
    async () => {
      await collect(Infinity, Infinity);
      return seen.size === outputs.length;
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  ).catch(async (err: Error) => {
    const states = await Promise.all(outputs.map(async (o) => [o.name, seen.has(o.name), await o.state()]));
    throw new Error(`${err.message}; outputs: ${JSON.stringify(states)}`);
  });
  log(`every output plays; measuring ${seconds} s in ${joins} joins, each after ${settleSeconds} s to settle`);
  for (let j = 0; j < joins; j++) {
    if (j > 0) for (const o of outputs) await o.rejoin?.();
    for (const list of kept.values()) list.push([]);
    const from = Date.now() + settleSeconds * 1000;
    const until = from + (seconds / joins) * 1000;
    while (Date.now() < until + 500) {
      await sleep(1_000);
      await collect(from, until);
    }
  }
  return kept;
}

/** What the origin serves in its first media playlist (playlist-facts.ts): for LL-HLS part target and hold-back. */
async function fetchPlaylistFacts(httpUrl: string): Promise<object> {
  const master = parsePlaylist(await fetch(`${httpUrl}/hls/master.m3u8`).then((r) => r.text()));
  const uri = master?.isMasterPlaylist ? master.variants[0]?.uri : undefined;
  if (uri === undefined) return {};
  return playlistFacts(await fetch(`${httpUrl}/hls/${uri}`).then((r) => r.text())) ?? {};
}

/** The players on both channels (direct and through the gateway), then the FLV readers of the classic channel. */
async function openOutputs(
  rig: GatewayRig,
  [classic, ll]: TestChannel[],
  pages: BenchPageServer,
  browser: Browser,
  outputs: Output[],
): Promise<void> {
  const origin = (c: TestChannel) => `http://127.0.0.1:${c.httpPort}`;
  for (const [name, src, lowLatency] of [
    ['hls.direct', `${origin(classic!)}/hls/master.m3u8`, false],
    ['hls.gateway', rig.playbackUrl(classic!), false],
    ['llhls.direct', `${origin(ll!)}/hls/master.m3u8`, true],
    ['llhls.gateway', rig.playbackUrl(ll!), true],
  ] as const) {
    const page = await (await browser.newContext()).newPage();
    await page.goto(pages.pageUrl(src, lowLatency));
    outputs.push(pageOutput(name, page));
  }
  outputs.push(flvOutput('flv.direct', startFlvReader(`${origin(classic!)}/live.flv`, sampleMs)));
  outputs.push(flvOutput('flv.gateway', startFlvReader(rig.playbackUrl(classic!, 'live.flv'), sampleMs)));
}

type Figures = OutputFigures & Partial<PageState> & { joinP50Ms?: number[] };

/** Each output's summary over all rounds, its median per join, stalls and errors. */
async function summarize(outputs: Output[], samples: Map<string, PageSample[][]>): Promise<Map<string, Figures>> {
  const figures = new Map<string, Figures>();
  for (const o of outputs) {
    const { stalls, visibility, errors } = await o.state();
    const extra = { ...(stalls !== undefined && { stalls }), ...(errors?.length ? { errors } : {}) };
    if (visibility !== undefined && visibility !== 'visible') throw new Error(`${o.name}: page ${visibility}`);
    const rounds = samples.get(o.name)!;
    const joinP50Ms = rounds.map((r) => summarizeOutput(r).p50Ms);
    figures.set(o.name, { ...summarizeOutput(rounds.flat()), ...(o.rejoin && { joinP50Ms }), ...extra });
  }
  return figures;
}

/** One output family's figures (`hls`, `llhls`, `flv`): direct, gateway and the gateway's cost at the median. */
const pair = (figures: Map<string, Figures>, family: string) => ({
  direct: figures.get(`${family}.direct`),
  gateway: figures.get(`${family}.gateway`),
  gatewayMinusDirectP50Ms: figures.get(`${family}.gateway`)!.p50Ms - figures.get(`${family}.direct`)!.p50Ms,
});

async function run(rig: GatewayRig): Promise<Record<string, unknown>> {
  const [classic, ll] = rig.channels;
  const publisher = startClockPublisher(rig.channels);
  const pages = await startBenchPageServer({ hlsConfig, llHlsConfig, sampleMs });
  const browser = await launchChromium();
  const outputs: Output[] = [];
  try {
    for (const c of rig.channels)
      await waitFor(`${c.name} live through the gateway`, () => fetch(rig.playbackUrl(c)).then((r) => r.ok), {
        timeoutMs: 60_000,
        abort: () => (publisher.running ? undefined : `the publisher exited: ${publisher.stderrTail().join('\n')}`),
      });
    await openOutputs(rig, rig.channels, pages, browser, outputs);
    const loadBefore = load1();
    const figures = await summarize(outputs, await measure(outputs, joins));
    if (!publisher.running) throw new Error(`the publisher stopped: ${publisher.stderrTail().join('\n')}`);
    return {
      seconds,
      joins,
      loadAverage1m: { before: loadBefore, after: load1() },
      hlsConfig,
      llHlsConfig,
      publisher: 'one ffmpeg encode tee-d to both channels',
      playlist: await fetchPlaylistFacts(`http://127.0.0.1:${classic!.httpPort}`),
      llPlaylist: await fetchPlaylistFacts(`http://127.0.0.1:${ll!.httpPort}`),
      hls: pair(figures, 'hls'),
      llhls: pair(figures, 'llhls'),
      flv: { reader: 'ffmpeg (no browser FLV player: mpegts.js is not a dependency)', ...pair(figures, 'flv') },
    };
  } finally {
    for (const o of outputs) await o.stop().catch(() => undefined);
    await browser.close();
    await pages.close();
    await publisher.stop();
  }
}

log('two standalone transcoders (passthrough + 180p, HTTP-FLV; one LL-HLS) behind a gateway, and a clock publisher');
const rig = await startGatewayRig({ channels: 2, lowLatency: { 1: { partSeconds } } });
try {
  process.stdout.write(JSON.stringify(await run(rig)) + '\n');
} finally {
  await rig.close();
}

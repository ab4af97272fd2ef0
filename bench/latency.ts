// bench-latency: glass-to-glass latency of every output, measured the same way in one run; prints ONE JSON line.
//
// A real ffmpeg publisher (test/support/rtmp-publisher.ts's encoder settings) burns its wall clock into every frame
// as blocks (bench/latency/clock-code.ts) and publishes into a standalone transcoder (passthrough top rung + 180p,
// HTTP-FLV on), with a real gateway in front of it (test/support/gateway-channels.ts: the route table the operator
// would publish). All outputs watch the same frames at the same time:
//  - hls.direct / hls.gateway: hls.js in headless Chromium with the player page's settings (playerHlsConfig in
//    transcoder/src/hls/player-page.ts, or BENCH_HLS_CONFIG), from the origin and through the gateway; each presented
//    frame's clock is read off a canvas and set against the moment it was shown;
//  - flv.direct / flv.gateway: HTTP-FLV decoded by ffmpeg (there is no browser FLV player in the dependencies:
//    mpegts.js would be one), the stream's latency without a player buffer.
// Median and p95 per output over BENCH_SECONDS (default 60), in BENCH_JOINS rounds (3): at each the pages load again
// (a new viewer, joining at another point of the segment cycle) and settle (BENCH_SETTLE_SECONDS, 5) unmeasured.
// usage: node bench/latency.ts   env: BENCH_SECONDS=60 BENCH_JOINS=3 BENCH_SETTLE_SECONDS=5 BENCH_SAMPLE_MS=250
//                                      BENCH_HLS_CONFIG='{"liveSyncDurationCount":2}' (merged over the page's)
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import { FfmpegProcess } from '../transcoder/src/ffmpeg/ffmpeg-process.ts';
import { parsePlaylist } from '../transcoder/src/hls/playlists.ts';
import { playerHlsConfig } from '../transcoder/src/hls/player-page.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { startGatewayRig, type GatewayRig, type TestChannel } from '../test/support/gateway-channels.ts';
import { publisherArgs } from '../test/support/rtmp-publisher.ts';
import { waitFor } from '../test/support/wait-for.ts';
import { startBenchPageServer, type PageSample, type PageState } from './latency/bench-page.ts';
import { clockSourceGraph } from './latency/clock-code.ts';
import { startFlvReader, type FlvReader } from './latency/flv-reader.ts';
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
const fps = 30;

const log = (message: string): void => void process.stderr.write(`[bench-latency] ${message}\n`);
const load1 = (): number => Math.round(loadavg()[0]! * 100) / 100;

/** The clock publisher: rtmp-publisher.ts's encoder (veryfast, GOP 2 s, 800 kbit/s, AAC) over the clock pattern. */
function startClockPublisher(url: string, secret: string): FfmpegProcess {
  const args = publisherArgs({ url }).map((a) => (a.startsWith('testsrc2=') ? clockSourceGraph(fps) : a));
  return new FfmpegProcess({ args, secrets: [secret] });
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

/** What the origin serves: target duration and segments per playlist, and whether PDT is there. */
async function playlistFacts(httpUrl: string): Promise<Record<string, unknown>> {
  const master = parsePlaylist(await fetch(`${httpUrl}/hls/master.m3u8`).then((r) => r.text()));
  const uri = master?.isMasterPlaylist ? master.variants[0]?.uri : undefined;
  if (uri === undefined) return {};
  const media = parsePlaylist(await fetch(`${httpUrl}/hls/${uri}`).then((r) => r.text()));
  if (media === undefined || media.isMasterPlaylist) return {};
  return {
    targetDuration: media.targetDuration,
    playlistSegments: media.segments.length,
    programDateTime: media.segments.every((s) => s.programDateTime !== undefined),
  };
}

async function run(rig: GatewayRig, channel: TestChannel): Promise<Record<string, unknown>> {
  const httpUrl = `http://127.0.0.1:${channel.httpPort}`;
  const publisher = startClockPublisher(`rtmp://127.0.0.1:${channel.rtmpPort}/live/${channel.key}`, channel.key);
  const pages = await startBenchPageServer({ hlsConfig, sampleMs });
  const browser = await launchChromium();
  const outputs: Output[] = [];
  try {
    await waitFor('the channel live through the gateway', () => fetch(rig.playbackUrl(channel)).then((r) => r.ok), {
      timeoutMs: 60_000,
      abort: () => (publisher.running ? undefined : `the publisher exited: ${publisher.stderrTail().join('\n')}`),
    });
    for (const [name, src] of [
      ['hls.direct', `${httpUrl}/hls/master.m3u8`],
      ['hls.gateway', rig.playbackUrl(channel)],
    ] as const) {
      const page = await (await browser.newContext()).newPage();
      await page.goto(pages.pageUrl(src));
      outputs.push(pageOutput(name, page));
    }
    outputs.push(flvOutput('flv.direct', startFlvReader(`${httpUrl}/live.flv`, sampleMs)));
    outputs.push(flvOutput('flv.gateway', startFlvReader(rig.playbackUrl(channel, 'live.flv'), sampleMs)));
    const loadBefore = load1();
    const samples = await measure(outputs, joins);
    const figures = new Map<string, OutputFigures & Partial<PageState>>();
    for (const o of outputs) {
      const { stalls, visibility, errors } = await o.state();
      const extra = { ...(stalls !== undefined && { stalls }), ...(errors?.length ? { errors } : {}) };
      if (visibility !== undefined && visibility !== 'visible') throw new Error(`${o.name}: page ${visibility}`);
      const rounds = samples.get(o.name)!;
      const joinP50Ms = rounds.map((r) => summarizeOutput(r).p50Ms);
      figures.set(o.name, { ...summarizeOutput(rounds.flat()), ...(o.rejoin && { joinP50Ms }), ...extra });
    }
    if (!publisher.running) throw new Error(`the publisher stopped: ${publisher.stderrTail().join('\n')}`);
    const p50 = (name: string) => figures.get(name)!.p50Ms;
    return {
      seconds,
      joins,
      loadAverage1m: { before: loadBefore, after: load1() },
      hlsConfig,
      playlist: await playlistFacts(httpUrl),
      hls: {
        direct: figures.get('hls.direct'),
        gateway: figures.get('hls.gateway'),
        gatewayMinusDirectP50Ms: p50('hls.gateway') - p50('hls.direct'),
      },
      flv: {
        reader: 'ffmpeg (no browser FLV player: mpegts.js is not a dependency)',
        direct: figures.get('flv.direct'),
        gateway: figures.get('flv.gateway'),
        gatewayMinusDirectP50Ms: p50('flv.gateway') - p50('flv.direct'),
      },
    };
  } finally {
    for (const o of outputs) await o.stop().catch(() => undefined);
    await browser.close();
    await pages.close();
    await publisher.stop();
  }
}

log('a standalone transcoder (passthrough + 180p, HTTP-FLV) behind a gateway, and a clock publisher');
const rig = await startGatewayRig({ channels: 1 });
try {
  const result = await run(rig, rig.channels[0]!);
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await rig.close();
}

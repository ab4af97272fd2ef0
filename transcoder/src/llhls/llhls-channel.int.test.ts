// An LL-HLS channel end to end on real node-media-server, ffmpeg and Chromium: a publish through the ingest, the
// ladder writing fMP4 to pipes, the packagers and the origin. A copied source (keyframes every second, off the
// grid's cadence of its own), an encoded rung and audio.
// - Every live playlist state, plain and blocking, parses in hls-parser's strict mode and keeps the LL-HLS rules:
//   PART-TARGET at or above every part, PART-HOLD-BACK at least 3 part targets, a preload hint, rendition reports.
// - A blocking request returns within 100 ms of the part it asked for being written (the part file's mtime against
//   the moment the response arrived); a request for the hinted part is held until that part exists.
// - hls.js in Chromium plays the channel's player page for 60 s without a stall (hls.js stall errors and the
//   video's waiting events counted) at a latency it reports.
// - Delta updates (_HLS_skip) once the window is longer than CAN-SKIP-UNTIL; after the publisher drops, a blocking
//   request is answered 503 after 3 target durations; at the end, ENDLIST.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import HLS from 'hls-parser';
import type { Browser } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import { startChannelHarness, type ChannelHarness } from '../../../test/support/channel-harness.ts';
import { launchChromium } from '../../../test/support/chromium.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { resolveSpec } from '../config/livestream-spec.ts';
import { startOrigin, type Origin } from '../hls/origin.ts';
import { createTranscoderMetrics } from '../telemetry/metrics.ts';

const segmentSeconds = 2;
const partSeconds = 0.5;
const config = resolveSpec(
  validateSpec({
    ladder: {
      renditions: [
        { name: '360p', width: 640, height: 360, videoBitrateKbps: 800, fps: 30 },
        { name: '180p', width: 320, height: 180, videoBitrateKbps: 200, fps: 30 },
      ],
    },
    hls: { segmentSeconds, playlistLength: 10, lowLatency: { enabled: true, partSeconds } },
    reconnectWindowSeconds: 60,
  }),
  'll',
  'media',
);
const logger = createLogger('llhls-channel-int', process.env.LOG_LEVEL ?? 'warn');
let h: ChannelHarness;
let origin: Origin;
let base = '';
let publisher: ReturnType<ChannelHarness['publish']>;

beforeAll(async () => {
  h = await startChannelHarness({ name: 'llhls-int', config: () => config, logger });
  origin = await startOrigin({
    host: '127.0.0.1',
    port: 0,
    hlsDir: h.hlsDir,
    isLive: () => h.channel.servingPlaylists(),
    lowLatency: (rendition) => h.channel.lowLatency(rendition),
    readiness: () => true,
    metrics: createTranscoderMetrics(new Registry(), { defaultMetrics: false }),
    logger,
  });
  base = `http://127.0.0.1:${origin.port}`;
  publisher = h.publish({ size: '640x360', fps: 30, gopSeconds: 1 });
  await waitFor(
    'the master playlist',
    () =>
      h.read('master.m3u8').then(
        () => true,
        () => false,
      ),
    {
      timeoutMs: 30_000,
      intervalMs: 200,
    },
  );
}, 40_000);

afterAll(async () => {
  await origin?.close();
  await h?.close();
});

const strictly = (text: string): HLS.types.MediaPlaylist => {
  HLS.setOptions({ strictMode: true });
  try {
    const p = HLS.parse(text);
    if (p.isMasterPlaylist) throw new Error('expected a media playlist');
    return p;
  } finally {
    HLS.setOptions({ strictMode: false });
  }
};

async function get(pathAndQuery: string): Promise<{ status: number; text: string; at: number; headers: Headers }> {
  const res = await fetch(`${base}${pathAndQuery}`);
  const text = await res.text();
  return { status: res.status, text, at: Date.now(), headers: res.headers };
}

/** The LL-HLS rules of one playlist state (beyond what hls-parser's strict mode checks). */
function checkRules(p: HLS.types.MediaPlaylist, text: string, where: string): void {
  const partTarget = p.partTargetDuration ?? 0;
  expect(partTarget, where).toBe(partSeconds);
  const parts = p.segments.flatMap((s) => s.parts ?? []).filter((x) => !x.hint);
  for (const part of parts) expect(part.duration, `${where} ${part.uri}`).toBeLessThanOrEqual(partTarget);
  const control = p.lowLatencyCompatibility;
  expect(control?.canBlockReload, where).toBe(true);
  expect(control?.partHoldBack ?? 0, where).toBeGreaterThanOrEqual(3 * partTarget);
  if (!p.endlist) expect(text, where).toMatch(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="[^"]+\.m4s"/);
  expect(text, where).toMatch(/#EXT-X-MAP:URI="[^"]+_init\d+\.mp4"/);
}

const renditionsOf = async (): Promise<string[]> => {
  const master = HLS.parse((await get('/hls/master.m3u8')).text) as HLS.types.MasterPlaylist;
  const uris = [...master.variants.map((v) => v.uri), ...master.variants.flatMap((v) => v.audio.map((a) => a.uri))];
  return [...new Set(uris.filter((u): u is string => u !== undefined).map((u) => u.split('/')[0]!))];
};

function hinted(text: string): { msn: number; part: number } {
  const p = HLS.parse(text) as HLS.types.MediaPlaylist;
  const open = p.segments.at(-1)!;
  const done = (open.parts ?? []).filter((x) => !x.hint).length;
  return { msn: open.mediaSequenceNumber, part: done };
}

describe('an LL-HLS channel', () => {
  it('declares fMP4 variants with CODECS, and serves strict playlists that keep the LL-HLS rules', async () => {
    const master = (await get('/hls/master.m3u8')).text;
    expect(master).toMatch(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    const renditions = await renditionsOf();
    expect(renditions).toEqual(expect.arrayContaining(['180p', 'audio']));
    expect(renditions.length).toBe(3); // the copied source as the top rung, 180p, audio
    let states = 0;
    const until = Date.now() + 8_000;
    while (Date.now() < until) {
      for (const r of renditions) {
        const plain = await get(`/hls/${r}/index.m3u8`);
        expect(plain.status).toBe(200);
        expect(plain.headers.get('cache-control')).toBe('no-cache');
        const p = strictly(plain.text);
        checkRules(p, plain.text, `${r} plain`);
        // A rendition report for each sibling.
        expect(p.renditionReports.length, r).toBe(renditions.length - 1);
        const next = hinted(plain.text);
        const blocked = await get(`/hls/${r}/index.m3u8?_HLS_msn=${next.msn}&_HLS_part=${next.part}`);
        expect(blocked.status).toBe(200);
        expect(blocked.headers.get('cache-control')).toBe('public, max-age=1');
        checkRules(strictly(blocked.text), blocked.text, `${r} blocking`);
        states += 2;
      }
    }
    expect(states).toBeGreaterThan(20);
  }, 30_000);

  it('answers a blocking request within 100 ms of its part being written, and holds the hinted part', async () => {
    const renditions = await renditionsOf();
    const delays: number[] = [];
    const partDelays: number[] = [];
    for (const r of renditions) {
      let text = (await get(`/hls/${r}/index.m3u8`)).text;
      for (let i = 0; i < 8; i++) {
        const next = hinted(text);
        const asked = Date.now();
        const res = await get(`/hls/${r}/index.m3u8?_HLS_msn=${next.msn}&_HLS_part=${next.part}`);
        text = res.text;
        const p = strictly(res.text);
        const segment = p.segments.find((s) => s.mediaSequenceNumber === next.msn);
        const part = segment?.parts?.[next.part];
        if (part === undefined || part.hint) continue; // the hinted part was never written (a copied rung's keyframe)
        const written = (await stat(path.join(h.hlsDir, r, part.uri))).mtimeMs;
        if (written < asked) continue; // it was already there: nothing was blocked
        delays.push(res.at - written);
      }
      // The hinted part itself, asked for before it exists.
      const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(text)?.[1];
      expect(hint, r).toBeDefined();
      const asked = Date.now();
      const res = await fetch(`${base}/hls/${r}/${hint}`);
      const body = await res.arrayBuffer();
      const at = Date.now();
      if (res.status === 200) {
        expect(res.headers.get('cache-control')).toMatch(/immutable/);
        expect(body.byteLength).toBeGreaterThan(0);
        const written = (await stat(path.join(h.hlsDir, r, hint!))).mtimeMs;
        if (written > asked) partDelays.push(at - written);
      }
    }
    const sorted = [...delays].sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        blockingReload: { samples: sorted.length, p50Ms: sorted[Math.floor(sorted.length / 2)], maxMs: sorted.at(-1) },
        hintedPart: { samples: partDelays.length, maxMs: Math.max(...partDelays) },
      }),
    );
    expect(sorted.length).toBeGreaterThanOrEqual(10);
    expect(sorted.at(-1)).toBeLessThan(100);
    expect(partDelays.length).toBeGreaterThanOrEqual(1);
    for (const d of partDelays) expect(d).toBeLessThan(100);
  }, 60_000);

  it('plays in hls.js (Chromium) for 60 s without a stall, at a low latency', async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`${base}/`);
      await page.waitForFunction("document.querySelector('video').currentTime > 0", undefined, { timeout: 30_000 });
      // Counted from the first frame on: hls.js stall errors and the element's waiting (buffer ran dry) events.
      await page.evaluate(`(() => {
        window.stalls = [];
        var p = window.lsoPlayer;
        p.hls.on('hlsError', function (_e, d) { if (d.details === 'bufferStalledError') window.stalls.push('hls:' + d.details); });
        document.querySelector('video').addEventListener('waiting', function () { window.stalls.push('waiting'); });
        window.latencies = [];
        window.sampler = setInterval(function () { window.latencies.push(p.hls.latency); }, 1000);
      })()`);
      const start = await page.evaluate<number>("document.querySelector('video').currentTime");
      await new Promise((resolve) => setTimeout(resolve, 60_000));
      const result = await page.evaluate<{
        played: number;
        stalls: string[];
        latencies: number[];
        lowLatency: boolean;
        target: number;
      }>(`({
        played: document.querySelector('video').currentTime - ${start},
        stalls: window.stalls,
        latencies: window.latencies,
        lowLatency: window.lsoPlayer.lowLatency,
        target: window.lsoPlayer.hls.targetLatency,
      })`);
      const holdBack = strictly((await get('/hls/180p/index.m3u8')).text).lowLatencyCompatibility?.partHoldBack;
      const sorted = [...result.latencies].sort((a, b) => a - b);
      console.log(
        JSON.stringify({
          hlsjs: {
            playedSeconds: Number(result.played.toFixed(2)),
            stalls: result.stalls.length,
            latencyP50: sorted[Math.floor(sorted.length / 2)],
            latencyMax: sorted.at(-1),
            targetLatency: result.target,
            partHoldBack: holdBack,
          },
        }),
      );
      expect(result.lowLatency).toBe(true);
      expect(result.stalls).toEqual([]);
      expect(result.played).toBeGreaterThan(57);
      expect(errors).toEqual([]);
    } finally {
      await browser?.close();
    }
  }, 120_000);

  it('sends delta updates, 503 after 3 target durations without parts, and ENDLIST at the end', async () => {
    const full = strictly((await get('/hls/180p/index.m3u8')).text);
    const delta = await get('/hls/180p/index.m3u8?_HLS_skip=YES');
    const skipped = strictly(delta.text);
    expect(delta.text).toMatch(/#EXT-X-SKIP:SKIPPED-SEGMENTS=\d+/);
    expect(skipped.segments.length).toBeLessThan(full.segments.length);
    checkRules(skipped, delta.text, 'delta');

    await h.channel.settled();
    const before = (await get('/hls/180p/index.m3u8')).text;
    // The publisher drops: the session waits for it (the reconnect window), parts stop.
    await publisher.kill();
    await waitFor('the publisher gone', () => h.channel.state() === 'reconnecting', { timeoutMs: 15_000 });
    const ahead = hinted((await get('/hls/180p/index.m3u8')).text);
    const asked = Date.now();
    const res = await get(`/hls/180p/index.m3u8?_HLS_msn=${ahead.msn}&_HLS_part=${ahead.part}`);
    const waited = res.at - asked;
    console.log(JSON.stringify({ timeout: { status: res.status, waitedMs: waited } }));
    expect(res.status).toBe(503);
    expect(waited).toBeGreaterThanOrEqual(3 * segmentSeconds * 1000 - 50);
    expect(waited).toBeLessThan(3 * segmentSeconds * 1000 + 1_000);
    expect(before).not.toContain('#EXT-X-ENDLIST');

    await h.channel.shutdown();
    const ended = (await h.read('180p/index.m3u8')).toString();
    expect(ended).toContain('#EXT-X-ENDLIST');
    expect(ended).not.toContain('#EXT-X-PRELOAD-HINT');
    strictly(ended);
  }, 60_000);
});

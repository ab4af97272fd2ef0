// The origin against real files written by a real ffmpeg (live ABR HLS), plus HTTP-FLV proxied from a real
// node-media-server fed by a real ffmpeg publisher.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import HLS from 'hls-parser';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHlsWriter, type HlsWriter } from '../../../test/support/ffmpeg-hls-writer.ts';
import { pickFreePort } from '../../../test/support/redis-process.ts';
import { createTranscoderMetrics, type TranscoderMetrics } from '../telemetry/metrics.ts';
import { startOrigin, type Origin } from './origin.ts';

let dir: string;
let writer: HlsWriter;
let origin: Origin;
let metrics: TranscoderMetrics;
let live = true;
let ready = false;
let flvUpstream: URL | undefined;
let logText = '';
let base: string;

// Raw request: fetch() would normalise `..` away before it reaches the server.
function raw(
  path: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: origin.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'origin-int-'));
  writer = await startHlsWriter({ dir });
  metrics = createTranscoderMetrics(new Registry(), { defaultMetrics: false });
  const logs = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  });
  origin = await startOrigin({
    host: '127.0.0.1',
    port: 0,
    hlsDir: dir,
    isLive: () => live,
    readiness: () => ready,
    metrics,
    logger: pino({ level: 'debug' }, logs),
    flvUpstream: () => flvUpstream,
    viewerWindowMs: 30_000,
  });
  base = `http://127.0.0.1:${origin.port}`;
  // wait for at least two segments per rendition
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const text = await readFile(join(dir, '360p/index.m3u8'), 'utf8').catch(() => '');
    if ((text.match(/\.ts/g) ?? []).length >= 2) break;
    await new Promise((r) => setTimeout(r, 200));
  }
});

afterAll(async () => {
  await origin?.close();
  await writer?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('HLS origin', () => {
  it('serves the master playlist with the HLS MIME type, no-cache and CORS', async () => {
    const res = await fetch(`${base}/hls/master.m3u8`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const master = HLS.parse(await res.text());
    expect(master.isMasterPlaylist).toBe(true);
    expect((master as HLS.types.MasterPlaylist).variants.map((v) => v.uri).sort()).toEqual([
      '240p/index.m3u8',
      '360p/index.m3u8',
    ]);
  });

  it('serves variant playlists and their segments, byte for byte, cacheable forever', async () => {
    const res = await fetch(`${base}/hls/360p/index.m3u8`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const playlist = HLS.parse(await res.text()) as HLS.types.MediaPlaylist;
    expect(playlist.segments.length).toBeGreaterThanOrEqual(2);
    const newest = playlist.segments.at(-1)!.uri;
    const seg = await fetch(`${base}/hls/360p/${newest}`);
    expect(seg.status).toBe(200);
    expect(seg.headers.get('content-type')).toBe('video/mp2t');
    expect(seg.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(seg.headers.get('access-control-allow-origin')).toBe('*');
    const body = Buffer.from(await seg.arrayBuffer());
    expect(body[0]).toBe(0x47); // MPEG-TS sync byte
    expect(body.length % 188).toBe(0);
    expect(body.equals(await readFile(join(dir, '360p', newest)))).toBe(true);
    expect(Number(seg.headers.get('content-length'))).toBe(body.length);
  });

  it('offers blocking reload on classic playlists: an _HLS_msn not listed yet waits for the playlist that lists it', async () => {
    const plain = await (await fetch(`${base}/hls/360p/index.m3u8`)).text();
    expect(plain).toMatch(/^#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES$/m);
    const listed = HLS.parse(plain) as HLS.types.MediaPlaylist;
    const last = listed.mediaSequenceBase! + listed.segments.length - 1;
    const now = await fetch(`${base}/hls/360p/index.m3u8?_HLS_msn=${last}`); // listed: at once
    expect(now.status).toBe(200);
    expect(now.headers.get('cache-control')).toBe('public, max-age=1');
    const asked = Date.now();
    const next = await fetch(`${base}/hls/360p/index.m3u8?_HLS_msn=${last + 1}`);
    const waitedMs = Date.now() - asked;
    expect(next.status).toBe(200);
    const answered = HLS.parse(await next.text()) as HLS.types.MediaPlaylist;
    expect(answered.mediaSequenceBase! + answered.segments.length - 1).toBeGreaterThanOrEqual(last + 1);
    expect(waitedMs).toBeLessThan(3 * 2_000); // one segment, within three target durations
    // The answer came with the segment: the file on disk lists it too, and not much earlier (the origin looks
    // every 20 ms, the cache revalidates every 100 ms).
    const onDisk = HLS.parse(await readFile(join(dir, '360p/index.m3u8'), 'utf8')) as HLS.types.MediaPlaylist;
    expect(onDisk.segments.map((x) => x.uri)).toContain(answered.segments.at(-1)!.uri);
    expect((await fetch(`${base}/hls/360p/index.m3u8?_HLS_msn=${last + 9}`)).status).toBe(400); // beyond last + 2
    expect((await fetch(`${base}/hls/360p/index.m3u8?_HLS_msn=${last}&_HLS_part=0`)).status).toBe(400); // no parts
    expect((await fetch(`${base}/hls/360p/index.m3u8?_HLS_msn=01`)).status).toBe(400);
  });

  it('releases a waiting request when the playlist is written, and answers 503 after three target durations', async () => {
    const still = (segments: number, ended = false) =>
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-TARGETDURATION:1',
        '#EXT-X-MEDIA-SEQUENCE:0',
        ...Array.from({ length: segments }, (_, i) => [`#EXTINF:1.000000,`, `still_${i}.ts`]).flat(),
        ...(ended ? ['#EXT-X-ENDLIST'] : []),
        '',
      ].join('\n');
    await mkdir(join(dir, 'still'), { recursive: true });
    const file = join(dir, 'still/index.m3u8');
    await writeFile(file, still(2));
    const url = (msn: number) => `${base}/hls/still/index.m3u8?_HLS_msn=${msn}`;
    const timed = async (msn: number) => {
      const asked = Date.now();
      const res = await fetch(url(msn));
      return { status: res.status, text: await res.text(), ms: Date.now() - asked };
    };
    const released = timed(2);
    await new Promise((r) => setTimeout(r, 500));
    const writtenAt = Date.now();
    await writeFile(file, still(3));
    const r = await released;
    expect(r.status).toBe(200);
    expect(r.text).toContain('still_2.ts');
    expect(Date.now() - writtenAt).toBeLessThan(400); // a look every 20 ms
    const timedOut = await timed(3);
    expect(timedOut.status).toBe(503);
    expect(timedOut.ms).toBeGreaterThanOrEqual(2_900);
    expect(timedOut.ms).toBeLessThan(4_500);
    await writeFile(file, still(3, true));
    const ended = await timed(3); // an ended playlist answers at once: nothing more will come
    expect(ended.status).toBe(200);
    expect(ended.ms).toBeLessThan(1_000);
    expect((await fetch(`${base}/hls/nothing/index.m3u8?_HLS_msn=0`)).status).toBe(404);
  });

  it('answers conditional and range requests', async () => {
    const playlist = HLS.parse(await (await fetch(`${base}/hls/240p/index.m3u8`)).text()) as HLS.types.MediaPlaylist;
    const url = `${base}/hls/240p/${playlist.segments[0]!.uri}`;
    const first = await fetch(url);
    const etag = first.headers.get('etag')!;
    const full = Buffer.from(await first.arrayBuffer());
    expect((await fetch(url, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const part = await fetch(url, { headers: { range: 'bytes=188-375' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 188-375/${full.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(full.subarray(188, 376))).toBe(true);
  });

  it('answers CORS preflight', async () => {
    const res = await raw('/hls/360p/index.m3u8', 'OPTIONS', {
      origin: 'https://example.org',
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'range',
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-methods']).toContain('GET');
    expect(res.headers['access-control-allow-headers']?.toLowerCase()).toContain('range');
  });

  it('refuses path traversal and unknown files, and other methods', async () => {
    for (const path of ['/hls/../../../../etc/passwd', '/hls/%2e%2e/%2e%2e/etc/passwd', '/hls/360p/..%2f..%2fetc']) {
      const res = await raw(path);
      expect(res.status, path).toBe(400);
      expect(res.body.toString()).not.toContain('root:');
    }
    expect((await raw('/hls/360p/nope.ts')).status).toBe(404);
    expect((await raw('/etc/passwd')).status).toBe(404);
    expect((await raw('/hls/360p/index.m3u8', 'POST')).status).toBe(405);
  });

  it('returns 404 for playlists while idle, and serves them again when live', async () => {
    live = false;
    try {
      expect((await fetch(`${base}/hls/master.m3u8`)).status).toBe(404);
      expect((await fetch(`${base}/hls/360p/index.m3u8`)).status).toBe(404);
    } finally {
      live = true;
    }
    expect((await fetch(`${base}/hls/master.m3u8`)).status).toBe(200);
  });

  it('reports liveness, readiness and metrics', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    ready = false;
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/livestream_transcoder_http_requests_total\{route="segment",code="200"\} [1-9]/);
    expect(text).toMatch(/livestream_transcoder_http_requests_total\{route="other",code="400"\} 3/);
    expect(text).toMatch(/livestream_transcoder_viewers [1-9]/);
  });

  it('counts distinct viewers by session token, else by address and user agent', async () => {
    const before = origin.viewers();
    const get = (query: string, ua: string): Promise<Response> =>
      fetch(`${base}/hls/360p/index.m3u8${query}`, { headers: { 'user-agent': ua } });
    await get('?vs=viewer-one-1234', 'same-agent');
    await get('?vs=viewer-two-1234', 'same-agent');
    await get('?vs=viewer-one-1234', 'same-agent');
    await get('', 'agent-a');
    await get('', 'agent-a');
    await get('', 'agent-b');
    expect(origin.viewers()).toBe(before + 4);
    expect(origin.peakViewers()).toBeGreaterThanOrEqual(before + 4);
  });

  it('serves the player page and a versioned hls.js', async () => {
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    const src = /<script src="(\/assets\/hls-[0-9.]+\.min\.js)">/.exec(html)?.[1];
    expect(src).toBeDefined();
    expect(html).toContain('/hls/master.m3u8');
    const js = await fetch(`${base}${src}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    const require = createRequire(import.meta.url);
    const onDisk = await readFile(require.resolve('hls.js/dist/hls.min.js'));
    expect(Buffer.from(await js.arrayBuffer()).equals(onDisk)).toBe(true);
  });
});

describe('HTTP-FLV proxy', () => {
  let nms: { run(): Promise<void>; stop(): Promise<void> } | undefined;
  let publisher: ChildProcess | undefined;
  let storeDir: string;
  const streamKey = 'sk-9f8e7d6c5b4a';

  beforeAll(async () => {
    const require = createRequire(import.meta.url);
    const NodeMediaServer = require('node-media-server') as new (config: object) => {
      run(): Promise<void>;
      stop(): Promise<void>;
    };
    const rtmpPort = await pickFreePort();
    const httpPort = await pickFreePort();
    storeDir = await mkdtemp(join(tmpdir(), 'nms-store-'));
    await mkdir(storeDir, { recursive: true });
    nms = new NodeMediaServer({
      bind: '127.0.0.1',
      rtmp: { port: rtmpPort },
      http: { port: httpPort },
      store: { path: storeDir },
      webadmin: { enable: false },
    });
    // its logger is a module singleton the constructor resets to debug
    (require('node-media-server/src/core/logger.js') as { level: string }).level = 'error';
    await nms.run();
    publisher = spawn(
      'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-re'],
        ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=sample_rate=44100'],
        ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '25', '-c:a', 'aac'],
        ...['-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/${streamKey}`],
      ],
      { stdio: 'ignore' },
    );
    flvUpstream = new URL(`http://127.0.0.1:${httpPort}/live/${streamKey}.flv`);
    await new Promise((r) => setTimeout(r, 3_000)); // let the publisher connect
  });

  afterAll(async () => {
    flvUpstream = undefined;
    publisher?.kill('SIGKILL');
    await nms?.stop();
    if (storeDir) await rm(storeDir, { recursive: true, force: true });
  });

  it('proxies /live.flv from node-media-server without exposing the stream key', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base}/live.flv`, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/x-flv');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    let received = Buffer.alloc(0);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 64 * 1024) break;
    }
    expect(received.subarray(0, 3).toString()).toBe('FLV');
    expect(origin.viewers()).toBeGreaterThanOrEqual(1);
    controller.abort();
    for (const [name, value] of res.headers) expect(`${name}: ${value}`).not.toContain(streamKey);
    expect(logText).not.toContain(streamKey);
    expect(await (await fetch(`${base}/metrics`)).text()).not.toContain(streamKey);
  });

  it('is 404 when HTTP-FLV is disabled', async () => {
    const saved = flvUpstream;
    flvUpstream = undefined;
    try {
      expect((await fetch(`${base}/live.flv`)).status).toBe(404);
    } finally {
      flvUpstream = saved;
    }
  });
});

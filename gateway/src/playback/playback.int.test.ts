// The playback cache against a real backend: real HLS files written by a real ffmpeg, served by a counting node:http
// server standing where a transcoder's origin would be, and the gateway started in-process with a route table that
// points at it. Counts at the backend are the oracle: what the gateway fetched, not what it says it fetched.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../contract/src/logger.ts';
import { routeKeyHash, serializeRouteTable } from '../../../contract/src/route-table.ts';
import { startHlsWriter } from '../../../test/support/ffmpeg-hls-writer.ts';
import { ffprobe } from '../../../test/support/media-probe.ts';
import { sleep, waitFor } from '../../../test/support/wait-for.ts';
import { gatewaySettings } from '../config/settings.ts';
import { startGateway, type Gateway } from '../gateway.ts';
import { playlistRefreshMs } from './cache-policy.ts';

let dir: string;
let backend: http.Server;
let gateway: Gateway;
const hits = new Map<string, number>();
const delayMs = 150; // the backend is slow, so concurrent requests really overlap

const base = () => `http://127.0.0.1:${gateway.httpPort}/tenant/ch`;
const count = (p: string) => hits.get(p) ?? 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gateway-cache-'));
  const hls = path.join(dir, 'hls');
  const writer = await startHlsWriter({ dir: hls, segmentSeconds: 2, durationSeconds: 8, realtime: false });
  await writer.exited;
  backend = http.createServer((req, res) => {
    const p = req.url ?? '/';
    hits.set(p, count(p) + 1);
    const file = path.join(hls, p.replace(/^\/hls\//, ''));
    setTimeout(() => {
      readFile(file).then(
        (body) => {
          const type = p.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t';
          res.writeHead(200, { 'content-type': type, etag: `"${body.length}"` });
          res.end(body);
        },
        () => {
          res.writeHead(404);
          res.end('no\n');
        },
      );
    }, delayMs);
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const port = (backend.address() as AddressInfo).port;
  const secret = 'a-routing-secret-of-at-least-32-characters';
  await writeFile(path.join(dir, 'secret'), secret);
  const entry = { namespace: 'tenant', name: 'ch', app: 'live', rtmp: '127.0.0.1:1', http: `127.0.0.1:${port}` };
  const table = { version: 1 as const, entries: [{ keyHash: routeKeyHash(secret, 'k'), ...entry }] };
  await writeFile(path.join(dir, 'routes.json'), serializeRouteTable(table));
  const settings = gatewaySettings({
    LSO_GATEWAY_HOST: '127.0.0.1',
    LSO_GATEWAY_RTMP_PORT: '0',
    LSO_GATEWAY_HTTP_PORT: '0',
    LSO_GATEWAY_ROUTE_TABLE: path.join(dir, 'routes.json'),
    LSO_GATEWAY_ROUTING_SECRET_FILE: path.join(dir, 'secret'),
    LSO_GATEWAY_POLL_MS: '100',
  });
  gateway = await startGateway(settings, createLogger('gateway-test', 'warn'));
  await waitFor('the gateway to be ready', () =>
    fetch(`http://127.0.0.1:${gateway.httpPort}/readyz`).then((r) => r.ok),
  );
});

afterAll(async () => {
  await gateway?.close();
  await new Promise((resolve) => backend?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function segmentNames(): Promise<string[]> {
  const files = await readdir(path.join(dir, 'hls', '360p'));
  return files.filter((f) => f.endsWith('.ts')).sort();
}

describe('playback through the gateway cache', () => {
  it('fetches a segment from the backend once however many viewers ask at once', async () => {
    const [first, second] = await segmentNames();
    for (const [name, viewers] of [
      [first!, 50],
      [second!, 200],
    ] as const) {
      const url = `${base()}/360p/${name}`;
      const bodies = await Promise.all(
        Array.from({ length: viewers }, () =>
          fetch(url).then(async (r) => [r.status, (await r.arrayBuffer()).byteLength]),
        ),
      );
      const size = (await readFile(path.join(dir, 'hls', '360p', name))).length;
      expect(bodies.every(([status, bytes]) => status === 200 && bytes === size)).toBe(true);
      expect(count(`/hls/360p/${name}`)).toBe(1);
      // Later viewers too: from the cache.
      await fetch(url).then((r) => r.arrayBuffer());
      expect(count(`/hls/360p/${name}`)).toBe(1);
    }
  });

  it('serves segments immutable, playlists for at most half a segment, with CORS', async () => {
    const [name] = await segmentNames();
    const seg = await fetch(`${base()}/360p/${name}`);
    expect(seg.headers.get('cache-control')).toMatch(/^public, max-age=\d+, immutable$/);
    expect(seg.headers.get('content-type')).toBe('video/mp2t');
    expect(seg.headers.get('access-control-allow-origin')).toBe('*');
    const playlist = await fetch(`${base()}/360p/index.m3u8`);
    expect(playlist.headers.get('cache-control')).toBe('public, max-age=0, s-maxage=1'); // 2 s segments
    expect(playlist.headers.get('access-control-allow-origin')).toBe('*');
    const master = await fetch(`${base()}/master.m3u8`);
    expect(master.status).toBe(200);
    expect(master.headers.get('cache-control')).toMatch(/^public, max-age=[01]$/);
    const head = await fetch(`${base()}/360p/${name}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
    const preflight = await fetch(`${base()}/master.m3u8`, { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('GET');
  });

  it('coalesces a playlist and asks the origin again within playlistRefreshMs', async () => {
    const p = '/hls/240p/index.m3u8';
    const viewers = () => Promise.all(Array.from({ length: 20 }, () => fetch(`${base()}/240p/index.m3u8`)));
    const first = await viewers();
    expect(first.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(first[0]!.headers.get('cache-control')).toBe('public, max-age=0, s-maxage=1'); // a CDN: half a 2 s segment
    expect(count(p)).toBe(1);
    await sleep(playlistRefreshMs + 50);
    await viewers();
    expect(count(p)).toBe(2);
  });

  it('caches an error for about a second, and says so', async () => {
    const p = '/hls/360p/missing_00999.ts';
    const first = await fetch(`${base()}/360p/missing_00999.ts`);
    expect(first.status).toBe(404);
    expect(first.headers.get('cache-control')).toBe('public, max-age=1');
    await Promise.all(Array.from({ length: 10 }, () => fetch(`${base()}/360p/missing_00999.ts`).then((r) => r.text())));
    expect(count(p)).toBe(1);
    await sleep(1_100);
    await fetch(`${base()}/360p/missing_00999.ts`).then((r) => r.text());
    expect(count(p)).toBe(2);
  });

  it('answers 404 for an unknown channel and 400 for a traversal, without asking any backend', async () => {
    const total = [...hits.values()].reduce((a, b) => a + b, 0);
    for (const url of ['/tenant/other/master.m3u8', '/other/ch/master.m3u8', '/tenant/ch/nothing.txt']) {
      expect((await fetch(`http://127.0.0.1:${gateway.httpPort}${url}`)).status).toBe(404);
    }
    // Sent as written (fetch would resolve the dots itself).
    const raw = (p: string) =>
      new Promise<number>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: gateway.httpPort, path: p }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .once('error', reject);
      });
    for (const url of ['/tenant/ch/%2e%2e/secret', '/tenant/ch/360p/%2fetc', '/tenant/ch/../ch/master.m3u8']) {
      expect(await raw(url)).toBe(400);
    }
    expect([...hits.values()].reduce((a, b) => a + b, 0)).toBe(total);
  });

  it('plays as HLS through the gateway (ffprobe reads the master and its variants)', async () => {
    const probe = await ffprobe(`${base()}/master.m3u8`);
    expect(probe.streams.filter((s) => s.codec_type === 'video').map((s) => s.height)).toEqual(
      expect.arrayContaining([360, 240]),
    );
  });

  it('counts hits, misses, coalesced requests and backend fetches in its metrics', async () => {
    const text = await gateway.metrics.registry.metrics();
    const value = (series: string) =>
      Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('livestream_gateway_cache_requests_total{result="coalesced"}')).toBeGreaterThanOrEqual(100);
    expect(value('livestream_gateway_cache_requests_total{result="hit"}')).toBeGreaterThan(0);
    const fetches = value('livestream_gateway_backend_fetches_total{kind="segment",outcome="200"}');
    expect(fetches).toBe(
      [...hits].filter(([p]) => p.endsWith('.ts') && !p.includes('missing')).reduce((a, [, n]) => a + n, 0),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { ByteLru } from './byte-lru.ts';
import {
  answerHeaders,
  cacheControl,
  errorTtlMs,
  freshForMs,
  playlistRefreshMs,
  refreshAfterMs,
  segmentDurationMs,
} from './cache-policy.ts';
import { EdgeCache, type Fetched } from './edge-cache.ts';
import { parsePlaybackPath } from './paths.ts';

const live = (target: number, extinfs: number[]) =>
  [
    '#EXTM3U',
    `#EXT-X-TARGETDURATION:${target}`,
    ...extinfs.flatMap((d, i) => [`#EXTINF:${d.toFixed(3)},`, `s_${i}.ts`]),
  ].join('\n');

describe('parsePlaybackPath', () => {
  it.each([
    ['/ns/ch/master.m3u8', 'master', '/hls/master.m3u8'],
    ['/ns/ch.v2/live.flv', 'flv', '/live.flv'],
    ['/ns/ch/thumbnail.jpg', 'thumbnail', '/thumbnail.jpg'],
    ['/ns/ch/720p/index.m3u8', 'variant', '/hls/720p/index.m3u8'],
    ['/ns/ch/audio/index.m3u8', 'variant', '/hls/audio/index.m3u8'],
    ['/ns/ch/720p/abc-12_00001.ts', 'segment', '/hls/720p/abc-12_00001.ts'],
    ['/ns/ch/720p/init.mp4', 'segment', '/hls/720p/init.mp4'],
    ['/ns/ch/720p/p_1.m4s', 'segment', '/hls/720p/p_1.m4s'],
    ['/ns/ch/audio/a_1.aac', 'segment', '/hls/audio/a_1.aac'],
  ])('maps %s to the origin', (path, kind, upstreamPath) => {
    expect(parsePlaybackPath(path)).toMatchObject({ kind, upstreamPath });
  });

  it.each([
    ['/ns/ch/../x/master.m3u8', 400],
    ['/ns/ch/720p/%2e%2e', 400],
    ['/ns/ch/720p\\x.ts', 400],
    ['/ns/ch/./master.m3u8', 400],
    ['/ns/ch', 404],
    ['/ns/ch/', 404],
    ['/ns/ch/index.html', 404],
    ['/NS/ch/master.m3u8', 404],
    ['/ns/Ch/master.m3u8', 404],
    ['/ns/ch/720p/seg.exe', 404],
    ['/ns/ch/a/b/c.ts', 404],
    ['/ns/ch/720p/.hidden.ts', 404],
    ['/ns/ch/720p/a..b.ts', 404],
    ['/healthz', 404],
  ])('refuses %s with %i', (path, error) => {
    expect(parsePlaybackPath(path)).toEqual({ error });
  });
});

describe('cache policy', () => {
  it('keeps a live playlist for half its newest segment, within the target duration', () => {
    for (const seconds of [1, 2, 4, 6, 10]) {
      const text = Buffer.from(live(seconds, [seconds, seconds, seconds]));
      expect(freshForMs('variant', 200, text)).toBe((seconds * 1000) / 2);
    }
    expect(segmentDurationMs(live(3, [2.002, 2.0]))).toBe(2000); // a target rounded up does not stretch the TTL
    expect(segmentDurationMs(live(2, [2, 0.5]))).toBe(500); // a short last segment shortens it
    expect(segmentDurationMs('#EXTM3U\n')).toBe(2000); // unreadable: the default segment
  });

  it('asks the origin for a live playlist again within playlistRefreshMs, but holds segments and blocking answers', () => {
    for (const ttl of [100, 250, 1000, 5000]) {
      expect(refreshAfterMs('variant', ttl)).toBe(Math.min(ttl, playlistRefreshMs));
      expect(refreshAfterMs('variant', ttl, true)).toBe(ttl);
      expect(refreshAfterMs('master', ttl)).toBe(ttl);
    }
    expect(refreshAfterMs('segment', Infinity)).toBe(Infinity);
    expect(refreshAfterMs('variant', 0)).toBe(0); // not kept stays not kept
  });

  it('keeps segments until evicted and errors for a second, whatever the kind', () => {
    expect(freshForMs('segment', 200, Buffer.alloc(1))).toBe(Number.POSITIVE_INFINITY);
    for (const status of [404, 500, 502, 503]) {
      for (const kind of ['master', 'variant', 'segment'] as const) {
        expect(freshForMs(kind, status, Buffer.alloc(0))).toBe(errorTtlMs);
        expect(cacheControl(kind, status, errorTtlMs)).toBe('public, max-age=1');
      }
    }
  });

  it('chooses headers a CDN can trust', () => {
    expect(cacheControl('segment', 200, Infinity)).toMatch(/^public, max-age=\d{4,}, immutable$/);
    expect(cacheControl('variant', 200, 1000)).toBe('public, max-age=0, s-maxage=1'); // browsers: never
    expect(cacheControl('variant', 200, 500)).toBe('public, max-age=0, s-maxage=0');
    expect(cacheControl('master', 200, 1000)).toBe('public, max-age=1');
    expect(cacheControl('flv', 200, 0)).toBe('no-store');
    const ok = answerHeaders('segment', {
      status: 200,
      body: Buffer.alloc(7),
      etag: '"e"',
      contentType: 'video/mp2t',
      ttlMs: 1,
    });
    expect(ok).toMatchObject({
      'access-control-allow-origin': '*',
      'content-length': 7,
      etag: '"e"',
      'content-type': 'video/mp2t',
    });
    const err = answerHeaders('segment', {
      status: 404,
      body: Buffer.alloc(3),
      etag: '"e"',
      contentType: 'video/mp2t',
      ttlMs: 1,
    });
    expect(err.etag).toBeUndefined();
    expect(err['content-type']).toMatch(/^text\/plain/);
  });
});

describe('ByteLru', () => {
  const v = (size: number) => ({ size });
  it('stays within its bytes, evicting the least recently used first', () => {
    const lru = new ByteLru<{ size: number }>(100);
    lru.set('a', v(40));
    lru.set('b', v(40));
    lru.get('a'); // a is now newer than b
    lru.set('c', v(40));
    expect([lru.get('a'), lru.get('b'), lru.get('c')].map((x) => x !== undefined)).toEqual([true, false, true]);
    expect(lru.bytes).toBe(80);
    lru.set('a', v(10)); // replacing counts the new size only
    expect(lru.bytes).toBe(50);
    lru.set('huge', v(101));
    expect(lru.get('huge')).toBeUndefined();
    expect(lru.bytes).toBe(50);
    for (let i = 0; i < 1000; i++) lru.set(`k${i}`, v(1 + (i % 30)));
    expect(lru.bytes).toBeLessThanOrEqual(100);
  });
});

describe('EdgeCache', () => {
  const ok = (body = 'x'): Fetched => ({ status: 200, body: Buffer.from(body), contentType: 'video/mp2t' });

  it('coalesces concurrent requests into one fetch, then serves hits', async () => {
    let now = 0;
    const cache = new EdgeCache(1 << 20, () => now);
    let fetches = 0;
    let release: () => void = () => {};
    const fetcher = () => {
      fetches++;
      return new Promise<Fetched>((resolve) => (release = () => resolve(ok())));
    };
    const waiting = Array.from({ length: 100 }, () => cache.get('seg', 'segment', fetcher));
    release();
    const results = await Promise.all(waiting);
    expect(fetches).toBe(1);
    expect(results.filter((r) => r.result === 'miss')).toHaveLength(1);
    expect(results.filter((r) => r.result === 'coalesced')).toHaveLength(99);
    now += 3_600_000;
    expect((await cache.get('seg', 'segment', fetcher)).result).toBe('hit');
    expect(fetches).toBe(1);
  });

  it('refetches a playlist after playlistRefreshMs while telling a CDN half a segment, and an error after a second', async () => {
    let now = 0;
    const cache = new EdgeCache(1 << 20, () => now);
    let fetches = 0;
    const playlist = () => (fetches++, Promise.resolve(ok(live(2, [2, 2]))));
    await cache.get('pl', 'variant', playlist);
    now = playlistRefreshMs - 1;
    const hit = await cache.get('pl', 'variant', playlist);
    expect(hit.result).toBe('hit');
    expect(cacheControl('variant', 200, hit.answer.ttlMs)).toBe('public, max-age=0, s-maxage=1');
    expect(fetches).toBe(1);
    now = playlistRefreshMs;
    await cache.get('pl', 'variant', playlist);
    expect(fetches).toBe(2);
    let failures = 0;
    const failing = () => (failures++, Promise.reject(new Error('ECONNREFUSED')));
    const first = await cache.get('x', 'segment', failing);
    expect(first.answer.status).toBe(502);
    now += 999;
    await cache.get('x', 'segment', failing);
    expect(failures).toBe(1);
    now += 1;
    await cache.get('x', 'segment', failing);
    expect(failures).toBe(2);
  });
});

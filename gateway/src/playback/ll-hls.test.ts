// The gateway's LL-HLS rules checked against the origin's own: playlists rendered by the transcoder's packager from
// real timelines, and its directive parser and blocking-reload decisions as the oracle.
import { describe, expect, it } from 'vitest';
import {
  decide,
  isSatisfied,
  lastPart,
  parseDirectives,
  renderMediaPlaylist,
} from '../../../test/support/llhls-origin.ts';
import { feedParts, llOptions } from '../../../test/support/llhls-timeline.ts';
import { blockingHoldMs, cacheControl, freshForMs, partTargetMs } from './cache-policy.ts';
import { EdgeCache, type Fetched } from './edge-cache.ts';
import { LiveEdges } from './live-edges.ts';
import {
  advancePartLimit,
  isNewer,
  liveEdgeOf,
  readDirectives,
  satisfies,
  tooFarAhead,
  withQuery,
  type Directives,
} from './ll-hls.ts';
import { parsePlaybackPath } from './paths.ts';

const options = { ...llOptions, windowSegments: 4, keyframesOnGrid: true };
const timelines = Array.from({ length: 40 }, (_, n) => feedParts(n + 1, { options }));
const render = (n: number, skip = false) => renderMediaPlaylist(timelines[n]!, { ...options, skip });

describe('readDirectives: the query forwarded and the cache key', () => {
  it('keeps the three directives, verbatim, in the RFC order, and drops every other parameter', () => {
    const cases: Array<[string, string]> = [
      ['', ''],
      ['session=abc&vs=1', ''],
      ['_HLS_msn=12', '_HLS_msn=12'],
      ['_HLS_part=3&_HLS_msn=12', '_HLS_msn=12&_HLS_part=3'],
      ['session=s&_HLS_skip=v2&_HLS_part=0&_HLS_msn=7&x=1', '_HLS_msn=7&_HLS_part=0&_HLS_skip=v2'],
      ['_HLS_skip=YES', '_HLS_skip=YES'],
    ];
    for (const [query, forwarded] of cases) expect(readDirectives(query)).toMatchObject({ ok: true, forwarded });
    expect(withQuery('/hls/360p/index.m3u8', '')).toBe('/hls/360p/index.m3u8');
    expect(withQuery('/hls/360p/index.m3u8', '_HLS_msn=1')).toBe('/hls/360p/index.m3u8?_HLS_msn=1');
    // YES and v2 are different requests (v2 also skips date ranges): different keys.
    expect(readDirectives('_HLS_skip=YES')).not.toEqual(readDirectives('_HLS_skip=v2'));
  });

  it('refuses what the origin refuses, and accepts what it accepts', () => {
    const queries = [
      '_HLS_msn=2&_HLS_part=3&_HLS_skip=YES',
      '_HLS_msn=0',
      '_HLS_part=1',
      '_HLS_msn=-1',
      '_HLS_msn=1.5',
      '_HLS_msn=01',
      '_HLS_msn=2&_HLS_part=x',
      '_HLS_skip=NO',
      '_HLS_skip=v2',
      '_HLS_msn=',
      'token=abc',
    ];
    for (const q of queries) expect([q, readDirectives(q).ok]).toEqual([q, parseDirectives(q).ok]);
    expect(readDirectives('_HLS_msn=1&_HLS_msn=2').ok).toBe(false); // ambiguous: which one would the origin read?
  });
});

describe('liveEdgeOf', () => {
  it('reads the newest part, the last complete segment and the last segment of every live state, delta updates too', () => {
    timelines.forEach((tl, n) => {
      const truth = {
        newest: lastPart(tl),
        lastComplete: tl.segments.at(-1)?.msn ?? (tl.open ? tl.open.msn - 1 : tl.nextMsn - 1),
        lastMsn: tl.open?.msn ?? tl.nextMsn - 1,
        partTarget: 0.5,
        targetDuration: 2,
        ended: false,
      };
      expect(liveEdgeOf(render(n))).toEqual(truth);
      expect(liveEdgeOf(render(n, true))).toEqual(truth);
    });
    expect(liveEdgeOf(renderMediaPlaylist(timelines[9]!, { ...options, endlist: true }))?.ended).toBe(true);
  });

  it('is undefined for a classic playlist', () => {
    expect(liveEdgeOf('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\ns_1.ts\n')).toBeUndefined();
  });
});

// Every request a player could make around the live edge of each timeline.
function* requestsAround(lastMsn: number): Generator<Directives> {
  for (let msn = Math.max(0, lastMsn - 3); msn <= lastMsn + 6; msn++) {
    yield { msn };
    for (let part = 0; part <= 14; part++) yield { msn, part };
  }
}

describe('satisfies and tooFarAhead, against the origin', () => {
  it('answers from the cache exactly what the origin would answer at once', () => {
    timelines.forEach((tl, n) => {
      const edge = liveEdgeOf(render(n))!;
      for (const d of requestsAround(edge.lastMsn)) {
        expect([d, satisfies(edge, d)]).toEqual([d, isSatisfied(d, tl)]);
      }
    });
  });

  it('refuses only what the origin refuses, and refuses far-ahead requests without asking it', () => {
    let refused = 0;
    timelines.forEach((tl, n) => {
      const edge = liveEdgeOf(render(n))!;
      for (const d of requestsAround(edge.lastMsn)) {
        if (tooFarAhead(d, edge, 0) === undefined) continue;
        refused += 1;
        expect([d, decide({ ...d, skip: false }, tl, 0.5).kind]).toEqual([d, 'bad-request']);
      }
      expect(tooFarAhead({ msn: edge.lastMsn + 10 }, edge, 0)).toMatch(/_HLS_msn/);
      expect(tooFarAhead({ msn: edge.lastMsn + 1, part: 3 * advancePartLimit(0.5) }, edge, 0)).toMatch(/_HLS_part/);
    });
    expect(refused).toBeGreaterThan(100);
  });

  it('gives the origin the benefit of the time since the edge was seen', () => {
    const edge = liveEdgeOf(render(20))!;
    const far = { msn: edge.lastMsn + 5 };
    expect(tooFarAhead(far, edge, 0)).toBeDefined();
    expect(tooFarAhead(far, edge, 5_000)).toBeUndefined(); // two or three segments may have been written since
    expect(tooFarAhead({ msn: 999 }, { ...edge, ended: true }, 0)).toBeUndefined();
  });

  it('orders edges by their newest part', () => {
    const [a, b] = [liveEdgeOf(render(10))!, liveEdgeOf(render(11))!];
    expect([isNewer(b, a), isNewer(a, b), isNewer(a, a)]).toEqual([true, false, false]);
  });
});

describe('LL-HLS cache policy', () => {
  const ll = Buffer.from(render(12));
  it('keeps an LL playlist for half a part, a blocking answer for three part targets, a part forever', () => {
    expect(partTargetMs(ll.toString())).toBe(500);
    expect(freshForMs('variant', 200, ll)).toBe(250);
    expect(freshForMs('variant', 200, ll, true)).toBe(1500);
    expect(blockingHoldMs('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\na.ts\n')).toBe(1000); // classic
    expect(freshForMs('part', 200, Buffer.alloc(3))).toBe(Number.POSITIVE_INFINITY);
    expect(cacheControl('part', 200, Infinity)).toMatch(/immutable$/);
  });

  it('does not keep a failed part or blocking request (it may exist a part later)', () => {
    for (const status of [404, 502, 503]) {
      expect(freshForMs('part', status, Buffer.alloc(0))).toBe(0);
      expect(freshForMs('variant', status, Buffer.alloc(0), true)).toBe(0);
      expect(cacheControl('part', status, 0)).toBe('no-store');
    }
  });

  it('knows a part by its name', () => {
    expect(parsePlaybackPath('/ns/ch/360p/s1-360p_00012.3.m4s')).toMatchObject({ kind: 'part' });
    expect(parsePlaybackPath('/ns/ch/360p/s1-360p_00012.m4s')).toMatchObject({ kind: 'segment' });
  });
});

describe('EdgeCache with blocking requests', () => {
  const ok = (body: string): Fetched => ({ status: 200, body: Buffer.from(body), contentType: 'x' });

  it('shares one fetch among 1,000 waiting viewers, keeps the answer three part targets, never keeps a 503', async () => {
    let now = 0;
    const cache = new EdgeCache(1 << 24, () => now);
    let fetches = 0;
    let release: (f: Fetched) => void = () => {};
    const fetcher = () => {
      fetches++;
      return new Promise<Fetched>((resolve) => (release = resolve));
    };
    const key = 'origin/hls/360p/index.m3u8?_HLS_msn=5&_HLS_part=1';
    const waiting = Array.from({ length: 1000 }, () => cache.get(key, 'variant', fetcher, true));
    release(ok(render(21)));
    const results = await Promise.all(waiting);
    expect(fetches).toBe(1);
    expect(results.filter((r) => r.result === 'coalesced')).toHaveLength(999);
    now = 1499;
    expect((await cache.get(key, 'variant', fetcher, true)).result).toBe('hit');
    now = 1500;
    const again = cache.get(key, 'variant', fetcher, true);
    release({ status: 503, body: Buffer.from('late'), contentType: 'text/plain' });
    expect((await again).answer.status).toBe(503);
    const third = cache.get(key, 'variant', fetcher, true);
    release(ok(render(22)));
    expect((await third).result).toBe('miss');
    expect(fetches).toBe(3);
  });
});

describe('LiveEdges', () => {
  const answer = { status: 200, body: Buffer.alloc(0), contentType: 'x', ttlMs: 0 };
  it('keeps the newest playlist, takes an older one only once the held one is stale, and stays bounded', () => {
    const edges = new LiveEdges(3);
    const [older, newer] = [liveEdgeOf(render(10))!, liveEdgeOf(render(11))!];
    edges.observe('r', newer, answer, 0, 1500);
    edges.observe('r', older, answer, 100, 1500);
    expect(edges.latest('r')?.edge).toBe(newer);
    edges.observe('r', older, answer, 1500, 1500); // the origin started again, lower: believed once the old is stale
    expect(edges.latest('r')?.edge).toBe(older);
    for (const k of ['a', 'b', 'c', 'd']) edges.observe(k, older, answer, 0, 1500);
    expect(edges.size).toBe(3);
    expect(edges.latest('r')).toBeUndefined();
  });
});

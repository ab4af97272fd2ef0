// LL-HLS through the gateway (ADR 0018): the real gateway entry point, two replicas, in front of a loopback LL-HLS
// origin that holds blocking requests as the transcoder's does (test/support/llhls-origin.ts: its packager core fed
// by a timer). The origin's request log is the oracle: what the gateway fetched, how often, and when the origin
// answered. 1,000 simulated LL-HLS viewers (a blocking playlist request and the preload-hinted part per part, as
// Safari asks, each on its own keep-alive connection) watch through one replica.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../../../test/support/gateway-process.ts';
import { startLlOrigin, type LlOrigin } from '../../../test/support/llhls-origin.ts';
import { runLlAudience } from '../../../test/support/llhls-viewers.ts';
import { liveEdgeOf } from './ll-hls.ts';

let origin: LlOrigin;
let replicas: GatewayProcess[] = [];
const channel = '/tenant/fast';
const playlistPath = `${channel}/360p/index.m3u8`;
const originPlaylist = '/hls/360p/index.m3u8';

beforeAll(async () => {
  // 30 s of parts at once: the window (10 segments) is full, so delta updates skip segments from the start.
  const window = { windowSegments: 10, partsBeforeStart: 60 };
  origin = await startLlOrigin({ renditions: ['360p', 'audio'], targetDuration: 2, partTarget: 0.5, ...window });
  const route = {
    key: 'll-key',
    namespace: 'tenant',
    name: 'fast',
    rtmp: '127.0.0.1:1',
    http: `127.0.0.1:${origin.port}`,
    lowLatency: true as const,
  };
  replicas = await Promise.all([0, 1].map(() => startGatewayProcess({ routes: [route] })));
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.close()));
  await origin?.close();
});

const url = (replica: GatewayProcess, path: string) => `http://127.0.0.1:${replica.httpPort}${path}`;
const hitsOf = (prefix: string) => [...origin.hits].filter(([p]) => p.startsWith(prefix));

describe('LL-HLS through the gateway', () => {
  it('forwards the directives exactly, without any other parameter, and two replicas answer the same bytes', async () => {
    const first = await fetch(url(replicas[0]!, playlistPath)).then((r) => r.text());
    // The first part of the segment after next: not written yet, so that both replicas really wait for it.
    const next = { msn: liveEdgeOf(first)!.lastComplete + 2, part: 0 };
    const q = `_HLS_msn=${next.msn}&_HLS_part=${next.part}`;
    // Both replicas wait for the same part, with parameters of their own that must not reach the origin.
    const [a, b] = await Promise.all([
      fetch(url(replicas[0]!, `${playlistPath}?session=abc&${q}&_HLS_skip=YES`)),
      fetch(url(replicas[1]!, `${playlistPath}?_HLS_skip=YES&x=1&${q.split('&').reverse().join('&')}`)),
    ]);
    const [textA, textB] = [await a.text(), await b.text()];
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(textA).toBe(textB);
    expect(textA).toContain('#EXT-X-SKIP:SKIPPED-SEGMENTS=');
    expect(liveEdgeOf(textA)!.newest).toEqual(next);
    expect(origin.hits.get(`${originPlaylist}?${q}&_HLS_skip=YES`)).toBe(2); // one per replica
    expect(hitsOf(originPlaylist).filter(([p]) => /session|x=1/.test(p))).toEqual([]);
    expect(a.headers.get('cache-control')).toBe('public, max-age=0, s-maxage=1');
  });

  it('refuses a request too far ahead with a 400, without asking the origin', async () => {
    const edge = liveEdgeOf(await fetch(url(replicas[0]!, playlistPath)).then((r) => r.text()))!;
    for (const q of [`_HLS_msn=${edge.lastMsn + 20}`, `_HLS_msn=${edge.lastMsn + 1}&_HLS_part=30`]) {
      const res = await fetch(url(replicas[0]!, `${playlistPath}?${q}`));
      expect([q, res.status]).toEqual([q, 400]);
      expect(origin.hits.get(`${originPlaylist}?${q}`)).toBeUndefined();
    }
    // Malformed: refused as the origin refuses it, and not forwarded either.
    expect((await fetch(url(replicas[0]!, `${playlistPath}?_HLS_part=1`))).status).toBe(400);
    expect(origin.hits.get(`${originPlaylist}?_HLS_part=1`)).toBeUndefined();
  });

  it('holds 1,000 LL-HLS viewers on one replica with one backend fetch per part and per blocking playlist', async () => {
    const viewers = 1000;
    const rounds = 10; // parts of 0.5 s: about 5 s of playback
    const run = await audience(replicas[0]!, viewers, rounds);
    const { entries, blockingFetches, partFetches, lags } = run;
    // Every viewer got every playlist and part.
    expect(entries.filter((e) => e.status !== 200 || e.partStatus !== 200)).toEqual([]);
    expect(entries).toHaveLength(viewers * rounds);
    // One backend fetch per blocking playlist and per part, whatever the number of viewers.
    expect(blockingFetches.filter(([, n]) => n !== 1)).toEqual([]);
    expect(partFetches.filter(([, n]) => n !== 1)).toEqual([]);
    expect(blockingFetches.length).toBeLessThanOrEqual(new Set(entries.map((e) => e.key)).size);
    expect(partFetches.length).toBe(new Set(entries.map((e) => e.part)).size);
    expect(lags.length).toBeGreaterThan(viewers * (rounds - 2)); // they really waited at the origin
    // Every viewer has its playlist within two part targets of the origin's answer, so within PART-HOLD-BACK of the
    // edge: one replica's core writes 2,000 responses per part (a playlist and a part each) while the simulator has
    // the other (measured: p50 76-135 ms, max 194-479 ms depending on the machine's other load).
    expect(lags.at(-1)).toBeLessThan(1000);
  });

  it('answers a blocked viewer within 100 ms of the origin answering the gateway', async () => {
    const run = await audience(replicas[1]!, 20, 6);
    expect(run.entries.filter((e) => e.status !== 200 || e.partStatus !== 200)).toEqual([]);
    expect(run.lags.length).toBeGreaterThan(20 * 4);
    expect(run.lags.at(-1)).toBeLessThanOrEqual(100);
  });
});

const audience = (replica: GatewayProcess, viewers: number, rounds: number) =>
  runLlAudience({
    port: replica.httpPort,
    channelPath: channel,
    rendition: '360p',
    origin,
    viewers,
    rounds,
    cpuSeconds: () => replica.cpuSeconds(),
  });

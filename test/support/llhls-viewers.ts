// Simulated LL-HLS viewers for the gateway's tests: each has two keep-alive connections (bench/origin's minimal
// client) and asks, per part, the blocking reload of the next part beside the preload-hinted part, as Safari does.
// What they saw is set against what the origin was asked (its request log: path with query -> count, and when it
// answered each blocking request), so the figures say how many backend fetches the viewers cost and how long after
// the origin's answer each viewer had its own.
import { KeepAliveClient } from '../../bench/origin/keep-alive-client.ts';
import { liveEdgeOf, type LiveEdge } from '../../gateway/src/playback/ll-hls.ts';

export interface OriginLog {
  hits: Map<string, number>;
  answeredAt: Map<string, number>;
}

export interface AudienceOptions {
  port: number; // the gateway's HTTP port
  channelPath: string; // '/<namespace>/<name>'
  rendition: string;
  origin: OriginLog;
  viewers: number;
  rounds: number; // parts watched
  cpuSeconds?: () => Promise<number>; // the gateway's
  label?: string; // printed before the figures' JSON line
}

interface Round {
  key: string;
  part: string;
  sentAt: number;
  receivedAt: number;
  status: number;
  partStatus: number;
}

/** The part a player asks for next: after the newest, in its segment while that is open, else part 0 of the next. */
export function nextPart(edge: LiveEdge): { msn: number; part: number } {
  const newest = edge.newest!;
  return edge.lastMsn > edge.lastComplete
    ? { msn: newest.msn, part: newest.part + 1 }
    : { msn: edge.lastComplete + 1, part: 0 };
}

const hintOf = (playlist: string) => /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(playlist)?.[1] ?? '';
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/** One viewer: the playlist, then per part a blocking reload for the next part beside a request for its hint. */
async function watch(playlists: KeepAliveClient, parts: KeepAliveClient, o: AudienceOptions): Promise<Round[]> {
  const playlistPath = `${o.channelPath}/${o.rendition}/index.m3u8`;
  let text = (await playlists.get(playlistPath, true, 10_000)).body;
  const log: Round[] = [];
  for (let i = 0; i < o.rounds; i++) {
    const edge = liveEdgeOf(text);
    if (!edge?.newest) throw new Error(`not a live LL-HLS playlist: ${text.slice(0, 200)}`);
    const next = nextPart(edge);
    const key = `_HLS_msn=${next.msn}&_HLS_part=${next.part}`;
    const part = hintOf(text);
    const sentAt = Date.now();
    const [pl, p] = await Promise.all([
      playlists.get(`${playlistPath}?${key}`, true, 15_000),
      parts.get(`${o.channelPath}/${o.rendition}/${part}`, false, 15_000),
    ]);
    log.push({ key, part, sentAt, receivedAt: Date.now(), status: pl.status, partStatus: p.status });
    text = pl.body;
  }
  return log;
}

/** `viewers` players on one gateway for `rounds` parts: what they saw, what the origin was asked, the figures. */
export async function runLlAudience(o: AudienceOptions) {
  const clients = Array.from({ length: o.viewers }, () => [0, 1].map(() => new KeepAliveClient('127.0.0.1', o.port)));
  const originPlaylist = `/hls/${o.rendition}/index.m3u8`;
  try {
    // Connections opened in batches (a listen backlog overflow would add a SYN retry second to some).
    for (let i = 0; i < clients.length; i += 100) {
      const batch = clients.slice(i, i + 100).flat();
      await Promise.all(batch.map((c) => c.get(`${o.channelPath}/master.m3u8`, false, 10_000)));
    }
    const cpuBefore = (await o.cpuSeconds?.()) ?? 0;
    const startedAt = Date.now();
    const hitsBefore = new Map(o.origin.hits);
    const logs = await Promise.all(clients.map(([pl, part]) => watch(pl!, part!, o)));
    const seconds = (Date.now() - startedAt) / 1000;
    const cpu = ((await o.cpuSeconds?.()) ?? 0) - cpuBefore;
    const fetched = [...o.origin.hits]
      .map(([p, n]) => [p, n - (hitsBefore.get(p) ?? 0)] as const)
      .filter(([, n]) => n > 0);
    const blockingFetches = fetched.filter(([p]) => p.startsWith(`${originPlaylist}?_HLS_msn=`));
    const partFetches = fetched.filter(([p]) => p.startsWith(`/hls/${o.rendition}/`) && p.endsWith('.m4s'));
    const entries = logs.flat();
    const lagsByKey = new Map<string, number[]>();
    for (const e of entries) {
      const answered = o.origin.answeredAt.get(`${originPlaylist}?${e.key}`);
      if (answered === undefined || answered < e.sentAt) continue; // answered before it was asked: not blocked
      lagsByKey.set(e.key, [...(lagsByKey.get(e.key) ?? []), e.receivedAt - answered]);
    }
    const lags = [...lagsByKey.values()].flat().sort((x, y) => x - y);
    const figures = {
      viewers: o.viewers,
      rounds: o.rounds,
      seconds: Math.round(seconds * 10) / 10,
      playlistRequests: entries.length,
      partRequests: entries.length,
      backendBlockingFetches: blockingFetches.length,
      distinctBlockingKeys: new Set(entries.map((e) => e.key)).size,
      backendPartFetches: partFetches.length,
      distinctParts: new Set(entries.map((e) => e.part)).size,
      blockedAnswers: lags.length,
      lagAfterOriginMs: { p50: quantile(lags, 0.5), p95: quantile(lags, 0.95), max: lags.at(-1) },
      firstAnswerLagMs: { max: Math.max(...[...lagsByKey.values()].map((l) => Math.min(...l))) },
      ...(o.cpuSeconds && { gatewayCpuSeconds: Math.round(cpu * 100) / 100 }),
    };
    process.stdout.write(`[${o.label ?? 'llhls-gateway'}] ${JSON.stringify(figures)}\n`);
    return { entries, blockingFetches, partFetches, lags, figures };
  } finally {
    for (const c of clients.flat()) c.close();
  }
}

// How long the gateway keeps each answer of an origin, and the headers it serves it with (pure). A CDN in front
// can trust them: a segment never changes once published (its name carries the session and its number), a live
// playlist changes once per segment and is kept for at most half of one, an error for about a second (long enough
// to absorb a stampede on a channel that is not live, short enough that its start is seen at once).
// LL-HLS (ADR 0018): a media playlist with parts is kept for half a part; the answer to a blocking request
// (_HLS_msn) for three part targets (it holds the part it was asked for forever, and a player that gets it that
// late is still within PART-HOLD-BACK of the edge); a part like a segment. A part, or a blocking request, that failed
// is not kept at all: it may exist a part later, and coalescing already folds a stampede into one fetch.
import type { OutgoingHttpHeaders } from 'node:http';
import type { PlaybackKind } from './paths.ts';

export const segmentMaxAgeS = 86_400;
export const errorTtlMs = 1_000;
/** The master playlist changes only when a session starts: a second, like an error. */
export const masterTtlMs = 1_000;
/** A thumbnail is refreshed every few seconds by the transcoder: kept briefly, like a playlist. */
export const thumbnailTtlMs = 2_000;
/** A media playlist whose segment duration cannot be read. */
const fallbackSegmentMs = 2_000;
/**
 * A live media playlist is asked of the origin again after at most this long (ms), whatever a CDN is told it may
 * keep it: how stale it is when a player reloads is latency the gateway adds (half a segment added 350 ms to classic
 * HLS in bench-latency). Coalescing keeps it one origin request per rendition and interval however many viewers.
 */
export const playlistRefreshMs = 200;

export const corsHeaders = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'content-length, etag, age',
} as const;

export const preflightHeaders = {
  ...corsHeaders,
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': 'range, if-none-match',
  'access-control-max-age': '86400',
} as const;

/** An LL-HLS playlist's PART-TARGET (ms); undefined for a classic one. */
export function partTargetMs(playlist: string): number | undefined {
  const m = /#EXT-X-PART-INF:(?:[^\n]*,)?PART-TARGET=(\d+(?:\.\d+)?)/.exec(playlist);
  const ms = Number(m?.[1]) * 1000;
  return ms > 0 ? ms : undefined;
}

/** How long the answer to a blocking playlist request is kept (ms): three part targets, half a segment if classic. */
export function blockingHoldMs(playlist: string): number {
  const part = partTargetMs(playlist);
  return part === undefined ? Math.floor(segmentDurationMs(playlist) / 2) : 3 * part;
}

/** A live playlist's segment duration (ms): its newest EXTINF, within TARGETDURATION. */
export function segmentDurationMs(playlist: string): number {
  const target = /#EXT-X-TARGETDURATION:(\d+)/.exec(playlist);
  const extinfs = [...playlist.matchAll(/#EXTINF:(\d+(?:\.\d+)?)/g)];
  const last = extinfs.at(-1)?.[1];
  const candidates = [target?.[1], last].filter((v) => v !== undefined).map((v) => Number(v) * 1000);
  const positive = candidates.filter((ms) => ms > 0);
  return positive.length > 0 ? Math.min(...positive) : fallbackSegmentMs;
}

/** How long an answer stays fresh in the gateway's cache (ms). Infinity: until evicted; 0: not kept. */
export function freshForMs(kind: PlaybackKind, status: number, body: Buffer, blocking = false): number {
  if (status !== 200) return kind === 'part' || blocking ? 0 : errorTtlMs;
  if (kind === 'segment' || kind === 'part') return Number.POSITIVE_INFINITY;
  if (kind === 'master') return masterTtlMs;
  if (kind === 'thumbnail') return thumbnailTtlMs;
  const text = body.toString('utf8');
  if (blocking) return blockingHoldMs(text);
  const part = partTargetMs(text);
  return Math.floor((part ?? segmentDurationMs(text)) / 2);
}

/** How long the gateway itself serves an answer kept for `ttlMs` before asking the origin again (ms). */
export function refreshAfterMs(kind: PlaybackKind, ttlMs: number, blocking = false): number {
  return kind === 'variant' && !blocking ? Math.min(ttlMs, playlistRefreshMs) : ttlMs;
}

/** Cache-Control for an answer: what a CDN may do with it. */
export function cacheControl(kind: PlaybackKind, status: number, ttlMs: number): string {
  if (kind === 'flv') return 'no-store';
  if (status !== 200) return ttlMs > 0 ? `public, max-age=${Math.ceil(errorTtlMs / 1000)}` : 'no-store';
  if (kind === 'segment' || kind === 'part') return `public, max-age=${segmentMaxAgeS}, immutable`;
  // A browser must not reuse a live playlist (its own cache would add up to max-age to the player's latency, and
  // hls.js sends no cache buster); a CDN in front may, for the time the gateway keeps it.
  if (kind === 'variant') return `public, max-age=0, s-maxage=${Math.floor(ttlMs / 1000)}`;
  return `public, max-age=${Math.floor(ttlMs / 1000)}`;
}

const contentTypes: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/mp4',
  mp4: 'video/mp4',
  aac: 'audio/aac',
  flv: 'video/x-flv',
  jpg: 'image/jpeg',
};

export function contentType(path: string): string {
  return contentTypes[path.slice(path.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
}

export interface CachedAnswer {
  status: number;
  body: Buffer;
  etag?: string;
  contentType: string;
  ttlMs: number;
  /** When the origin answered (epoch ms): the Age header, which hls.js reads to place its first blocking request. */
  fetchedAtMs?: number;
}

export function answerHeaders(kind: PlaybackKind, answer: CachedAnswer, nowMs = Date.now()): OutgoingHttpHeaders {
  const ageS =
    answer.fetchedAtMs === undefined ? undefined : Math.max(0, Math.floor((nowMs - answer.fetchedAtMs) / 1000));
  return {
    ...corsHeaders,
    'content-type': answer.status === 200 ? answer.contentType : 'text/plain; charset=utf-8',
    'content-length': answer.body.length,
    'cache-control': cacheControl(kind, answer.status, answer.ttlMs),
    ...(answer.etag !== undefined && answer.status === 200 && { etag: answer.etag }),
    ...(ageS !== undefined && { age: String(ageS) }),
  };
}

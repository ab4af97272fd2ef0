// GET/HEAD /<namespace>/<name>/<file>: the channel found in the route table, its origin's answer served from the
// edge cache (playlists and segments) or streamed (live.flv), with the headers of cache-policy.ts. A media playlist's
// LL-HLS delivery directives (ll-hls.ts) are forwarded to the origin and are its cache key; a blocking request that
// the newest playlist held already answers is answered with it, one the origin would refuse is refused here.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../../../contract/src/logger.ts';
import type { ChannelRoute } from '../../../contract/src/route-table.ts';
import { gatewayRequestHeader } from '../../../contract/src/viewer-window.ts';
import { authorizePlayback, sendRefusal, type AccessContext } from '../access/playback-access.ts';
import { rewritePlaylist } from '../access/playlist-rewrite.ts';
import type { FetchKind, GatewayMetrics } from '../telemetry/metrics.ts';
import {
  answerHeaders,
  cacheControl,
  contentType,
  corsHeaders,
  errorTtlMs,
  type CachedAnswer,
} from './cache-policy.ts';
import type { CacheResult, EdgeCache, Fetched } from './edge-cache.ts';
import { isBlocking, liveEdgeOf, readDirectives, satisfies, tooFarAhead, withQuery } from './ll-hls.ts';
import { parsePlaybackPath, type PlaybackKind } from './paths.ts';
import type { ViewerCounter } from './viewers.ts';

export interface PlaybackContext {
  channel(namespace: string, name: string): ChannelRoute | undefined;
  cache: EdgeCache;
  metrics: GatewayMetrics;
  logger: Logger;
  fetchTimeoutMs: number;
  viewers: ViewerCounter;
  /** Playback authorization (issue 15); without it every channel is public. */
  access?: AccessContext;
}

// The origin does not count the gateway as a viewer: the gateway counts the viewers behind it (viewers.ts).
const originHeaders = { [gatewayRequestHeader]: '1' };

const fetchKind = (kind: PlaybackKind): FetchKind =>
  kind === 'segment' || kind === 'part' || kind === 'thumbnail' ? 'segment' : kind === 'flv' ? 'flv' : 'playlist';

/** The origin holds a blocking request for up to 3 target durations (then 503); unknown: the CRD's longest, 10 s. */
const blockingFetchTimeoutMs = (context: PlaybackContext, targetDuration = 10): number =>
  context.fetchTimeoutMs + 3 * targetDuration * 1000;

function plain(res: ServerResponse, status: number, text: string, cache = true): void {
  res.writeHead(status, {
    ...corsHeaders,
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': cache ? `public, max-age=${Math.ceil(errorTtlMs / 1000)}` : 'no-store',
  });
  res.end(text);
}

async function fetchOrigin(
  url: string,
  context: PlaybackContext,
  kind: PlaybackKind,
  timeoutMs = context.fetchTimeoutMs,
): Promise<Fetched> {
  try {
    const res = await fetch(url, { headers: originHeaders, signal: AbortSignal.timeout(timeoutMs) });
    const body = Buffer.from(await res.arrayBuffer());
    context.metrics.backendFetchesTotal.inc({ kind: fetchKind(kind), outcome: String(res.status) });
    const etag = res.headers.get('etag');
    return {
      status: res.status,
      body,
      contentType: res.headers.get('content-type') ?? contentType(url),
      ...(etag !== null && { etag }),
    };
  } catch (err) {
    context.metrics.backendFetchesTotal.inc({ kind: fetchKind(kind), outcome: 'error' });
    throw err;
  }
}

/**
 * A protected channel's answer: the shared cache holds the origin's bytes, each viewer gets playlists carrying their
 * own session, never stored by anyone (private, no-store, no etag); segments and thumbnails only in the viewer's own
 * cache (private), so a shared cache in front cannot hand them to someone without a session.
 */
export function personalize(kind: PlaybackKind, answer: CachedAnswer, session: string): CachedAnswer & { cc?: string } {
  if (answer.status !== 200) return answer;
  if (kind === 'master' || kind === 'variant') {
    const { etag: _etag, ...rest } = answer;
    const body = Buffer.from(rewritePlaylist(answer.body.toString('utf8'), session), 'utf8');
    return { ...rest, body, cc: 'private, no-store' };
  }
  return { ...answer, cc: cacheControl(kind, answer.status, answer.ttlMs).replace('public', 'private') };
}

function serve(
  req: IncomingMessage,
  res: ServerResponse,
  kind: PlaybackKind,
  answer: CachedAnswer & { cc?: string },
): number {
  const headers = { ...answerHeaders(kind, answer), ...(answer.cc !== undefined && { 'cache-control': answer.cc }) };
  if (answer.status === 200 && answer.etag !== undefined && req.headers['if-none-match'] === answer.etag) {
    const { 'content-length': _length, ...rest } = headers;
    res.writeHead(304, rest);
    res.end();
    return 0;
  }
  res.writeHead(answer.status, headers);
  if (req.method === 'HEAD') {
    res.end();
    return 0;
  }
  res.end(answer.body);
  return answer.body.length;
}

/** Handles a playback request; the caller has checked the method (GET or HEAD). */
export async function handlePlayback(req: IncomingMessage, res: ServerResponse, context: PlaybackContext) {
  const [pathname = '/', query = ''] = (req.url ?? '/').split('?', 2);
  const target = parsePlaybackPath(pathname);
  if ('error' in target) return plain(res, target.error, target.error === 400 ? 'bad path\n' : 'not found\n');
  const channel = context.channel(target.namespace, target.name);
  if (!channel) return plain(res, 404, 'no such channel\n');
  const grant = context.access ? await authorizePlayback(req, context.access, target, query) : { ok: true as const };
  if (!grant.ok) return sendRefusal(res, grant);
  const url = `http://${channel.http}${target.upstreamPath}`;
  if (target.kind === 'flv') return streamFlv(req, res, url, context, target);
  const got =
    target.kind === 'variant'
      ? await mediaPlaylist(channel.http, target.upstreamPath, query, context)
      : await context.cache.get(`${channel.http}${target.upstreamPath}`, target.kind, () =>
          fetchOrigin(url, context, target.kind),
        );
  if ('refused' in got) return plain(res, 400, `${got.refused}\n`, false);
  const { answer, result } = got;
  context.metrics.cacheRequestsTotal.inc({ result });
  context.metrics.cacheBytes.set(context.cache.bytes);
  // Counted as the origin counts: every variant playlist and segment served (a master alone is no viewer yet).
  const counted = target.kind !== 'master' && target.kind !== 'thumbnail';
  if (answer.status === 200 && counted) context.viewers.see(req, target.namespace, target.name, query);
  const served = grant.session === undefined ? answer : personalize(target.kind, answer, grant.session);
  context.metrics.httpBytesOutTotal.inc(serve(req, res, target.kind, served));
}

/**
 * A media playlist: from the cache under its path and delivery directives, fetched with exactly those directives.
 * A blocking request is answered at once by the newest playlist held for the rendition when that lists the part
 * asked for (and is no older than a blocking answer is kept), and refused when the origin would certainly refuse it.
 */
async function mediaPlaylist(
  origin: string,
  upstreamPath: string,
  query: string,
  context: PlaybackContext,
): Promise<{ answer: CachedAnswer; result: CacheResult } | { refused: string }> {
  const parsed = readDirectives(query);
  if (!parsed.ok) return { refused: parsed.reason };
  const { directives, forwarded } = parsed;
  const blocking = isBlocking(directives);
  const { cache } = context;
  const edgeKey = `${origin}${upstreamPath}|${directives.skip ?? ''}`;
  const held = cache.edges.latest(edgeKey);
  if (blocking && held) {
    const ageMs = cache.now() - held.seenAtMs;
    if (ageMs < 3 * held.edge.partTarget * 1000 && satisfies(held.edge, directives)) {
      return { answer: held.answer, result: 'hit' };
    }
    const why = tooFarAhead(directives, held.edge, ageMs);
    if (why !== undefined) return { refused: why };
  }
  const path = withQuery(upstreamPath, forwarded);
  const timeoutMs = blocking ? blockingFetchTimeoutMs(context, held?.edge.targetDuration) : context.fetchTimeoutMs;
  const got = await cache.get(
    `${origin}${path}`,
    'variant',
    () => fetchOrigin(`http://${origin}${path}`, context, 'variant', timeoutMs),
    blocking,
  );
  const edge = got.result === 'miss' && got.answer.status === 200 ? liveEdgeOf(got.answer.body.toString()) : undefined;
  if (edge) cache.edges.observe(edgeKey, edge, got.answer, cache.now(), 3 * edge.partTarget * 1000);
  return got;
}

// HTTP-FLV is a stream without an end: piped from the origin, one upstream connection per viewer, never cached.
function streamFlv(
  req: IncomingMessage,
  res: ServerResponse,
  url: string,
  context: PlaybackContext,
  channel: { namespace: string; name: string },
): void {
  const upstream = http.get(url, { headers: originHeaders }, (up) => {
    context.metrics.backendFetchesTotal.inc({ kind: 'flv', outcome: String(up.statusCode ?? 0) });
    if (up.statusCode !== 200) {
      up.resume();
      return plain(res, up.statusCode === 404 ? 404 : 502, 'HTTP-FLV is not available\n');
    }
    context.viewers.watchFlv(req, res, channel.namespace, channel.name);
    res.writeHead(200, { ...corsHeaders, 'content-type': 'video/x-flv', 'cache-control': 'no-store' });
    if (req.method === 'HEAD') {
      res.end();
      upstream.destroy();
      return;
    }
    up.on('data', (d: Buffer) => context.metrics.httpBytesOutTotal.inc(d.length));
    up.pipe(res);
    up.once('error', () => res.destroy());
  });
  upstream.once('error', (err: NodeJS.ErrnoException) => {
    context.metrics.backendFetchesTotal.inc({ kind: 'flv', outcome: 'error' });
    if (res.headersSent) return void res.destroy();
    context.logger.warn({ code: err.code }, 'HTTP-FLV origin unreachable');
    plain(res, 502, 'HTTP-FLV origin unreachable\n');
  });
  res.once('close', () => upstream.destroy());
}

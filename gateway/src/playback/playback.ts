// GET/HEAD /<namespace>/<name>/<file>: the channel found in the route table, its origin's answer served from the
// edge cache (playlists and segments) or streamed (live.flv), with the headers of cache-policy.ts.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../../../contract/src/logger.ts';
import type { ChannelRoute } from '../../../contract/src/route-table.ts';
import { gatewayRequestHeader } from '../../../contract/src/viewer-window.ts';
import type { FetchKind, GatewayMetrics } from '../telemetry/metrics.ts';
import { answerHeaders, contentType, corsHeaders, errorTtlMs, type CachedAnswer } from './cache-policy.ts';
import type { EdgeCache, Fetched } from './edge-cache.ts';
import { parsePlaybackPath, type PlaybackKind } from './paths.ts';
import type { ViewerCounter } from './viewers.ts';

export interface PlaybackContext {
  channel(namespace: string, name: string): ChannelRoute | undefined;
  cache: EdgeCache;
  metrics: GatewayMetrics;
  logger: Logger;
  fetchTimeoutMs: number;
  viewers: ViewerCounter;
}

// The origin does not count the gateway as a viewer: the gateway counts the viewers behind it (viewers.ts).
const originHeaders = { [gatewayRequestHeader]: '1' };

const fetchKind = (kind: PlaybackKind): FetchKind =>
  kind === 'segment' ? 'segment' : kind === 'flv' ? 'flv' : 'playlist';

function plain(res: ServerResponse, status: number, text: string, cache = true): void {
  res.writeHead(status, {
    ...corsHeaders,
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': cache ? `public, max-age=${Math.ceil(errorTtlMs / 1000)}` : 'no-store',
  });
  res.end(text);
}

async function fetchOrigin(url: string, context: PlaybackContext, kind: PlaybackKind): Promise<Fetched> {
  try {
    const res = await fetch(url, { headers: originHeaders, signal: AbortSignal.timeout(context.fetchTimeoutMs) });
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

function serve(req: IncomingMessage, res: ServerResponse, kind: PlaybackKind, answer: CachedAnswer): number {
  const headers = answerHeaders(kind, answer);
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
  const url = `http://${channel.http}${target.upstreamPath}`;
  if (target.kind === 'flv') return streamFlv(req, res, url, context, target);
  const { answer, result } = await context.cache.get(`${channel.http}${target.upstreamPath}`, target.kind, () =>
    fetchOrigin(url, context, target.kind),
  );
  context.metrics.cacheRequestsTotal.inc({ result });
  context.metrics.cacheBytes.set(context.cache.bytes);
  // Counted as the origin counts: every variant playlist and segment served (a master alone is no viewer yet).
  if (answer.status === 200 && target.kind !== 'master') context.viewers.see(req, target.namespace, target.name, query);
  context.metrics.httpBytesOutTotal.inc(serve(req, res, target.kind, answer));
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

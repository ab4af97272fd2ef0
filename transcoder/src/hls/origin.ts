// The HTTP origin: HLS playlists and segments from hlsDir, the player page, health/readiness probes, Prometheus
// metrics and (when enabled) an HTTP-FLV proxy. Plain node:http: every route is a few lines and the hot path
// (playlist polls and segment fetches) is served from an mtime+size-validated memory cache.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { HttpRoute, TranscoderMetrics } from '../telemetry/metrics.ts';
import { FileCache, type CachedFile, type FileCacheOptions } from './file-cache.ts';
import { renderPlayerPage } from './player-page.ts';
import { cacheControl, classifyPath, contentTypes, hlsJsAssetPath, viewerToken, type Target } from './routes.ts';
import { ViewerWindow } from './viewer-window.ts';

export interface OriginOptions {
  host?: string; // default 0.0.0.0
  port: number; // 0 picks a free port
  hlsDir: string;
  isLive: () => boolean; // false: playlists are 404 (players wait), segments still served while they exist
  metrics: TranscoderMetrics;
  logger: Logger;
  flvUpstream?: () => URL | undefined; // node-media-server's HTTP-FLV URL on loopback; undefined: /live.flv is 404
  readiness: () => boolean;
  viewerWindowMs?: number;
  title?: string; // player page title (the LiveStream name)
  cache?: FileCacheOptions;
}

export interface Origin {
  port: number;
  viewers(): number;
  peakViewers(): number; // highest viewers() since resetPeakViewers(): for the session-ended report
  resetPeakViewers(): void;
  close(): Promise<void>;
}

type FileTarget = Extract<Target, { file: string }>;

const corsHeaders = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Content-Length, Content-Range, ETag, Age',
} as const;

const preflightHeaders = {
  ...corsHeaders,
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': 'Range, If-None-Match, If-Modified-Since, Content-Type',
  'access-control-max-age': '86400',
} as const;

// How stale a cached file may be before it is re-checked on disk: a playlist changes once per segment, so 100 ms
// of staleness is invisible to players; a published segment does not change at all.
const playlistRevalidateMs = 100;
const segmentRevalidateMs = 1_000;

export async function startOrigin(options: OriginOptions): Promise<Origin> {
  const { hlsDir, isLive, metrics, logger, readiness } = options;
  const requireFromHere = createRequire(import.meta.url);
  const hlsJsVersion = (requireFromHere('hls.js/package.json') as { version: string }).version;
  const hlsJsPath = hlsJsAssetPath(hlsJsVersion);
  const hlsJs = await readFile(requireFromHere.resolve('hls.js/dist/hls.min.js'));
  const playerPage = Buffer.from(renderPlayerPage({ hlsJsPath, title: options.title ?? 'Live' }));
  const cache = new FileCache({ ...options.cache, root: hlsDir });
  const fileHeaders = new WeakMap<CachedFile, OutgoingHttpHeaders>();
  const targets = new Map<string, Target>();
  const viewerWindow = new ViewerWindow({ windowMs: options.viewerWindowMs ?? 30_000 });
  let flvViewers = 0;

  // prom-client hashes the label set on every inc(): count in a plain map on the hot path and move the counts into
  // the registry on each scrape and once a second (so other readers of the registry are at most 1 s behind).
  const pendingCounts = new Map<string, number>();
  const count = (route: HttpRoute, code: number): void => {
    const key = `${route} ${code}`;
    pendingCounts.set(key, (pendingCounts.get(key) ?? 0) + 1);
  };
  const flushCounts = (): void => {
    for (const [key, n] of pendingCounts) {
      const [route = 'other', code = '0'] = key.split(' ');
      metrics.httpRequestsTotal.inc({ route, code }, n);
    }
    pendingCounts.clear();
  };

  const viewers = (): number => {
    const n = viewerWindow.count(Date.now()) + flvViewers;
    metrics.viewers.set(n);
    return n;
  };

  // Without a player token a viewer is its address + User-Agent; hash it once per keep-alive connection.
  const connectionViewer = new WeakMap<object, { ua: string; id: string }>();
  const seeViewer = (req: IncomingMessage, query: string): void => {
    let id = viewerToken(query);
    if (id === null) {
      const ua = req.headers['user-agent'] ?? '';
      const known = connectionViewer.get(req.socket);
      if (known && known.ua === ua) {
        id = known.id;
      } else {
        const ip = req.socket.remoteAddress ?? '';
        id = '~' + createHash('sha1').update(ip).update('\n').update(ua).digest('base64url').slice(0, 16);
        connectionViewer.set(req.socket, { ua, id });
      }
    }
    viewerWindow.touch(id, Date.now());
  };

  const send = (
    res: ServerResponse,
    route: HttpRoute,
    status: number,
    headers: OutgoingHttpHeaders,
    body?: Buffer | string,
  ): void => {
    count(route, status);
    const head = res.req.method === 'HEAD';
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    res.writeHead(status, headers);
    res.end(head ? undefined : body);
  };

  const sendText = (res: ServerResponse, route: HttpRoute, status: number, text: string): void =>
    send(res, route, status, { ...corsHeaders, 'content-type': contentTypes.text, 'cache-control': 'no-store' }, text);

  // Headers of a 200 for a cached file, built once per file version.
  const headersFor = (file: CachedFile, target: FileTarget): OutgoingHttpHeaders => {
    let headers = fileHeaders.get(file);
    if (!headers) {
      const playlist = target.route !== 'segment';
      headers = {
        'access-control-allow-origin': '*',
        'content-type': target.route === 'segment' ? contentTypes[target.ext] : contentTypes.m3u8,
        'cache-control': playlist ? cacheControl.playlist : cacheControl.immutable,
        etag: file.etag,
        'last-modified': file.lastModified,
        'content-length': file.size,
      };
      fileHeaders.set(file, headers);
    }
    return headers;
  };

  // Synchronous on a cache hit: the hot path of a live origin allocates no promise.
  function serveFile(
    req: IncomingMessage,
    res: ServerResponse,
    target: FileTarget,
    query: string,
  ): void | Promise<void> {
    const playlist = target.route !== 'segment';
    if (playlist && !isLive()) return sendText(res, target.route, 404, 'stream is not live\n');
    const found = cache.get(target.file, playlist ? playlistRevalidateMs : segmentRevalidateMs);
    if (found instanceof Promise) return found.then((file) => respondWithFile(req, res, target, query, file));
    respondWithFile(req, res, target, query, found);
  }

  function respondWithFile(
    req: IncomingMessage,
    res: ServerResponse,
    target: FileTarget,
    query: string,
    file: CachedFile | undefined,
  ): void {
    const route = target.route;
    if (!file) return sendText(res, route, 404, 'not found\n');
    if (route !== 'master') seeViewer(req, query);
    const base = headersFor(file, target);
    const conditional = req.headers['if-none-match'];
    const rangeHeader = req.headers.range;
    if (file.body && rangeHeader === undefined && conditional === undefined) {
      count(route, 200);
      res.writeHead(200, base);
      if (req.method === 'HEAD') res.end();
      else if (file.text !== undefined) res.end(file.text, 'latin1');
      else res.end(file.body);
      return;
    }
    const headers: OutgoingHttpHeaders = { ...base, 'accept-ranges': 'bytes' };
    if (conditional === file.etag) {
      delete headers['content-length'];
      return send(res, route, 304, headers);
    }
    const range = parseRange(rangeHeader, file.size);
    if (range === 'invalid') {
      return send(res, route, 416, { ...headers, 'content-range': `bytes */${file.size}` }, '');
    }
    if (file.body) {
      if (!range) return send(res, route, 200, headers, file.body);
      headers['content-range'] = `bytes ${range.start}-${range.end}/${file.size}`;
      return send(res, route, 206, headers, file.body.subarray(range.start, range.end + 1));
    }
    streamFromDisk(res, route, join(hlsDir, target.file), file, headers, range);
  }

  function streamFromDisk(
    res: ServerResponse,
    route: HttpRoute,
    path: string,
    file: CachedFile,
    headers: OutgoingHttpHeaders,
    range: { start: number; end: number } | undefined,
  ): void {
    const start = range?.start ?? 0;
    const end = range?.end ?? file.size - 1;
    const status = range ? 206 : 200;
    if (range) headers['content-range'] = `bytes ${start}-${end}/${file.size}`;
    headers['content-length'] = end - start + 1;
    if (res.req.method === 'HEAD' || file.size === 0) {
      count(route, status);
      res.writeHead(status, headers).end();
      return;
    }
    const stream = createReadStream(path, { start, end });
    stream.once('open', () => {
      count(route, status);
      res.writeHead(status, headers);
      stream.pipe(res);
    });
    stream.once('error', (err) => {
      if (res.headersSent) res.destroy(err);
      else sendText(res, route, 404, 'not found\n');
    });
    res.once('close', () => stream.destroy());
  }

  function proxyFlv(req: IncomingMessage, res: ServerResponse): void {
    const upstream = options.flvUpstream?.();
    if (!upstream || !isLive()) return sendText(res, 'flv', 404, 'HTTP-FLV is not available\n');
    const upstreamRequest = http.get(upstream, { headers: { 'user-agent': 'livestream-origin' } }, (upstreamRes) => {
      if (upstreamRes.statusCode !== 200) {
        upstreamRes.resume();
        return sendText(res, 'flv', upstreamRes.statusCode === 404 ? 404 : 502, 'HTTP-FLV is not available\n');
      }
      count('flv', 200);
      flvViewers++;
      res.once('close', () => flvViewers--);
      res.writeHead(200, { ...corsHeaders, 'content-type': contentTypes.flv, 'cache-control': cacheControl.none });
      if (req.method === 'HEAD') {
        res.end();
        upstreamRequest.destroy();
        return;
      }
      upstreamRes.pipe(res);
      upstreamRes.once('error', () => res.destroy());
    });
    // The upstream URL names the stream key: never log it, only the error code.
    upstreamRequest.once('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      logger.warn({ code: err.code }, 'HTTP-FLV upstream unreachable');
      sendText(res, 'flv', 502, 'HTTP-FLV upstream unreachable\n');
    });
    res.once('close', () => upstreamRequest.destroy());
  }

  async function serveMetrics(res: ServerResponse): Promise<void> {
    viewers();
    flushCounts();
    const body = await metrics.registry.metrics();
    send(res, 'metrics', 200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' }, body);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void | Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    let target = targets.get(pathname);
    if (!target) {
      target = pathname.startsWith('/') ? classifyPath(pathname, hlsJsPath) : { route: 'other', status: 400 };
      // Live paths repeat (playlists, the newest segments): remember them, bounded against random-path floods.
      if (targets.size >= 4096) targets.clear();
      targets.set(pathname, target);
    }
    const route = target.route;

    if (req.method === 'OPTIONS') return send(res, route, 204, { ...preflightHeaders });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, route, 405, { ...corsHeaders, allow: 'GET, HEAD, OPTIONS', 'content-length': 0 });
    }
    switch (target.route) {
      case 'master':
      case 'variant':
      case 'segment':
        return serveFile(req, res, target, query);
      case 'player':
        if (target.asset === 'hlsjs') {
          return send(
            res,
            route,
            200,
            { 'content-type': contentTypes.js, 'cache-control': cacheControl.immutable },
            hlsJs,
          );
        }
        return send(
          res,
          route,
          200,
          { 'content-type': contentTypes.html, 'cache-control': cacheControl.page },
          playerPage,
        );
      case 'health':
        if (target.probe === 'healthz') return sendText(res, route, 200, 'ok\n');
        return readiness() ? sendText(res, route, 200, 'ready\n') : sendText(res, route, 503, 'not ready\n');
      case 'metrics':
        return serveMetrics(res);
      case 'flv':
        return proxyFlv(req, res);
      case 'other':
        return sendText(res, route, target.status, target.status === 400 ? 'bad request\n' : 'not found\n');
    }
  }

  const server = http.createServer((req, res) => {
    const failed = (err: unknown): void => {
      logger.error({ err, route: classifyRoute(req.url, hlsJsPath) }, 'origin request failed');
      if (!res.headersSent) sendText(res, 'other', 500, 'internal error\n');
      else res.destroy();
    };
    try {
      handle(req, res)?.catch(failed);
    } catch (err) {
      failed(err);
    }
  });
  // Behind a load balancer with a 60 s idle timeout, the origin must not close idle keep-alive connections first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const gaugeTimer = setInterval(() => {
    viewers();
    flushCounts();
  }, 1_000);
  gaugeTimer.unref();
  logger.info({ port, hlsJsVersion }, 'HTTP origin listening');

  return {
    port,
    viewers,
    peakViewers: () => Math.max(viewerWindow.peak(), viewers()),
    resetPeakViewers: () => viewerWindow.resetPeak(Date.now()),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(gaugeTimer);
        flushCounts();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function classifyRoute(url: string | undefined, hlsJsPath: string): HttpRoute {
  const pathname = (url ?? '/').split('?')[0] ?? '/';
  return pathname.startsWith('/') ? classifyPath(pathname, hlsJsPath).route : 'other';
}

// Single byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`); multiple ranges are served whole (allowed by RFC 9110).
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined | 'invalid' {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  let start: number;
  let end: number;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(first);
    end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  }
  if (start >= size || start > end) return 'invalid';
  return { start, end };
}

// GET|HEAD /<namespace>/<name>/vod.mp4: the channel's newest finalized recording (the directory listing's `vod`, a
// presigned S3 GET the operator signs; this replica holds no S3 credential), proxied from the gateway's own origin so
// the pages' CSP (media-src 'self') holds and a private channel's recording needs the same session as its media.
// Streamed, never held whole: Range passes through (206, content-range), each wait on S3 is bounded, and the client
// going away aborts the upstream request. The presigned URL carries a signature: never logged, never sent to a
// client (upstream error bodies are dropped).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../../contract/src/logger.ts';
import type { ChannelListing } from '../../../contract/src/portal-directory.ts';
import { authorizePlayback, sendRefusal, type AccessContext } from '../access/playback-access.ts';

export const vodFileName = 'vod.mp4';

/** Where the listing's recording plays on this gateway; undefined without one. Pure. */
export function vodPath(listing: Pick<ChannelListing, 'namespace' | 'name' | 'vod'>): string | undefined {
  return listing.vod ? `/${listing.namespace}/${listing.name}/${vodFileName}` : undefined;
}

const vodPathPattern = /^\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?)\/vod\.mp4$/;

/** The channel a request path (percent-encoded, no query) names, if it is a VOD path. */
export function parseVodPath(pathname: string): { namespace: string; name: string } | undefined {
  const match = vodPathPattern.exec(pathname);
  return match ? { namespace: match[1]!, name: match[3]! } : undefined;
}

const rangePattern = /^bytes=[0-9]*-[0-9]*(,\s*[0-9]*-[0-9]*)*$/;

/** What of the viewer's request goes to S3: a well-formed Range (and If-Range with it), nothing else. */
export function upstreamRequestHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const range = headers.range;
  if (typeof range !== 'string' || range.length > 200 || !rangePattern.test(range)) return {};
  const ifRange = headers['if-range'];
  return { range, ...(typeof ifRange === 'string' && ifRange.length <= 200 && { 'if-range': ifRange }) };
}

const passedHeaders = ['content-length', 'content-range', 'accept-ranges', 'etag', 'last-modified'] as const;

/**
 * The viewer's headers for S3's answer: its length and range headers, the listing's content type (an object's own
 * may be anything), no shared caching of a protected channel's recording, CORS as for playback files.
 */
export function responseHeaders(
  upstream: Pick<Headers, 'get'>,
  contentType: string,
  isProtected: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': contentType,
    'accept-ranges': 'bytes',
    'cache-control': isProtected ? 'private, no-store' : 'public, max-age=300',
    'x-content-type-options': 'nosniff',
    'access-control-allow-origin': '*',
    'access-control-expose-headers': 'content-length, content-range, accept-ranges, etag',
  };
  for (const name of passedHeaders) {
    const value = upstream.get(name);
    if (value !== null) headers[name] = value;
  }
  return headers;
}

/** S3's status as the viewer's: the file or its part, a range past the end, or gone/unavailable. */
export function viewerStatus(upstream: number): number {
  if (upstream === 200 || upstream === 206 || upstream === 416) return upstream;
  if (upstream === 404) return 404;
  return 502; // 403 (an expired or revoked signature), 5xx: not the viewer's doing
}

export interface VodContext {
  listing(namespace: string, name: string): ChannelListing | undefined;
  /** Playback authorization; without it every channel is public (as for playback). */
  access?: AccessContext;
  logger: Logger;
  /** Until S3 answers with headers; default 10 s. */
  headersTimeoutMs?: number;
  /** Longest silence while the body streams; default 30 s. */
  idleTimeoutMs?: number;
  fetch?: typeof fetch;
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'access-control-allow-origin': '*',
    ...headers,
  });
  res.end(text);
}

/** Serves the request if it is a VOD path (true), else false. OPTIONS is left to the shared preflight answer. */
export function handleVodRequest(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  ctx: VodContext,
): boolean {
  const target = parseVodPath(pathname);
  if (!target || req.method === 'OPTIONS') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    plain(res, 405, 'GET or HEAD\n', { allow: 'GET, HEAD, OPTIONS' });
    return true;
  }
  serveVod(req, res, target, ctx).catch((err: unknown) => {
    ctx.logger.warn({ ...target, err: (err as Error).name }, 'vod proxy failed');
    if (!res.headersSent) plain(res, 502, 'the recording is unavailable\n');
    else res.destroy();
  });
  return true;
}

async function serveVod(
  req: IncomingMessage,
  res: ServerResponse,
  target: { namespace: string; name: string },
  ctx: VodContext,
): Promise<void> {
  // Authorized before anything is said of the recording: a private channel's has the gate of its media.
  const query = (req.url ?? '').split('?')[1] ?? '';
  const decision = ctx.access
    ? await authorizePlayback(req, ctx.access, { ...target, kind: 'vod' }, query)
    : ({ ok: true } as const);
  if (!decision.ok) return sendRefusal(res, decision);
  const vod = ctx.listing(target.namespace, target.name)?.vod;
  if (!vod || Date.parse(vod.expiresAt) <= Date.now()) return plain(res, 404, 'this channel has no recording\n');
  const abort = new AbortController();
  const onClose = () => abort.abort();
  res.once('close', onClose);
  const headersTimer = setTimeout(() => abort.abort(), ctx.headersTimeoutMs ?? 10_000);
  let upstream: Response;
  try {
    // A presigned URL is signed for GET: HEAD is a GET whose body is not read.
    upstream = await (ctx.fetch ?? fetch)(vod.url, {
      headers: upstreamRequestHeaders(req.headers),
      signal: abort.signal,
      redirect: 'error',
    });
  } finally {
    clearTimeout(headersTimer);
  }
  const status = viewerStatus(upstream.status);
  if (status === 404 || status === 502) {
    await upstream.body?.cancel();
    ctx.logger.warn({ ...target, upstreamStatus: upstream.status }, 'vod: S3 refused the recording');
    return plain(res, status, status === 404 ? 'the recording is gone\n' : 'the recording is unavailable\n');
  }
  const isProtected = ctx.access?.access(target.namespace, target.name).visibility;
  res.writeHead(
    status,
    responseHeaders(upstream.headers, vod.contentType, isProtected === 'private' || isProtected === 'password'),
  );
  if (req.method === 'HEAD' || !upstream.body || status === 416) {
    abort.abort();
    return void res.end();
  }
  await streamBody(upstream.body, res, abort, ctx.idleTimeoutMs ?? 30_000);
  res.off('close', onClose);
}

/** Pipes S3's body to the viewer with backpressure; a silence longer than idleMs aborts it. */
async function streamBody(
  body: ReadableStream<Uint8Array>,
  res: ServerResponse,
  abort: AbortController,
  idleMs: number,
): Promise<void> {
  const source = Readable.fromWeb(body);
  let idle = setTimeout(() => abort.abort(), idleMs);
  source.on('data', () => {
    clearTimeout(idle);
    idle = setTimeout(() => abort.abort(), idleMs);
  });
  try {
    await pipeline(source, res);
  } catch {
    // A viewer gone, or S3 silent: the response is cut (its length tells the player it is incomplete).
    res.destroy();
  } finally {
    clearTimeout(idle);
  }
}

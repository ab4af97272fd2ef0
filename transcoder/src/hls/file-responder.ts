// Serves the HLS files (playlists and segments) from the memory cache, with conditional and range requests; a file
// too large for the cache is streamed from disk. A media playlist offers blocking reload (classic-reload.ts): a
// request naming a segment not listed yet waits for the playlist that lists it.
import { createReadStream } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpRoute } from '../telemetry/metrics.ts';
import { parseRange, type ByteRange } from './byte-range.ts';
import { fileHeaders, revalidateMs, type FileTarget } from './cache-headers.ts';
import {
  advertiseBlockingReload,
  classicPosition,
  decideClassic,
  holdLimitMs,
  isMediaPlaylistPath,
  mayBlock,
  type ClassicPosition,
} from './classic-reload.ts';
import { FileCache, type CachedFile, type FileCacheOptions } from './file-cache.ts';
import { parseDirectives } from '../llhls/blocking-reload.ts';
import { blockingPlaylistCacheControl } from './llhls-responder.ts';
import type { ResponseWriter } from './response-writer.ts';
import { routeLabel } from './routes.ts';
import type { ViewerTracker } from './viewer-tracker.ts';

export interface FileResponderOptions {
  hlsDir: string;
  isLive: () => boolean; // false: playlists are 404 (players wait), segments still served while they exist
  cache?: FileCacheOptions | undefined;
  writer: ResponseWriter;
  viewers: ViewerTracker;
}

// How often a playlist that requests wait on is read again: one stat per playlist and tick however many wait.
const blockingLookMs = 20;

const offerBlockingReload = (path: string, body: Buffer): Buffer =>
  isMediaPlaylistPath(path) ? Buffer.from(advertiseBlockingReload(body.toString('latin1')), 'latin1') : body;

export class FileResponder {
  private readonly options: FileResponderOptions;
  private readonly writer: ResponseWriter;
  private readonly cache: FileCache;
  // The 200 headers of each cached file version, built once.
  private readonly headers = new WeakMap<CachedFile, OutgoingHttpHeaders>();
  private readonly positions = new WeakMap<CachedFile, ClassicPosition>();
  // The next look at each playlist that requests wait on, shared by all of them.
  private readonly looks = new Map<string, Promise<CachedFile | undefined>>();

  constructor(options: FileResponderOptions) {
    this.options = options;
    this.writer = options.writer;
    this.cache = new FileCache({ ...options.cache, root: options.hlsDir, transform: offerBlockingReload });
  }

  // Synchronous on a cache hit: the hot path of a live origin allocates no promise.
  serve(req: IncomingMessage, res: ServerResponse, target: FileTarget, query: string): void | Promise<void> {
    // The thumbnail too: after the session the file is still on disk (until the next one clears the directory),
    // but an old picture must not pass for the live one.
    if (target.route !== 'segment' && !this.options.isLive()) {
      return this.writer.text(res, routeLabel(target), 404, 'stream is not live\n');
    }
    if (target.route === 'variant' && mayBlock(query)) return this.serveBlocking(req, res, target, query);
    const found = this.cache.get(target.file, revalidateMs(target));
    if (found instanceof Promise) return found.then((file) => this.respond(req, res, target, query, file));
    this.respond(req, res, target, query, found);
  }

  // The playlist that answers a request's _HLS_msn: at once, once written (looked at every blockingLookMs), or a 503
  // after three target durations. Its URL names the state it waited for, so shared caches may keep it briefly.
  private async serveBlocking(req: IncomingMessage, res: ServerResponse, target: FileTarget, query: string) {
    let closed = false;
    res.once('close', () => (closed = true));
    const directives = parseDirectives(query);
    let file = await this.cache.get(target.file, revalidateMs(target));
    const deadline = performance.now() + holdLimitMs(file?.text ?? '');
    for (;;) {
      const text = file?.text;
      if (file === undefined || text === undefined) return this.respond(req, res, target, query, file);
      const decision = decideClassic(directives, this.positionOf(file, text));
      if (decision.kind === 'bad-request') return this.writer.text(res, 'variant', 400, `${decision.reason}\n`);
      if (decision.kind === 'now') return this.respond(req, res, target, query, file, true);
      if (performance.now() >= deadline) {
        return this.writer.text(res, 'variant', 503, 'the segment asked for is not listed yet\n');
      }
      file = await this.nextLook(target.file);
      if (closed) return;
      if (!this.options.isLive()) return this.writer.text(res, 'variant', 404, 'stream is not live\n');
    }
  }

  private nextLook(path: string): Promise<CachedFile | undefined> {
    let look = this.looks.get(path);
    if (!look) {
      look = sleep(blockingLookMs)
        .then(() => this.cache.get(path, blockingLookMs))
        .finally(() => this.looks.delete(path));
      this.looks.set(path, look);
    }
    return look;
  }

  private positionOf(file: CachedFile, text: string): ClassicPosition {
    let position = this.positions.get(file);
    if (!position) {
      position = classicPosition(text);
      this.positions.set(file, position);
    }
    return position;
  }

  private respond(
    req: IncomingMessage,
    res: ServerResponse,
    target: FileTarget,
    query: string,
    file: CachedFile | undefined,
    blocked = false,
  ): void {
    const route = routeLabel(target);
    if (!file) return this.writer.text(res, route, 404, notFound(target));
    if (target.route !== 'master' && target.route !== 'thumbnail') this.options.viewers.see(req, query);
    const prebuilt = this.headersFor(file, target);
    const base = blocked ? { ...prebuilt, 'cache-control': blockingPlaylistCacheControl } : prebuilt;
    const conditional = req.headers['if-none-match'];
    const rangeHeader = req.headers.range;
    if (file.body && rangeHeader === undefined && conditional === undefined) {
      return this.sendWhole(req, res, route, base, file);
    }
    const headers: OutgoingHttpHeaders = { ...base, 'accept-ranges': 'bytes' };
    if (conditional === file.etag) {
      delete headers['content-length'];
      return this.writer.send(res, route, 304, headers);
    }
    const range = parseRange(rangeHeader, file.size);
    if (range === 'invalid') {
      return this.writer.send(res, route, 416, { ...headers, 'content-range': `bytes */${file.size}` }, '');
    }
    if (!file.body)
      return this.streamFromDisk(res, route, join(this.options.hlsDir, target.file), file, headers, range);
    if (!range) return this.writer.send(res, route, 200, headers, file.body);
    headers['content-range'] = `bytes ${range.start}-${range.end}/${file.size}`;
    this.writer.send(res, route, 206, headers, file.body.subarray(range.start, range.end + 1));
  }

  // The common case, a plain GET of a cached file: the prebuilt headers, no copy of them.
  private sendWhole(
    req: IncomingMessage,
    res: ServerResponse,
    route: HttpRoute,
    headers: OutgoingHttpHeaders,
    file: CachedFile,
  ): void {
    this.writer.count(route, 200);
    res.writeHead(200, headers);
    if (req.method === 'HEAD') res.end();
    else if (file.text !== undefined) res.end(file.text, 'latin1');
    else res.end(file.body);
  }

  private headersFor(file: CachedFile, target: FileTarget): OutgoingHttpHeaders {
    let headers = this.headers.get(file);
    if (!headers) {
      headers = fileHeaders(file, target);
      this.headers.set(file, headers);
    }
    return headers;
  }

  private streamFromDisk(
    res: ServerResponse,
    route: HttpRoute,
    path: string,
    file: CachedFile,
    headers: OutgoingHttpHeaders,
    range: ByteRange | undefined,
  ): void {
    const start = range?.start ?? 0;
    const end = range?.end ?? file.size - 1;
    const status = range ? 206 : 200;
    if (range) headers['content-range'] = `bytes ${start}-${end}/${file.size}`;
    headers['content-length'] = end - start + 1;
    if (res.req.method === 'HEAD' || file.size === 0) {
      this.writer.count(route, status);
      res.writeHead(status, headers).end();
      return;
    }
    const stream = createReadStream(path, { start, end });
    stream.once('open', () => {
      this.writer.count(route, status);
      res.writeHead(status, headers);
      stream.pipe(res);
    });
    stream.once('error', (err) => {
      if (res.headersSent) res.destroy(err);
      else this.writer.text(res, route, 404, 'not found\n');
    });
    res.once('close', () => stream.destroy());
  }
}

function notFound(target: FileTarget): string {
  if (target.route !== 'thumbnail') return 'not found\n';
  return 'no thumbnail yet: no picture decoded (an audio-only source, or before the first frame)\n';
}

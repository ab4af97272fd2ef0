// The HTTP origin: HLS playlists and segments from hlsDir, the player page, health/readiness probes, Prometheus
// metrics and (when enabled) an HTTP-FLV proxy. Plain node:http: every route is a few lines and the hot path
// (playlist polls and segment fetches) is served from an mtime+size-validated memory cache.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { HttpRoute, TranscoderMetrics } from '../telemetry/metrics.ts';
import type { FileCacheOptions } from './file-cache.ts';
import { FileResponder } from './file-responder.ts';
import { proxyFlv } from './flv-proxy.ts';
import { serveLowLatencyPlaylist, type LowLatencyRendition } from './llhls-responder.ts';
import { loadPlayerAssets, type PlayerAssets } from './player-assets.ts';
import { corsHeaders, preflightHeaders, ResponseWriter } from './response-writer.ts';
import { cacheControl, classifyPath, contentTypes, routeLabel, type Target } from './routes.ts';
import { ViewerTracker } from './viewer-tracker.ts';

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
  // The LL-HLS packager of a rendition while an LL-HLS session runs: its index.m3u8 is answered from memory
  // (blocking reload, delta updates), and a request for its next part waits for it. undefined: files only.
  lowLatency?: (rendition: string) => LowLatencyRendition | undefined;
}

export interface Origin {
  port: number;
  viewers(): number;
  peakViewers(): number; // highest viewers() since resetPeakViewers(): for the session-ended report
  resetPeakViewers(): void;
  close(): Promise<void>;
}

export async function startOrigin(options: OriginOptions): Promise<Origin> {
  const origin = new OriginServer(options, await loadPlayerAssets(options.title ?? 'Live'));
  await origin.listen();
  return origin;
}

type VariantOrSegment = Extract<Target, { route: 'variant' | 'segment' }>;

// Live paths repeat (playlists, the newest segments): their classification is remembered, up to this many paths
// (then forgotten at once, against random-path floods).
const maxRememberedPaths = 4096;

class OriginServer implements Origin {
  port = 0;
  private readonly options: OriginOptions;
  private readonly assets: PlayerAssets;
  private readonly writer: ResponseWriter;
  private readonly tracker: ViewerTracker;
  private readonly files: FileResponder;
  private readonly targets = new Map<string, Target>();
  private readonly server: http.Server;
  private gaugeTimer: NodeJS.Timeout | undefined;

  constructor(options: OriginOptions, assets: PlayerAssets) {
    this.options = options;
    this.assets = assets;
    this.writer = new ResponseWriter(options.metrics);
    this.tracker = new ViewerTracker(options.viewerWindowMs ?? 30_000);
    this.files = new FileResponder({ ...options, writer: this.writer, viewers: this.tracker });
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    // Behind a load balancer with a 60 s idle timeout, the origin must not close idle keep-alive connections first.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  async listen(): Promise<void> {
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    // Other readers of the registry are at most 1 s behind the hot path's counts.
    this.gaugeTimer = setInterval(() => this.publishMetrics(), 1_000);
    this.gaugeTimer.unref();
    this.options.logger.info({ port: this.port, hlsJsVersion: this.assets.hlsJsVersion }, 'HTTP origin listening');
  }

  viewers(): number {
    const n = this.tracker.count();
    this.options.metrics.viewers.set(n);
    return n;
  }

  peakViewers(): number {
    return Math.max(this.tracker.windowPeak(), this.viewers());
  }

  resetPeakViewers(): void {
    this.tracker.resetPeak();
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      clearInterval(this.gaugeTimer);
      this.writer.flush();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private publishMetrics(): void {
    this.viewers();
    this.writer.flush();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const failed = (err: unknown): void => {
      this.options.logger.error({ err, route: classifyRoute(req.url, this.assets.hlsJsPath) }, 'origin request failed');
      if (!res.headersSent) this.writer.text(res, 'other', 500, 'internal error\n');
      else res.destroy();
    };
    try {
      this.handle(req, res)?.catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void | Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const target = this.targetOf(q < 0 ? url : url.slice(0, q));
    const route = routeLabel(target);
    if (req.method === 'OPTIONS') return this.writer.send(res, route, 204, { ...preflightHeaders });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return this.writer.send(res, route, 405, { ...corsHeaders, allow: 'GET, HEAD, OPTIONS', 'content-length': 0 });
    }
    const query = q < 0 ? '' : url.slice(q + 1);
    switch (target.route) {
      case 'variant':
      case 'segment': {
        const ll = this.lowLatencyOf(target);
        if (ll !== undefined) return this.serveLowLatency(req, res, target, query, ll);
        return this.files.serve(req, res, target, query);
      }
      case 'master':
      case 'thumbnail':
        return this.files.serve(req, res, target, query);
      case 'player':
        return this.servePlayer(res, target.asset);
      case 'health':
        return this.serveProbe(res, target.probe);
      case 'metrics':
        return this.serveMetrics(res);
      case 'flv':
        return this.serveFlv(req, res);
      case 'other':
        return this.writer.text(res, route, target.status, target.status === 400 ? 'bad request\n' : 'not found\n');
    }
  }

  private lowLatencyOf(target: VariantOrSegment): LowLatencyRendition | undefined {
    if (this.options.lowLatency === undefined) return undefined;
    if (target.route === 'segment' && target.ext !== 'm4s') return undefined;
    const slash = target.file.indexOf('/');
    return slash < 0 ? undefined : this.options.lowLatency(target.file.slice(0, slash));
  }

  // A playlist from the packager; a part or segment once it is written (or at once when it is not one to wait for).
  private async serveLowLatency(
    req: IncomingMessage,
    res: ServerResponse,
    target: VariantOrSegment,
    query: string,
    ll: LowLatencyRendition,
  ): Promise<void> {
    const gone = new AbortController();
    res.once('close', () => gone.abort()); // the viewer went away: stop waiting for it
    if (target.route === 'variant') {
      this.tracker.see(req, query);
      return serveLowLatencyPlaylist(res, ll, query, gone.signal, this.writer, this.options.isLive());
    }
    await ll.waitForFile(target.file.slice(target.file.indexOf('/') + 1), gone.signal);
    if (!gone.signal.aborted) return this.files.serve(req, res, target, query);
  }

  private targetOf(pathname: string): Target {
    let target = this.targets.get(pathname);
    if (!target) {
      target = pathname.startsWith('/')
        ? classifyPath(pathname, this.assets.hlsJsPath)
        : { route: 'other', status: 400 };
      if (this.targets.size >= maxRememberedPaths) this.targets.clear();
      this.targets.set(pathname, target);
    }
    return target;
  }

  private servePlayer(res: ServerResponse, asset: 'page' | 'hlsjs'): void {
    if (asset === 'hlsjs') {
      const headers = { 'content-type': contentTypes.js, 'cache-control': cacheControl.immutable };
      return this.writer.send(res, 'player', 200, headers, this.assets.hlsJs);
    }
    const headers = { 'content-type': contentTypes.html, 'cache-control': cacheControl.page };
    this.writer.send(res, 'player', 200, headers, this.assets.page);
  }

  private serveProbe(res: ServerResponse, probe: 'healthz' | 'readyz'): void {
    if (probe === 'healthz') return this.writer.text(res, 'health', 200, 'ok\n');
    if (this.options.readiness()) this.writer.text(res, 'health', 200, 'ready\n');
    else this.writer.text(res, 'health', 503, 'not ready\n');
  }

  private async serveMetrics(res: ServerResponse): Promise<void> {
    this.publishMetrics();
    const { registry } = this.options.metrics;
    const body = await registry.metrics();
    this.writer.send(res, 'metrics', 200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }, body);
  }

  private serveFlv(req: IncomingMessage, res: ServerResponse): void {
    const { writer, tracker: viewers, options } = this;
    const upstream = options.flvUpstream?.();
    proxyFlv(req, res, {
      upstream,
      live: upstream !== undefined && options.isLive(),
      writer,
      viewers,
      logger: options.logger,
    });
  }
}

function classifyRoute(url: string | undefined, hlsJsPath: string): HttpRoute {
  const pathname = (url ?? '/').split('?')[0] ?? '/';
  return pathname.startsWith('/') ? routeLabel(classifyPath(pathname, hlsJsPath)) : 'other';
}

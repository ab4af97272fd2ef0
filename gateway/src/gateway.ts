// The gateway as one object: the route source, the RTMP listener and the HTTP listener (playback, /healthz,
// /readyz, /metrics); with a certificate, RTMPS and HTTPS in front of the same sessions and the same handler.
// main.ts gives it its settings; tests start it in-process or as the real entry point.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { Logger } from '../../contract/src/logger.ts';
import { handleAdmin, type AdminContext } from './admin/admin.ts';
import { AdminToken } from './admin/admin-token.ts';
import { startGatewayAccess } from './access/gateway-access.ts';
import { handleAccessRequest } from './access/playback-access.ts';
import type { GatewaySettings } from './config/settings.ts';
import { preflightHeaders } from './playback/cache-policy.ts';
import { EdgeCache } from './playback/edge-cache.ts';
import { handlePlayback, type PlaybackContext } from './playback/playback.ts';
import { ChannelViewers } from './playback/viewers.ts';
import { DirectoryStore } from './portal/directory-store.ts';
import { Portal, loadPortalAssets } from './portal/portal.ts';
import { RouteSource } from './routes/route-source.ts';
import { createStudio, loadStudioAssets, type Studio } from './studio/studio.ts';
import { RtmpGateway, listenOn } from './rtmp/rtmp-gateway.ts';
import { ReloadingCertificate } from './tls/reloading-certificate.ts';
import { createGatewayMetrics, type GatewayMetrics } from './telemetry/metrics.ts';
import { createWhipIngest, type WhipIngest } from './whip/whip-ingest.ts';
import { handleVodRequest, type VodContext } from './vod/vod.ts';

export interface Gateway {
  rtmpPort: number;
  httpPort: number;
  /** With a certificate configured (settings.tls): the RTMPS and HTTPS ports. */
  rtmpsPort: number | undefined;
  httpsPort: number | undefined;
  certificate: ReloadingCertificate | undefined;
  metrics: GatewayMetrics;
  routes: RouteSource;
  rtmp: RtmpGateway;
  close(): Promise<void>;
}

interface RequestContext {
  routes: RouteSource;
  playback: PlaybackContext;
  viewers: ChannelViewers;
  admin: AdminContext;
  portal: Portal;
  whip: WhipIngest;
  studio: Studio;
  vod: VodContext;
}

function onRequest(req: IncomingMessage, res: ServerResponse, context: RequestContext): void {
  const { routes, playback } = context;
  const path = (req.url ?? '/').split('?')[0];
  const text = (status: number, body: string, headers: http.OutgoingHttpHeaders = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
    res.end(body);
  };
  if (path === '/healthz') return text(200, 'ok\n');
  if (path === '/readyz') return routes.ready() ? text(200, 'ready\n') : text(503, 'no route table yet\n');
  if (path?.startsWith('/admin/')) return handleAdmin(req, res, path, context.admin);
  if (context.whip.handle(req, res)) return;
  if (context.studio.handle(req, res)) return;
  if (path === '/metrics') {
    context.viewers.sweep(); // the viewers gauge as of this scrape, gone channels' series removed
    void playback.metrics.registry.metrics().then(
      (body) => text(200, body, { 'content-type': playback.metrics.registry.contentType }),
      () => text(500, 'metrics failed\n'),
    );
    return;
  }
  // POST /<ns>/<name>/session, GET /.well-known/jwks.json
  const routed = (ns: string, name: string) => routes.channel(ns, name) !== undefined;
  if (playback.access && handleAccessRequest(req, res, path ?? '/', { access: playback.access, routed })) return;
  if (handleVodRequest(req, res, path ?? '/', context.vod)) return; // GET|HEAD /<ns>/<name>/vod.mp4
  if (context.portal.handle(req, res)) return;
  if (req.method === 'OPTIONS') {
    res.writeHead(204, preflightHeaders);
    return void res.end();
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'GET or HEAD\n', { allow: 'GET, HEAD, OPTIONS' });
  handlePlayback(req, res, playback).catch((err: unknown) => {
    playback.logger.error({ err: (err as Error).message }, 'playback failed');
    if (!res.headersSent) text(500, 'internal error\n');
    else res.destroy();
  });
}

// The HTTP side's parts beside playback: the portal (fed by the admin directory endpoint), WHIP ingest and the studio
// page that publishes with it.
async function requestContext(
  settings: GatewaySettings,
  parts: {
    routes: RouteSource;
    rtmp: RtmpGateway;
    playback: PlaybackContext;
    viewers: ChannelViewers;
    adminToken: AdminToken;
    logger: Logger;
  },
): Promise<RequestContext> {
  const { routes, rtmp, playback, viewers, adminToken, logger } = parts;
  const directory = new DirectoryStore();
  return {
    routes,
    playback,
    viewers,
    portal: new Portal({
      directory,
      assets: await loadPortalAssets(),
      logger,
      access: playback.access,
      lowLatency: (ns, name) => routes.channel(ns, name)?.lowLatency === true,
    }),
    studio: createStudio(await loadStudioAssets()),
    vod: {
      listing: (ns, name) => directory.get(ns, name),
      ...(playback.access && { access: playback.access }),
      logger,
    },
    whip: createWhipIngest({
      lookup: (key) => routes.lookup(key),
      logger,
      maxSessions: settings.whipMaxSessions,
      network: settings.whipNetwork,
      limiter: rtmp.limiter,
      claims: rtmp.claims, // one publisher per channel, RTMP or WHIP: a channel live over RTMP gets 409 up front
      onRefused: (reason) => playback.metrics.publishesRefusedTotal.inc({ reason }),
      onSessions: (count) => playback.metrics.whipSessions.set(count),
    }),
    admin: {
      replica: hostname(), // the pod's name
      token: () => adminToken.current(),
      viewers: () => viewers.counts(),
      routes: () => routes.table(),
      directory,
    },
  };
}

export async function startGateway(settings: GatewaySettings, logger: Logger): Promise<Gateway> {
  const metrics = createGatewayMetrics(new Registry());
  const routes = new RouteSource({
    tablePath: settings.routeTablePath,
    secretPath: settings.routingSecretPath,
    logger,
    pollMs: settings.pollMs,
  });
  const tls = settings.tls;
  const certificate = tls && (await ReloadingCertificate.load(tls, logger));
  const rtmp = new RtmpGateway({
    host: settings.host,
    port: settings.rtmpPort,
    secure: certificate && tls && { port: tls.rtmpsPort, server: (accept) => certificate.tlsServer(accept) },
    lookup: (key) => routes.lookup(key),
    metrics,
    logger,
    refusals: settings.refusals,
  });
  await rtmp.listen();
  const viewers = new ChannelViewers({
    trustedProxies: settings.trustedProxies,
    isRouted: (ns, name) => routes.channel(ns, name) !== undefined,
    gauge: metrics.viewers,
  });
  const playback: PlaybackContext = {
    access: await startGatewayAccess(settings, routes, metrics.registry),
    channel: (ns, name) => routes.channel(ns, name),
    cache: new EdgeCache(settings.cacheBytes),
    metrics,
    logger,
    fetchTimeoutMs: 10_000,
    viewers,
  };
  const adminToken = new AdminToken(settings.adminTokenPath, logger, settings.pollMs);
  const context = await requestContext(settings, { routes, rtmp, playback, viewers, adminToken, logger });
  const { portal, whip } = context;
  const handler: http.RequestListener = (req, res) => onRequest(req, res, context);
  const server = http.createServer(handler);
  const secure = certificate?.httpsServer(handler);
  for (const s of [server, secure]) if (s) s.keepAliveTimeout = 65_000; // behind a load balancer's 60 s idle timeout
  await new Promise<void>((resolve) => server.listen(settings.httpPort, settings.host, resolve));
  const httpsPort = secure && tls && (await listenOn(secure, tls.httpsPort, settings.host));
  if (tls) logger.info({ rtmpsPort: rtmp.securePort, httpsPort }, 'gateway listening with tls');
  const readyTimer = setInterval(() => metrics.routeTableLoaded.set(routes.ready() ? 1 : 0), 500);
  readyTimer.unref();
  return {
    rtmpPort: rtmp.port,
    httpPort: (server.address() as AddressInfo).port,
    rtmpsPort: rtmp.securePort,
    httpsPort,
    certificate,
    metrics,
    routes,
    rtmp,
    close: async () => {
      clearInterval(readyTimer);
      routes.close();
      adminToken.close();
      portal.close();
      certificate?.close();
      await whip.close();
      const servers = secure ? [server, secure] : [server];
      for (const s of servers) s.closeAllConnections();
      await Promise.all([rtmp.close(), ...servers.map((s) => new Promise((resolve) => s.close(resolve)))]);
    },
  };
}

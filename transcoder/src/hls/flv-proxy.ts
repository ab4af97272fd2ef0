// /live.flv: node-media-server's HTTP-FLV output, proxied from loopback so that viewers never see its URL (which
// names the stream key) and are counted like HLS viewers.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { corsHeaders, type ResponseWriter } from './response-writer.ts';
import { cacheControl, contentTypes } from './routes.ts';
import type { ViewerTracker } from './viewer-tracker.ts';

export interface FlvProxyContext {
  upstream: URL | undefined; // undefined: HTTP-FLV is off (404)
  live: boolean;
  writer: ResponseWriter;
  viewers: ViewerTracker;
  logger: Logger;
}

export function proxyFlv(req: IncomingMessage, res: ServerResponse, context: FlvProxyContext): void {
  const { upstream, writer, logger } = context;
  if (!upstream || !context.live) return writer.text(res, 'flv', 404, 'HTTP-FLV is not available\n');
  const upstreamRequest = http.get(upstream, { headers: { 'user-agent': 'livestream-origin' } }, (upstreamRes) => {
    if (upstreamRes.statusCode !== 200) {
      upstreamRes.resume();
      return writer.text(res, 'flv', upstreamRes.statusCode === 404 ? 404 : 502, 'HTTP-FLV is not available\n');
    }
    writer.count('flv', 200);
    context.viewers.watchFlv(res);
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
    writer.text(res, 'flv', 502, 'HTTP-FLV upstream unreachable\n');
  });
  res.once('close', () => upstreamRequest.destroy());
}

// Writes the origin's responses and counts them per route and status code for http_requests_total.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { HttpRoute, TranscoderMetrics } from '../telemetry/metrics.ts';
import { cacheControl, contentTypes } from './routes.ts';

export const corsHeaders = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Content-Length, Content-Range, ETag, Age',
} as const;

export const preflightHeaders = {
  ...corsHeaders,
  'access-control-allow-methods': 'GET, HEAD, OPTIONS',
  'access-control-allow-headers': 'Range, If-None-Match, If-Modified-Since, Content-Type',
  'access-control-max-age': '86400',
} as const;

export class ResponseWriter {
  private readonly metrics: TranscoderMetrics;
  // prom-client hashes the label set on every inc(): the hot path counts in a plain map, flush() moves the counts
  // into the registry (the origin does on each scrape and once a second).
  private readonly pending = new Map<string, number>();

  constructor(metrics: TranscoderMetrics) {
    this.metrics = metrics;
  }

  // For a response written by the caller itself (a fast path, a stream).
  count(route: HttpRoute, code: number): void {
    const key = `${route} ${code}`;
    this.pending.set(key, (this.pending.get(key) ?? 0) + 1);
  }

  flush(): void {
    for (const [key, n] of this.pending) {
      const [route = 'other', code = '0'] = key.split(' ');
      this.metrics.httpRequestsTotal.inc({ route, code }, n);
    }
    this.pending.clear();
  }

  // A whole response; a HEAD request gets the headers (with the body's length) and no body.
  send(
    res: ServerResponse,
    route: HttpRoute,
    status: number,
    headers: OutgoingHttpHeaders,
    body?: Buffer | string,
  ): void {
    this.count(route, status);
    const head = res.req.method === 'HEAD';
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    res.writeHead(status, headers);
    res.end(head ? undefined : body);
  }

  text(res: ServerResponse, route: HttpRoute, status: number, text: string): void {
    const headers = { ...corsHeaders, 'content-type': contentTypes.text, 'cache-control': cacheControl.none };
    this.send(res, route, status, headers, text);
  }
}

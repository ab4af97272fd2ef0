import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createTranscoderMetrics } from '../telemetry/metrics.ts';
import { ResponseWriter } from './response-writer.ts';

function fakeResponse(method: string) {
  const written: { status?: number; headers?: OutgoingHttpHeaders; body?: unknown } = {};
  const res = {
    req: { method },
    writeHead(status: number, headers: OutgoingHttpHeaders) {
      written.status = status;
      written.headers = headers;
    },
    end(body?: unknown) {
      written.body = body;
    },
  } as unknown as ServerResponse;
  return { res, written };
}

describe('ResponseWriter', () => {
  it('counts responses per route and code, and moves the counts into the registry on flush', async () => {
    const metrics = createTranscoderMetrics(new Registry(), { defaultMetrics: false });
    const writer = new ResponseWriter(metrics);
    writer.text(fakeResponse('GET').res, 'segment', 404, 'not found\n');
    writer.text(fakeResponse('GET').res, 'segment', 404, 'not found\n');
    writer.count('variant', 200);
    expect((await metrics.httpRequestsTotal.get()).values).toEqual([]);
    writer.flush();
    const values = (await metrics.httpRequestsTotal.get()).values.map((v) => [v.labels.route, v.labels.code, v.value]);
    expect(values).toEqual(
      expect.arrayContaining([
        ['segment', '404', 2],
        ['variant', '200', 1],
      ]),
    );
    writer.flush(); // nothing pending: the counters do not move
    expect((await metrics.httpRequestsTotal.get()).values.find((v) => v.labels.route === 'segment')?.value).toBe(2);
  });

  it('sends the length of the body, and no body to a HEAD request', () => {
    const metrics = createTranscoderMetrics(new Registry(), { defaultMetrics: false });
    const writer = new ResponseWriter(metrics);
    const get = fakeResponse('GET');
    writer.text(get.res, 'health', 200, 'ready\n');
    expect(get.written).toMatchObject({ status: 200, body: 'ready\n' });
    expect(get.written.headers).toMatchObject({ 'content-length': 6, 'cache-control': 'no-store' });
    const head = fakeResponse('HEAD');
    writer.text(head.res, 'health', 200, 'ready\n');
    expect(head.written.body).toBeUndefined();
    expect(head.written.headers).toMatchObject({ 'content-length': 6 });
  });
});

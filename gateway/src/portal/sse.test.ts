import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SseHub, sseFrame, sseHeartbeat } from './sse.ts';

describe('sseFrame', () => {
  it('writes event, data lines and a blank line', () => {
    expect(sseFrame({ event: 'directory', data: '{"a":1}' })).toBe('event: directory\ndata: {"a":1}\n\n');
  });
  it('splits multi-line data so no line can end the event early or forge a field', () => {
    expect(sseFrame({ event: 'x', data: 'a\n\nevent: evil\r\nb\rc', retryMs: 2000 })).toBe(
      'retry: 2000\nevent: x\ndata: a\ndata: \ndata: event: evil\ndata: b\ndata: c\n\n',
    );
  });
  it('refuses an event name of several lines', () => {
    expect(() => sseFrame({ event: 'a\nb', data: '' })).toThrow(/one line/);
  });
});

describe('SseHub', () => {
  const closers: (() => void)[] = [];
  afterEach(() => closers.splice(0).forEach((c) => c()));

  async function serve(hub: SseHub) {
    const server = http.createServer((req, res) =>
      hub.open(req, res, req.url!.slice(1), [{ event: 'hello', data: req.url! }]),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => {
      hub.close();
      server.closeAllConnections();
      server.close();
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function reader(url: string) {
    const res = await fetch(url);
    const body: ReadableStreamDefaultReader<Uint8Array> = res.body!.getReader();
    let text = '';
    return {
      res,
      async until(needle: string) {
        const deadline = Date.now() + 3000;
        while (!text.includes(needle)) {
          if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(needle)} in ${JSON.stringify(text)}`);
          const { value, done } = await body.read();
          if (done) throw new Error(`ended before ${needle}`);
          text += new TextDecoder().decode(value);
        }
        return text;
      },
      cancel: () => body.cancel(),
    };
  }

  it('sends the first events, then what is published on its topic only, and heartbeats', async () => {
    const hub = new SseHub({ maxStreams: 4, heartbeatMs: 100 });
    const url = await serve(hub);
    const a = await reader(`${url}/a`);
    const b = await reader(`${url}/b`);
    expect(a.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    await a.until('data: /a\n\n');
    await b.until('data: /b\n\n');
    hub.publish('a', { event: 'change', data: 'for-a' });
    expect(await a.until('for-a')).toContain('event: change\ndata: for-a\n\n');
    expect(await b.until(sseHeartbeat)).not.toContain('for-a');
    expect(await a.until(sseHeartbeat)).toContain(sseHeartbeat);
    expect([...hub.topics()].sort()).toEqual(['a', 'b']);
    await a.cancel();
    await b.cancel();
  });

  it('answers 503 beyond its bound and frees a place when a stream closes', async () => {
    const hub = new SseHub({ maxStreams: 1, heartbeatMs: 1000 });
    const url = await serve(hub);
    const first = await reader(`${url}/a`);
    await first.until('hello');
    const refused = await fetch(`${url}/a`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('10');
    await first.cancel();
    const deadline = Date.now() + 3000;
    while (hub.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(hub.size).toBe(0);
    const again = await reader(`${url}/a`);
    await again.until('hello');
    await again.cancel();
  });
});

import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ChannelViewers, clientAddress } from './viewers.ts';

const request = (address: string, ua: string, headers: IncomingHttpHeaders = {}, socket?: object) =>
  ({ headers: { 'user-agent': ua, ...headers }, socket: socket ?? { remoteAddress: address } }) as IncomingMessage;
const response = () => new EventEmitter() as unknown as ServerResponse;

function rig(options: { trustedProxies?: number; maxViewers?: number; maxChannels?: number } = {}) {
  let now = 0;
  const routed = new Set(['ns/a', 'ns/b', 'ns/c']);
  const registry = new Registry();
  const gauge = new Gauge({ name: 'v', help: 'v', labelNames: ['namespace', 'name'], registers: [registry] });
  const viewers = new ChannelViewers({
    trustedProxies: options.trustedProxies ?? 0,
    isRouted: (ns, name) => routed.has(`${ns}/${name}`),
    gauge,
    windowMs: 30_000,
    now: () => now,
    ...(options.maxViewers !== undefined && { maxViewers: options.maxViewers }),
    ...(options.maxChannels !== undefined && { maxChannels: options.maxChannels }),
  });
  const series = async () =>
    (await registry.getSingleMetric('v')!.get()).values.map((v) => `${v.labels.namespace}/${v.labels.name}=${v.value}`);
  return { viewers, routed, series, at: (ms: number) => (now = ms) };
}

describe('clientAddress', () => {
  it('is the socket address unless proxies are trusted', () => {
    expect(clientAddress('1.1.1.1', '10.0.0.1', 0)).toBe('10.0.0.1');
    expect(clientAddress(undefined, '10.0.0.1', 1)).toBe('10.0.0.1');
    expect(clientAddress(' , ', '10.0.0.1', 1)).toBe('10.0.0.1');
  });

  it('takes the entry the outermost trusted proxy wrote, not what the client claims', () => {
    // The client claims 6.6.6.6; the CDN saw 2.2.2.2 and the load balancer the CDN at 3.3.3.3.
    const xff = '6.6.6.6, 2.2.2.2, 3.3.3.3';
    expect(clientAddress(xff, '10.0.0.1', 1)).toBe('3.3.3.3');
    expect(clientAddress(xff, '10.0.0.1', 2)).toBe('2.2.2.2');
    expect(clientAddress(['6.6.6.6', '2.2.2.2'], '10.0.0.1', 1)).toBe('2.2.2.2');
    expect(clientAddress('2.2.2.2', '10.0.0.1', 3)).toBe('2.2.2.2'); // fewer hops than trusted: the leftmost
  });
});

describe('ChannelViewers', () => {
  it('counts per channel by token, else address + User-Agent, as the transcoder does', () => {
    const { viewers } = rig();
    viewers.see(request('10.0.0.1', 'tv'), 'ns', 'a', 'vs=token-one-1');
    viewers.see(request('10.0.0.2', 'tv'), 'ns', 'a', 'vs=token-one-1'); // same token elsewhere: same viewer
    viewers.see(request('10.0.0.1', 'tv'), 'ns', 'a', '');
    viewers.see(request('10.0.0.1', 'phone'), 'ns', 'a', '');
    viewers.see(request('10.0.0.1', 'tv'), 'ns', 'b', '');
    expect(viewers.counts()).toEqual([
      { namespace: 'ns', name: 'a', viewers: 3 },
      { namespace: 'ns', name: 'b', viewers: 1 },
    ]);
  });

  it('tells clients behind a trusted proxy apart by X-Forwarded-For, on one keep-alive connection too', () => {
    const proxy = { remoteAddress: '10.9.9.9' };
    for (const [trusted, expected] of [
      [0, 1],
      [1, 3],
    ] as const) {
      const { viewers } = rig({ trustedProxies: trusted });
      for (const client of ['1.1.1.1', '2.2.2.2', '3.3.3.3', '1.1.1.1']) {
        viewers.see(request('', 'tv', { 'x-forwarded-for': client }, proxy), 'ns', 'a', '');
      }
      expect(viewers.counts()).toEqual([{ namespace: 'ns', name: 'a', viewers: expected }]);
    }
  });

  it('counts an HTTP-FLV response while it is open', () => {
    const { viewers } = rig();
    const res = response();
    viewers.watchFlv(request('10.0.0.1', 'vlc'), res, 'ns', 'c');
    viewers.watchFlv(request('10.0.0.1', 'vlc'), response(), 'ns', 'c');
    expect(viewers.counts()).toEqual([{ namespace: 'ns', name: 'c', viewers: 2 }]);
    res.emit('close');
    expect(viewers.counts()).toEqual([{ namespace: 'ns', name: 'c', viewers: 1 }]);
  });

  it('keeps a series at 0 for a window after the last viewer left, then removes it', async () => {
    const { viewers, series, at } = rig();
    viewers.see(request('10.0.0.1', 'tv'), 'ns', 'a', '');
    viewers.sweep();
    expect(await series()).toEqual(['ns/a=1']);
    at(30_000); // seen at 0: gone from the window now
    viewers.sweep();
    expect(await series()).toEqual(['ns/a=0']);
    at(59_999);
    viewers.sweep();
    expect(await series()).toEqual(['ns/a=0']);
    at(60_000);
    viewers.sweep();
    expect(await series()).toEqual([]);
    expect(viewers.counts()).toEqual([]);
  });

  it('removes a channel that left the route table at once, viewers or not', async () => {
    const { viewers, series, routed } = rig();
    viewers.see(request('10.0.0.1', 'tv'), 'ns', 'a', '');
    viewers.see(request('10.0.0.1', 'tv'), 'ns', 'b', '');
    viewers.sweep();
    routed.delete('ns/a');
    viewers.sweep();
    expect(await series()).toEqual(['ns/b=1']);
  });

  it('stays within maxViewers over all channels, forgetting the growing channel’s stalest', () => {
    const { viewers, at } = rig({ maxViewers: 100 });
    for (let i = 0; i < 40; i++) viewers.see(request(`10.0.0.${i}`, 'tv'), 'ns', 'a', '');
    for (let i = 0; i < 1_000; i++) {
      at(i);
      viewers.see(request(`10.1.${i >> 8}.${i & 255}`, 'flood'), 'ns', 'b', '');
    }
    expect(viewers.counts()).toEqual([
      { namespace: 'ns', name: 'a', viewers: 40 },
      { namespace: 'ns', name: 'b', viewers: 60 },
    ]);
  });

  it('tracks at most maxChannels channels', () => {
    const { viewers } = rig({ maxChannels: 2 });
    for (const name of ['a', 'b', 'c']) viewers.see(request('10.0.0.1', 'tv'), 'ns', name, '');
    expect(viewers.counts().map((c) => c.name)).toEqual(['a', 'b']);
  });
});

import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { buildService } from '../desired/service.ts';
import { minimalExample, storedLiveStream } from '../../../../test/support/livestream-examples.ts';
import { channelUrls, externalEndpoint, ingestUrl, playbackUrl, type ChildrenObservation } from './index.ts';

// The Service as the operator builds it for a type, then as the API server and a load-balancer controller fill it in.
function observed(
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer',
  filled: { nodePorts?: [number, number]; ingress?: { ip?: string; hostname?: string }[] } = {},
): V1Service {
  const ls = storedLiveStream(minimalExample);
  ls.spec.ingest = { ...ls.spec.ingest, serviceType: type };
  const service = buildService(ls, {});
  expect(service.spec?.type).toBe(type);
  service.spec!.ports = service.spec!.ports!.map((p, i) => ({
    ...p,
    ...(filled.nodePorts ? { nodePort: filled.nodePorts[i] } : {}),
  }));
  if (filled.ingress) service.status = { loadBalancer: { ingress: filled.ingress } };
  return service;
}

const urls = (service: V1Service, nodeAddress?: string) => {
  const external = externalEndpoint(service, nodeAddress);
  const children: ChildrenObservation = {
    applied: true,
    transcoderAvailable: true,
    serviceHost: 'show.tv.svc',
    ...(external ? { external } : {}),
  };
  const ls = storedLiveStream(minimalExample);
  return { ingest: ingestUrl({ ls, children }), playback: playbackUrl(children) };
};

describe('status URLs from the observed Service', () => {
  it('ClusterIP: the cluster DNS name with the Service ports, whatever the node address', () => {
    expect(urls(observed('ClusterIP'), '192.0.2.10')).toEqual({
      ingest: 'rtmp://show.tv.svc:1935/live',
      playback: 'http://show.tv.svc:8080/hls/master.m3u8',
    });
  });

  it('NodePort: the node address with the assigned node ports', () => {
    expect(urls(observed('NodePort', { nodePorts: [31935, 30080] }), '192.0.2.10')).toEqual({
      ingest: 'rtmp://192.0.2.10:31935/live',
      playback: 'http://192.0.2.10:30080/hls/master.m3u8',
    });
    expect(urls(observed('NodePort', { nodePorts: [31935, 30080] }), 'fd00::a').ingest).toBe(
      'rtmp://[fd00::a]:31935/live',
    );
  });

  it('NodePort without a node address, or before the ports are assigned: the cluster DNS name', () => {
    expect(urls(observed('NodePort', { nodePorts: [31935, 30080] })).ingest).toBe('rtmp://show.tv.svc:1935/live');
    expect(urls(observed('NodePort'), '192.0.2.10').ingest).toBe('rtmp://show.tv.svc:1935/live');
  });

  it('LoadBalancer: the ingress IP or hostname with the Service ports', () => {
    const lb = (ingress: { ip?: string; hostname?: string }[]) =>
      urls(observed('LoadBalancer', { nodePorts: [31935, 30080], ingress }), '192.0.2.10');
    expect(lb([{ ip: '203.0.113.7' }])).toEqual({
      ingest: 'rtmp://203.0.113.7:1935/live',
      playback: 'http://203.0.113.7:8080/hls/master.m3u8',
    });
    expect(lb([{ hostname: 'a1b2.elb.example.com' }]).ingest).toBe('rtmp://a1b2.elb.example.com:1935/live');
    expect(lb([{}, { ip: '2001:db8::7' }]).playback).toBe('http://[2001:db8::7]:8080/hls/master.m3u8');
  });

  it('LoadBalancer still waiting for its ingress: the node ports (reachable meanwhile), else the cluster DNS name', () => {
    expect(urls(observed('LoadBalancer', { nodePorts: [31935, 30080] }), '192.0.2.10').ingest).toBe(
      'rtmp://192.0.2.10:31935/live',
    );
    expect(urls(observed('LoadBalancer', { nodePorts: [31935, 30080] })).ingest).toBe('rtmp://show.tv.svc:1935/live');
  });

  it('no Service observed yet: the cluster DNS name', () => {
    expect(externalEndpoint(undefined, '192.0.2.10')).toBeUndefined();
  });
});

describe('status URLs through the gateway', () => {
  const gateway = { ingest: 'rtmps://ingest.example.com:443', playback: 'https://live.example.com' };
  const children: ChildrenObservation = { applied: true, transcoderAvailable: true, serviceHost: 'show.tv.svc' };
  const channel = (ingest: Record<string, unknown> = {}) => {
    const ls = storedLiveStream(minimalExample, { namespace: 'tv' });
    ls.metadata.name = 'show';
    ls.spec.ingest = { ...ls.spec.ingest, ...ingest };
    return ls;
  };

  it("Gateway (and absent, with a gateway): the gateway's server with the app, the channel's path on it", () => {
    for (const ls of [channel({ via: 'Gateway', app: 'studio' }), channel({ app: 'studio' })]) {
      expect(channelUrls({ ls, children, gateway })).toEqual({
        ingest: { url: 'rtmps://ingest.example.com:443/studio', via: 'Gateway' },
        playback: { url: 'https://live.example.com/tv/show/master.m3u8' },
      });
    }
  });

  it("Both: the gateway's URLs, and the Service's as serviceUrl", () => {
    expect(channelUrls({ ls: channel({ serviceType: 'NodePort' }), children, gateway })).toEqual({
      ingest: { url: 'rtmps://ingest.example.com:443/live', via: 'Both', serviceUrl: 'rtmp://show.tv.svc:1935/live' },
      playback: {
        url: 'https://live.example.com/tv/show/master.m3u8',
        serviceUrl: 'http://show.tv.svc:8080/hls/master.m3u8',
      },
    });
  });

  it('Service, or no gateway installed: the Service only', () => {
    const own = { url: 'rtmp://show.tv.svc:1935/live' };
    expect(channelUrls({ ls: channel({ via: 'Service' }), children, gateway }).ingest).toEqual({
      ...own,
      via: 'Service',
    });
    expect(channelUrls({ ls: channel(), children }).ingest).toEqual({ ...own, via: 'Service' });
    // Asked for the gateway on an installation without one: the Service (ChildrenReady says why).
    expect(channelUrls({ ls: channel({ via: 'Gateway' }), children })).toEqual({
      ingest: { ...own, via: 'Gateway' },
      playback: { url: 'http://show.tv.svc:8080/hls/master.m3u8' },
    });
  });
});

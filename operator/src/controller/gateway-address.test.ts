import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { gatewayIngestUrl, gatewayPlaybackUrl, gatewayUrls } from './gateway-address.ts';

const target = { namespace: 'edge', service: 'lso-gateway' };

// The gateway Service as the chart renders it, then as the API server and a load-balancer controller fill it in.
function service(
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer',
  filled: { ports?: [number, number]; nodePorts?: [number, number]; ingress?: { ip?: string; hostname?: string } } = {},
): V1Service {
  const [rtmp, http] = filled.ports ?? [1935, 80];
  return {
    spec: {
      type,
      ports: [
        { name: 'rtmp', port: rtmp, ...(filled.nodePorts ? { nodePort: filled.nodePorts[0] } : {}) },
        { name: 'http', port: http, ...(filled.nodePorts ? { nodePort: filled.nodePorts[1] } : {}) },
      ],
    },
    ...(filled.ingress ? { status: { loadBalancer: { ingress: [filled.ingress] } } } : {}),
  };
}

describe('gatewayUrls', () => {
  it('before the Service is read: its cluster DNS name with the chart default ports', () => {
    expect(gatewayUrls(target, undefined, '192.0.2.1')).toEqual({
      ingest: 'rtmp://lso-gateway.edge.svc:1935',
      playback: 'http://lso-gateway.edge.svc',
    });
  });

  it('ClusterIP: the cluster DNS name with the ports the Service has', () => {
    expect(gatewayUrls(target, service('ClusterIP', { ports: [1936, 8080] }), '192.0.2.1')).toEqual({
      ingest: 'rtmp://lso-gateway.edge.svc:1936',
      playback: 'http://lso-gateway.edge.svc:8080',
    });
  });

  it('NodePort: the node address with the node ports; LoadBalancer: the ingress with the Service ports', () => {
    expect(gatewayUrls(target, service('NodePort', { nodePorts: [31935, 30080] }), '192.0.2.1')).toEqual({
      ingest: 'rtmp://192.0.2.1:31935',
      playback: 'http://192.0.2.1:30080',
    });
    expect(
      gatewayUrls(target, service('LoadBalancer', { ingress: { hostname: 'lb.example.net' } }), undefined),
    ).toEqual({ ingest: 'rtmp://lb.example.net:1935', playback: 'http://lb.example.net' });
  });

  it("the platform's public URLs win over the Service, each on its own", () => {
    const lb = service('LoadBalancer', { ingress: { ip: '203.0.113.9' } });
    expect(gatewayUrls({ ...target, ingestUrl: 'rtmps://ingest.example.com:443' }, lb, undefined)).toEqual({
      ingest: 'rtmps://ingest.example.com:443',
      playback: 'http://203.0.113.9',
    });
    expect(gatewayUrls({ ...target, playbackUrl: 'https://cdn.example.com/live' }, lb, undefined).playback).toBe(
      'https://cdn.example.com/live',
    );
  });

  it("gives a channel's URLs: the app after the server, the channel's path after the playback prefix", () => {
    const urls = { ingest: 'rtmps://ingest.example.com:443', playback: 'https://cdn.example.com/live' };
    expect(gatewayIngestUrl(urls, 'studio')).toBe('rtmps://ingest.example.com:443/studio');
    expect(gatewayPlaybackUrl(urls, 'tv', 'news')).toBe('https://cdn.example.com/live/tv/news/master.m3u8');
  });
});

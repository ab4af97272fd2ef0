import { describe, expect, it } from 'vitest';
import { parseVodPath, responseHeaders, upstreamRequestHeaders, viewerStatus, vodPath } from './vod.ts';

const vod = {
  session: 's1',
  url: 'https://b.s3.amazonaws.com/k?X-Amz-Signature=1',
  expiresAt: '2026-12-02T18:00:00Z',
  contentType: 'video/mp4' as const,
};

describe('vod paths', () => {
  it('is the channel path plus vod.mp4, only with a vod', () => {
    expect(vodPath({ namespace: 'tenant-a', name: 'show.one', vod })).toBe('/tenant-a/show.one/vod.mp4');
    expect(vodPath({ namespace: 'tenant-a', name: 'show' })).toBeUndefined();
  });

  it.each([
    ['/tenant-a/show/vod.mp4', { namespace: 'tenant-a', name: 'show' }],
    ['/tenant-a/show/live/vod.mp4', undefined],
    ['/tenant-a/show/vod.mp4/', undefined],
    ['/Tenant/show/vod.mp4', undefined],
    ['/tenant-a/%2e%2e/vod.mp4', undefined],
    ['/tenant-a/show/master.m3u8', undefined],
  ])('%s', (p, want) => {
    expect(parseVodPath(p)).toEqual(want);
  });
});

describe('what goes to S3 and back', () => {
  it('sends a well-formed Range (and If-Range) only: no cookie, authorization or other header', () => {
    expect(
      upstreamRequestHeaders({
        range: 'bytes=0-99',
        'if-range': '"e1"',
        cookie: 'a=b',
        authorization: 'Bearer x',
        host: 'gw',
      }),
    ).toEqual({ range: 'bytes=0-99', 'if-range': '"e1"' });
    expect(upstreamRequestHeaders({ range: 'bytes=-500' })).toEqual({ range: 'bytes=-500' });
    expect(upstreamRequestHeaders({ range: 'bytes=0-1, 5-9' })).toEqual({ range: 'bytes=0-1, 5-9' });
    for (const bad of ['items=0-1', 'bytes=a-b', `bytes=${'1'.repeat(300)}-`]) {
      expect(upstreamRequestHeaders({ range: bad })).toEqual({});
    }
    expect(upstreamRequestHeaders({ 'if-range': '"e1"' })).toEqual({});
  });

  it("passes S3's length and range headers, sets the listing's type and the channel's caching", () => {
    const upstream = new Headers({
      'content-length': '1024',
      'content-range': 'bytes 100-1123/50000',
      'accept-ranges': 'bytes',
      etag: '"abc"',
      'content-type': 'text/html',
      'x-amz-request-id': 'R1',
      'set-cookie': 'x=y',
    });
    const h = responseHeaders(upstream, 'video/mp4', true);
    expect(h).toMatchObject({
      'content-type': 'video/mp4',
      'content-length': '1024',
      'content-range': 'bytes 100-1123/50000',
      'accept-ranges': 'bytes',
      etag: '"abc"',
      'cache-control': 'private, no-store',
    });
    expect(Object.keys(h)).not.toContain('x-amz-request-id');
    expect(Object.keys(h)).not.toContain('set-cookie');
    expect(responseHeaders(new Headers(), 'video/mp4', false)['cache-control']).toBe('public, max-age=300');
  });

  it.each([
    [200, 200],
    [206, 206],
    [416, 416],
    [404, 404],
    [403, 502],
    [500, 502],
    [301, 502],
  ])('S3 %i is the viewer’s %i', (upstream, viewer) => {
    expect(viewerStatus(upstream)).toBe(viewer);
  });
});

import { describe, expect, it } from 'vitest';
import { fileHeaders, revalidateMs } from './cache-headers.ts';
import { fileInfo, type CachedFile } from './file-cache.ts';

const file: CachedFile = {
  ...fileInfo(1234, 1_700_000_000_000),
  body: undefined,
  text: undefined,
  checkedAt: 0,
  diskSize: 1234,
};

describe('cache headers', () => {
  it('lets caches keep a segment forever and makes them revalidate a playlist', () => {
    const segment = fileHeaders(file, { route: 'segment', file: '720p/seg-1.m4s', ext: 'm4s' });
    expect(segment['content-type']).toBe('video/mp4');
    expect(segment['cache-control']).toBe('public, max-age=31536000, immutable');
    const playlist = fileHeaders(file, { route: 'variant', file: '720p/index.m3u8' });
    expect(playlist).toMatchObject({ 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'no-cache' });
    expect(playlist).toMatchObject({ etag: file.etag, 'last-modified': file.lastModified, 'content-length': 1234 });
  });

  it('lets caches keep the thumbnail 2 s, then revalidate it by ETag', () => {
    const thumbnail = fileHeaders(file, { route: 'thumbnail', file: 'thumbnail.jpg' });
    expect(thumbnail).toMatchObject({ 'content-type': 'image/jpeg', 'cache-control': 'public, max-age=2' });
    expect(thumbnail).toMatchObject({ etag: file.etag, 'content-length': 1234 });
    expect(revalidateMs({ route: 'thumbnail', file: 'thumbnail.jpg' })).toBeLessThan(2_000);
  });

  it('re-checks a playlist on disk more often than a segment', () => {
    expect(revalidateMs({ route: 'master', file: 'master.m3u8' })).toBeLessThan(
      revalidateMs({ route: 'segment', file: '720p/seg-1.ts', ext: 'ts' }),
    );
  });
});

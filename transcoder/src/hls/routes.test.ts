import { describe, expect, it } from 'vitest';
import { cacheControl, classifyPath, contentTypes, hlsJsAssetPath, routeLabel } from './routes.ts';

const hlsJs = hlsJsAssetPath('1.7.4');

describe('classifyPath', () => {
  it.each([
    ['/', 'player'],
    ['/index.html', 'player'],
    [hlsJs, 'player'],
    ['/healthz', 'health'],
    ['/readyz', 'health'],
    ['/metrics', 'metrics'],
    ['/live.flv', 'flv'],
    ['/hls/master.m3u8', 'master'],
    ['/hls/720p/index.m3u8', 'variant'],
    ['/hls/720p/seg-00001.ts', 'segment'],
    ['/hls/480p/init.mp4', 'segment'],
    ['/hls/480p/seg_3.m4s', 'segment'],
    ['/thumbnail.jpg', 'thumbnail'],
    ['/hls/thumbnail.jpg', 'other'],
    ['/assets/hls-0.0.1.min.js', 'other'],
    ['/favicon.ico', 'other'],
    ['/hls/720p/index.html', 'other'],
    ['/hls/a/b/c.ts', 'other'],
  ])('%s is %s', (path, route) => {
    expect(classifyPath(path, hlsJs).route).toBe(route);
  });

  it('keeps the file relative to the HLS directory', () => {
    expect(classifyPath('/hls/720p/seg-1.ts', hlsJs)).toEqual({ route: 'segment', file: '720p/seg-1.ts', ext: 'ts' });
    expect(classifyPath('/hls/master.m3u8', hlsJs)).toEqual({ route: 'master', file: 'master.m3u8' });
  });

  it.each([
    '/hls/../etc/passwd',
    '/hls/720p/../../secret.ts',
    '/hls/..%2f..%2fetc%2fpasswd',
    '/hls/%2e%2e/x.ts',
    '/hls/720p/%00.ts',
    '/hls/..\\..\\x.ts',
    '/hls/720p/..',
  ])('refuses traversal attempt %s', (path) => {
    expect(classifyPath(path, hlsJs)).toEqual({ route: 'other', status: 400 });
  });

  it.each(['/hls/.hidden.ts', '/hls/720p/.m3u8', '/hls//x.ts', '/hls/720p/', '/hls/' + 'a'.repeat(200) + '.ts'])(
    'does not serve odd names %s',
    (path) => {
      expect(classifyPath(path, hlsJs).route).toBe('other');
    },
  );
});

describe('headers', () => {
  it('uses the HLS MIME types', () => {
    expect(contentTypes.m3u8).toBe('application/vnd.apple.mpegurl');
    expect(contentTypes.ts).toBe('video/mp2t');
    expect(contentTypes.mp4).toBe('video/mp4');
  });
  it('lets playlists be revalidated and segments be cached forever', () => {
    expect(cacheControl.playlist).toBe('no-cache');
    expect(cacheControl.immutable).toBe('public, max-age=31536000, immutable');
  });
});

describe('routeLabel', () => {
  it('counts the thumbnail with the player assets (the metrics route set is bounded)', () => {
    expect(routeLabel({ route: 'thumbnail', file: 'thumbnail.jpg' })).toBe('thumbnail');
    expect(routeLabel({ route: 'master', file: 'master.m3u8' })).toBe('master');
  });
});

import { describe, expect, it } from 'vitest';
import { rewritePlaylist, withSessionParam } from './playlist-rewrite.ts';

describe('withSessionParam', () => {
  it('adds the session, keeping an existing query and fragment, replacing an old session', () => {
    expect(withSessionParam('seg1.ts', 's1')).toBe('seg1.ts?session=s1');
    expect(withSessionParam('seg1.ts?vs=abc', 's1')).toBe('seg1.ts?vs=abc&session=s1');
    expect(withSessionParam('seg1.ts?session=old&x=1', 's1')).toBe('seg1.ts?x=1&session=s1');
    expect(withSessionParam('seg1.ts#t=1', 's1')).toBe('seg1.ts?session=s1#t=1');
    expect(withSessionParam('a.b', 'x+y/=')).toBe('a.b?session=x%2By%2F%3D');
  });

  it('leaves absolute URIs alone: a session never leaks to another host', () => {
    for (const uri of ['https://cdn.example/seg.ts', '//cdn.example/seg.ts', 'data:text/plain,x', 'skd://key']) {
      expect(withSessionParam(uri, 's1')).toBe(uri);
    }
  });
});

describe('rewritePlaylist', () => {
  it('writes the session into URI lines and every URI attribute of any tag', () => {
    const playlist = [
      '#EXTM3U',
      '#EXT-X-VERSION:9',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="audio/index.m3u8"',
      '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=320x180,AUDIO="aud"',
      '180p/index.m3u8',
      '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI="180p/iframes.m3u8"',
      '#EXT-X-KEY:METHOD=AES-128,URI="key.bin?k=1",IV=0x1',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXTINF:2.0,',
      'seg-1.m4s',
      '#EXT-X-PART:DURATION=0.5,URI="seg-2.0.m4s",INDEPENDENT=YES',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg-2.1.m4s"',
      '#EXT-X-RENDITION-REPORT:URI="../360p/index.m3u8",LAST-MSN=2',
      '#EXT-X-FUTURE-TAG:FOO="bar",URI="future.bin"',
      '',
    ].join('\n');
    const out = rewritePlaylist(playlist, 'S');
    const uris = [
      ...[...out.matchAll(/URI="([^"]*)"/g)].map((m) => m[1] ?? ''),
      ...out.split('\n').filter((l) => l !== '' && !l.startsWith('#')),
    ];
    expect(uris).toHaveLength(10);
    for (const uri of uris) expect(uri).toMatch(/[?&]session=S$/);
    expect(out).toContain('URI="key.bin?k=1&session=S"');
    expect(out).toContain('FOO="bar"');
    expect(out.endsWith('\n')).toBe(true);
  });

  it('keeps CRLF line endings and blank lines', () => {
    expect(rewritePlaylist('#EXTM3U\r\n\r\nseg.ts\r\n', 'S')).toBe('#EXTM3U\r\n\r\nseg.ts?session=S\r\n');
  });
});

import { describe, expect, it } from 'vitest';
import { parseLivePlaylist } from './live-playlist.ts';

describe('parseLivePlaylist', () => {
  it('numbers segments from the media sequence and keeps discontinuities', () => {
    const text = [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-MEDIA-SEQUENCE:7',
      '#EXTINF:2.000000,',
      'seg_00007.ts',
      '#EXT-X-DISCONTINUITY',
      '#EXTINF:1.966667,',
      'seg_00008.ts',
      '#EXTINF:2.033333,',
      'seg_00009.ts',
      '#EXT-X-ENDLIST',
    ].join('\n');
    expect(parseLivePlaylist(text)).toEqual([
      { sequence: 7, file: 'seg_00007.ts', duration: 2, discontinuity: false },
      { sequence: 8, file: 'seg_00008.ts', duration: 1.966667, discontinuity: true },
      { sequence: 9, file: 'seg_00009.ts', duration: 2.033333, discontinuity: false },
    ]);
  });

  it('starts at 0 without a media sequence and ignores URIs that are not plain segment files', () => {
    const text = '#EXTM3U\n#EXTINF:2,\nseg_00000.ts\n#EXTINF:2,\n../escape/seg.ts\n#EXTINF:2,\nseg_00002.ts\n';
    expect(parseLivePlaylist(text).map((s) => [s.sequence, s.file])).toEqual([
      [0, 'seg_00000.ts'],
      [2, 'seg_00002.ts'],
    ]);
  });

  it('returns nothing for an empty or partial playlist', () => {
    expect(parseLivePlaylist('')).toEqual([]);
    expect(parseLivePlaylist('#EXTM3U\n#EXTINF:2,')).toEqual([]);
  });
});

import HLS from 'hls-parser';
import { describe, expect, it } from 'vitest';
import { buildVodPlaylist, totalDuration } from './vod-playlist.ts';
import { buildVodMaster, concatList, sequenceFromFile } from './finalize.ts';

const seg = (sequence: number, duration = 2, discontinuity = false) => ({
  sequence,
  file: `seg_${String(sequence).padStart(5, '0')}.ts`,
  duration,
  discontinuity,
});

describe('buildVodPlaylist', () => {
  it('lists every segment in sequence order with VOD type and ENDLIST', () => {
    const text = buildVodPlaylist([seg(2), seg(0), seg(1, 1.5)]);
    const parsed = HLS.parse(text) as HLS.types.MediaPlaylist;
    expect(parsed.playlistType).toBe('VOD');
    expect(parsed.endlist).toBe(true);
    expect(parsed.mediaSequenceBase).toBe(0);
    expect(parsed.segments.map((s) => [s.uri, s.duration])).toEqual([
      ['seg_00000.ts', 2],
      ['seg_00001.ts', 1.5],
      ['seg_00002.ts', 2],
    ]);
    expect(text).toContain('#EXT-X-TARGETDURATION:2');
  });

  it('keeps discontinuities and adds one where a segment is missing', () => {
    const parsed = HLS.parse(
      buildVodPlaylist([seg(0), seg(1), seg(2, 2, true), seg(4), seg(5)]),
    ) as HLS.types.MediaPlaylist;
    expect(parsed.segments.map((s) => s.discontinuity === true)).toEqual([false, false, true, true, false]);
  });

  it('never starts with a discontinuity, drops duplicates, and refuses an empty list', () => {
    const text = buildVodPlaylist([seg(3, 2, true), seg(3), seg(4)]);
    expect(text.split('#EXT-X-DISCONTINUITY').length).toBe(1);
    expect((text.match(/#EXTINF/g) ?? []).length).toBe(2);
    expect(() => buildVodPlaylist([])).toThrow(/no segments/);
  });

  it('rounds the target duration up from the longest segment only when needed', () => {
    expect(buildVodPlaylist([seg(0, 2.4), seg(1, 2.6)])).toContain('#EXT-X-TARGETDURATION:3');
    expect(totalDuration([seg(0, 2.4), seg(1, 2.6), seg(1, 9)])).toBe(5);
  });
});

describe('finalize helpers', () => {
  it('writes a master playlist that groups the separate audio track', () => {
    const parsed = HLS.parse(buildVodMaster({ track: '720p', bandwidth: 1234.4 }, 'audio')) as HLS.types.MasterPlaylist;
    expect(parsed.variants[0]!.uri).toBe('720p/index.m3u8');
    expect(parsed.variants[0]!.bandwidth).toBe(1234);
    expect(parsed.variants[0]!.audio[0]!.uri).toBe('audio/index.m3u8');
  });

  it('quotes concat paths and carries durations', () => {
    expect(concatList([{ path: "/tmp/it's/seg_00001.ts", duration: 2 }])).toBe(
      "ffconcat version 1.0\nfile '/tmp/it'\\''s/seg_00001.ts'\nduration 2.000000\n",
    );
  });

  it('reads a sequence number from a segment file name', () => {
    expect(sequenceFromFile('seg_00042.ts')).toBe(42);
    expect(sequenceFromFile('index.m3u8')).toBeUndefined();
  });
});

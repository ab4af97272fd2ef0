import HLS from 'hls-parser';
import { describe, expect, it } from 'vitest';
import { buildVodPlaylist, totalDuration } from './vod-playlist.ts';
import { buildVodMaster, concatList, mp4Args, sequenceFromFile, splitTracks } from './finalize.ts';

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

  it('tells audio tracks from video tracks by the names the ladder gives them', () => {
    expect(splitTracks(['240p', 'audio'], 'here')).toEqual({ video: '240p', audio: 'audio' });
    expect(splitTracks(['360p', 'audio_64k'], 'here')).toEqual({ video: '360p', audio: 'audio_64k' });
    expect(splitTracks(['audio'], 'here')).toEqual({ audio: 'audio' }); // an audio-only source
    expect(splitTracks(['source'], 'here')).toEqual({ video: 'source' }); // a video-only source
    expect(() => splitTracks([], 's3://b/p/')).toThrow(/no recorded segments under s3:\/\/b\/p\//);
    expect(() => splitTracks(['720p', '360p', 'audio'], 'here')).toThrow(/more than one video track/);
    expect(() => splitTracks(['720p', 'audio', 'audio_64k'], 'here')).toThrow(/more than one audio track/);
  });

  it('muxes the MP4 from the tracks there are: video and audio, video alone, audio alone', () => {
    const maps = (args: string[]) => args.flatMap((a, i) => (a === '-map' ? [args[i + 1]] : []));
    const v = { list: 'v.ffconcat', kind: 'video' as const };
    const a = { list: 'a.ffconcat', kind: 'audio' as const };
    expect(maps(mp4Args([v, a], 'o.mp4'))).toEqual(['0:v:0', '1:a:0']);
    expect(maps(mp4Args([v], 'o.mp4'))).toEqual(['0:v:0', '0:a?']);
    expect(maps(mp4Args([a], 'o.mp4'))).toEqual(['0:a:0']);
    expect(mp4Args([a], 'o.mp4').filter((x) => x === '-i')).toHaveLength(1);
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

import HLS from 'hls-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { mediaSegments, withEndlist, writeMediaPlaylist } from './playlists.ts';

// What ffmpeg 5.1's hls muxer writes with hls_flags program_date_time: the tag after EXTINF, offsets as +0000.
const ffmpegLive = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:2.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-12-02T08:15:26.502+0000
seg_00007.ts
#EXTINF:1.966667,
#EXT-X-PROGRAM-DATE-TIME:2026-12-02T08:15:28.502+0000
seg_00008.ts
#EXT-X-DISCONTINUITY
#EXTINF:2.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-12-02T08:15:40.125+0000
seg_00009.ts
`;

const strictly = (text: string) => {
  HLS.setOptions({ strictMode: true });
  const playlist = HLS.parse(text);
  if (playlist.isMasterPlaylist) throw new Error('expected a media playlist');
  return playlist;
};

afterEach(() => HLS.setOptions({ strictMode: false }));

describe('EXT-X-PROGRAM-DATE-TIME', () => {
  it('is read from ffmpeg playlists, segment by segment', () => {
    expect(mediaSegments(ffmpegLive).map((s) => [s.sequence, s.programDateTime?.toISOString()])).toEqual([
      [7, '2026-12-02T08:15:26.502Z'],
      [8, '2026-12-02T08:15:28.502Z'],
      [9, '2026-12-02T08:15:40.125Z'],
    ]);
  });

  it('survives ENDLIST and is written by the media playlist writer, parseable in strict mode', () => {
    const ended = strictly(withEndlist(ffmpegLive)!);
    expect(ended.endlist).toBe(true);
    expect(ended.segments.map((s) => s.programDateTime?.getTime())).toEqual(
      mediaSegments(ffmpegLive).map((s) => s.programDateTime?.getTime()),
    );
    const written = writeMediaPlaylist({
      version: 3,
      targetDuration: 2,
      mediaSequence: 7,
      segments: mediaSegments(ffmpegLive),
      endlist: false,
    });
    expect(written.match(/^#EXT-X-PROGRAM-DATE-TIME:/gm)).toHaveLength(3);
    expect(strictly(written).segments.map((s) => s.programDateTime?.toISOString())).toEqual([
      '2026-12-02T08:15:26.502Z',
      '2026-12-02T08:15:28.502Z',
      '2026-12-02T08:15:40.125Z',
    ]);
  });

  it('is left out where a segment has none', () => {
    const written = writeMediaPlaylist({
      version: 3,
      targetDuration: 2,
      mediaSequence: 0,
      segments: [{ sequence: 0, uri: 'a.ts', duration: 2, discontinuity: false }],
      endlist: true,
    });
    expect(written).not.toContain('PROGRAM-DATE-TIME');
    expect(mediaSegments(written)[0]).not.toHaveProperty('programDateTime');
  });
});

import { describe, expect, it } from 'vitest';
import { playlistFacts } from './playlist-facts.ts';

const classic = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-PROGRAM-DATE-TIME:2026-12-03T19:00:00.000Z
#EXTINF:2.000,
seg10.ts
#EXT-X-PROGRAM-DATE-TIME:2026-12-03T19:00:02.000Z
#EXTINF:2.000,
seg11.ts
`;

const ll = `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5,HOLD-BACK=6
#EXT-X-PART-INF:PART-TARGET=0.5
#EXT-X-MEDIA-SEQUENCE:3
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.000,
seg3.m4s
#EXT-X-PART:DURATION=0.5,URI="seg4.0.m4s",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg4.1.m4s"
`;

describe('playlistFacts', () => {
  it('reads a classic playlist: no LL facts, PDT on every segment', () => {
    expect(playlistFacts(classic)).toEqual({ targetDuration: 2, playlistSegments: 2, programDateTime: true });
  });

  it('reads an LL-HLS playlist: part target and hold-backs from the playlist', () => {
    expect(playlistFacts(ll)).toMatchObject({
      partTargetSeconds: 0.5,
      partHoldBackSeconds: 1.5,
      holdBackSeconds: 6,
      canBlockReload: true,
      programDateTime: false,
    });
  });

  it('gives nothing for a master playlist', () => {
    expect(playlistFacts('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nv.m3u8\n')).toBeUndefined();
  });
});

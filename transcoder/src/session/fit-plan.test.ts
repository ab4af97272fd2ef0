import { describe, expect, it } from 'vitest';
import type { LadderPlan, PlannedVideo } from '../ladder/plan-ladder.ts';
import { peakBandwidth } from '../ladder/bandwidth.ts';
import { fitPlan, profileAndLevel } from './fit-plan.ts';

const rung = (name: string, width: number, height: number, mode: 'copy' | 'encode', fps = 30): PlannedVideo => ({
  name,
  mode,
  width,
  height,
  fps,
  gop: mode === 'copy' ? 0 : fps * 2,
  videoBitrateKbps: 800,
  maxrateKbps: mode === 'copy' ? 1000 : 856,
  bufsizeKbps: mode === 'copy' ? 0 : 1200,
  profile: mode === 'copy' ? null : 'main',
  level: mode === 'copy' ? null : '3.0',
  codecString: mode === 'copy' ? 'avc1.64001f' : 'avc1.4d401e',
  peakBandwidth: 1_100_000,
  averageBandwidth: 900_000,
  audio: 'audio',
});
const plan = (videos: PlannedVideo[], audio: 'copy' | 'encode' | null = 'copy'): LadderPlan => ({
  videos: videos.map((v) => ({ ...v, audio: audio && 'audio' })),
  audioRenditions: audio ? [{ name: 'audio', mode: audio, bitrateKbps: 128, codecString: 'mp4a.40.2' }] : [],
  segmentSeconds: 2,
  playlistLength: 6,
  passthrough: videos.some((v) => v.mode === 'copy'),
  settings: 'fp1',
});

// A 640x360 source passed through, then the encoder switched to 1280x720.
const first = plan([rung('source', 640, 360, 'copy'), rung('240p', 426, 240, 'encode')]);
const bigger = plan([
  rung('source', 1280, 720, 'copy'),
  rung('360p', 640, 360, 'encode'),
  rung('240p', 426, 240, 'encode'),
]);
const hd = { width: 1280, height: 720 };
const sd = { width: 640, height: 360 };

describe('a returning source scaled into the session ladder', () => {
  it('keeps the variant set and sizes, and encodes the copied rung to what the master announces', () => {
    const fitted = fitPlan(first, bigger, hd)!;
    expect(fitted.videos.map((v) => [v.name, v.mode, v.width, v.height, v.fps, v.picture])).toEqual([
      ['source', 'encode', 640, 360, 30, undefined],
      ['240p', 'encode', 426, 240, 30, undefined], // 16:9 into 16:9 (rounded): scaled, not padded
    ]);
    const top = fitted.videos[0]!;
    expect({ profile: top.profile, level: top.level, gop: top.gop, codec: top.codecString }).toEqual({
      profile: 'high', // avc1.64001f: the master's CODECS stays true
      level: '3.1',
      gop: 60,
      codec: 'avc1.64001f',
    });
    // BANDWIDTH not understated: x264's VBV bound (maxrate + bufsize / segment) with audio and TS inside it.
    const vbvKbps = top.maxrateKbps + top.bufsizeKbps / fitted.segmentSeconds;
    expect(peakBandwidth({ audioKbps: 128, segmentSeconds: 2, maxrateKbps: vbvKbps })).toBeLessThanOrEqual(
      top.peakBandwidth,
    );
    expect(top.videoBitrateKbps).toBeLessThanOrEqual(top.maxrateKbps);
    expect(fitted.audioRenditions[0]?.mode).toBe('copy');
    expect(fitted.passthrough).toBe(false);
    expect(fitted.passthroughRefused).toBe(
      "source 1280x720 at 30 fps differs from the session's passed-through 640x360 at 30 fps",
    );
  });

  it('keeps the copy where the new source is copied at the same size and rate', () => {
    const same = plan([rung('source', 640, 360, 'copy'), rung('240p', 426, 240, 'encode')]);
    expect(fitPlan(first, same, sd)!.videos.map((v) => v.mode)).toEqual(['copy', 'encode']);
    expect(fitPlan(first, same, sd)!.passthroughRefused).toBeUndefined();
    const fasterSource = plan([rung('source', 640, 360, 'copy', 60)]);
    expect(fitPlan(first, fasterSource, sd)!.videos[0]).toMatchObject({ mode: 'encode', fps: 30 });
  });

  it('says why the top rung is encoded: the new source refused, or a session that began encoded', () => {
    const refused = { ...plan([rung('360p', 640, 360, 'encode')], 'encode'), passthroughRefused: 'profile High 10' };
    expect(fitPlan(first, refused, sd)!.passthroughRefused).toBe('profile High 10');
    const encodedSession = { ...plan([rung('360p', 640, 360, 'encode')]), passthroughRefused: 'video codec hevc' };
    expect(fitPlan(encodedSession, first, sd)!.passthroughRefused).toBe('video codec hevc');
    const off = plan([rung('360p', 640, 360, 'encode')], 'encode');
    expect(fitPlan(off, plan([rung('360p', 640, 360, 'encode')], 'encode'), sd)!.passthroughRefused).toBeUndefined();
  });

  it('encodes the audio when the new source is not copied', () => {
    const fitted = fitPlan(first, plan([rung('360p', 640, 360, 'encode')], 'encode'), sd)!;
    expect(fitted.audioRenditions.map((a) => [a.name, a.mode])).toEqual([['audio', 'encode']]);
  });

  it.each<[string, { width: number; height: number }, Array<[number, number]>]>([
    [
      '4:3 (a webcam)',
      { width: 640, height: 480 },
      [
        [480, 360],
        [320, 240],
      ],
    ],
    [
      '4:3 above the frame',
      { width: 1440, height: 1080 },
      [
        [480, 360],
        [320, 240],
      ],
    ],
    [
      'portrait (a phone)',
      { width: 720, height: 1280 },
      [
        [202, 360],
        [136, 240],
      ],
    ],
    [
      '21:9 (wider than the frame)',
      { width: 2560, height: 1080 },
      [
        [640, 270],
        [426, 180],
      ],
    ],
  ])('fits a %s picture inside the 16:9 frames, padded, never stretched', (_, source, pictures) => {
    const fitted = fitPlan(first, plan([rung('360p', 640, 360, 'encode')], 'copy'), source)!;
    expect(fitted.videos.map((v) => [v.width, v.height])).toEqual([
      [640, 360],
      [426, 240],
    ]);
    expect(fitted.videos.map((v) => [v.picture?.width, v.picture?.height])).toEqual(pictures);
    for (const v of fitted.videos) {
      const p = v.picture!;
      expect(Math.abs(p.width / p.height / (source.width / source.height) - 1)).toBeLessThan(0.02); // shape kept
      expect(p.width <= v.width && p.height <= v.height).toBe(true);
      expect(p.width === v.width || p.height === v.height).toBe(true); // fills one side
      expect([p.width % 2, p.height % 2]).toEqual([0, 0]);
    }
  });

  it('refuses what would change the variant set or the configuration', () => {
    expect(fitPlan(first, plan(bigger.videos, null), hd)).toBeUndefined(); // audio lost
    expect(fitPlan(plan(first.videos, null), bigger, hd)).toBeUndefined(); // audio gained
    expect(fitPlan(first, plan([]), hd)).toBeUndefined(); // video lost
    expect(fitPlan(first, { ...bigger, settings: 'fp2' }, hd)).toBeUndefined(); // the spec changed
  });

  it('reads the profile and level of an RFC 6381 string', () => {
    expect(profileAndLevel('avc1.4d401e')).toEqual({ profile: 'main', level: '3.0' });
    expect(profileAndLevel('avc1.640028')).toEqual({ profile: 'high', level: '4.0' });
    expect(profileAndLevel(null)).toEqual({ profile: 'high', level: '4.1' });
  });
});

import { describe, expect, it } from 'vitest';
import type { LadderPlan, PlannedVideo } from '../ladder/plan-ladder.ts';
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
});
const plan = (videos: PlannedVideo[], audio: 'copy' | 'encode' | null = 'copy'): LadderPlan => ({
  videos,
  audio: audio && { mode: audio, bitrateKbps: 128, codecString: 'mp4a.40.2' },
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

describe('a returning source scaled into the session ladder', () => {
  it('keeps the variant set and sizes, and encodes the copied rung to what the master announces', () => {
    const fitted = fitPlan(first, bigger)!;
    expect(fitted.videos.map((v) => [v.name, v.mode, v.width, v.height, v.fps])).toEqual([
      ['source', 'encode', 640, 360, 30],
      ['240p', 'encode', 426, 240, 30],
    ]);
    const top = fitted.videos[0]!;
    expect({ profile: top.profile, level: top.level, gop: top.gop, codec: top.codecString }).toEqual({
      profile: 'high', // avc1.64001f: the master's CODECS stays true
      level: '3.1',
      gop: 60,
      codec: 'avc1.64001f',
    });
    expect(top.maxrateKbps * 1000).toBeLessThanOrEqual(top.peakBandwidth); // BANDWIDTH not understated
    expect(fitted.audio?.mode).toBe('copy');
    expect(fitted.passthrough).toBe(false);
  });

  it('keeps the copy where the new source is copied at the same size and rate', () => {
    const same = plan([rung('source', 640, 360, 'copy'), rung('240p', 426, 240, 'encode')]);
    expect(fitPlan(first, same)!.videos.map((v) => v.mode)).toEqual(['copy', 'encode']);
    const fasterSource = plan([rung('source', 640, 360, 'copy', 60)]);
    expect(fitPlan(first, fasterSource)!.videos[0]).toMatchObject({ mode: 'encode', fps: 30 });
  });

  it('encodes the audio when the new source is not copied', () => {
    expect(fitPlan(first, plan([rung('360p', 640, 360, 'encode')], 'encode'))!.audio?.mode).toBe('encode');
  });

  it('refuses what would change the variant set or the configuration', () => {
    expect(fitPlan(first, plan(bigger.videos, null))).toBeUndefined(); // audio lost
    expect(fitPlan(plan(first.videos, null), bigger)).toBeUndefined(); // audio gained
    expect(fitPlan(first, plan([]))).toBeUndefined(); // video lost
    expect(fitPlan(first, { ...bigger, settings: 'fp2' })).toBeUndefined(); // the spec changed
  });

  it('reads the profile and level of an RFC 6381 string', () => {
    expect(profileAndLevel('avc1.4d401e')).toEqual({ profile: 'main', level: '3.0' });
    expect(profileAndLevel('avc1.640028')).toEqual({ profile: 'high', level: '4.0' });
    expect(profileAndLevel(null)).toEqual({ profile: 'high', level: '4.1' });
  });
});

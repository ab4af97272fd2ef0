import { describe, expect, it } from 'vitest';
import { fmp4OutputArgs, fragmentDurationMicros } from './fmp4-output-args.ts';

// ffmpeg's mp4 muxer cuts once a sample's dts is frag_duration past the fragment's first: ceil(F / sample) samples.
const partSeconds = (partTarget: number, sample: number): number =>
  Math.ceil(fragmentDurationMicros(partTarget, sample) / 1e6 / sample) * sample;

describe('fragmentDurationMicros', () => {
  it.each([
    [1 / 30, 15],
    [1 / 25, 12],
    [1 / 24, 12],
    [1 / 60, 30],
    [1001 / 30000, 14],
    [1024 / 48000, 23],
    [1024 / 44100, 21],
  ])('a sample of %f s: %i samples a part, within [0.85, 1] x PART-TARGET', (sample, samples) => {
    expect(partSeconds(0.5, sample)).toBeCloseTo(samples * sample, 9);
    expect(partSeconds(0.5, sample)).toBeLessThanOrEqual(0.5 + 1e-9);
    expect(partSeconds(0.5, sample)).toBeGreaterThanOrEqual(0.85 * 0.5);
  });

  it('refuses a sample longer than the part', () => {
    expect(() => fragmentDurationMicros(0.2, 0.25)).toThrow(/does not fit/);
  });
});

it('writes fragmented CMAF to the given output', () => {
  const args = fmp4OutputArgs({ partTarget: 0.5, sampleSeconds: 1 / 30, output: 'pipe:3' });
  expect(args).toEqual([
    '-f', 'mp4',
    '-movflags', 'empty_moov+delay_moov+default_base_moof+cmaf+frag_keyframe+skip_sidx+skip_trailer',
    '-frag_duration', '483333',
    '-flush_packets', '1',
    'pipe:3',
  ]); // prettier-ignore
});

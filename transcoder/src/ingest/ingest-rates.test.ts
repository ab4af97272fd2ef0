import { describe, expect, it } from 'vitest';
import { addSample, ingestRates, ingestSampleWindow, type IngestSample } from './ingest-rates.ts';

describe('ingestRates', () => {
  it('is 0 until two samples lie apart in time', () => {
    expect(ingestRates([])).toEqual({ bitrateKbps: 0, fps: 0 });
    expect(ingestRates([{ t: 1_000, bytes: 500, frames: 10 }])).toEqual({ bitrateKbps: 0, fps: 0 });
  });

  it('measures between the first and the last sample of the window', () => {
    const samples = [
      { t: 0, bytes: 0, frames: 0 },
      { t: 1_000, bytes: 999_999, frames: 1 }, // the middle does not count
      { t: 2_000, bytes: 500_000, frames: 59 },
    ];
    expect(ingestRates(samples)).toEqual({ bitrateKbps: 2_000, fps: 29.5 });
  });
});

describe('addSample', () => {
  it('keeps the last ingestSampleWindow samples, without changing the window it is given', () => {
    let window: IngestSample[] = [];
    for (let i = 0; i < ingestSampleWindow + 3; i++) {
      const before = window;
      window = addSample(window, { t: i * 1_000, bytes: i, frames: i });
      expect(before).toHaveLength(Math.min(i, ingestSampleWindow));
    }
    expect(window.map((s) => s.t)).toEqual([3, 4, 5, 6, 7, 8].map((i) => i * 1_000));
  });
});

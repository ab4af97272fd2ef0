// The publisher's bitrate and frame rate, measured over a sliding window of once-a-second samples of its byte and
// frame counters (what arrives, not what the encoder announces).

export interface IngestSample {
  t: number; // ms
  bytes: number; // bytes received from the publisher so far
  frames: number; // video frames received so far
}

/** Samples kept: 6 one-second samples measure over the last 5 s. */
export const ingestSampleWindow = 6;

/** The window with `sample` added, the oldest dropped beyond `ingestSampleWindow`. */
export function addSample(samples: readonly IngestSample[], sample: IngestSample): IngestSample[] {
  return [...samples, sample].slice(-ingestSampleWindow);
}

/** kbit/s and frames/s between the first and the last sample (0 until two samples lie apart in time). */
export function ingestRates(samples: readonly IngestSample[]): { bitrateKbps: number; fps: number } {
  const first = samples[0];
  const last = samples.at(-1);
  if (first === undefined || last === undefined || last.t <= first.t) return { bitrateKbps: 0, fps: 0 };
  const seconds = (last.t - first.t) / 1000;
  return {
    bitrateKbps: Math.round(((last.bytes - first.bytes) * 8) / 1000 / seconds),
    fps: Math.round(((last.frames - first.frames) / seconds) * 100) / 100,
  };
}

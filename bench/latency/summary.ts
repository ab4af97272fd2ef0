// One output's figures from the frames a player showed (pure): each frame's clock decoded and set against the moment it
// was on screen; frames that do not decode (between two codes, or smeared) are counted, not guessed.
import { percentile } from '../origin/viewer-sim.ts';
import type { PageSample } from './bench-page.ts';
import { decodeClock, latencyMs } from './clock-code.ts';

export interface OutputFigures {
  p50Ms: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
  frames: number; // decoded frames measured
  undecoded: number;
  spanSeconds: number; // from the first measured frame to the last
  pdtP50Ms?: number; // the same frames' latency by hls.js's playingDate (EXT-X-PROGRAM-DATE-TIME), when present
  heights?: number[]; // rungs seen on screen
  hlsLatencyP50Ms?: number; // hls.js's own latency estimate (distance from its live edge), median
  bufferP5Ms?: number; // media buffered ahead of the playhead, 5th percentile: how close to a stall it ran
}

const byValue = (a: number, b: number): number => a - b;

export function summarizeOutput(samples: readonly PageSample[]): OutputFigures {
  const latencies: number[] = [];
  const pdt: number[] = [];
  const own: number[] = [];
  const buffer: number[] = [];
  const heights = new Set<number>();
  let undecoded = 0;
  for (const s of samples) {
    const code = decodeClock(s.top, s.bottom);
    const age = code === undefined ? undefined : latencyMs(code, s.at);
    if (age === undefined) {
      undecoded++;
      continue;
    }
    latencies.push(age);
    if (s.pdtMs !== undefined) pdt.push(s.at - s.pdtMs);
    if (s.hlsLatencyMs !== undefined) own.push(s.hlsLatencyMs);
    if (s.bufferMs !== undefined) buffer.push(s.bufferMs);
    if (s.height > 0) heights.add(s.height);
  }
  const sorted = latencies.toSorted((a, b) => a - b);
  const ats = samples.map((s) => s.at);
  const figures: OutputFigures = {
    p50Ms: Math.round(percentile(sorted, 50)),
    p95Ms: Math.round(percentile(sorted, 95)),
    minMs: Math.round(sorted[0] ?? NaN),
    maxMs: Math.round(sorted.at(-1) ?? NaN),
    frames: sorted.length,
    undecoded,
    spanSeconds: ats.length > 1 ? Math.round((Math.max(...ats) - Math.min(...ats)) / 100) / 10 : 0,
  };
  const median = (xs: number[], p = 50) => Math.round(percentile(xs.toSorted(byValue), p));
  if (pdt.length > 0) figures.pdtP50Ms = median(pdt);
  if (own.length > 0) figures.hlsLatencyP50Ms = median(own);
  if (buffer.length > 0) figures.bufferP5Ms = median(buffer, 5);
  if (heights.size > 0) figures.heights = [...heights].toSorted((a, b) => a - b);
  return figures;
}

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { PageSample } from './bench-page.ts';
import { clockBits, clockSourceGraph, decodeClock, encodeClock, latencyMs } from './clock-code.ts';
import { flvReaderArgs } from './flv-reader.ts';
import { summarizeOutput } from './summary.ts';

/** The blocks a clean frame stamped at `atMs` shows (255 for a set bit on the top row, its complement below). */
function blocksOf(atMs: number): { top: number[]; bottom: number[] } {
  const code = encodeClock(atMs);
  const top = Array.from({ length: clockBits }, (_, i) => (Math.floor(code / 2 ** i) % 2 === 1 ? 255 : 0));
  return { top, bottom: top.map((v) => 255 - v) };
}

describe('the clock code', () => {
  it('decodes what a frame carries, and the latency across the wrap', () => {
    const at = Date.UTC(2026, 11, 2, 8, 0, 0, 123);
    const { top, bottom } = blocksOf(at);
    expect(decodeClock(top, bottom)).toBe(encodeClock(at));
    expect(latencyMs(encodeClock(at), at + 5_432)).toBe(5_432);
    const beforeWrap = 2 ** clockBits - 10; // captured just before the code wraps to 0, seen after it
    expect(latencyMs(beforeWrap, 2 ** clockBits * 7 + 30)).toBe(40);
    expect(latencyMs(encodeClock(at), at - 1)).toBeUndefined(); // from the future: a reading error
  });

  it('refuses frames whose rows disagree or whose blocks are grey', () => {
    const { top, bottom } = blocksOf(1_000_000);
    expect(decodeClock(top, top)).toBeUndefined();
    expect(decodeClock(top.with(3, 128), bottom)).toBeUndefined();
    expect(decodeClock(top.slice(1), bottom)).toBeUndefined();
    // Encoder noise within the margin still decodes.
    expect(
      decodeClock(
        top.map((v) => (v ? v - 40 : v + 40)),
        bottom,
      ),
    ).toBe(encodeClock(1_000_000));
  });

  it('sums an output: percentiles over decoded frames, undecoded frames counted, PDT beside', () => {
    const base = 1_800_000_000_000;
    const samples: PageSample[] = [1000, 2000, 3000, 4000].map((latency, i) => ({
      at: base + i * 1000,
      ...blocksOf(base + i * 1000 - latency),
      pdtMs: base + i * 1000 - latency + 500,
      hlsLatencyMs: latency - 1000,
      bufferMs: 2000 + i * 100,
      height: 180,
    }));
    samples.push({ at: base + 5000, top: samples[0]!.top, bottom: samples[0]!.top, height: 180 });
    expect(summarizeOutput(samples)).toEqual({
      p50Ms: 2000,
      p95Ms: 4000,
      minMs: 1000,
      maxMs: 4000,
      frames: 4,
      undecoded: 1,
      spanSeconds: 5,
      pdtP50Ms: 1500,
      heights: [180],
      hlsLatencyP50Ms: 1000,
      bufferP5Ms: 2000,
    });
  });

  // ffmpeg's own filters write the code and read it back (the FLV reader's crop and shrink): the two ends agree.
  it.skipIf(spawnSync('ffmpeg', ['-version']).status !== 0)('round-trips through ffmpeg', () => {
    const before = Date.now();
    const reader = flvReaderArgs('-');
    const vf = reader[reader.indexOf('-vf') + 1]!;
    const out = spawnSync(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', clockSourceGraph(30), '-frames:v', '3'].concat([
        '-vf',
        vf,
        '-f',
        'rawvideo',
        '-pix_fmt',
        'gray',
        'pipe:1',
      ]),
      { maxBuffer: 1 << 20 },
    );
    const after = Date.now();
    expect(out.status, out.stderr.toString()).toBe(0);
    expect(out.stdout.length).toBe(3 * 2 * clockBits);
    const frame = out.stdout.subarray(2 * 2 * clockBits);
    const code = decodeClock([...frame.subarray(0, clockBits)], [...frame.subarray(clockBits)]);
    expect(code).toBeDefined();
    const age = latencyMs(code!, after);
    expect(age).toBeLessThanOrEqual(after - before);
  });
});

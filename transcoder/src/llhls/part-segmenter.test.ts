import { describe, expect, it } from 'vitest';
import { feedParts, llOptions } from '../../../test/support/llhls-timeline.ts';
import {
  appendPart,
  closeOpenSegment,
  emptyTimeline,
  lastPart,
  nextPartPosition,
  restartTimeline,
  type Timeline,
} from './part-segmenter.ts';

const options = llOptions;
const feed = (count: number, duration = 0.5, gop = 4, timeline = emptyTimeline('init.mp4'), from = 0): Timeline =>
  feedParts(count, { duration, gop, timeline, from });

describe('appendPart', () => {
  it('makes every fragment a part and starts a segment at the keyframe on each 2 s grid line', () => {
    const tl = feed(10); // 5 s: segments 0 and 1 complete, segment 2 open with 2 parts
    expect(tl.segments.map((s) => [s.msn, s.uri, s.duration, s.parts.length])).toEqual([
      [0, 's1_00000.m4s', 2, 4],
      [1, 's1_00001.m4s', 2, 4],
    ]);
    expect(tl.open?.parts.map((p) => [p.msn, p.index, p.uri, p.independent])).toEqual([
      [2, 0, 's1_00002.0.m4s', true],
      [2, 1, 's1_00002.1.m4s', false],
    ]);
    expect(lastPart(tl)).toEqual({ msn: 2, part: 1 });
    // The wall clock of a segment's first sample: the first part arrived at 1,000,500 ms, 0.5 s after its start.
    expect(tl.segments.map((s) => s.programDateTime)).toEqual([1_000_000, 1_002_000]);
  });

  it('does not cut without a keyframe: a longer GOP makes longer segments', () => {
    const tl = feed(13, 0.5, 8); // keyframes every 4 s
    expect(tl.segments.map((s) => s.duration)).toEqual([4]);
  });

  it('keeps audio parts that do not divide the target on the grid (within half a part)', () => {
    const aac = (23 * 1024) / 48_000; // 0.490667 s
    let tl = emptyTimeline('a.mp4');
    const all = [];
    for (let i = 0; i < 60; i++) {
      const r = appendPart(tl, options, { startTime: i * aac, duration: aac, independent: true, byteLength: 1 }, 0);
      tl = r.timeline;
      if (r.completed) all.push(r.completed);
    }
    expect(all.length).toBeGreaterThan(12);
    for (const s of all) expect(Math.abs(s.startTime - Math.round(s.startTime / 2) * 2)).toBeLessThanOrEqual(0.25);
    expect(all.every((s) => s.parts.every((p) => p.independent))).toBe(true);
    expect(new Set(all.map((s) => s.parts.length))).toEqual(new Set([4, 5]));
  });

  it('slides a window of windowSegments and reports what left it', () => {
    let tl = feed(20); // segments 0..3 complete, 4 open
    expect(tl.segments.map((s) => s.msn)).toEqual([0, 1, 2, 3]);
    const r = appendPart(tl, options, { startTime: 10, duration: 0.5, independent: true, byteLength: 1 }, 0);
    tl = r.timeline;
    expect(r.completed?.msn).toBe(4);
    expect(r.evicted.map((s) => s.msn)).toEqual([0]);
    expect(tl.segments.map((s) => s.msn)).toEqual([1, 2, 3, 4]);
    expect(tl.open?.msn).toBe(5);
  });

  it('refuses a part longer than PART-TARGET', () => {
    const input = { startTime: 0, duration: 0.52, independent: true, byteLength: 1 };
    expect(() => appendPart(emptyTimeline('i.mp4'), options, input, 0)).toThrow(/exceeds PART-TARGET/);
  });
});

describe('nextPartPosition', () => {
  it('is the next index of the open segment, or part 0 of the next segment at a grid line', () => {
    expect(nextPartPosition(emptyTimeline('i.mp4', 7))).toEqual({ msn: 7, part: 0 });
    expect(nextPartPosition(feed(2))).toEqual({ msn: 0, part: 2 });
    // A copied rung waits for the keyframe; an encoded one (keyframes on the grid) closes the segment at the line.
    expect(nextPartPosition(feed(4))).toEqual({ msn: 0, part: 4 });
    expect(nextPartPosition(feedParts(4, { options: { ...options, keyframesOnGrid: true } }))).toEqual({
      msn: 1,
      part: 0,
    });
  });
});

describe('restartTimeline', () => {
  it('closes the open segment, marks the next as a discontinuity with its new init, and counts it out', () => {
    const restarted = restartTimeline(feed(6), options.windowSegments, 'init-2.mp4');
    expect(restarted.completed?.msn).toBe(1);
    let tl = feed(12, 0.5, 4, restarted.timeline, 0); // the new ffmpeg's timestamps start at 0 again
    expect(tl.segments.map((s) => [s.msn, s.discontinuity, s.mapUri])).toEqual([
      [0, false, 'init.mp4'],
      [1, false, 'init.mp4'],
      [2, true, 'init-2.mp4'],
      [3, false, 'init-2.mp4'],
    ]);
    tl = feed(12, 0.5, 4, tl, 6);
    expect(tl.segments[0]?.msn).toBe(3);
    expect(tl.discontinuitySequence).toBe(1);
    expect(closeOpenSegment(tl, 4).timeline.open).toBeUndefined();
  });
});

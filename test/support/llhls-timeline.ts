// LL-HLS timelines for unit tests: parts fed through the real segmenter, as ffmpeg's fragments would come.
import {
  appendPart,
  emptyTimeline,
  partNames,
  type SegmenterOptions,
  type Timeline,
} from '../../transcoder/src/llhls/part-segmenter.ts';

export const llOptions: SegmenterOptions = {
  targetDuration: 2,
  partTarget: 0.5,
  windowSegments: 4,
  names: partNames('s1'),
};

/** `count` parts of `duration` from media time `from`, a keyframe every `gop` parts, received as they end. */
export function feedParts(
  count: number,
  { duration = 0.5, gop = 4, from = 0, options = llOptions, timeline = emptyTimeline('init.mp4') } = {},
): Timeline {
  let tl = timeline;
  for (let i = 0; i < count; i++) {
    const startTime = from + i * duration;
    const input = { startTime, duration, independent: i % gop === 0, byteLength: 100 };
    tl = appendPart(tl, options, input, 1_000_000 + (startTime + duration) * 1000).timeline;
  }
  return tl;
}

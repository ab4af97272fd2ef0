// Whether the published source can be the top rung as it is: a browser must decode it (H.264 Constrained Baseline,
// Main or High, which are 4:2:0 8-bit; AAC audio), its keyframes must fall on the segment boundaries (HLS cuts a
// copied stream at keyframes only: a 10 s GOP makes 10 s segments), and it must fit what the ladder promises. The
// answer is the reason it cannot, for status, or null. Pure.
import type { Rendition } from '../../../contract/src/api/index.ts';
import { h264ProfileLabel, isBrowserSafeH264Profile, type SourceInfo } from './source-info.ts';

// How far a copied segment (cut at keyframes only) may stray from the target duration.
const segmentTolerance = 0.1;

export function passthroughRefusal(
  source: SourceInfo,
  top: Rendition,
  settings: { segmentSeconds: number },
): string | null {
  if (source.videoCodec !== 'h264') return `video codec ${source.videoCodec}`;
  if (!isBrowserSafeH264Profile(source.profile)) return `profile ${h264ProfileLabel(source.profile)}`;
  if (source.audioCodec !== null && source.audioCodec !== 'aac') return `audio codec ${source.audioCodec}`;
  if (source.width <= 0 || source.height <= 0) return 'size unknown';
  if (source.width > top.width || source.height > top.height) {
    return `${source.width}x${source.height} exceeds the top rung ${top.width}x${top.height}`;
  }
  if (source.fps > top.fps * 1.05) return `${source.fps} fps exceeds the top rung ${top.fps} fps`;
  if (source.videoBitrateKbps !== undefined && source.videoBitrateKbps > top.videoBitrateKbps * 2) {
    return `${source.videoBitrateKbps} kbps exceeds twice the top rung ${top.videoBitrateKbps} kbps`;
  }
  return keyframeRefusal(source, settings.segmentSeconds);
}

// Every segment must hold a whole number of GOPs, within the tolerance: n GOPs close to the segment duration.
function keyframeRefusal(source: SourceInfo, segment: number): string | null {
  const interval = source.keyframeIntervalSeconds;
  const over = source.keyframeIntervalOverSeconds;
  if (interval === undefined && over !== undefined) {
    return over >= segment * (1 + segmentTolerance)
      ? `keyframe interval over ${round(over)} s exceeds segment ${segment} s`
      : `keyframe interval not measured (over ${round(over)} s)`;
  }
  if (interval === undefined || !(interval > 0)) return 'keyframe interval not measured';
  const shown = `keyframe interval ${round(interval)} s`;
  if (interval > segment * (1 + segmentTolerance)) return `${shown} exceeds segment ${segment} s`;
  const gops = Math.max(1, Math.round(segment / interval));
  if (Math.abs(gops * interval - segment) > segment * segmentTolerance) {
    return `${shown} does not divide segment ${segment} s`;
  }
  return null;
}

const round = (n: number): number => Math.round(n * 100) / 100;

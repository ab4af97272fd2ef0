// A publisher back inside the reconnect window with a different source (the streamer changed the encoder's
// resolution): the session keeps its ladder, and the new source is scaled into it. Players keep the variants, URLs
// and numbering they know (the master is never rewritten); only the pictures inside the renditions change, after
// an #EXT-X-DISCONTINUITY. A picture of another shape (4:3 or portrait into a 16:9 ladder) is scaled to fit inside
// each rung's frame and padded, never stretched. Pure.
import { fitInside, type LadderPlan, type PlannedVideo } from '../ladder/plan-ladder.ts';
import { videoPeakKbps } from '../ladder/bandwidth.ts';
import type { SourceInfo } from '../ladder/source-info.ts';

// Below this difference of aspect ratio the picture is scaled to the frame: rounding to even sizes, not a new shape.
const aspectTolerance = 0.01;

/**
 * The session's plan to run for the returning source, or undefined when the source cannot continue it (a new
 * session starts): the configuration changed, or the source gained or lost audio or video, which would change the
 * variant set. A passed-through rung stays a copy only where the new source is copied at the same size and rate;
 * otherwise it is encoded at the size, rate and codec the master announces.
 */
export function fitPlan(
  kept: LadderPlan,
  fresh: LadderPlan,
  source: Pick<SourceInfo, 'width' | 'height'>,
): LadderPlan | undefined {
  if (kept.settings !== fresh.settings || kept.segmentSeconds !== fresh.segmentSeconds) return undefined;
  if ((kept.audioRenditions.length === 0) !== (fresh.audioRenditions.length === 0)) return undefined;
  if ((kept.videos.length === 0) !== (fresh.videos.length === 0)) return undefined;
  const freshCopy = fresh.videos.find((v) => v.mode === 'copy');
  const videos = kept.videos.map((v) =>
    v.mode === 'encode' || sameCopy(v, freshCopy)
      ? withPicture(v, source)
      : withPicture(encodeInstead(v, kept), source),
  );
  const copiesAudio = fresh.audioRenditions.some((a) => a.mode === 'copy');
  const audioRenditions = kept.audioRenditions.map((a) => ({
    ...a,
    mode: a.mode === 'copy' && copiesAudio ? ('copy' as const) : ('encode' as const),
  }));
  const passthrough = videos.some((v) => v.mode === 'copy');
  const { passthroughRefused: _kept, ...rest } = kept;
  const refused = passthrough ? undefined : notPassedThrough(kept, fresh, freshCopy);
  return {
    ...rest,
    videos,
    audioRenditions,
    passthrough,
    ...(refused !== undefined && { passthroughRefused: refused }),
  };
}

const sameCopy = (v: PlannedVideo, copy: PlannedVideo | undefined): boolean =>
  copy !== undefined && copy.width === v.width && copy.height === v.height && copy.fps === v.fps;

// Why the top rung of the fitted plan is encoded: the new source's own refusal, or that it no longer matches the
// copied rung the master announces. Undefined when passthrough is off.
function notPassedThrough(kept: LadderPlan, fresh: LadderPlan, copy: PlannedVideo | undefined): string | undefined {
  if (fresh.passthroughRefused !== undefined) return fresh.passthroughRefused;
  if (copy === undefined) return undefined;
  const announced = kept.videos.find((v) => v.mode === 'copy');
  if (announced === undefined) return kept.passthroughRefused ?? 'the session started with the top rung encoded';
  const shown = (v: PlannedVideo): string => `${v.width}x${v.height} at ${v.fps} fps`;
  return `source ${shown(copy)} differs from the session's passed-through ${shown(announced)}`;
}

// An encoded rung shows the source's picture at the source's shape: scaled to fit the rung's frame (up or down) and
// padded where the shapes differ beyond rounding.
function withPicture(v: PlannedVideo, source: Pick<SourceInfo, 'width' | 'height'>): PlannedVideo {
  const { picture: _old, ...rest } = v;
  if (v.mode === 'copy' || source.width <= 0 || source.height <= 0) return rest;
  const aspect = source.width / source.height / (v.width / v.height);
  if (Math.abs(aspect - 1) < aspectTolerance) return rest;
  return { ...rest, picture: fitInside(source.width, source.height, v.width, v.height, Infinity) };
}

// The copied rung, encoded to what the master says of it: its size, rate, bitrate and RFC 6381 profile and level.
// The announced peak stays the budget (the master's BANDWIDTH must not be understated): x264's VBV bound, maxrate +
// bufsize / segment, is kept inside it.
function encodeInstead(v: PlannedVideo, plan: LadderPlan): PlannedVideo {
  const fps = v.fps > 0 ? v.fps : 30;
  const { profile, level } = profileAndLevel(v.codecString);
  const audioKbps = plan.audioRenditions.find((a) => a.name === v.audio)?.bitrateKbps ?? 0;
  const budget = videoPeakKbps(v.peakBandwidth, audioKbps);
  const maxrateKbps = Math.floor(Math.min(v.videoBitrateKbps * 1.07, budget * 0.8));
  return {
    ...v,
    mode: 'encode',
    fps,
    gop: Math.max(1, Math.round(fps * plan.segmentSeconds)),
    videoBitrateKbps: Math.min(v.videoBitrateKbps, maxrateKbps),
    maxrateKbps,
    bufsizeKbps: Math.floor((budget - maxrateKbps) * plan.segmentSeconds),
    profile,
    level,
  };
}

// avc1.PPCCLL: profile_idc 0x64 is High; anything else browser-safe is encoded as Main. Level idc 31 is "3.1".
export function profileAndLevel(codecString: string | null): { profile: 'main' | 'high'; level: string } {
  const match = /^avc1\.([0-9a-f]{2})[0-9a-f]{2}([0-9a-f]{2})$/i.exec(codecString ?? '');
  if (match === null) return { profile: 'high', level: '4.1' };
  const idc = parseInt(match[2]!, 16);
  return { profile: match[1]!.toLowerCase() === '64' ? 'high' : 'main', level: `${Math.floor(idc / 10)}.${idc % 10}` };
}

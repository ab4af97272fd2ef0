// A publisher back inside the reconnect window with a different source (the streamer changed the encoder's
// resolution): the session keeps its ladder, and the new source is scaled into it. Players keep the variants, URLs
// and numbering they know (the master is never rewritten); only the pictures inside the renditions change, after
// an #EXT-X-DISCONTINUITY. Pure.
import type { LadderPlan, PlannedVideo } from '../ladder/plan-ladder.ts';

/**
 * The session's plan to run for the returning source, or undefined when the source cannot continue it (a new
 * session starts): the configuration changed, or the source gained or lost audio or video, which would change the
 * variant set. A passed-through rung stays a copy only where the new source is copied at the same size and rate;
 * otherwise it is encoded at the size, rate and codec the master announces.
 */
export function fitPlan(kept: LadderPlan, fresh: LadderPlan): LadderPlan | undefined {
  if (kept.settings !== fresh.settings || kept.segmentSeconds !== fresh.segmentSeconds) return undefined;
  if ((kept.audio === null) !== (fresh.audio === null)) return undefined;
  if ((kept.videos.length === 0) !== (fresh.videos.length === 0)) return undefined;
  const freshCopy = fresh.videos.find((v) => v.mode === 'copy');
  const videos = kept.videos.map((v) => (v.mode === 'encode' || sameCopy(v, freshCopy) ? v : encodeInstead(v, kept)));
  const audio =
    kept.audio &&
    ({ ...kept.audio, mode: fresh.audio!.mode === 'copy' && kept.audio.mode === 'copy' ? 'copy' : 'encode' } as const);
  const passthrough = videos.some((v) => v.mode === 'copy');
  return { ...kept, videos, audio, passthrough };
}

const sameCopy = (v: PlannedVideo, copy: PlannedVideo | undefined): boolean =>
  copy !== undefined && copy.width === v.width && copy.height === v.height && copy.fps === v.fps;

// The copied rung, encoded to what the master says of it: its size, rate, bitrate and RFC 6381 profile and level.
function encodeInstead(v: PlannedVideo, plan: LadderPlan): PlannedVideo {
  const fps = v.fps > 0 ? v.fps : 30;
  const { profile, level } = profileAndLevel(v.codecString);
  return {
    ...v,
    mode: 'encode',
    fps,
    gop: Math.max(1, Math.round(fps * plan.segmentSeconds)),
    // The announced peak stays the budget: the master's BANDWIDTH must not be understated.
    maxrateKbps: Math.min(v.maxrateKbps, Math.round(v.videoBitrateKbps * 1.07)),
    bufsizeKbps: Math.round(v.videoBitrateKbps * 1.5),
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

// From the configured ladder and the probed source to the renditions actually produced. Each rung is a box for the
// long and the short side, so a portrait source gets a portrait ladder of the same quality steps; the source is
// scaled into each box keeping its aspect ratio (never upscaled); a source smaller than a rung still gets a rung at
// its own size; the source itself becomes the top rung only when a browser can play it as is and its keyframes
// land on the segment boundaries (the plan says why not otherwise). Audio follows each rung's audioBitrateKbps: one
// AAC rendition per distinct bitrate, each an audio group of the variants that use it (the copied source's video
// too); an audio-only source is one audio rendition at the highest bitrate. Pure.
import type { Rendition } from '../../../contract/src/api/index.ts';
import type { ResolvedConfig } from '../config/livestream-spec.ts';
import { peakBandwidth, averageBandwidth } from './bandwidth.ts';
import { passthroughRefusal } from './passthrough.ts';
import { noVideo, type SourceInfo } from './source-info.ts';

export interface PlannedVideo {
  name: string; // directory and URL segment: /hls/<name>/index.m3u8
  mode: 'copy' | 'encode';
  width: number;
  height: number;
  fps: number; // output frame rate (0 = unknown, copy of an unannounced source)
  gop: number; // frames per GOP = fps x segmentSeconds (encode only)
  videoBitrateKbps: number; // target (encode) or announced/estimated (copy)
  maxrateKbps: number;
  bufsizeKbps: number;
  profile: 'main' | 'high' | null; // null for copy
  level: string | null; // e.g. '3.1'; null for copy
  codecString: string | null; // RFC 6381, null when unknown
  peakBandwidth: number; // bits/s for the master playlist, audio and container included
  averageBandwidth: number;
  audio: string | null; // name of the audio rendition played with this variant (null: the source has no audio)
  // The picture inside the frame when it does not fill it (a returning source of another shape, letterboxed or
  // pillarboxed into the session's rung): scaled to this size and padded, centred, to width x height.
  picture?: { width: number; height: number };
}

export interface PlannedAudio {
  name: string; // directory, URL segment and audio group: `audio` (the top variant's), `audio_<kbps>k`
  mode: 'copy' | 'encode';
  // The rung's audioBitrateKbps (encode); for the copied source audio, the highest rung's: its budget in BANDWIDTH.
  bitrateKbps: number;
  codecString: string; // mp4a.40.2
}

export interface LadderPlan {
  videos: PlannedVideo[]; // top rung first; empty for an audio-only source
  audioRenditions: PlannedAudio[]; // the top variant's first; empty for a video-only source
  segmentSeconds: number;
  playlistLength: number;
  // LL-HLS (spec.hls.lowLatency): each rendition as fragmented MP4 on a pipe, packaged by transcoder/src/llhls.
  lowLatency?: { partSeconds: number };
  passthrough: boolean;
  /** Why passthrough was asked for and not done, e.g. "keyframe interval 10 s exceeds segment 2 s". */
  passthroughRefused?: string;
  /** The sessionSettingsFingerprint of the spec this plan was made from (reported so status can tell it is current). */
  settings?: string;
}

export type LadderSettings = Pick<ResolvedConfig, 'renditions' | 'passthrough' | 'segmentSeconds' | 'playlistLength'> &
  Partial<Pick<ResolvedConfig, 'lowLatency'>>;

export const sourceRenditionName = 'source';
export const audioRenditionName = 'audio';

/** Whether a rendition name is one the ladder gives an audio rendition (rung names are DNS labels: no `_`). */
export const isAudioRendition = (name: string): boolean =>
  name === audioRenditionName || name.startsWith(`${audioRenditionName}_`);

interface VideoRung {
  rung: Rendition;
  mode: 'copy' | 'encode';
}

export function planLadder(settings: LadderSettings, source: SourceInfo): LadderPlan {
  const rungs = settings.renditions;
  const top = rungs[0];
  if (top === undefined) throw new Error('the ladder has no renditions');
  const hasVideo = source.videoCodec !== noVideo;
  const refused = hasVideo && settings.passthrough ? passthroughRefusal(source, orient(top, source), settings) : null;
  const passthrough = hasVideo && settings.passthrough && refused === null;
  const ladder: VideoRung[] = [
    ...(passthrough ? [{ rung: top, mode: 'copy' as const }] : []),
    ...(hasVideo ? encodedRungs(rungs, source, passthrough).map((rung) => ({ rung, mode: 'encode' as const })) : []),
  ];
  const { renditions: audioRenditions, byVariant } = planAudio(source, rungs, ladder);
  const videos = ladder.map(({ rung, mode }, i) =>
    mode === 'copy'
      ? planCopiedSource(source, rung, byVariant[i], settings.segmentSeconds)
      : planEncodedRung(rung, source, settings.segmentSeconds, byVariant[i]),
  );
  return {
    videos,
    audioRenditions,
    segmentSeconds: settings.segmentSeconds,
    playlistLength: settings.playlistLength,
    ...(settings.lowLatency !== undefined && { lowLatency: settings.lowLatency }),
    passthrough,
    ...(refused !== null && { passthroughRefused: refused }),
  };
}

// One audio rendition per distinct audio bitrate of the variants, top first: AAC encoded at the rung's
// audioBitrateKbps. The top variant's is `audio`; the others are named after their bitrate.
function planAudio(
  source: SourceInfo,
  rungs: readonly Rendition[],
  ladder: readonly VideoRung[],
): { renditions: PlannedAudio[]; byVariant: Array<PlannedAudio | undefined> } {
  if (source.audioCodec === null) return { renditions: [], byVariant: [] };
  const highest = Math.max(...rungs.map((r) => r.audioBitrateKbps));
  const codecString = 'mp4a.40.2';
  if (ladder.length === 0) {
    return {
      renditions: [{ name: audioRenditionName, mode: 'encode', bitrateKbps: highest, codecString }],
      byVariant: [],
    };
  }
  const renditions: PlannedAudio[] = [];
  // The copied source's video plays with encoded audio too: its own AAC as a group of its own stalled hls.js on every
  // switch between it and the encoded rungs (the groups' timestamps differ by the encoder's priming), seen on the node.
  const byVariant = ladder.map(({ rung }) => {
    const bitrateKbps = rung.audioBitrateKbps;
    const found = renditions.find((a) => a.bitrateKbps === bitrateKbps);
    if (found !== undefined) return found;
    const name = renditions.length === 0 ? audioRenditionName : `${audioRenditionName}_${bitrateKbps}k`;
    const added: PlannedAudio = { name, mode: 'encode', bitrateKbps, codecString };
    renditions.push(added);
    return added;
  });
  return { renditions, byVariant };
}

// A rung's box turned to the source's orientation: its long side along the source's long side.
export function orient(r: Rendition, source: Pick<SourceInfo, 'width' | 'height'>): Rendition {
  const long = Math.max(r.width, r.height);
  const short = Math.min(r.width, r.height);
  const portrait = source.height > source.width;
  return { ...r, width: portrait ? short : long, height: portrait ? long : short };
}

// The rungs to encode, oriented, top first. A rung the source reaches on at least one side is scaled into; the rungs
// it reaches on neither side are replaced by one rung at the source's own size (unless the source is copied at that
// size), with the budget of the rung just above for its pixel count, never below the rung just below.
function encodedRungs(rungs: readonly Rendition[], source: SourceInfo, passthrough: boolean): Rendition[] {
  if (source.width <= 0 || source.height <= 0) return [...rungs];
  const boxes = rungs.map((r) => orient(r, source));
  const reaches = (r: Rendition): boolean => Math.min(r.width / source.width, r.height / source.height) <= 1;
  const filled = boxes.filter(reaches);
  const above = boxes.filter((r) => !reaches(r)).at(-1);
  const own = fitInside(source.width, source.height, source.width, source.height);
  const out: Rendition[] = [];
  const hasOwnSize = filled.some((r) => sameSize(fitInside(source.width, source.height, r.width, r.height), own));
  if (above !== undefined && !passthrough && !hasOwnSize) {
    const pixels = (own.width * own.height) / (above.width * above.height);
    const floor = filled[0]?.videoBitrateKbps ?? 0;
    out.push({ ...above, ...own, videoBitrateKbps: Math.max(floor, Math.round(above.videoBitrateKbps * pixels)) });
  }
  for (const r of filled) {
    const size = fitInside(source.width, source.height, r.width, r.height);
    if (passthrough && sameSize(size, own)) continue; // the copied source is this rung
    if (out.some((o) => sameSize(fitInside(source.width, source.height, o.width, o.height), size))) continue;
    out.push(r);
  }
  return out;
}

const sameSize = (a: { width: number; height: number }, b: { width: number; height: number }): boolean =>
  a.width === b.width && a.height === b.height;

function planCopiedSource(
  source: SourceInfo,
  top: Rendition,
  audio: PlannedAudio | undefined,
  segmentSeconds: number,
): PlannedVideo {
  const kbps =
    source.videoBitrateKbps !== undefined && source.videoBitrateKbps > 0
      ? source.videoBitrateKbps
      : top.videoBitrateKbps;
  const audioBps = audio === undefined ? 0 : peakBandwidth({ audioKbps: audio.bitrateKbps, segmentSeconds });
  return {
    name: sourceRenditionName,
    mode: 'copy',
    width: source.width,
    height: source.height,
    fps: source.fps,
    gop: 0,
    videoBitrateKbps: kbps,
    maxrateKbps: Math.round(kbps * 1.25),
    bufsizeKbps: 0,
    profile: null,
    level: null,
    codecString: source.codecString ?? null,
    // An encoder's announced rate is an average: leave headroom for the peak of a copied stream.
    peakBandwidth: Math.round(kbps * 1.25 * 1000 + audioBps),
    averageBandwidth: Math.round(kbps * 1000 + audioBps),
    audio: audio?.name ?? null,
  };
}

function planEncodedRung(
  r: Rendition,
  source: SourceInfo,
  segmentSeconds: number,
  audio: PlannedAudio | undefined,
): PlannedVideo {
  const { width, height } = fitInside(source.width, source.height, r.width, r.height);
  const fps = source.fps > 0 ? Math.min(r.fps, roundFps(source.fps)) : r.fps;
  const profile = Math.min(width, height) > 480 ? 'high' : 'main';
  const maxrateKbps = Math.round(r.videoBitrateKbps * 1.07);
  const bufsizeKbps = Math.round(r.videoBitrateKbps * 1.5);
  const level = h264Level(width, height, fps, maxrateKbps);
  const profileByte = profile === 'high' ? '6400' : '4d40';
  const audioKbps = audio?.bitrateKbps ?? 0;
  return {
    name: r.name,
    mode: 'encode',
    width,
    height,
    fps,
    gop: Math.max(1, Math.round(fps * segmentSeconds)),
    videoBitrateKbps: r.videoBitrateKbps,
    maxrateKbps,
    bufsizeKbps,
    profile,
    level: level.name,
    codecString: `avc1.${profileByte}${level.idc.toString(16).padStart(2, '0')}`,
    peakBandwidth: peakBandwidth({ maxrateKbps, bufsizeKbps, audioKbps, segmentSeconds }),
    averageBandwidth: averageBandwidth(r.videoBitrateKbps, audioKbps),
    audio: audio?.name ?? null,
  };
}

// Scale the source into the box keeping its aspect ratio, never up unless maxScale allows it, with even dimensions
// (4:2:0 chroma).
export function fitInside(
  srcW: number,
  srcH: number,
  boxW: number,
  boxH: number,
  maxScale = 1,
): { width: number; height: number } {
  if (srcW <= 0 || srcH <= 0) return { width: boxW, height: boxH };
  const scale = Math.min(boxW / srcW, boxH / srcH, maxScale);
  const even = (n: number, max: number): number =>
    Math.max(2, Math.min(2 * Math.round(n / 2), 2 * Math.floor(max / 2)));
  return {
    width: even(srcW * scale, Math.min(boxW, srcW * maxScale)),
    height: even(srcH * scale, Math.min(boxH, srcH * maxScale)),
  };
}

function roundFps(fps: number): number {
  return Math.round(fps * 100) / 100;
}

// H.264 Annex A table A-1 limits (MaxMBPS, MaxFS, MaxBR in kbit/s for Main; High allows 1.25x, ignored: safer).
const levels: Array<{ name: string; idc: number; mbps: number; fs: number; br: number }> = [
  { name: '3.0', idc: 30, mbps: 40_500, fs: 1_620, br: 10_000 },
  { name: '3.1', idc: 31, mbps: 108_000, fs: 3_600, br: 14_000 },
  { name: '3.2', idc: 32, mbps: 216_000, fs: 5_120, br: 20_000 },
  { name: '4.0', idc: 40, mbps: 245_760, fs: 8_192, br: 20_000 },
  { name: '4.1', idc: 41, mbps: 245_760, fs: 8_192, br: 50_000 },
  { name: '4.2', idc: 42, mbps: 522_240, fs: 8_704, br: 50_000 },
  { name: '5.0', idc: 50, mbps: 589_824, fs: 22_080, br: 135_000 },
  { name: '5.1', idc: 51, mbps: 983_040, fs: 36_864, br: 240_000 },
  { name: '5.2', idc: 52, mbps: 2_073_600, fs: 36_864, br: 240_000 },
];

export function h264Level(
  width: number,
  height: number,
  fps: number,
  maxrateKbps: number,
): { name: string; idc: number } {
  const frameMbs = Math.ceil(width / 16) * Math.ceil(height / 16);
  const found = levels.find((l) => frameMbs <= l.fs && frameMbs * fps <= l.mbps && maxrateKbps <= l.br);
  const level = found ?? levels[levels.length - 1]!;
  return { name: level.name, idc: level.idc };
}

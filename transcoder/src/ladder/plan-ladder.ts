// From the configured ladder and the probed source to the renditions actually produced: rungs larger than the
// source are dropped (never upscale), the source itself becomes the top rung when it can be passed through,
// each encoded rung gets the frame rate, GOP, H.264 profile and level it will be encoded with. Pure.
import type { Rendition } from '../../../contract/src/api/index.ts';
import type { ResolvedConfig } from '../config/livestream-spec.ts';
import { isBrowserSafeH264Profile, type SourceInfo } from './source-info.ts';

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
  peakBandwidth: number; // bits/s for the master playlist, audio included
  averageBandwidth: number;
}

export interface PlannedAudio {
  mode: 'copy' | 'encode';
  bitrateKbps: number;
  codecString: string; // mp4a.40.2
}

export interface LadderPlan {
  videos: PlannedVideo[]; // top rung first
  audio: PlannedAudio | null;
  segmentSeconds: number;
  playlistLength: number;
  passthrough: boolean;
  /** The sessionSettingsFingerprint of the spec this plan was made from (reported so status can tell it is current). */
  settings?: string;
}

export type LadderSettings = Pick<ResolvedConfig, 'renditions' | 'passthrough' | 'segmentSeconds' | 'playlistLength'>;

export const sourceRenditionName = 'source';
export const audioRenditionName = 'audio';

export function planLadder(settings: LadderSettings, source: SourceInfo): LadderPlan {
  const rungs = settings.renditions;
  const top = rungs[0];
  if (top === undefined) throw new Error('the ladder has no renditions');
  const known = source.width > 0 && source.height > 0;
  const passthrough = settings.passthrough && canPassThrough(source, top);
  const audioKbps = Math.max(...rungs.map((r) => r.audioBitrateKbps));
  const audio: PlannedAudio | null =
    source.audioCodec === null
      ? null
      : { mode: passthrough ? 'copy' : 'encode', bitrateKbps: audioKbps, codecString: 'mp4a.40.2' };
  const audioBps = (audio?.bitrateKbps ?? 0) * 1000;

  // A rung the source cannot fill is dropped. With passthrough the source takes the place of a same-size rung.
  const kept = rungs.filter((r) => {
    if (!known) return true;
    const fits = r.width <= source.width && r.height <= source.height;
    const sameSize = r.width >= source.width && r.height >= source.height;
    return fits && !(passthrough && sameSize);
  });
  if (kept.length === 0 && !passthrough) {
    // The source is smaller than every rung: one rung at the source size, with the smallest rung's budget.
    const smallest = rungs[rungs.length - 1] ?? top;
    kept.push({ ...smallest, width: source.width, height: source.height });
  }

  const videos: PlannedVideo[] = [];
  if (passthrough) {
    const kbps =
      source.videoBitrateKbps !== undefined && source.videoBitrateKbps > 0
        ? source.videoBitrateKbps
        : top.videoBitrateKbps;
    videos.push({
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
    });
  }
  for (const r of kept) videos.push(planEncodedRung(r, source, settings.segmentSeconds, audioBps));
  return {
    videos,
    audio,
    segmentSeconds: settings.segmentSeconds,
    playlistLength: settings.playlistLength,
    passthrough,
  };
}

function canPassThrough(source: SourceInfo, top: Rendition): boolean {
  if (source.videoCodec !== 'h264' || !isBrowserSafeH264Profile(source.profile)) return false;
  if (source.audioCodec !== null && source.audioCodec !== 'aac') return false;
  if (source.width <= 0 || source.height <= 0) return false;
  // "Fits": no larger, no faster and not much heavier than what the ladder promises its viewers.
  if (source.width > top.width || source.height > top.height) return false;
  if (source.fps > top.fps * 1.05) return false;
  if (source.videoBitrateKbps !== undefined && source.videoBitrateKbps > top.videoBitrateKbps * 2) return false;
  return true;
}

function planEncodedRung(r: Rendition, source: SourceInfo, segmentSeconds: number, audioBps: number): PlannedVideo {
  const { width, height } = fitInside(source.width, source.height, r.width, r.height);
  const fps = source.fps > 0 ? Math.min(r.fps, roundFps(source.fps)) : r.fps;
  const profile = height > 480 ? 'high' : 'main';
  const maxrateKbps = Math.round(r.videoBitrateKbps * 1.07);
  const level = h264Level(width, height, fps, maxrateKbps);
  const profileByte = profile === 'high' ? '6400' : '4d40';
  return {
    name: r.name,
    mode: 'encode',
    width,
    height,
    fps,
    gop: Math.max(1, Math.round(fps * segmentSeconds)),
    videoBitrateKbps: r.videoBitrateKbps,
    maxrateKbps,
    bufsizeKbps: Math.round(r.videoBitrateKbps * 1.5),
    profile,
    level: level.name,
    codecString: `avc1.${profileByte}${level.idc.toString(16).padStart(2, '0')}`,
    peakBandwidth: maxrateKbps * 1000 + audioBps,
    averageBandwidth: r.videoBitrateKbps * 1000 + audioBps,
  };
}

// Scale the source into the rung's box keeping its aspect ratio, with even dimensions (4:2:0 chroma).
export function fitInside(srcW: number, srcH: number, boxW: number, boxH: number): { width: number; height: number } {
  if (srcW <= 0 || srcH <= 0) return { width: boxW, height: boxH };
  const scale = Math.min(boxW / srcW, boxH / srcH, 1);
  const evenRound = (n: number): number => Math.max(2, 2 * Math.round(n / 2));
  return { width: evenRound(srcW * scale), height: evenRound(srcH * scale) };
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

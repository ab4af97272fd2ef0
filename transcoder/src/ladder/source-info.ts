// What the ladder needs to know about the published source. Filled from the RTMP stream itself (metadata and the
// codec sequence headers NMS keeps), so no ffprobe round trip delays the start of a broadcast.

/** The videoCodec of an audio-only publish (radio, podcasts). */
export const noVideo = 'none';

export interface SourceInfo {
  videoCodec: string; // 'h264', 'hevc', 'av1', 'vp9', 'unknown', or noVideo for an audio-only source
  audioCodec: string | null; // 'aac', 'mp3', ... or null when the source has no audio
  width: number; // 0 when unknown
  height: number;
  fps: number; // 0 when unknown
  profile: string | null; // H.264: 'baseline' | 'constrained-baseline' | 'main' | 'extended' | 'high' | 'high10' | ...
  codecString?: string; // RFC 6381 string of the source video, e.g. 'avc1.64001f'
  videoBitrateKbps?: number; // as announced by the encoder, if it did
  // Seconds between the first keyframes, measured on the live input; when the probe stopped waiting before the
  // second one, the interval is only known to be over keyframeIntervalOverSeconds. Not measured: no passthrough.
  keyframeIntervalSeconds?: number;
  keyframeIntervalOverSeconds?: number;
}

const flvVideoCodecs: Record<number, string> = { 7: 'h264', 12: 'hevc' };
const flvAudioCodecs: Record<number, string> = { 10: 'aac', 2: 'mp3', 11: 'speex', 1: 'adpcm', 3: 'pcm' };
// Enhanced RTMP FourCCs (as the uint32 NMS stores in codec_id).
const fourCcVideoCodecs: Record<number, string> = {
  0x61766331: 'h264', // avc1
  0x68766331: 'hevc', // hvc1
  0x61763031: 'av1', // av01
  0x76703039: 'vp9', // vp09
};

export function videoCodecName(id: number | string | undefined): string {
  if (typeof id === 'string') return { avc1: 'h264', hvc1: 'hevc', av01: 'av1', vp09: 'vp9' }[id] ?? 'unknown';
  if (id === undefined) return 'unknown';
  return flvVideoCodecs[id] ?? fourCcVideoCodecs[id] ?? 'unknown';
}

export function audioCodecName(id: number | string | undefined): string | null {
  if (id === undefined || id === 0 || id === '') return null;
  if (typeof id === 'string') return id === 'mp4a' ? 'aac' : id;
  return flvAudioCodecs[id] ?? 'unknown';
}

const h264Profiles: Record<number, string> = {
  66: 'baseline',
  77: 'main',
  88: 'extended',
  100: 'high',
  110: 'high10',
  122: 'high422',
  244: 'high444',
};

export interface AvcConfig {
  profile: string;
  codecString: string;
  sps: Buffer | null;
}

// AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1): version, profile, compatibility, level, then SPS list.
export function parseAvcDecoderConfig(record: Buffer): AvcConfig | null {
  if (record.length < 7 || record[0] !== 1) return null;
  const profileIdc = record[1] ?? 0;
  const compat = record[2] ?? 0;
  const level = record[3] ?? 0;
  let profile = h264Profiles[profileIdc] ?? `profile-${profileIdc}`;
  if (profileIdc === 66 && (compat & 0x40) !== 0) profile = 'constrained-baseline';
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  const spsCount = (record[5] ?? 0) & 0x1f;
  let sps: Buffer | null = null;
  if (spsCount > 0 && record.length >= 8) {
    const len = record.readUInt16BE(6);
    if (record.length >= 8 + len) sps = record.subarray(8, 8 + len);
  }
  return { profile, codecString: `avc1.${hex(profileIdc)}${hex(compat)}${hex(level)}`, sps };
}

// Profiles every browser's MSE and Safari decode: 8-bit 4:2:0, without Baseline's FMO/ASO (so Constrained Baseline).
export function isBrowserSafeH264Profile(profile: string | null): boolean {
  return profile === 'constrained-baseline' || profile === 'main' || profile === 'high';
}

const h264ProfileLabels: Record<string, string> = {
  baseline: 'Baseline',
  'constrained-baseline': 'Constrained Baseline',
  main: 'Main',
  extended: 'Extended',
  high: 'High',
  high10: 'High 10',
  high422: 'High 4:2:2',
  high444: 'High 4:4:4',
};

/** The profile as people name it, for a status message. */
export function h264ProfileLabel(profile: string | null): string {
  return profile === null ? 'unknown' : (h264ProfileLabels[profile] ?? profile);
}

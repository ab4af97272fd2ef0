// spec.recording of a LiveStream, resolved: which rendition to record and where to upload it. The CRD's schema has
// checked it (the API server in a cluster, contract/src/api/validate.ts for standalone YAML); the object keys are the
// recording layout of the contract.
import type { RecordingSpec } from '../../../contract/src/api/index.ts';
import { s3Settings, type S3Settings } from '../../../contract/src/recording-layout.ts';
import { ConfigError } from '../config/livestream-spec.ts';

export interface RecordingConfig {
  rendition?: string; // as the spec names it; absent => the top rung of the running ladder
  s3: S3Settings;
}

// undefined when recording is off (absent or enabled: false).
export function resolveRecording(recording: RecordingSpec | undefined): RecordingConfig | undefined {
  if (!recording?.enabled || recording.s3 === undefined) return undefined;
  return { ...(recording.rendition !== undefined && { rendition: recording.rendition }), s3: s3Settings(recording.s3) };
}

// The HLS renditions to record for a running ladder: the chosen video rung (the passthrough rung stands in for the
// top rung it replaced) and the audio rendition that variant plays with, which the ladder writes separately. An
// audio-only source records its one audio rendition, whatever rung the spec names: there is no video to choose.
export function recordedTracks(
  plan: {
    videos: ReadonlyArray<{ name: string; mode: string; audio: string | null }>;
    audioRenditions: ReadonlyArray<{ name: string }>;
  },
  rendition: string | undefined,
  topRung: string | undefined,
): string[] {
  const top = plan.videos[0];
  if (top === undefined) return plan.audioRenditions.slice(0, 1).map((a) => a.name);
  let video: string | undefined = top.name;
  if (rendition !== undefined && !plan.videos.some((v) => v.name === rendition)) {
    // Asked for the top rung, but the source is passed through in its place.
    video = rendition === topRung && top.mode === 'copy' ? top.name : undefined;
  } else if (rendition !== undefined) {
    video = rendition;
  }
  const chosen = plan.videos.find((v) => v.name === video);
  if (chosen === undefined) throw new ConfigError(`rendition ${rendition} is not part of the running ladder`);
  return chosen.audio !== null ? [chosen.name, chosen.audio] : [chosen.name];
}

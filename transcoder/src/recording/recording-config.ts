// spec.recording of a LiveStream, checked and resolved: which rendition to record and where to upload it.
// The CRD schema validates first; this guards the standalone YAML path and gives the finalize job the same rules.
import { ConfigError, type ResolvedConfig } from '../config/livestream-spec.ts';

export interface S3Settings {
  bucket: string;
  prefix: string; // without leading/trailing slashes; '' for the bucket root
  endpoint?: string; // S3-compatible servers (MinIO, Ceph, R2...); absent => AWS
  region: string;
  forcePathStyle: boolean;
}

export interface RecordingConfig {
  rendition?: string; // as the spec names it; absent => the top rung of the running ladder
  s3: S3Settings;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function normalizePrefix(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '').replace(/\/{2,}/g, '/');
}

export function parseS3Settings(value: unknown, where = 'spec.recording.s3'): S3Settings {
  if (!isRecord(value)) throw new ConfigError(`${where} is required when recording is enabled`);
  const { bucket, prefix, endpoint, region, forcePathStyle } = value;
  if (typeof bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(`${where}.bucket must be an S3 bucket name (got ${JSON.stringify(bucket)})`);
  }
  if (prefix !== undefined && typeof prefix !== 'string') throw new ConfigError(`${where}.prefix must be a string`);
  if (endpoint !== undefined) {
    if (typeof endpoint !== 'string' || !/^https?:\/\/[^/\s]+/.test(endpoint)) {
      throw new ConfigError(`${where}.endpoint must be an http(s) URL`);
    }
    if (/^https?:\/\/[^/]*@/.test(endpoint)) {
      throw new ConfigError(`${where}.endpoint must not carry credentials; use credentialsSecretRef`);
    }
  }
  if (region !== undefined && (typeof region !== 'string' || region === '')) {
    throw new ConfigError(`${where}.region must be a non-empty string`);
  }
  if (forcePathStyle !== undefined && typeof forcePathStyle !== 'boolean') {
    throw new ConfigError(`${where}.forcePathStyle must be a boolean`);
  }
  return {
    bucket,
    prefix: normalizePrefix(prefix ?? ''),
    ...(endpoint !== undefined && { endpoint }),
    region: region ?? 'us-east-1',
    // Custom endpoints are almost always S3-compatible servers that want path-style addressing.
    forcePathStyle: forcePathStyle ?? endpoint !== undefined,
  };
}

// undefined when recording is off (absent or enabled: false).
export function resolveRecording(recording: unknown, config: ResolvedConfig): RecordingConfig | undefined {
  if (recording === undefined || recording === null) return undefined;
  if (!isRecord(recording)) throw new ConfigError('spec.recording must be an object');
  if (recording.enabled !== true) return undefined;
  const names = config.renditions.map((r) => r.name);
  const { rendition } = recording;
  if (rendition !== undefined && (typeof rendition !== 'string' || !names.includes(rendition))) {
    throw new ConfigError(
      `spec.recording.rendition ${JSON.stringify(rendition)} is not a rendition of the ladder (${names.join(', ')})`,
    );
  }
  return { ...(rendition !== undefined && { rendition }), s3: parseS3Settings(recording.s3) };
}

// The HLS renditions to record for a running ladder: the chosen video rung (the passthrough rung stands in for the
// top rung it replaced) and the audio rendition, which the ladder writes separately.
export function recordedTracks(
  plan: { videos: ReadonlyArray<{ name: string; mode: string }>; audio: unknown },
  rendition: string | undefined,
  topRung: string | undefined,
  audioName: string,
): string[] {
  const top = plan.videos[0];
  if (top === undefined) return [];
  let video: string | undefined = top.name;
  if (rendition !== undefined && !plan.videos.some((v) => v.name === rendition)) {
    // Asked for the top rung, but the source is passed through in its place.
    video = rendition === topRung && top.mode === 'copy' ? top.name : undefined;
  } else if (rendition !== undefined) {
    video = rendition;
  }
  if (video === undefined) throw new ConfigError(`rendition ${rendition} is not part of the running ladder`);
  return plan.audio !== null && plan.audio !== undefined ? [video, audioName] : [video];
}

// Object keys: <prefix>/<namespace>/<name>/<session>/<file>.
export function sessionPrefix(s3: S3Settings, namespace: string, name: string, session: string): string {
  return [s3.prefix, namespace, name, session].filter((p) => p !== '').join('/') + '/';
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

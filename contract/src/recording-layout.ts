// Where a session's recording lives in S3: the transcoder writes there, the finalize Job reads and completes it, the
// operator reports its URIs in status. Object keys: <prefix>/<namespace>/<name>/<session>/<file>.
import type { S3Destination } from './api/index.ts';

/** spec.recording.s3 as the clients use it (no credentials: those are files, see the pod contract). */
export interface S3Settings {
  bucket: string;
  prefix: string; // without leading/trailing slashes; '' for the bucket root
  endpoint?: string; // S3-compatible servers (MinIO, Ceph, R2...); absent => AWS
  region: string;
  forcePathStyle: boolean;
}

export function normalizePrefix(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '').replace(/\/{2,}/g, '/');
}

/** The settings of a destination as the API server stores it (defaults applied). */
export function s3Settings(s3: S3Destination): S3Settings {
  return {
    bucket: s3.bucket,
    prefix: normalizePrefix(s3.prefix ?? ''),
    ...(s3.endpoint !== undefined && { endpoint: s3.endpoint }),
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
  };
}

/** `<prefix>/<namespace>/<name>/<session>/`: every object of one session's recording starts with it. */
export function sessionPrefix(s3: S3Settings, namespace: string, name: string, session: string): string {
  return [s3.prefix, namespace, name, session].filter((p) => p !== '').join('/') + '/';
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/**
 * `<session prefix>captured.json`: the recorder writes it once every segment it captured of the session is in S3 (also
 * after a restart, for what the previous process left). The finalize Job waits for it, so a VOD does not miss the
 * last segments, which are captured only as the session ends.
 */
export const captureReceiptFile = 'captured.json';

export interface CaptureReceipt {
  session: string;
  /** Segments this recorder process uploaded of the session (a restarted one counts only its own). */
  uploaded: number;
  completedAt: string;
}

// The newest finalized recording of each channel as a presigned HTTP(S) GET of its MP4, for the portal directory
// (contract/src/portal-directory.ts, `vod`). Browsers cannot fetch s3:// URIs, and the gateway must never hold S3
// credentials: the operator signs with the credentials Secret the spec names (read when a signature is due, used,
// dropped: never kept, logged or put anywhere but the signature), and the gateway proxies the URL from its own origin.
// A URL lives urlTtlMs and is signed again once less than half of that is left, so a replica always holds one that
// works for hours. The decisions are pure; RecordingVods runs them over the controller's cache.
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { LiveStream, RecordingStatus, S3CredentialsSecretRef } from '../../../contract/src/api/index.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import type { ChannelVod } from '../../../contract/src/portal-directory.ts';
import { s3Settings, type S3Settings } from '../../../contract/src/recording-layout.ts';
import { channelId } from '../../../contract/src/route-table.ts';
import { describeApiError, isNotFound } from '../k8s/client.ts';
import { secretValue } from './reconcile/secrets.ts';

/** How long a presigned URL works (SigV4 allows up to 7 days; a leaked one should not last that long). */
export const urlTtlMs = 6 * 60 * 60 * 1000;

/** After a missing Secret or a failed read, the next try (a Secret that appears is seen within this). */
const retryMs = 30_000;

/** What a presigned VOD is made from: nothing secret, so it can be compared and kept. */
export interface PresignInput {
  namespace: string;
  name: string;
  session: string;
  settings: S3Settings;
  bucket: string;
  key: string;
  secretRef: S3CredentialsSecretRef;
}

/** `s3://bucket/key` split; undefined for anything else. */
export function parseS3Uri(uri: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(uri);
  return match ? { bucket: match[1]!, key: match[2]! } : undefined;
}

/** The newest recording (status lists them newest first) that the finalize Job completed with an MP4. */
export function newestFinalized(recordings: readonly RecordingStatus[] | undefined): RecordingStatus | undefined {
  return recordings?.find((r) => r.state === 'Complete' && r.mp4Uri !== undefined && parseS3Uri(r.mp4Uri));
}

/**
 * What to presign for the channel, or undefined: no finalized MP4, or no S3 settings and credentials to sign with
 * (the spec's current ones: a recording is signed with the destination and Secret the spec names now).
 */
export function presignInput(ls: LiveStream): PresignInput | undefined {
  const s3 = ls.spec.recording?.s3;
  const recording = newestFinalized(ls.status?.recordings);
  const object = recording?.mp4Uri !== undefined ? parseS3Uri(recording.mp4Uri) : undefined;
  if (!s3?.credentialsSecretRef || !recording || !object) return undefined;
  return {
    namespace: ls.metadata.namespace ?? '',
    name: ls.metadata.name ?? '',
    session: recording.session,
    settings: s3Settings(s3),
    ...object,
    secretRef: s3.credentialsSecretRef,
  };
}

const sameInput = (a: PresignInput, b: PresignInput): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Whether `held` (signed from `heldInput`) must be signed again at `nowMs`: another input, or half its life gone. */
export function presignDue(
  held: { input: PresignInput; vod: ChannelVod } | undefined,
  input: PresignInput,
  nowMs: number,
  ttlMs = urlTtlMs,
): boolean {
  if (!held || !sameInput(held.input, input)) return true;
  return Date.parse(held.vod.expiresAt) - nowMs < ttlMs / 2;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A presigned GET of the input's object (computed locally: no request is made). */
export async function presignVod(
  input: PresignInput,
  credentials: S3Credentials,
  nowMs: number,
  ttlMs = urlTtlMs,
): Promise<ChannelVod> {
  const { settings } = input;
  const client = new S3Client({
    region: settings.region,
    ...(settings.endpoint !== undefined && { endpoint: settings.endpoint }),
    forcePathStyle: settings.forcePathStyle,
    // Static credentials only: never the SDK's default chain (the operator's own environment or instance role).
    credentials: { ...credentials },
  });
  try {
    const expiresIn = Math.floor(ttlMs / 1000);
    const signingDate = new Date(nowMs);
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: input.bucket, Key: input.key }), {
      expiresIn,
      signingDate,
    });
    return {
      session: input.session,
      url,
      expiresAt: new Date(nowMs + expiresIn * 1000).toISOString(),
      contentType: 'video/mp4',
    };
  } finally {
    client.destroy();
  }
}

/** The access key pair from the named Secret; undefined when it or a key is missing. */
export async function readS3Credentials(
  core: Pick<CoreV1Api, 'readNamespacedSecret'>,
  namespace: string,
  ref: S3CredentialsSecretRef,
): Promise<S3Credentials | undefined> {
  let secret;
  try {
    secret = await core.readNamespacedSecret({ name: ref.name, namespace });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const accessKeyId = secretValue(secret, ref.accessKeyIdKey ?? 'accessKeyId')?.trim();
  const secretAccessKey = secretValue(secret, ref.secretAccessKeyKey ?? 'secretAccessKey')?.trim();
  return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined;
}

export interface RecordingVodsDeps {
  core: Pick<CoreV1Api, 'readNamespacedSecret'>;
  logger: Logger;
  now?: () => number;
  ttlMs?: number;
  concurrency?: number;
}

/**
 * Each channel's VOD as last presigned, by channel id. `refresh` signs what is due (at most `concurrency` Secret
 * reads at once; one that failed waits retryMs) and says whether any VOD changed, appeared or went away; `vod` answers from what it holds.
 */
export class RecordingVods {
  private readonly held = new Map<string, { input: PresignInput; vod: ChannelVod }>();
  /** Channels whose last try found no Secret or failed: not read again before then (each pass is seconds apart). */
  private readonly retryAt = new Map<string, { atMs: number; input: PresignInput }>();
  private running: Promise<boolean> | undefined;
  private readonly deps: RecordingVodsDeps;

  constructor(deps: RecordingVodsDeps) {
    this.deps = deps;
  }

  /** The channel's VOD if one is held for its current newest recording. */
  vod(ls: LiveStream): ChannelVod | undefined {
    const held = this.held.get(channelId(ls.metadata.namespace ?? '', ls.metadata.name ?? ''));
    const input = held && presignInput(ls);
    return held && input && sameInput(held.input, input) ? held.vod : undefined;
  }

  /** One pass over `channels`; a pass already running is joined, not doubled. */
  refresh(channels: readonly LiveStream[]): Promise<boolean> {
    this.running ??= this.pass(channels).finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(channels: readonly LiveStream[]): Promise<boolean> {
    const now = (this.deps.now ?? Date.now)();
    const ttlMs = this.deps.ttlMs ?? urlTtlMs;
    let changed = false;
    const due: PresignInput[] = [];
    const seen = new Set<string>();
    for (const ls of channels) {
      const input = presignInput(ls);
      if (!input) continue;
      const id = channelId(input.namespace, input.name);
      seen.add(id);
      const retry = this.retryAt.get(id);
      const waiting = retry !== undefined && retry.atMs > now && sameInput(retry.input, input);
      if (!waiting && presignDue(this.held.get(id), input, now, ttlMs)) due.push(input);
    }
    for (const id of this.held.keys()) {
      if (!seen.has(id)) changed = this.held.delete(id) || changed;
    }
    for (const id of this.retryAt.keys()) if (!seen.has(id)) this.retryAt.delete(id);
    const queue = [...due];
    const worker = async () => {
      for (let input = queue.shift(); input; input = queue.shift()) {
        changed = (await this.sign(input, now, ttlMs)) || changed;
      }
    };
    await Promise.all(Array.from({ length: Math.min(queue.length, this.deps.concurrency ?? 4) }, worker));
    return changed;
  }

  /** Signs one; a missing Secret (or a failed read) drops the VOD rather than keep an old input's URL. */
  private async sign(input: PresignInput, now: number, ttlMs: number): Promise<boolean> {
    const id = channelId(input.namespace, input.name);
    const log = { namespace: input.namespace, name: input.name, secret: input.secretRef.name };
    try {
      const credentials = await readS3Credentials(this.deps.core, input.namespace, input.secretRef);
      if (!credentials) {
        this.deps.logger.debug(log, 'no VOD: the S3 credentials Secret or one of its keys is missing');
        this.retryAt.set(id, { atMs: now + retryMs, input });
        return this.held.delete(id);
      }
      this.held.set(id, { input, vod: await presignVod(input, credentials, now, ttlMs) });
      this.retryAt.delete(id);
      return true;
    } catch (err) {
      // The message of an API error names the Secret, never its data; a held URL still valid is kept.
      this.deps.logger.debug({ ...log, err: describeApiError(err) }, 'no VOD: cannot presign the recording');
      this.retryAt.set(id, { atMs: now + retryMs, input });
      const held = this.held.get(id);
      const stale = held && (!sameInput(held.input, input) || Date.parse(held.vod.expiresAt) <= now);
      return stale ? this.held.delete(id) : false;
    }
  }
}

import { describe, expect, it } from 'vitest';
import type { LiveStream, RecordingStatus } from '../../../contract/src/api/index.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import { listingsById, sameListing } from './gateway-directory.ts';
import {
  RecordingVods,
  newestFinalized,
  parseS3Uri,
  presignDue,
  presignInput,
  presignVod,
  urlTtlMs,
} from './recording-presign.ts';

const complete = (session: string): RecordingStatus => ({
  session,
  state: 'Complete',
  playlistUri: `s3://rec/p/tenant/show/${session}/index.m3u8`,
  mp4Uri: `s3://rec/p/tenant/show/${session}/recording.mp4`,
});

function channel(recordings: RecordingStatus[], s3: Record<string, unknown> = {}): LiveStream {
  return {
    apiVersion: 'livestream.example.com/v1alpha1',
    kind: 'LiveStream',
    metadata: { namespace: 'tenant', name: 'show', generation: 1 },
    spec: {
      recording: {
        enabled: true,
        s3: {
          bucket: 'rec',
          prefix: 'p',
          endpoint: 'http://minio.storage:9000',
          region: 'eu-west-1',
          forcePathStyle: true,
          credentialsSecretRef: { name: 's3', accessKeyIdKey: 'id', secretAccessKeyKey: 'key' },
          ...s3,
        },
      },
    },
    status: { recordings },
  } as unknown as LiveStream;
}

describe('what is presigned', () => {
  it('takes the newest Complete recording with an MP4, not a newer one still finalizing or failed', () => {
    const recordings: RecordingStatus[] = [
      { session: 's3', state: 'Recording' },
      { session: 's2', state: 'Finalizing', playlistUri: 's3://rec/x/index.m3u8' },
      { ...complete('s1b'), state: 'Failed' },
      complete('s1'),
      complete('s0'),
    ];
    expect(newestFinalized(recordings)?.session).toBe('s1');
    expect(newestFinalized([{ session: 'a', state: 'Complete' }])).toBeUndefined();
    expect(newestFinalized([{ session: 'a', state: 'Complete', mp4Uri: 'https://x/y.mp4' }])).toBeUndefined();
    expect(newestFinalized(undefined)).toBeUndefined();
  });

  it('splits s3:// URIs only', () => {
    expect(parseS3Uri('s3://rec/p/a b/c.mp4')).toEqual({ bucket: 'rec', key: 'p/a b/c.mp4' });
    for (const bad of ['s3://rec/', 's3:///key', 'https://rec/key', 's3://UP/key'])
      expect(parseS3Uri(bad)).toBeUndefined();
  });

  it('signs with the spec S3 settings and names the Secret; nothing without credentials or a recording', () => {
    expect(presignInput(channel([complete('s1')]))).toEqual({
      namespace: 'tenant',
      name: 'show',
      session: 's1',
      settings: {
        bucket: 'rec',
        prefix: 'p',
        endpoint: 'http://minio.storage:9000',
        region: 'eu-west-1',
        forcePathStyle: true,
      },
      bucket: 'rec',
      key: 'p/tenant/show/s1/recording.mp4',
      secretRef: { name: 's3', accessKeyIdKey: 'id', secretAccessKeyKey: 'key' },
    });
    expect(presignInput(channel([complete('s1')], { credentialsSecretRef: undefined }))).toBeUndefined();
    expect(presignInput(channel([]))).toBeUndefined();
    const noRecording = channel([complete('s1')]);
    delete noRecording.spec.recording;
    expect(presignInput(noRecording)).toBeUndefined();
  });
});

describe('when it is signed again', () => {
  const input = presignInput(channel([complete('s1')]))!;
  const now = Date.parse('2026-12-02T12:00:00Z');
  const held = (expiresAtMs: number) => ({
    input,
    vod: {
      session: 's1',
      url: 'http://x',
      expiresAt: new Date(expiresAtMs).toISOString(),
      contentType: 'video/mp4' as const,
    },
  });

  it.each([
    ['nothing held', undefined, input, true],
    ['fresh', held(now + urlTtlMs), input, false],
    ['just over half its life left', held(now + urlTtlMs / 2 + 1000), input, false],
    ['under half its life left', held(now + urlTtlMs / 2 - 1000), input, true],
    ['expired', held(now - 1), input, true],
    [
      'a newer recording',
      held(now + urlTtlMs),
      { ...input, session: 's2', key: 'p/tenant/show/s2/recording.mp4' },
      true,
    ],
    [
      'another endpoint',
      held(now + urlTtlMs),
      { ...input, settings: { ...input.settings, endpoint: 'https://s3.x' } },
      true,
    ],
  ])('%s', (_what, h, next, due) => {
    expect(presignDue(h, next, now)).toBe(due);
  });
});

describe('the presigned URL', () => {
  it('is a SigV4 GET of the object at the spec endpoint, path style, expiring after the TTL', async () => {
    const input = presignInput(channel([complete('s1')]))!;
    const now = Date.parse('2026-12-02T12:00:00Z');
    const vod = await presignVod(input, { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalr/secret' }, now);
    const url = new URL(vod.url);
    expect(url.origin).toBe('http://minio.storage:9000');
    expect(url.pathname).toBe('/rec/p/tenant/show/s1/recording.mp4');
    expect(url.searchParams.get('X-Amz-Expires')).toBe(String(urlTtlMs / 1000));
    expect(url.searchParams.get('X-Amz-Date')).toBe('20261202T120000Z');
    expect(url.searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261202/eu-west-1/s3/aws4_request');
    expect(vod.url).not.toContain('wJalr');
    expect(vod).toMatchObject({ session: 's1', expiresAt: '2026-12-02T18:00:00.000Z', contentType: 'video/mp4' });
    const virtual = await presignVod(
      { ...input, settings: { bucket: 'rec', prefix: 'p', region: 'eu-west-1', forcePathStyle: false } },
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
      now,
    );
    expect(new URL(virtual.url).host).toBe('rec.s3.eu-west-1.amazonaws.com');
  });
});

describe('RecordingVods', () => {
  const logger = createLogger('recording-presign-test', 'silent');
  const secret = { data: { id: Buffer.from('AKID').toString('base64'), key: Buffer.from('sk').toString('base64') } };

  it('signs once, then again only when half-expired or a newer recording; the listing carries it', async () => {
    let now = Date.parse('2026-12-02T12:00:00Z');
    let reads = 0;
    const core = { readNamespacedSecret: () => (reads++, Promise.resolve(secret)) } as never;
    const vods = new RecordingVods({ core, logger, now: () => now });
    let ls = channel([complete('s1')]);
    expect(await vods.refresh([ls])).toBe(true);
    const first = vods.vod(ls);
    expect(first?.session).toBe('s1');
    expect(await vods.refresh([ls])).toBe(false);
    now += urlTtlMs / 2 + 1000;
    expect(await vods.refresh([ls])).toBe(true);
    expect(vods.vod(ls)?.url).not.toBe(first?.url);
    ls = channel([complete('s2'), complete('s1')]);
    expect(vods.vod(ls)).toBeUndefined(); // not the old session's URL for the new one
    expect(await vods.refresh([ls])).toBe(true);
    expect(vods.vod(ls)?.session).toBe('s2');
    expect(reads).toBe(3);
    const [listing] = listingsById([ls], now, undefined, (c) => vods.vod(c)).values();
    expect(listing?.vod?.session).toBe('s2');
    const [without] = listingsById([ls], now).values();
    expect(sameListing(listing!, without!)).toBe(false);
    expect(await vods.refresh([])).toBe(true); // the channel is gone
    expect(vods.vod(ls)).toBeUndefined();
  });

  it('a missing Secret or key gives no VOD and no throw, and is not read again at every pass', async () => {
    let reads = 0;
    const { ApiException } = await import('@kubernetes/client-node');
    const missing = new ApiException(404, 'not found', '{}', {});
    const core = { readNamespacedSecret: () => (reads++, Promise.reject(missing)) } as never;
    const vods = new RecordingVods({ core, logger });
    const ls = channel([complete('s1')]);
    expect(await vods.refresh([ls])).toBe(false);
    expect(await vods.refresh([ls])).toBe(false);
    expect(vods.vod(ls)).toBeUndefined();
    expect(reads).toBe(1);
    const noKey = { readNamespacedSecret: () => Promise.resolve({ data: { id: secret.data.id } }) } as never;
    const other = new RecordingVods({ core: noKey, logger });
    expect(await other.refresh([ls])).toBe(false);
    expect(other.vod(ls)).toBeUndefined();
  });
});

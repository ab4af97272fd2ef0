import { describe, expect, it } from 'vitest';
import type { ResolvedConfig } from '../config/livestream-spec.ts';
import { recordedTracks, resolveRecording, sessionPrefix } from './recording-config.ts';

const config = {
  name: 'show',
  namespace: 'media',
  renditions: [{ name: '720p' }, { name: '360p' }],
} as unknown as ResolvedConfig;
const s3 = { bucket: 'rec-bucket', endpoint: 'http://minio:9000', credentialsSecretRef: { name: 's3' } };

describe('resolveRecording', () => {
  it('is off when absent or disabled', () => {
    expect(resolveRecording(undefined, config)).toBeUndefined();
    expect(resolveRecording({ enabled: false, s3: {} }, config)).toBeUndefined();
  });

  it('defaults region, path style for custom endpoints, and normalizes the prefix', () => {
    expect(resolveRecording({ enabled: true, s3: { ...s3, prefix: '/rec//live/' } }, config)).toEqual({
      s3: {
        bucket: 'rec-bucket',
        prefix: 'rec/live',
        endpoint: 'http://minio:9000',
        region: 'us-east-1',
        forcePathStyle: true,
      },
    });
    const aws = resolveRecording(
      { enabled: true, rendition: '360p', s3: { bucket: 'rec-bucket', region: 'eu-west-1' } },
      config,
    );
    expect(aws).toEqual({
      rendition: '360p',
      s3: { bucket: 'rec-bucket', prefix: '', region: 'eu-west-1', forcePathStyle: false },
    });
  });

  it('rejects unknown renditions, bad buckets and credentials in the endpoint with clear messages', () => {
    expect(() => resolveRecording({ enabled: true, rendition: '1080p', s3 }, config)).toThrow(
      /not a rendition.*720p, 360p/,
    );
    expect(() => resolveRecording({ enabled: true, s3: { bucket: 'Bad_Bucket' } }, config)).toThrow(/bucket/);
    expect(() => resolveRecording({ enabled: true }, config)).toThrow(/s3 is required/);
    expect(() => resolveRecording({ enabled: true, s3: { ...s3, endpoint: 'http://a:b@minio' } }, config)).toThrow(
      /credentials/,
    );
  });

  it('builds keys under <prefix>/<namespace>/<name>/<session>/', () => {
    const settings = { bucket: 'b', prefix: 'rec', region: 'r', forcePathStyle: true };
    expect(sessionPrefix(settings, 'media', 'show', 's1')).toBe('rec/media/show/s1/');
    expect(sessionPrefix({ ...settings, prefix: '' }, 'media', 'show', 's1')).toBe('media/show/s1/');
  });
});

describe('recordedTracks', () => {
  const plan = (top: string, mode = 'encode', audio: unknown = {}) => ({
    videos: [
      { name: top, mode },
      { name: '360p', mode: 'encode' },
    ],
    audio,
  });
  it('records the top rung and the audio by default', () => {
    expect(recordedTracks(plan('720p'), undefined, '720p', 'audio')).toEqual(['720p', 'audio']);
    expect(recordedTracks(plan('720p', 'encode', null), undefined, '720p', 'audio')).toEqual(['720p']);
  });
  it('maps the top rung to the passthrough rung that replaced it', () => {
    expect(recordedTracks(plan('source', 'copy'), '720p', '720p', 'audio')).toEqual(['source', 'audio']);
    expect(recordedTracks(plan('source', 'copy'), '360p', '720p', 'audio')).toEqual(['360p', 'audio']);
  });
  it('fails for a rung the running ladder dropped', () => {
    expect(() => recordedTracks(plan('360p'), '720p', '1080p', 'audio')).toThrow(/not part of the running ladder/);
  });
});

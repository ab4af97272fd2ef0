import { describe, expect, it } from 'vitest';
import { validateS3Destination } from './api/validate.ts';
import { normalizePrefix, s3Settings, s3Uri, sessionPrefix } from './recording-layout.ts';

describe('recording layout', () => {
  it('builds keys under <prefix>/<namespace>/<name>/<session>/', () => {
    const settings = { bucket: 'b', prefix: 'rec', region: 'r', forcePathStyle: true };
    expect(sessionPrefix(settings, 'media', 'show', 's1')).toBe('rec/media/show/s1/');
    expect(sessionPrefix({ ...settings, prefix: '' }, 'media', 'show', 's1')).toBe('media/show/s1/');
    expect(s3Uri('b', 'rec/media/show/s1/index.m3u8')).toBe('s3://b/rec/media/show/s1/index.m3u8');
  });

  it('normalizes the prefix and takes the stored defaults of spec.recording.s3', () => {
    expect(normalizePrefix('/rec//live/')).toBe('rec/live');
    expect(s3Settings(validateS3Destination({ bucket: 'rec-bucket', prefix: 'rec//live/' }))).toEqual({
      bucket: 'rec-bucket',
      prefix: 'rec/live',
      region: 'us-east-1',
      forcePathStyle: false,
    });
    expect(
      s3Settings(validateS3Destination({ bucket: 'rec-bucket', endpoint: 'http://minio:9000', forcePathStyle: true })),
    ).toEqual({
      bucket: 'rec-bucket',
      prefix: '',
      endpoint: 'http://minio:9000',
      region: 'us-east-1',
      forcePathStyle: true,
    });
  });
});

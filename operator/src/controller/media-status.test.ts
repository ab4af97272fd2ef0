import { describe, expect, it } from 'vitest';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { recordingsStatus } from './media-status.ts';

const s3 = {
  bucket: 'vod',
  prefix: '/rec/',
  region: 'us-east-1',
  forcePathStyle: false,
  credentialsSecretRef: { name: 'c' },
};
const ls = (
  recordings: NonNullable<LiveStream['status']>['recordings'],
  recording: object = { enabled: true, s3 },
): LiveStream =>
  ({
    apiVersion: 'streaming.livestream-operator.dev/v1alpha1',
    kind: 'LiveStream',
    metadata: { name: 'show', namespace: 'tv', uid: 'u', generation: 1 },
    spec: { recording },
    status: { recordings },
  }) as unknown as LiveStream;

describe('recordingsStatus', () => {
  const ended = [{ id: 's1', startedAt: '2026-11-21T10:00:00Z', endedAt: '2026-11-21T10:01:00Z', durationSeconds: 60 }];
  it('moves an ended recorded session to Finalizing, then Complete with the S3 URIs of its Job', () => {
    const base = ls([{ session: 's1', state: 'Recording', segments: 30 }]);
    expect(recordingsStatus(base, undefined, ended, new Map())).toEqual([
      expect.objectContaining({
        session: 's1',
        state: 'Finalizing',
        durationSeconds: 60,
        endedAt: '2026-11-21T10:01:00Z',
      }),
    ]);
    const done = recordingsStatus(
      ls([{ session: 's1', state: 'Finalizing' }]),
      undefined,
      ended,
      new Map([['s1', 'succeeded']]),
    );
    expect(done[0]).toMatchObject({
      state: 'Complete',
      playlistUri: 's3://vod/rec/tv/show/s1/index.m3u8',
      mp4Uri: 's3://vod/rec/tv/show/s1/s1.mp4',
    });
    const failed = recordingsStatus(
      ls([{ session: 's1', state: 'Finalizing' }]),
      undefined,
      ended,
      new Map([['s1', 'failed']]),
    );
    expect(failed[0]?.state).toBe('Failed');
    expect(failed[0]?.message).toContain('finalize Job failed');
  });
  it('leaves finished recordings alone', () => {
    const complete = ls([{ session: 's1', state: 'Complete', mp4Uri: 's3://x' }]);
    expect(recordingsStatus(complete, undefined, ended, new Map([['s1', 'failed']]))[0]?.state).toBe('Complete');
  });
  it('finalizes a session recorded before recording was turned off, from spec.recording.s3', () => {
    const off = ls([{ session: 's1', state: 'Finalizing' }], { enabled: false, s3 });
    expect(recordingsStatus(off, undefined, ended, new Map())[0]?.state).toBe('Finalizing');
    expect(recordingsStatus(off, undefined, ended, new Map([['s1', 'succeeded']]))[0]?.state).toBe('Complete');
  });
  it('closes a Finalizing recording as Failed, saying why, once nothing says where it is', () => {
    const gone = recordingsStatus(
      ls([{ session: 's1', state: 'Recording' }], { enabled: false }),
      undefined,
      ended,
      new Map(),
    );
    expect(gone[0]?.state).toBe('Failed');
    expect(gone[0]?.message).toContain('spec.recording.s3 was removed');
  });
});

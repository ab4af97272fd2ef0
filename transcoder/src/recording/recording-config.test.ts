import { describe, expect, it } from 'vitest';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { recordedTracks, resolveRecording } from './recording-config.ts';

const s3 = { bucket: 'rec-bucket', endpoint: 'http://minio:9000', credentialsSecretRef: { name: 's3' } };
const stored = (recording: unknown) => validateSpec({ recording }).recording;

describe('resolveRecording', () => {
  it('is off when absent or disabled', () => {
    expect(resolveRecording(undefined)).toBeUndefined();
    expect(resolveRecording(stored({ enabled: false, s3 }))).toBeUndefined();
    expect(resolveRecording(stored({ s3 }))).toBeUndefined(); // enabled defaults to false
  });

  it('takes the stored defaults (region, path style) and normalizes the prefix', () => {
    expect(resolveRecording(stored({ enabled: true, s3: { ...s3, prefix: 'rec//live/' } }))).toEqual({
      s3: {
        bucket: 'rec-bucket',
        prefix: 'rec/live',
        endpoint: 'http://minio:9000',
        region: 'us-east-1',
        forcePathStyle: false,
      },
    });
    const aws = resolveRecording(
      stored({
        enabled: true,
        rendition: '360p',
        s3: { bucket: 'rec-bucket', region: 'eu-west-1', credentialsSecretRef: { name: 's3' } },
      }),
    );
    expect(aws).toEqual({
      rendition: '360p',
      s3: { bucket: 'rec-bucket', prefix: '', region: 'eu-west-1', forcePathStyle: false },
    });
  });
});

describe('recordedTracks', () => {
  // The plan's shape the recorder reads: variants with the audio rendition each plays with.
  const plan = (top: string, mode = 'encode', audio: string | null = 'audio', lowAudio: string | null = audio) => ({
    videos: [
      { name: top, mode, audio },
      { name: '360p', mode: 'encode', audio: lowAudio },
    ],
    audioRenditions: [audio, lowAudio].filter((a): a is string => a !== null).map((name) => ({ name })),
  });
  it('records the top rung and the audio it plays with by default', () => {
    expect(recordedTracks(plan('720p'), undefined, '720p')).toEqual(['720p', 'audio']);
    expect(recordedTracks(plan('720p', 'encode', null), undefined, '720p')).toEqual(['720p']);
  });
  it("records a lower rung with that rung's own audio rendition", () => {
    expect(recordedTracks(plan('720p', 'encode', 'audio', 'audio_64k'), '360p', '720p')).toEqual(['360p', 'audio_64k']);
  });
  it('maps the top rung to the passthrough rung that replaced it', () => {
    expect(recordedTracks(plan('source', 'copy'), '720p', '720p')).toEqual(['source', 'audio']);
    expect(recordedTracks(plan('source', 'copy', 'audio', 'audio_128k'), '360p', '720p')).toEqual([
      '360p',
      'audio_128k',
    ]);
  });
  it('records the audio rendition of an audio-only source, whatever rung the spec names', () => {
    const radio = { videos: [], audioRenditions: [{ name: 'audio' }] };
    expect(recordedTracks(radio, undefined, '720p')).toEqual(['audio']);
    expect(recordedTracks(radio, '360p', '720p')).toEqual(['audio']);
    expect(recordedTracks({ videos: [], audioRenditions: [] }, undefined, '720p')).toEqual([]);
  });
  it('fails for a rung the running ladder dropped', () => {
    expect(() => recordedTracks(plan('360p'), '720p', '1080p')).toThrow(/not part of the running ladder/);
  });
});

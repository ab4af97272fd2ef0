// Recording of the sources with one kind of track only, against real parts (the transcoder as a child process, MinIO,
// the finalize entry point, ffprobe over HTTP): an audio-only publish (radio, podcasts) records its audio rendition,
// a video-only one (a silent camera) its video rung, and each VOD plays from the bucket as what was published.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import HLS from 'hls-parser';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ffprobe } from '../../../test/support/media-probe.ts';
import { startRedisProcess, type RedisProcess } from '../../../test/support/redis-process.ts';
import { startPublisher, type Publisher, type PublisherOptions } from '../../../test/support/rtmp-publisher.ts';
import { sleep, waitFor } from '../../../test/support/wait-for.ts';
import { startS3Server, type S3Server } from '../../../test/support/s3-server.ts';
import {
  observePlaylist,
  prepareDataDir,
  recordingLiveStream,
  runFinalize,
  startTranscoderProcess,
  type TranscoderProcess,
} from '../../../test/support/recording-harness.ts';

const publishSeconds = 12;
const segmentSeconds = 2;
const bucket = 'recordings';
const prefix = 'rec';
let s3: S3Server;
let client: S3Client;
let redis: RedisProcess;
let root: string;
let transcoder: TranscoderProcess | undefined;
let publisher: Publisher | undefined;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'lso-recording-sources-'));
  s3 = await startS3Server();
  await s3.createBucket(bucket, true);
  client = s3.client();
  redis = await startRedisProcess();
}, 45 * 60_000); // a cold cache builds MinIO first

afterEach(async () => {
  await publisher?.kill();
  publisher = undefined;
  await transcoder?.killGroup();
  transcoder = undefined;
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  await redis?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const sessionKey = (name: string, session: string, file: string) => `${prefix}/default/${name}/${session}/${file}`;

async function keysUnder(p: string): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: p }));
  return (out.Contents ?? []).map((o) => o.Key!.slice(p.length));
}

async function text(key: string): Promise<string> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return await out.Body!.transformToString();
}

/** Publishes the source into a recording transcoder, waits until every segment is uploaded, finalizes the session. */
async function recordAndFinalize(name: string, source: Omit<PublisherOptions, 'url'>, track: string) {
  const dataDir = path.join(root, name);
  const stream = recordingLiveStream({ name, bucket, prefix, endpoint: s3.endpoint, segmentSeconds });
  const { configFile, key } = await prepareDataDir(dataDir, stream);
  transcoder = await startTranscoderProcess(dataDir, configFile, {
    LSO_S3_CREDENTIALS_DIR: s3.credentialsDir,
    LSO_REDIS_URL: redis.url,
  });
  const t = transcoder;
  const observer = observePlaylist(path.join(dataDir, 'hls', track, 'index.m3u8'));
  publisher = startPublisher({ url: t.rtmpUrl(key), durationSeconds: publishSeconds, ...source });
  await publisher.exited;
  await waitFor(
    'the spool to drain after the session ended',
    async () =>
      (await t.metric('livestream_transcoder_recording_spool_bytes')) === 0 &&
      (await t.metric('livestream_transcoder_recording_uploads_total{result="success"}')) > 0,
    { timeoutMs: 40_000 },
  );
  await sleep(1_000);
  observer.stop();
  const out = await client.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/default/${name}/`, Delimiter: '/' }),
  );
  const sessions = (out.CommonPrefixes ?? []).map((p) => p.Prefix!.split('/').at(-2)!);
  expect(sessions).toHaveLength(1);
  const session = sessions[0]!;
  const uploaded = await keysUnder(sessionKey(name, session, ''));
  const { result } = await runFinalize({
    bucket,
    prefix,
    endpoint: s3.endpoint,
    name,
    session,
    credentialsDir: s3.credentialsDir,
  });
  return { session, uploaded, result, live: observer.sequences() };
}

/** What the VOD's index.m3u8 is: a media playlist of the one track (no master: there is nothing to group). */
async function vodMedia(name: string, session: string): Promise<HLS.types.MediaPlaylist> {
  const playlist = HLS.parse(await text(sessionKey(name, session, 'index.m3u8')));
  if (playlist.isMasterPlaylist) throw new Error('a master playlist for a recording of one track');
  expect(playlist.playlistType).toBe('VOD');
  expect(playlist.endlist).toBe(true);
  return playlist;
}

describe('recording a source of one kind of track', () => {
  it('audio only (radio): the audio rendition uploaded, its VOD and MP4 play as audio for the whole publish', async () => {
    const name = 'rec-radio';
    const { session, uploaded, result, live } = await recordAndFinalize(name, { video: false }, 'audio');
    // Only the audio rendition was recorded: no video track, nothing else.
    expect(uploaded.length).toBeGreaterThanOrEqual(publishSeconds / segmentSeconds - 1);
    expect(new Set(uploaded.map((k) => k.split('/')[0]))).toEqual(new Set(['audio']));
    const media = await vodMedia(name, session);
    expect(media.segments.every((s) => s.uri.startsWith('audio/'))).toBe(true);
    const sequences = media.segments.map((_, i) => media.mediaSequenceBase! + i);
    expect(sequences).toEqual(live); // every segment the live playlist listed
    expect(result.segments).toBe(media.segments.length);
    expect(Math.abs(result.durationSeconds - publishSeconds)).toBeLessThanOrEqual(segmentSeconds);

    const base = `${s3.endpoint}/${bucket}/${sessionKey(name, session, '')}`;
    const vod = await ffprobe(`${base}index.m3u8`);
    expect(vod.streams.map((s) => [s.codec_type, s.codec_name])).toEqual([['audio', 'aac']]);
    expect(Math.abs(Number(vod.format.duration) - publishSeconds)).toBeLessThanOrEqual(segmentSeconds);
    const mp4 = await ffprobe(`${base}${session}.mp4`);
    expect(mp4.format.format_name).toContain('mp4');
    expect(mp4.streams.map((s) => s.codec_type)).toEqual(['audio']);
    expect(Math.abs(Number(mp4.format.duration) - publishSeconds)).toBeLessThanOrEqual(segmentSeconds);
    const head = await client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: sessionKey(name, session, `${session}.mp4`) }),
    );
    expect(head.ContentType).toBe('audio/mp4');
  }, 180_000);

  it('video only (a silent camera): the video rung uploaded, its VOD and MP4 play as video for the whole publish', async () => {
    const name = 'rec-silent';
    const { session, uploaded, result, live } = await recordAndFinalize(
      name,
      { size: '320x240', fps: 15, videoKbps: 300, audio: false },
      '240p',
    );
    expect(new Set(uploaded.map((k) => k.split('/')[0]))).toEqual(new Set(['240p']));
    const media = await vodMedia(name, session);
    expect(media.segments.every((s) => s.uri.startsWith('240p/'))).toBe(true);
    expect(media.segments.map((_, i) => media.mediaSequenceBase! + i)).toEqual(live);
    expect(result.segments).toBe(media.segments.length);

    const base = `${s3.endpoint}/${bucket}/${sessionKey(name, session, '')}`;
    const vod = await ffprobe(`${base}index.m3u8`);
    expect(vod.streams.map((s) => [s.codec_type, s.width])).toEqual([['video', 320]]);
    expect(Math.abs(Number(vod.format.duration) - publishSeconds)).toBeLessThanOrEqual(segmentSeconds);
    const mp4 = await ffprobe(`${base}${session}.mp4`);
    expect(mp4.streams.map((s) => s.codec_type)).toEqual(['video']);
    expect(Math.abs(Number(mp4.format.duration) - publishSeconds)).toBeLessThanOrEqual(segmentSeconds);
  }, 180_000);
});

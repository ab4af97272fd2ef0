// Recording against real parts: an ffmpeg encoder publishing into the real transcoder (child process, real ladder),
// segments uploaded to a real MinIO as they complete, the real finalize entry point, and ffprobe playing the VOD
// from MinIO over HTTP. Publish length: LSO_RECORDING_TEST_SECONDS (default 20; the 60 s figure comes from
// `node bench/recording.ts 60`).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import HLS from 'hls-parser';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { captureReceiptFile, type CaptureReceipt } from '../../../contract/src/recording-layout.ts';
import { parseEvent, type TranscoderEvent } from '../../../contract/src/reports.ts';
import { channelEntries } from '../../../test/support/report-writer.ts';
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

const publishSeconds = Number(process.env.LSO_RECORDING_TEST_SECONDS ?? 20);
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
  root = await mkdtemp(path.join(tmpdir(), 'lso-recording-'));
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

async function sessionsOf(name: string): Promise<string[]> {
  const out = await client.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/default/${name}/`, Delimiter: '/' }),
  );
  return (out.CommonPrefixes ?? []).map((p) => p.Prefix!.split('/').at(-2)!);
}

async function text(key: string): Promise<string> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return await out.Body!.transformToString();
}

// Media sequences the VOD lists for the video track, and the playlist itself.
async function vodSequences(name: string, session: string): Promise<number[]> {
  const media = HLS.parse(
    await text(`${prefix}/default/${name}/${session}/240p/index.m3u8`),
  ) as HLS.types.MediaPlaylist;
  expect(media.playlistType).toBe('VOD');
  expect(media.endlist).toBe(true);
  return media.segments.map((_, i) => media.mediaSequenceBase! + i);
}

async function events(): Promise<TranscoderEvent[]> {
  const c = new Redis(redis.url, { lazyConnect: true });
  await c.connect();
  try {
    const entries = await channelEntries(c);
    return entries.map(([, fields]) => parseEvent(fields));
  } finally {
    c.disconnect();
  }
}

async function startStream(name: string, dataDir: string) {
  const stream = recordingLiveStream({ name, bucket, prefix, endpoint: s3.endpoint, segmentSeconds });
  const { configFile, key } = await prepareDataDir(dataDir, stream);
  const env = { LSO_S3_CREDENTIALS_DIR: s3.credentialsDir, LSO_REDIS_URL: redis.url };
  transcoder = await startTranscoderProcess(dataDir, configFile, env);
  return { configFile, key, env };
}

/** Runs the finalize Job's program on the session's recording, as the Job would. */
const finalize = (name: string, session: string, env?: Record<string, string>) =>
  runFinalize({ bucket, prefix, endpoint: s3.endpoint, name, session, credentialsDir: s3.credentialsDir, env });

/** The session's VOD playlist as a player fetches it from the bucket. */
const vodUrl = (name: string, session: string) =>
  `${s3.endpoint}/${bucket}/${prefix}/default/${name}/${session}/index.m3u8`;

const spoolEmpty = (t: TranscoderProcess) => async () =>
  (await t.metric('livestream_transcoder_recording_spool_bytes')) === 0 &&
  (await t.metric('livestream_transcoder_recording_uploads_total{result="success"}')) > 0;

describe('recording to S3 (MinIO)', () => {
  it(`records a ${publishSeconds} s publish: the VOD in S3 plays end to end and the MP4 exists`, async () => {
    const name = 'rec-basic';
    const dataDir = path.join(root, name);
    const { key } = await startStream(name, dataDir);
    const t = transcoder!;
    const observer = observePlaylist(path.join(dataDir, 'hls', '240p', 'index.m3u8'));
    publisher = startPublisher({
      url: t.rtmpUrl(key),
      size: '320x240',
      fps: 15,
      videoKbps: 300,
      durationSeconds: publishSeconds,
    });
    // Uploads happen while live, not at the end.
    await waitFor('a segment in S3 while live', async () => (await sessionsOf(name)).length === 1, {
      timeoutMs: 30_000,
    });
    await publisher.exited;
    // Finalized at once, as a Job may start while the session's last segments are still captured and sent: it waits
    // for the recorder's receipt, so the VOD still ends where the publish did.
    const [session] = await sessionsOf(name);
    const { result, stderr } = await finalize(name, session!);
    observer.stop();
    expect(stderr).toContain('capture receipt found');
    const receiptKey = `${prefix}/default/${name}/${session}/${captureReceiptFile}`;
    const receipt = JSON.parse(await text(receiptKey)) as CaptureReceipt;
    expect(receipt.session).toBe(session);
    expect(receipt.uploaded).toBeGreaterThanOrEqual(result.segments);
    expect(result.session).toBe(session);
    expect(result.playlistUri).toBe(`s3://${bucket}/${prefix}/default/${name}/${session}/index.m3u8`);
    expect(result.mp4Uri).toBe(`s3://${bucket}/${prefix}/default/${name}/${session}/${session}.mp4`);
    expect(Date.parse(result.endedAt)).toBeGreaterThan(Date.parse(result.startedAt));

    // Every segment the live playlist ever listed is in the VOD, in order, nothing missing.
    const vod = await vodSequences(name, session!);
    expect(vod).toEqual(observer.sequences());
    expect(vod).toEqual(vod.map((_, i) => vod[0]! + i));
    expect(result.segments).toBe(vod.length);

    // Played from S3 over HTTP, as a player would: the whole publish, within one segment.
    const base = `${s3.endpoint}/${bucket}/${prefix}/default/${name}/${session}`;
    const probed = await ffprobe(`${base}/index.m3u8`);
    expect(Math.abs(Number(probed.format.duration) - publishSeconds)).toBeLessThanOrEqual(segmentSeconds);
    expect(probed.streams.some((s) => s.codec_type === 'video' && s.width === 320)).toBe(true);
    expect(probed.streams.some((s) => s.codec_type === 'audio')).toBe(true);
    const mp4 = await ffprobe(`${base}/${session}.mp4`);
    expect(mp4.format.format_name).toContain('mp4');
    expect(Math.abs(Number(mp4.format.duration) - publishSeconds)).toBeLessThanOrEqual(segmentSeconds);
    expect(mp4.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(Math.abs(result.durationSeconds - publishSeconds)).toBeLessThanOrEqual(segmentSeconds);

    // Idempotent: a second run (the Job retried) writes the same objects.
    const head = async (k: string) => (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: k }))).ETag;
    const before = [
      await text(`${prefix}/default/${name}/${session}/index.m3u8`),
      await head(`${prefix}/default/${name}/${session}/${session}.mp4`),
    ];
    const again = await finalize(name, session!);
    expect(again.result).toEqual(result);
    expect([
      await text(`${prefix}/default/${name}/${session}/index.m3u8`),
      await head(`${prefix}/default/${name}/${session}/${session}.mp4`),
    ]).toEqual(before);
    // Without a receipt (a transcoder gone with its spool), what S3 holds is finalized once the wait is over.
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: receiptKey }));
    const unreceipted = await finalize(name, session!, { LSO_FINALIZE_RECEIPT_WAIT_SECONDS: '1' });
    expect(unreceipted.stderr).toContain('no capture receipt after 1 s');
    expect(unreceipted.result).toEqual(result);

    // Reports and metrics, with no credential anywhere.
    const evs = (await events()).filter((e) => e.name === name);
    expect(evs.some((e) => e.type === 'recording-progress' && e.session === session)).toBe(true);
    expect(await t.metric('livestream_transcoder_recording_spool_dropped_total')).toBe(0);
    const secret = (await import('node:fs')).readFileSync(path.join(s3.credentialsDir, 'secretAccessKey'), 'utf8');
    expect(t.output()).not.toContain(secret);
    expect(JSON.stringify(evs)).not.toContain(secret);
  }, 240_000);

  it('S3 stopped mid-stream then restarted: segments wait in the spool and the VOD still has every one', async () => {
    const name = 'rec-outage';
    const dataDir = path.join(root, name);
    const { key } = await startStream(name, dataDir);
    const t = transcoder!;
    const observer = observePlaylist(path.join(dataDir, 'hls', '240p', 'index.m3u8'));
    publisher = startPublisher({ url: t.rtmpUrl(key), size: '320x240', fps: 15, videoKbps: 300, durationSeconds: 30 });
    await waitFor('uploads while live', async () => (await sessionsOf(name)).length === 1, { timeoutMs: 30_000 });
    await sleep(4_000);

    await s3.stop();
    const outageSeconds = 15;
    await sleep(outageSeconds * 1000);
    // The segments of the outage are on disk, waiting.
    expect(await t.metric('livestream_transcoder_recording_spool_bytes')).toBeGreaterThan(0);
    expect(await t.metric('livestream_transcoder_recording_uploads_total{result="error"}')).toBeGreaterThan(0);
    await s3.start();

    await publisher.exited;
    await waitFor('the spool to drain after S3 returned', spoolEmpty(t), { timeoutMs: 60_000 });
    await sleep(1_000);
    observer.stop();
    const [session] = await sessionsOf(name);
    await finalize(name, session!);
    const vod = await vodSequences(name, session!);
    expect(vod).toEqual(observer.sequences());
    expect(vod).toEqual(vod.map((_, i) => i)); // 0..n-1: nothing lost during the outage
    const probed = await ffprobe(vodUrl(name, session!));
    expect(Math.abs(Number(probed.format.duration) - 30)).toBeLessThanOrEqual(segmentSeconds);

    const evs = (await events()).filter((e) => e.name === name && e.session === session);
    const failed = evs.findIndex(
      (e) => e.type === 'recording-failed' && (e.data as { reason: string }).reason === 'upload-failed',
    );
    expect(failed).toBeGreaterThanOrEqual(0);
    expect(evs.slice(failed).some((e) => e.type === 'recording-progress')).toBe(true);
    expect(await t.metric('livestream_transcoder_recording_spool_dropped_total')).toBe(0);
  }, 240_000);

  it('transcoder killed with kill -9 mid-stream: after a restart the VOD has every segment completed before the kill', async () => {
    const name = 'rec-kill';
    const dataDir = path.join(root, name);
    const { configFile, env, key } = await startStream(name, dataDir);
    const observer = observePlaylist(path.join(dataDir, 'hls', '240p', 'index.m3u8'), 100);
    publisher = startPublisher({ url: transcoder!.rtmpUrl(key), size: '320x240', fps: 15, videoKbps: 300 });
    await waitFor('uploads while live', async () => (await sessionsOf(name)).length === 1, { timeoutMs: 30_000 });
    // S3 down too, so the kill catches segments still spooled (not just the ones in the HLS window).
    await s3.stop();
    await sleep(8_000);
    await transcoder!.killGroup(); // node + ffmpeg at once, like a container killed
    const completedBeforeKill = observer.sequences();
    observer.stop();
    await publisher.kill();
    publisher = undefined;
    expect(completedBeforeKill.length).toBeGreaterThanOrEqual(4);
    await s3.start();
    const [session] = await sessionsOf(name);

    // Same data directory (the emptyDir survives a container restart).
    transcoder = await startTranscoderProcess(dataDir, configFile, env);
    await waitFor('the restarted transcoder to upload the old spool', spoolEmpty(transcoder), { timeoutMs: 60_000 });
    expect(transcoder.output()).toContain('recording: spool from a previous run');

    await finalize(name, session!);
    const vod = await vodSequences(name, session!);
    for (const seq of completedBeforeKill) expect(vod).toContain(seq);
    expect(vod).toEqual(vod.map((_, i) => i));
    const probed = await ffprobe(vodUrl(name, session!));
    expect(Number(probed.format.duration)).toBeGreaterThanOrEqual(
      completedBeforeKill.length * segmentSeconds - segmentSeconds,
    );
  }, 240_000);
});

// Sources with one kind of track: radio (audio only) records its audio rendition, a silent camera (video only) its
// video rung; each VOD is the media playlist of that one track and plays from the bucket as what was published.
describe('recording a source of one kind of track', () => {
  const oneTrackSeconds = 12;

  /** Publishes the source, waits until every segment is uploaded, finalizes: what the bucket then holds. */
  async function recordOneTrack(name: string, source: Omit<PublisherOptions, 'url'>, track: string) {
    const dataDir = path.join(root, name);
    const { key } = await startStream(name, dataDir);
    const t = transcoder!;
    const observer = observePlaylist(path.join(dataDir, 'hls', track, 'index.m3u8'));
    publisher = startPublisher({ url: t.rtmpUrl(key), durationSeconds: oneTrackSeconds, ...source });
    await publisher.exited;
    await waitFor('the spool to drain after the session ended', spoolEmpty(t), { timeoutMs: 40_000 });
    await sleep(1_000);
    observer.stop();
    const [session, ...more] = await sessionsOf(name);
    expect(more).toEqual([]);
    const base = `${prefix}/default/${name}/${session}/`;
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: base }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(base.length));
    expect(keys).toContain(captureReceiptFile);
    const tracks = new Set(keys.filter((k) => k.includes('/')).map((k) => k.split('/')[0]));
    const { result } = await finalize(name, session!);
    const media = HLS.parse(await text(`${base}index.m3u8`));
    if (media.isMasterPlaylist) throw new Error('a master playlist for a recording of one track');
    expect([media.playlistType, media.endlist]).toEqual(['VOD', true]);
    expect(media.segments.every((s) => s.uri.startsWith(`${track}/`))).toBe(true);
    // Every segment the live playlist listed, in order; the result counts them and the publish's length.
    expect(media.segments.map((_, i) => media.mediaSequenceBase! + i)).toEqual(observer.sequences());
    expect(result.segments).toBe(media.segments.length);
    expect(Math.abs(result.durationSeconds - oneTrackSeconds)).toBeLessThanOrEqual(segmentSeconds);
    const url = `${s3.endpoint}/${bucket}/${base}`;
    const [vod, mp4] = [await ffprobe(`${url}index.m3u8`), await ffprobe(`${url}${session}.mp4`)];
    for (const p of [vod, mp4]) {
      expect(Math.abs(Number(p.format.duration) - oneTrackSeconds)).toBeLessThanOrEqual(segmentSeconds);
    }
    expect(mp4.format.format_name).toContain('mp4');
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${base}${session}.mp4` }));
    return { tracks, vod, mp4, mp4Type: head.ContentType };
  }

  it('audio only (radio): the audio rendition uploaded, its VOD and MP4 play as audio for the whole publish', async () => {
    const { tracks, vod, mp4, mp4Type } = await recordOneTrack('rec-radio', { video: false }, 'audio');
    expect(tracks).toEqual(new Set(['audio']));
    expect(vod.streams.map((s) => [s.codec_type, s.codec_name])).toEqual([['audio', 'aac']]);
    expect(mp4.streams.map((s) => s.codec_type)).toEqual(['audio']);
    expect(mp4Type).toBe('audio/mp4');
  }, 180_000);

  it('video only (a silent camera): the video rung uploaded, its VOD and MP4 play as video for the whole publish', async () => {
    const source = { size: '320x240', fps: 15, videoKbps: 300, audio: false };
    const { tracks, vod, mp4, mp4Type } = await recordOneTrack('rec-silent', source, '240p');
    expect(tracks).toEqual(new Set(['240p']));
    expect(vod.streams.map((s) => [s.codec_type, s.width])).toEqual([['video', 320]]);
    expect(mp4.streams.map((s) => s.codec_type)).toEqual(['video']);
    expect(mp4Type).toBe('video/mp4');
  }, 180_000);
});

// `node bench/recording.ts [SECONDS=60]`: one recorded publish of SECONDS, end to end, with
// real parts (MinIO from hack/tools/build.sh, the transcoder as a child process, an ffmpeg encoder, the finalize
// entry point), then ffprobe of the VOD and MP4 from S3 over HTTP. Prints one JSON line of figures.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ffprobe } from '../test/support/media-probe.ts';
import { startPublisher, type Publisher } from '../test/support/rtmp-publisher.ts';
import { waitFor } from '../test/support/wait-for.ts';
import { startS3Server, type S3Server } from '../test/support/s3-server.ts';
import {
  prepareDataDir,
  recordingLiveStream,
  runFinalize,
  startTranscoderProcess,
  type TranscoderProcess,
} from '../test/support/recording-harness.ts';

const seconds = Number(process.argv[2] ?? 60);
if (!Number.isFinite(seconds) || seconds < 6 || seconds > 3600) {
  process.stderr.write('usage: node bench/recording.ts [SECONDS between 6 and 3600]\n');
  process.exit(2);
}
const bucket = 'bench';
const prefix = 'rec';
const name = 'bench';
const root = await mkdtemp(path.join(tmpdir(), 'lso-bench-recording-'));
let s3: S3Server | undefined;
let transcoder: TranscoderProcess | undefined;
let publisher: Publisher | undefined;
try {
  s3 = await startS3Server();
  await s3.createBucket(bucket, true);
  const dataDir = path.join(root, name);
  const { configFile, key } = await prepareDataDir(
    dataDir,
    recordingLiveStream({ name, bucket, prefix, endpoint: s3.endpoint }),
  );
  transcoder = await startTranscoderProcess(dataDir, configFile, { LSO_S3_CREDENTIALS_DIR: s3.credentialsDir });
  const t = transcoder;
  publisher = startPublisher({
    url: t.rtmpUrl(key),
    size: '320x240',
    fps: 15,
    videoKbps: 300,
    durationSeconds: seconds,
  });
  await publisher.exited;
  const ended = Date.now();
  await waitFor('the session to end', () => t.output().includes('recording: session capture finished'), {
    timeoutMs: 60_000,
  });
  await waitFor(
    'the spool to drain',
    async () => (await t.metric('livestream_transcoder_recording_spool_bytes')) === 0,
    { timeoutMs: 120_000 },
  );
  const drainSeconds = (Date.now() - ended) / 1000;
  const client = s3.client();
  const listed = await client.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/default/${name}/`, Delimiter: '/' }),
  );
  client.destroy();
  const session = listed.CommonPrefixes?.[0]?.Prefix?.split('/').at(-2);
  if (session === undefined) throw new Error('nothing was uploaded');
  const started = Date.now();
  const { result } = await runFinalize({
    bucket,
    prefix,
    endpoint: s3.endpoint,
    name,
    session,
    credentialsDir: s3.credentialsDir,
  });
  const finalizeSeconds = (Date.now() - started) / 1000;
  const base = `${s3.endpoint}/${bucket}/${prefix}/default/${name}/${session}`;
  const vod = Number((await ffprobe(`${base}/index.m3u8`)).format.duration);
  const mp4 = Number((await ffprobe(`${base}/${session}.mp4`)).format.duration);
  const figures = {
    publishSeconds: seconds,
    vodDurationSeconds: Math.round(vod * 100) / 100,
    mp4DurationSeconds: Math.round(mp4 * 100) / 100,
    withinOneSegment: Math.abs(vod - seconds) <= 2,
    segments: result.segments,
    uploadsSucceeded: await t.metric('livestream_transcoder_recording_uploads_total{result="success"}'),
    uploadsFailed: await t.metric('livestream_transcoder_recording_uploads_total{result="error"}'),
    spoolDrainAfterPublishEndSeconds: Math.round(drainSeconds * 10) / 10,
    finalizeSeconds: Math.round(finalizeSeconds * 10) / 10,
    playlistUri: result.playlistUri,
    mp4Uri: result.mp4Uri,
  };
  process.stdout.write(JSON.stringify(figures) + '\n');
} finally {
  await publisher?.kill();
  await transcoder?.stop();
  await s3?.close();
  await rm(root, { recursive: true, force: true });
}

// What a viewer gets for each class of source a real encoder sends, end to end: an ffmpeg encoder publishing over
// RTMP to node-media-server, the source probe, the ladder's ffmpeg, the HLS on disk. Per class the rungs, their sizes
// (aspect ratio kept), the segment durations, the master's CODECS, and that the master's BANDWIDTH is at or above
// the peak segment bitrate measured per rung (RFC 8216 4.3.4.2). A small ladder keeps the 2-core machine free.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import HLS from 'hls-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import { resolveSpec, type ResolvedConfig } from '../config/livestream-spec.ts';
import { startIngest, type Ingest } from '../ingest/ingest-server.ts';
import { openStreamKey, type StreamKey } from '../ingest/stream-key.ts';
import { createChannel, type Channel } from '../session/channel.ts';
import { ffprobe } from '../../../test/support/media-probe.ts';
import { startPublisher, type Publisher, type PublisherOptions } from '../../../test/support/rtmp-publisher.ts';
import { waitFor } from '../../../test/support/wait-for.ts';

const run = promisify(execFile);
const segmentSeconds = 2;
const segmentsPerRung = 3;
const ladder = {
  renditions: [
    { name: '360p', width: 640, height: 360, videoBitrateKbps: 800 },
    { name: '240p', width: 426, height: 240, videoBitrateKbps: 400 },
    { name: '180p', width: 320, height: 180, videoBitrateKbps: 200 },
  ],
};
const configOf = (passthrough: boolean, renditions: object[] = ladder.renditions): ResolvedConfig =>
  resolveSpec(
    validateSpec({ ladder: { renditions, passthrough }, hls: { segmentSeconds, playlistLength: 6 } }),
    'itest',
    'media',
  );
const logger = createLogger('source-classes-int', process.env.LOG_LEVEL ?? 'warn');

let dir: string;
let hlsDir: string;
let streamKey: StreamKey;
let key: string;
let ingest: Ingest;
let channel: Channel;
let config: ResolvedConfig;
let publisher: Publisher | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'source-classes-'));
  hlsDir = path.join(dir, 'hls');
  key = randomBytes(12).toString('base64url');
  await writeFile(path.join(dir, 'streamKey'), key + '\n', { mode: 0o600 });
  streamKey = openStreamKey(path.join(dir, 'streamKey'));
  config = configOf(true);
  ingest = await startIngest({ port: 0, host: '127.0.0.1', app: () => config.app, streamKey, logger });
  channel = createChannel({ ingest, hlsDir, config: () => config, logger, pollMs: 200, heartbeatMs: 60_000 });
});

afterEach(async () => {
  await publisher?.kill();
  publisher = undefined;
  await channel.shutdown();
  await ingest.close();
  streamKey.close();
  await rm(dir, { recursive: true, force: true });
});

function parseStrict(text: string): HLS.types.MasterPlaylist | HLS.types.MediaPlaylist {
  HLS.setOptions({ strictMode: true });
  return HLS.parse(text);
}

async function readMaster(): Promise<HLS.types.MasterPlaylist> {
  const playlist = parseStrict(await readFile(path.join(hlsDir, 'master.m3u8'), 'utf8'));
  if (!playlist.isMasterPlaylist) throw new Error('master.m3u8 is not a master playlist');
  return playlist;
}

async function readMedia(uri: string): Promise<HLS.types.MediaPlaylist> {
  const playlist = parseStrict(await readFile(path.join(hlsDir, uri), 'utf8'));
  if (playlist.isMasterPlaylist) throw new Error(`${uri} is not a media playlist`);
  return playlist;
}

interface Rung {
  uri: string;
  width: number | undefined;
  height: number | undefined;
  codecs: string | undefined;
  bandwidth: number;
  audio: boolean; // refers to an audio group
  audioUri: string | undefined; // the playlist of that group's audio rendition
}

// Publish, wait until every playlist of the master holds a few segments, and return the master's rungs.
async function publishAndWatch(source: Omit<PublisherOptions, 'url'>): Promise<Rung[]> {
  publisher = startPublisher({ url: `rtmp://127.0.0.1:${ingest.port}/${config.app}/${key}`, ...source });
  await waitFor('the master playlist', () => readFile(path.join(hlsDir, 'master.m3u8'), 'utf8'), {
    timeoutMs: 20_000,
  });
  const master = await readMaster();
  const uris = [
    ...master.variants.map((v) => v.uri),
    ...new Set(master.variants.flatMap((v) => v.audio.map((a) => a.uri!))),
  ];
  for (const uri of uris) {
    await waitFor(
      `${segmentsPerRung + 1} segments of ${uri}`,
      async () => (await readMedia(uri)).segments.length > segmentsPerRung,
      {
        timeoutMs: 30_000,
      },
    );
  }
  return master.variants.map((v) => ({
    uri: v.uri,
    width: v.resolution?.width,
    height: v.resolution?.height,
    codecs: v.codecs,
    bandwidth: v.bandwidth,
    audio: v.audio.length > 0,
    audioUri: v.audio[0]?.uri,
  }));
}

// Every listed segment of a playlist within 10 % of the target; the first may start mid-GOP and is left out.
async function expectSegmentDurations(uri: string): Promise<void> {
  const segments = (await readMedia(uri)).segments.slice(1);
  expect(segments.length).toBeGreaterThanOrEqual(segmentsPerRung - 1);
  for (const s of segments) expect(Math.abs(s.duration - segmentSeconds)).toBeLessThanOrEqual(0.1 * segmentSeconds);
}

// What a player decodes from a rung's newest segment: the video size and profile, and the audio codec if any.
async function decoded(
  uri: string,
): Promise<{ width?: number; height?: number; profile?: string; pix?: string; audio: string[] }> {
  const playlist = await readMedia(uri);
  const probe = await ffprobe(path.join(hlsDir, path.dirname(uri), playlist.segments.at(-1)!.uri));
  const video = probe.streams.find((s) => s.codec_type === 'video');
  return {
    ...(video && { width: video.width, height: video.height, profile: video.profile, pix: video.pix_fmt }),
    audio: probe.streams.filter((s) => s.codec_type === 'audio').map((s) => s.codec_name),
  };
}

// The peak bitrate over a playlist's complete segments (size x 8 / EXTINF), bits/s.
async function peakSegmentBitrate(uri: string): Promise<number> {
  const playlist = await readMedia(uri);
  const rates = await Promise.all(
    playlist.segments.map(
      async (s) => ((await stat(path.join(hlsDir, path.dirname(uri), s.uri))).size * 8) / s.duration,
    ),
  );
  return Math.max(...rates);
}

// The audio bitrate a player downloads from a rendition: AAC packet bytes over the listed segments' durations.
async function audioKbps(uri: string): Promise<number> {
  const playlist = await readMedia(uri);
  const segments = playlist.segments.slice(1); // the first may be cut short by the start
  let bytes = 0;
  for (const s of segments) {
    const { stdout } = await run('ffprobe', [
      '-v', 'error', '-select_streams', 'a:0', '-show_entries', 'packet=size', '-of', 'csv=p=0',
      path.join(hlsDir, path.dirname(uri), s.uri),
    ]); // prettier-ignore
    bytes += stdout.split('\n').reduce((sum, line) => sum + (Number(line) || 0), 0);
  }
  return (bytes * 8) / 1000 / segments.reduce((sum, s) => sum + s.duration, 0);
}

// Each variant's BANDWIDTH at or above its peak: its video segments' plus its own audio rendition's.
async function expectBandwidthAtPeak(rungs: Rung[]): Promise<void> {
  for (const r of rungs) {
    const audioPeak = r.audioUri !== undefined ? await peakSegmentBitrate(r.audioUri) : 0;
    const peak = (await peakSegmentBitrate(r.uri)) + audioPeak;
    logger.info({ rung: r.uri, bandwidth: r.bandwidth, peak: Math.round(peak) }, 'declared vs measured peak');
    expect(r.bandwidth).toBeGreaterThanOrEqual(peak);
  }
}

const sizes = (rungs: Rung[]): string[] => rungs.map((r) => `${path.dirname(r.uri)}:${r.width}x${r.height}`);

function expectAspect(rungs: Rung[], width: number, height: number): void {
  for (const r of rungs) expect(Math.abs(r.width! / r.height! / (width / height) - 1)).toBeLessThan(0.01);
}

// Each encoded video rung plays at the size the master announces, in a profile every browser decodes.
async function expectEncodedRungs(rungs: Rung[]): Promise<void> {
  for (const r of rungs.filter((x) => !x.uri.startsWith('source/'))) {
    expect(await decoded(r.uri)).toMatchObject({ width: r.width, height: r.height, pix: 'yuv420p' });
    expect(['Main', 'High']).toContain((await decoded(r.uri)).profile);
    await expectSegmentDurations(r.uri);
  }
}

describe('what a viewer gets, per class of source', () => {
  it('portrait 360x640 (a phone): a portrait ladder of the same steps, the source copied on top', async () => {
    const rungs = await publishAndWatch({ size: '360x640', durationSeconds: 30 });
    expect(channel.plan()?.passthroughRefused).toBeUndefined();
    expect(sizes(rungs)).toEqual(['source:360x640', '240p:240x426', '180p:180x320']);
    expectAspect(rungs, 360, 640);
    await expectEncodedRungs(rungs);
  });

  it('500x282, between two rungs and not copied: a rung at its own size, and the rungs below', async () => {
    config = configOf(false);
    const rungs = await publishAndWatch({ size: '500x282', durationSeconds: 30 });
    expect(sizes(rungs)).toEqual(['360p:500x282', '240p:426x240', '180p:320x180']);
    expectAspect(rungs, 500, 282);
    await expectEncodedRungs(rungs);
  });

  it('a 10 s GOP: every rung encoded with 2 s segments, the refusal said, BANDWIDTH above the measured peak', async () => {
    const rungs = await publishAndWatch({ size: '640x360', gopSeconds: 10, durationSeconds: 30 });
    expect(sizes(rungs)).toEqual(['360p:640x360', '240p:426x240', '180p:320x180']);
    expect(channel.plan()?.passthroughRefused).toMatch(/^keyframe interval (over )?[\d.]+ s exceeds segment 2 s$/);
    await expectEncodedRungs(rungs);
    await expectBandwidthAtPeak(rungs);
  });

  it('audio per rung: each variant plays AAC at its rung bitrate (the copied source too), BANDWIDTH above the peak', async () => {
    config = configOf(true, [
      { name: '360p', width: 640, height: 360, videoBitrateKbps: 800, audioBitrateKbps: 128 },
      { name: '240p', width: 426, height: 240, videoBitrateKbps: 400, audioBitrateKbps: 64 },
      { name: '180p', width: 320, height: 180, videoBitrateKbps: 200, audioBitrateKbps: 32 },
    ]);
    const rungs = await publishAndWatch({ size: '640x360', durationSeconds: 30 }); // AAC at 96 kbit/s, 2 s GOP
    expect(sizes(rungs)).toEqual(['source:640x360', '240p:426x240', '180p:320x180']);
    expect(rungs.map((r) => r.audioUri)).toEqual(['audio/index.m3u8', 'audio_64k/index.m3u8', 'audio_32k/index.m3u8']);
    const measured = [];
    for (const r of rungs) measured.push(await audioKbps(r.audioUri!));
    logger.info({ measured }, 'audio kbit/s per variant');
    // Every variant at its rung's setting, the copied source's video with AAC encoded at 128 kbit/s: within 25 % (a
    // plain tone leaves ffmpeg's AAC encoder under its target at 128k, about 103), which still tells 128, 64, 32 apart.
    for (const [kbps, expected] of measured.map((m, i) => [m, [128, 64, 32][i]!])) {
      expect(Math.abs(kbps! / expected! - 1)).toBeLessThan(0.25);
    }
    for (const r of rungs) expect(await decoded(r.audioUri!)).toEqual({ audio: ['aac'] });
    await expectEncodedRungs(rungs);
    await expectBandwidthAtPeak(rungs);
  });

  it('yuv444p (High 4:4:4), which browsers cannot decode: encoded to 4:2:0, the profile said', async () => {
    const rungs = await publishAndWatch({ size: '640x360', pixFmt: 'yuv444p', durationSeconds: 30 });
    expect(sizes(rungs)).toEqual(['360p:640x360', '240p:426x240', '180p:320x180']);
    expect(channel.plan()?.passthroughRefused).toBe('profile High 4:4:4');
    await expectEncodedRungs(rungs);
  });

  it('audio only (radio): one audio variant with CODECS mp4a.40.2, BANDWIDTH above its measured peak', async () => {
    const rungs = await publishAndWatch({ video: false, durationSeconds: 30 });
    expect(rungs.map((r) => [r.uri, r.codecs, r.width, r.audio])).toEqual([
      ['audio/index.m3u8', 'mp4a.40.2', undefined, false],
    ]);
    expect(await decoded('audio/index.m3u8')).toEqual({ audio: ['aac'] });
    await expectSegmentDurations('audio/index.m3u8');
    expect(rungs[0]!.bandwidth).toBeGreaterThanOrEqual(await peakSegmentBitrate('audio/index.m3u8'));
  });

  it('video only (a silent camera): the ladder without audio groups or audio streams', async () => {
    const rungs = await publishAndWatch({ size: '640x360', audio: false, durationSeconds: 30 });
    expect(sizes(rungs)).toEqual(['source:640x360', '240p:426x240', '180p:320x180']);
    expect(rungs.every((r) => !r.audio && !(r.codecs ?? '').includes('mp4a'))).toBe(true);
    for (const r of rungs) expect((await decoded(r.uri)).audio).toEqual([]);
    await expectEncodedRungs(rungs);
  });
});

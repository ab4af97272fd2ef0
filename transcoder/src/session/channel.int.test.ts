// The transcoder's core against real processes: node-media-server ingest, the ladder's ffmpeg, and ffmpeg encoders
// publishing testsrc2 + sine over RTMP. Playlists are checked with hls-parser in strict mode and media with ffprobe.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { resolveSpec } from '../config/livestream-spec.ts';
import { RefusalLimiter } from '../../../contract/src/refusal-limiter.ts';
import type { EventType } from '../../../contract/src/reports.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import { createTranscoderMetrics, type TranscoderMetrics } from '../telemetry/metrics.ts';
import { ffprobe, frameRate } from '../../../test/support/media-probe.ts';
import type { Publisher } from '../../../test/support/rtmp-publisher.ts';
import { startChannelHarness, type ChannelHarness } from '../../../test/support/channel-harness.ts';
import { sleep, waitFor } from '../../../test/support/wait-for.ts';

const segmentSeconds = 2;
const windowSeconds = 4;
const config = resolveSpec(
  validateSpec({
    ladder: {
      renditions: [
        { name: '360p', width: 640, height: 360, videoBitrateKbps: 800 },
        { name: '240p', width: 426, height: 240, videoBitrateKbps: 400 },
        { name: '180p', width: 320, height: 180, videoBitrateKbps: 200, fps: 15 },
      ],
    },
    hls: { segmentSeconds, playlistLength: 4 },
    reconnectWindowSeconds: windowSeconds,
  }),
  'itest',
  'media',
);

let h: ChannelHarness;
let metrics: TranscoderMetrics;
const reports: Array<{ type: EventType; session: string; data: Record<string, unknown> }> = [];
let penaltyClock = 0; // the refusal limiter's
const logger = createLogger('channel-int', process.env.LOG_LEVEL ?? 'warn');

/** Publishes with the stream key (or `name`) into `app`. */
const publish = (name?: string, app = 'live'): Publisher =>
  h.publish({ ...(name !== undefined && { name }), app, size: '640x360', fps: 30, gopSeconds: segmentSeconds });

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = metrics.registry.getSingleMetric(`livestream_transcoder_${name}`);
  if (m === undefined) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}

// Sequence numbers of the segments that start after a discontinuity.
async function discontinuities(rendition: string): Promise<number[]> {
  const p = await h.media(rendition);
  return p.segments.flatMap((s, i) => (s.discontinuity ? [p.mediaSequenceBase! + i] : []));
}

// A refused encoder exits on its own (broken pipe); bounded so a wrongly accepted one fails the test, not hangs it.
async function expectRefused(p: Publisher): Promise<void> {
  const result = await Promise.race([p.exited, sleep(15_000).then(() => 'still running' as const)]);
  expect(result).not.toBe('still running');
  if (typeof result !== 'string') expect(result.code).not.toBe(0);
}

const reportsOf = (type: EventType) => reports.filter((r) => r.type === type);

beforeAll(async () => {
  metrics = createTranscoderMetrics(new Registry(), { defaultMetrics: false });
  h = await startChannelHarness({
    name: 'channel-int',
    config: () => config,
    logger,
    ingest: {
      metrics,
      // The limiter's clock is the test's: publisher start-up times vary too much on a busy machine to race a real one.
      // Two tries, then one back per second of that clock.
      refusals: { limiter: new RefusalLimiter({ burst: 2, refillMs: 1_000 }), now: () => penaltyClock },
    },
    channel: {
      metrics,
      reporter: { report: (type, session, data) => reports.push({ type, session, data: { ...data } }) },
      pollMs: 200,
      heartbeatMs: 1_000,
    },
  });
});

afterAll(() => h?.close());

describe('transcoder session on real node-media-server and ffmpeg', () => {
  it('refuses a wrong key, a wrong app and an address out of tries, counts each, and writes no HLS output', async () => {
    await expectRefused(publish('not-the-key'));
    await expectRefused(publish(h.key, 'other'));
    // Again, this time with the right key, but the address has used up its tries.
    await expectRefused(publish(h.key));

    expect(await metric('publish_refused_total', { reason: 'bad_key' })).toBe(1);
    expect(await metric('publish_refused_total', { reason: 'wrong_path' })).toBe(1);
    expect(await metric('publish_refused_total', { reason: 'rate_limited' })).toBe(1);
    expect(reportsOf('publish-refused').map((r) => r.data.reason)).toEqual(['bad_key', 'wrong_path', 'rate_limited']);
    expect(h.channel.sessionId()).toBe('');
    expect(await readdir(h.hlsDir).catch(() => [])).toEqual([]);
    expect(await metric('sessions_total')).toBe(0);
    penaltyClock += 5_000;
  });

  let first: Publisher;
  let sessionId: string;

  it('publishes a ladder whose master and every rendition play with the promised codec, profile, size and fps', async () => {
    first = publish();
    await waitFor('the master playlist', () => h.read('master.m3u8'), {
      timeoutMs: 20_000,
    });
    sessionId = h.channel.sessionId();
    expect(sessionId).not.toBe('');
    const plan = h.channel.plan()!;
    expect(plan.videos.map((v) => `${v.name}:${v.mode}:${v.width}x${v.height}@${v.fps}`)).toEqual([
      'source:copy:640x360@30',
      '240p:encode:426x240@30',
      '180p:encode:320x180@15',
    ]);
    for (const v of plan.videos) {
      await waitFor(`3 segments of ${v.name}`, async () => (await h.media(v.name)).segments.length >= 3, {
        timeoutMs: 20_000,
      });
    }

    const master = await h.master();
    expect(master.isMasterPlaylist).toBe(true);
    expect(master.variants.map((v) => [v.uri, v.resolution, v.codecs])).toEqual([
      ['source/index.m3u8', { width: 640, height: 360 }, 'avc1.64001e,mp4a.40.2'],
      ['240p/index.m3u8', { width: 426, height: 240 }, 'avc1.4d401e,mp4a.40.2'],
      ['180p/index.m3u8', { width: 320, height: 180 }, 'avc1.4d401e,mp4a.40.2'],
    ]);
    // One audio group at the rungs' (equal) bitrate for every variant, the copied source's video included.
    expect(master.variants.map((v) => v.audio.map((a) => a.uri))).toEqual([
      ['audio/index.m3u8'],
      ['audio/index.m3u8'],
      ['audio/index.m3u8'],
    ]);
    for (const v of master.variants) expect(v.bandwidth).toBeGreaterThan(0);

    const expected: Record<string, { profile: string; width: number; height: number; fps: number }> = {
      source: { profile: 'High', width: 640, height: 360, fps: 30 },
      '240p': { profile: 'Main', width: 426, height: 240, fps: 30 },
      '180p': { profile: 'Main', width: 320, height: 180, fps: 15 },
    };
    for (const [name, want] of Object.entries(expected)) {
      const playlist = await h.media(name);
      expect(playlist.targetDuration).toBe(segmentSeconds);
      // Every complete segment within 10 % of the target (the newest may be cut short by nothing here: all listed
      // segments are complete; only a stop can shorten the last one).
      for (const s of playlist.segments)
        expect(Math.abs(s.duration - segmentSeconds)).toBeLessThanOrEqual(0.1 * segmentSeconds);
      const probe = await ffprobe(path.join(h.hlsDir, name, playlist.segments[0]!.uri));
      const video = probe.streams.find((s) => s.codec_type === 'video')!;
      expect({
        codec: video.codec_name,
        profile: video.profile,
        width: video.width,
        height: video.height,
        fps: frameRate(video.r_frame_rate),
        pix: video.pix_fmt,
      }).toEqual({ codec: 'h264', ...want, pix: 'yuv420p' });
      expect(probe.streams.filter((s) => s.codec_type === 'audio')).toEqual([]);
    }
    // Keyframes are aligned: the same segment number starts at the same instant in every video rendition.
    const starts = await Promise.all(
      Object.keys(expected).map(async (name) =>
        Number((await ffprobe(path.join(h.hlsDir, name, `${h.channel.sessionId()}_00001.ts`))).format.start_time),
      ),
    );
    for (const t of starts) expect(Math.abs(t - starts[0]!)).toBeLessThan(0.05);

    const audio = await h.media('audio');
    for (const s of audio.segments)
      expect(Math.abs(s.duration - segmentSeconds)).toBeLessThanOrEqual(0.1 * segmentSeconds);
    const audioProbe = await ffprobe(path.join(h.hlsDir, 'audio', audio.segments[0]!.uri));
    expect(audioProbe.streams.map((s) => [s.codec_type, s.codec_name, s.profile])).toEqual([['audio', 'aac', 'LC']]);
    // The whole master plays through ffmpeg's HLS demuxer (what a player does): one of each stream.
    const whole = await ffprobe(path.join(h.hlsDir, 'master.m3u8'));
    expect(whole.streams.filter((s) => s.codec_type === 'video').length).toBe(3);

    expect(await metric('publishing')).toBe(1);
    expect(await metric('sessions_total')).toBe(1);
    expect(await metric('segments_total', { rendition: '240p' })).toBeGreaterThanOrEqual(3);
    expect(await metric('ingest_width_pixels')).toBe(640);
    const started = reportsOf('publish-started');
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({
      session: sessionId,
      data: { resumed: false, videoCodec: 'h264', audioCodec: 'aac', width: 640, height: 360 },
    });
    const beat = reportsOf('heartbeat').at(-1)!;
    expect(beat.data).toMatchObject({ state: 'live', width: 640, height: 360 });
    expect(beat.data.bitrateKbps).toBeGreaterThan(300);
  });

  it('refuses a second concurrent publisher with the right key (busy) and keeps the first', async () => {
    await expectRefused(publish());
    expect(await metric('publish_refused_total', { reason: 'busy' })).toBe(1);
    expect(h.channel.sessionId()).toBe(sessionId);
    expect(h.channel.state()).toBe('live');
    expect(first.process.exitCode).toBeNull();
  });

  it('restarts an ffmpeg killed with SIGKILL: new segments within 5 s, counted and reported', async () => {
    const pid = h.channel.ffmpegPid()!;
    expect(pid).toBeGreaterThan(0);
    const before = await h.lastSequence('240p');
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    await waitFor('a segment from the restarted ffmpeg', async () => (await h.lastSequence('240p')) > before, {
      timeoutMs: 8_000,
      intervalMs: 100,
    });
    const elapsed = Date.now() - killedAt;
    // The segment being written at the kill is lost; the new ffmpeg continues the numbering from the playlist.
    expect(elapsed).toBeLessThan(5_000);
    expect(h.channel.ffmpegPid()).not.toBe(pid);
    expect(await metric('ffmpeg_restarts_total')).toBe(1);
    expect(reportsOf('ffmpeg-failed')).toHaveLength(1);
    expect(reportsOf('ffmpeg-failed')[0]?.data).toMatchObject({ signal: 'SIGKILL', restarts: 1 });
    expect((await discontinuities('240p')).some((seq) => seq > before)).toBe(true);
    expect(h.channel.sessionId()).toBe(sessionId);
    console.log(`ffmpeg SIGKILL -> next segment in ${elapsed} ms`);
  });

  let second: Publisher;

  it('continues the same session when the publisher drops and returns within the window, after a discontinuity', async () => {
    await first.kill(); // abrupt drop, as a lost network would be
    await waitFor('the reconnecting state', () => h.channel.state() === 'reconnecting', { timeoutMs: 10_000 });
    const renditions = ['source', '240p', '180p', 'audio'];
    const before: Record<string, number> = {};
    for (const name of renditions) before[name] = await h.lastSequence(name);
    expect(await metric('publishing')).toBe(0);
    second = publish();
    await waitFor('live again', () => h.channel.state() === 'live', { timeoutMs: 10_000 });
    for (const name of renditions) {
      await waitFor(
        `new ${name} segments after the reconnect`,
        async () => (await h.lastSequence(name)) > before[name]!,
        {
          timeoutMs: 15_000,
        },
      );
    }
    expect(h.channel.sessionId()).toBe(sessionId);
    for (const name of renditions) {
      // The first segment of the returning publisher follows a discontinuity; numbering continues.
      expect(await discontinuities(name)).toContain(before[name]! + 1);
      expect((await h.media(name)).endlist).toBe(false);
    }
    expect(await metric('sessions_total')).toBe(1);
    expect(reportsOf('publish-ended')).toHaveLength(1);
    expect(reportsOf('publish-started').map((r) => [r.session, r.data.resumed])).toEqual([
      [sessionId, false],
      [sessionId, true],
    ]);
  });

  it('ends the session with ENDLIST when the window runs out, and starts a new one on the next publish', async () => {
    await second.stop();
    await waitFor('the session to end', () => h.channel.state() === 'idle', {
      timeoutMs: windowSeconds * 1000 + 10_000,
    });
    for (const name of ['source', '240p', '180p', 'audio']) expect((await h.media(name)).endlist).toBe(true);
    const ended = reportsOf('session-ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ session: sessionId, data: { reason: 'window-expired' } });
    expect(ended[0]!.data.bytesIn).toBeGreaterThan(100_000);
    expect(ended[0]!.data.duration).toBeGreaterThan(10);

    const third = publish();
    await waitFor('a new session', () => h.channel.sessionId() !== '' && h.channel.sessionId() !== sessionId, {
      timeoutMs: 10_000,
    });
    const next = h.channel.sessionId();
    expect(next > sessionId).toBe(true); // time-sortable ids
    await waitFor('the new session output', async () => (await h.media('240p')).segments.length >= 2, {
      timeoutMs: 20_000,
    });
    const fresh = await h.media('240p');
    expect(fresh.mediaSequenceBase).toBe(0);
    // Segment names carry the session id: an immutable URL is never reused by a later session.
    expect(fresh.segments[0]?.uri).toBe(`${next}_00000.ts`);
    expect(fresh.segments.every((s) => !s.uri.startsWith(sessionId))).toBe(true);
    expect(fresh.segments.some((s) => s.discontinuity)).toBe(false);
    expect(fresh.endlist).toBe(false);
    expect(await metric('sessions_total')).toBe(2);
    expect(third.process.exitCode).toBeNull();
  });

  it('ends the running session on shutdown with ENDLIST on every playlist', async () => {
    const id = h.channel.sessionId();
    await h.channel.shutdown();
    for (const name of ['source', '240p', '180p', 'audio']) expect((await h.media(name)).endlist).toBe(true);
    expect(reportsOf('session-ended').at(-1)).toMatchObject({ session: id, data: { reason: 'shutdown' } });
  });
});

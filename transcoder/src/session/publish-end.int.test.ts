// The end of a broadcast, on real node-media-server and ffmpeg, with the top rung passed through (`-c:v copy`):
// the publisher leaves (or its network drops) and every frame it sent must be in HLS, with `publish-ended` and the
// reconnecting state within 1 s of the encoder closing its connection (issue 13).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import type { EventType } from '../../../contract/src/reports.ts';
import { ffprobe } from '../../../test/support/media-probe.ts';
import type { Publisher } from '../../../test/support/rtmp-publisher.ts';
import { startChannelHarness, type ChannelHarness } from '../../../test/support/channel-harness.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { resolveSpec } from '../config/livestream-spec.ts';

const segmentSeconds = 2;
const gopSeconds = 1; // measured by the source probe in 1 s, and a divisor of the segment: passed through
const windowSeconds = 3;
const publisherIdleMs = 2_000;
const fps = 30;
const ladder = (withEncodedRung: boolean) =>
  resolveSpec(
    validateSpec({
      ladder: {
        renditions: [
          { name: '360p', width: 640, height: 360, videoBitrateKbps: 800 }, // the 640x360 source: passed through
          ...(withEncodedRung ? [{ name: '180p', width: 320, height: 180, videoBitrateKbps: 200, fps: 15 }] : []),
        ],
      },
      hls: { segmentSeconds, playlistLength: 10 },
      reconnectWindowSeconds: windowSeconds,
    }),
    'itest',
    'media',
  );
// Only the copy: the ffmpeg that blocked in its RTMP read, ignored SIGINT and lost its last segment after 8 s.
// With an encoded rung: it stopped at SIGINT, 5 frames short.
const ladders = { 'only the copied source': ladder(false), 'the copied source and an encoded rung': ladder(true) };
let config = ladders['only the copied source'];

let h: ChannelHarness;
const reports: Array<{ type: EventType; at: number; data: Record<string, unknown> }> = [];
const logger = createLogger('publish-end-int', process.env.LOG_LEVEL ?? 'warn');

const publish = (durationSeconds?: number): Publisher =>
  h.publish({ size: '640x360', fps, gopSeconds, ...(durationSeconds !== undefined && { durationSeconds }) });

async function videoPackets(file: string): Promise<number> {
  const probe = await ffprobe(file, ['-count_packets', '-select_streams', 'v:0']);
  return Number((probe.streams[0] as { nb_read_packets?: string } | undefined)?.nb_read_packets ?? 0);
}

const reportsOf = (type: EventType) => reports.filter((r) => r.type === type);

beforeAll(async () => {
  h = await startChannelHarness({
    name: 'publish-end-int',
    config: () => config,
    logger,
    ingest: { publisherIdleMs },
    channel: {
      reporter: { report: (type, _session, data) => reports.push({ type, at: Date.now(), data: { ...data } }) },
    },
  });
});

afterAll(() => h?.close());

describe('the end of a broadcast with the top rung passed through', () => {
  it.each(Object.keys(ladders) as Array<keyof typeof ladders>)(
    'keeps every frame in HLS and reports the end within 1 s of the encoder closing: %s',
    async (name) => {
      config = ladders[name];
      const publishedSeconds = 5.5; // ends inside a segment: the partial segment must not be lost
      const p = publish(publishedSeconds);
      await waitFor('the ladder', () => h.channel.plan(), { timeoutMs: 15_000 });
      const renditions = h.channel.plan()!.videos.map((v) => `${v.name}:${v.mode}`);
      expect(renditions).toEqual(['source:copy', ...(renditions.length > 1 ? ['180p:encode'] : [])]);
      expect((await p.exited).code).toBe(0);
      const closedAt = Date.now();

      await waitFor('the reconnecting state', () => h.channel.state() === 'reconnecting', {
        timeoutMs: 15_000,
        intervalMs: 10,
      });
      const reconnectingMs = Date.now() - closedAt;
      const ended = await waitFor('publish-ended', () => reportsOf('publish-ended').at(-1), { timeoutMs: 1_000 });
      const reportMs = ended.at - closedAt;
      console.log(`${name}: encoder closed -> publish-ended ${reportMs} ms, reconnecting ${reconnectingMs} ms`);
      expect(reportMs).toBeLessThan(1_000);
      expect(reconnectingMs).toBeLessThan(1_000);

      // The ladder joined at a keyframe (it starts once the probe has measured the keyframe interval): from there
      // to the end, every published frame is in the passed-through rung, the last partial segment included.
      const top = await h.media('source');
      const frames = await Promise.all(top.segments.map((s) => videoPackets(path.join(h.hlsDir, 'source', s.uri))));
      const listed = top.segments.reduce((sum, s) => sum + s.duration, 0);
      const joinedAt = Math.round(publishedSeconds - listed); // a keyframe: whole seconds
      console.log(`source rung: segments ${top.segments.map((s) => s.duration).join(' ')}, frames ${frames.join(' ')}`);
      expect(joinedAt).toBeLessThanOrEqual(3);
      expect(Math.abs(joinedAt + listed - publishedSeconds)).toBeLessThanOrEqual(1.5 / fps);
      expect(frames.reduce((a, b) => a + b, 0)).toBe(Math.round((publishedSeconds - joinedAt) * fps));
      if (renditions.length > 1) {
        // The encoded rung ends at the same instant (15 fps: within one of its frame intervals).
        const encoded = (await h.media('180p')).segments.reduce((sum, s) => sum + s.duration, 0);
        expect(Math.abs(encoded - listed)).toBeLessThanOrEqual(1.5 / 15);
      }

      // The window runs out: ENDLIST on every playlist within window + 1 s of the encoder closing.
      await waitFor('the session to end', () => h.channel.state() === 'idle', {
        timeoutMs: windowSeconds * 1000 + 5_000,
      });
      expect(Date.now() - closedAt).toBeLessThan(windowSeconds * 1000 + 1_000);
      const names = ['source', 'audio', ...(renditions.length > 1 ? ['180p'] : [])];
      for (const r of names) expect((await h.media(r)).endlist).toBe(true);
    },
  );

  it('disconnects a publisher whose network dropped (silent, no TCP close) within its idle timeout + 1 s', async () => {
    const p = publish();
    await waitFor('a first segment', async () => (await h.media('source')).segments.length > 0 && h.channel.plan(), {
      timeoutMs: 20_000,
    });
    const before = reportsOf('publish-ended').length;
    process.kill(p.process.pid!, 'SIGSTOP'); // the encoder's packets stop; its TCP connection stays open
    const frozenAt = Date.now();
    try {
      const ended = await waitFor('publish-ended', () => reportsOf('publish-ended')[before], {
        timeoutMs: publisherIdleMs + 5_000,
        intervalMs: 20,
      });
      const endedMs = ended.at - frozenAt;
      console.log(`publisher silent -> publish-ended ${endedMs} ms (idle timeout ${publisherIdleMs} ms)`);
      expect(endedMs).toBeLessThan(publisherIdleMs + 1_000);
      await waitFor('the reconnecting state', () => h.channel.state() === 'reconnecting', { timeoutMs: 1_000 });
    } finally {
      await p.kill();
    }
  });
});

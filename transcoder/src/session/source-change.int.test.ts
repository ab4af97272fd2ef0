// A publisher back inside the reconnect window at another resolution (the streamer changed OBS's settings), on real
// node-media-server and ffmpeg: the session, its variants and their numbering continue, the new source scaled into
// the ladder, after an #EXT-X-DISCONTINUITY; no listed playlist is ever missing during the switch (issue 13).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import { ffprobe } from '../../../test/support/media-probe.ts';
import type { Publisher } from '../../../test/support/rtmp-publisher.ts';
import { parsePlaylist, startChannelHarness, type ChannelHarness } from '../../../test/support/channel-harness.ts';
import { sleep, waitFor } from '../../../test/support/wait-for.ts';
import { resolveSpec } from '../config/livestream-spec.ts';
import { renditionNames } from './session-output.ts';

const config = resolveSpec(
  validateSpec({
    ladder: {
      renditions: [
        { name: '360p', width: 640, height: 360, videoBitrateKbps: 800 },
        { name: '240p', width: 426, height: 240, videoBitrateKbps: 400 },
        { name: '180p', width: 320, height: 180, videoBitrateKbps: 200, fps: 15 },
      ],
    },
    hls: { segmentSeconds: 2, playlistLength: 8 },
    reconnectWindowSeconds: 10,
  }),
  'itest',
  'media',
);

let h: ChannelHarness;
const logger = createLogger('source-change-int', process.env.LOG_LEVEL ?? 'warn');

// 1 s GOPs: the probe measures the interval within its wait, and it divides the segment: the 640x360 is copied.
const publish = (size: string): Publisher => h.publish({ size, fps: 30, gopSeconds: 1 });

/** What players see while it runs: every playlist the master lists is read every 100 ms. */
class PlaylistWatch {
  readonly misses: string[] = [];
  readonly uriBySequence = new Map<string, string>(); // "<rendition>#<seq>" -> segment URI
  readonly reused: string[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor() {
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const master = await this.fetch('master.m3u8');
      if (master !== undefined) {
        const { variants } = parsePlaylist(master, true);
        const uris = new Set([...variants.map((v) => v.uri), ...variants.flatMap((v) => v.audio.map((a) => a.uri!))]);
        for (const uri of uris) this.record(uri, await this.fetch(uri));
      }
      await sleep(100);
    }
  }

  private async fetch(rel: string): Promise<string | undefined> {
    try {
      return await h.read(rel);
    } catch {
      this.misses.push(`${rel} at ${new Date().toISOString()}`);
      return undefined;
    }
  }

  private record(uri: string, text: string | undefined): void {
    if (text === undefined) return;
    const p = parsePlaylist(text, false);
    p.segments.forEach((s, i) => {
      const id = `${uri}#${p.mediaSequenceBase! + i}`;
      const known = this.uriBySequence.get(id);
      if (known !== undefined && known !== s.uri) this.reused.push(`${id}: ${known} then ${s.uri}`);
      this.uriBySequence.set(id, s.uri);
    });
  }
}

beforeAll(async () => {
  h = await startChannelHarness({ name: 'source-change-int', config: () => config, logger });
});

afterAll(() => h?.close());

describe('a reconnect inside the window with another resolution', () => {
  it('continues the session: same variants and sizes, numbering continued after a discontinuity, no 404', async () => {
    const first = publish('640x360');
    await waitFor('the master playlist', () => h.read('master.m3u8'), { timeoutMs: 20_000 });
    const renditions = ['source', '240p', '180p', 'audio'];
    expect(renditionNames(h.channel.plan()!)).toEqual(renditions);
    for (const name of renditions) {
      await waitFor(`2 segments of ${name}`, async () => (await h.media(name)).segments.length >= 2, {
        timeoutMs: 20_000,
      });
    }
    const shape = (modes: boolean) =>
      h.channel.plan()!.videos.map((v) => `${v.name}:${modes ? v.mode : ''}:${v.width}x${v.height}`);
    expect(shape(true)).toEqual(['source:copy:640x360', '240p:encode:426x240', '180p:encode:320x180']);
    const variants = shape(false);
    const session = h.channel.sessionId();
    const masterBefore = await h.read('master.m3u8');
    const watch = new PlaylistWatch();
    try {
      await first.stop();
      await waitFor('the reconnecting state', () => h.channel.state() === 'reconnecting', { timeoutMs: 5_000 });
      const before: Record<string, number> = {};
      for (const name of renditions) before[name] = await h.lastSequence(name);

      publish('1280x720');
      for (const name of renditions) {
        await waitFor(`2 new ${name} segments`, async () => (await h.lastSequence(name)) >= before[name]! + 2, {
          timeoutMs: 25_000,
        });
      }
      expect(h.channel.sessionId()).toBe(session);
      expect(await h.read('master.m3u8')).toBe(masterBefore); // the same variants, sizes and codecs
      for (const name of renditions) {
        const p = await h.media(name);
        // (ffmpeg's append_list may also mark the playlist's first segment: harmless to players.)
        const marked = p.segments.flatMap((s, i) => (s.discontinuity ? [p.mediaSequenceBase! + i] : []));
        expect(marked).toContain(before[name]! + 1);
        expect(p.endlist).toBe(false);
      }
      // The new source is scaled into the ladder: the top rung keeps the 640x360 the master announces.
      const top = await h.media('source');
      const probe = await ffprobe(path.join(h.hlsDir, 'source', top.segments.at(-1)!.uri));
      const video = probe.streams.find((s) => s.codec_type === 'video')!;
      expect([video.width, video.height, video.profile]).toEqual([640, 360, 'High']);
      expect(shape(false)).toEqual(variants);
      expect(h.channel.plan()!.videos.every((v) => v.mode === 'encode')).toBe(true);
      // ...and the plan says why the copied rung is encoded now, for status.
      expect(h.channel.plan()!.passthroughRefused).toBe('1280x720 exceeds the top rung 640x360');
    } finally {
      await watch.stop();
    }
    expect(watch.misses).toEqual([]);
    expect(watch.reused).toEqual([]);
    expect(watch.uriBySequence.size).toBeGreaterThan(8);
  });
});

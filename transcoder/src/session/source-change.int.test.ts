// A publisher back inside the reconnect window at another resolution (the streamer changed OBS's settings), on real
// node-media-server and ffmpeg: the session, its variants and their numbering continue, the new source scaled into
// the ladder, after an #EXT-X-DISCONTINUITY; no listed playlist is ever missing during the switch (issue 13).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import { ffprobe } from '../../../test/support/media-probe.ts';
import { startPublisher, type Publisher } from '../../../test/support/rtmp-publisher.ts';
import { sleep, waitFor } from '../../../test/support/wait-for.ts';
import { resolveSpec } from '../config/livestream-spec.ts';
import { startIngest, type Ingest } from '../ingest/ingest-server.ts';
import { openStreamKey, type StreamKey } from '../ingest/stream-key.ts';
import { createChannel, type Channel } from './channel.ts';

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

let dir: string;
let hlsDir: string;
let key: string;
let streamKey: StreamKey;
let ingest: Ingest;
let channel: Channel;
const publishers: Publisher[] = [];
const logger = createLogger('source-change-int', process.env.LOG_LEVEL ?? 'warn');

const publish = (size: string): Publisher => {
  // 1 s GOPs: the probe measures the interval within its wait, and it divides the segment: the 640x360 is copied.
  const p = startPublisher({ url: `rtmp://127.0.0.1:${ingest.port}/live/${key}`, size, fps: 30, gopSeconds: 1 });
  publishers.push(p);
  return p;
};

const read = (rel: string): Promise<string> => readFile(path.join(hlsDir, rel), 'utf8');

function parseMaster(text: string): HLS.types.MasterPlaylist {
  HLS.setOptions({ strictMode: true });
  const p = HLS.parse(text);
  if (!p.isMasterPlaylist) throw new Error('expected a master playlist');
  return p;
}

function parseMedia(text: string): HLS.types.MediaPlaylist {
  HLS.setOptions({ strictMode: true });
  const p = HLS.parse(text);
  if (p.isMasterPlaylist) throw new Error('expected a media playlist');
  return p;
}

const media = async (rendition: string): Promise<HLS.types.MediaPlaylist> =>
  parseMedia(await read(`${rendition}/index.m3u8`));

async function lastSequence(rendition: string): Promise<number> {
  const p = await media(rendition);
  return p.mediaSequenceBase! + p.segments.length - 1;
}

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
        const { variants } = parseMaster(master);
        const uris = new Set([...variants.map((v) => v.uri), ...variants.flatMap((v) => v.audio.map((a) => a.uri!))]);
        for (const uri of uris) this.record(uri, await this.fetch(uri));
      }
      await sleep(100);
    }
  }

  private async fetch(rel: string): Promise<string | undefined> {
    try {
      return await read(rel);
    } catch {
      this.misses.push(`${rel} at ${new Date().toISOString()}`);
      return undefined;
    }
  }

  private record(uri: string, text: string | undefined): void {
    if (text === undefined) return;
    const p = parseMedia(text);
    p.segments.forEach((s, i) => {
      const id = `${uri}#${p.mediaSequenceBase! + i}`;
      const known = this.uriBySequence.get(id);
      if (known !== undefined && known !== s.uri) this.reused.push(`${id}: ${known} then ${s.uri}`);
      this.uriBySequence.set(id, s.uri);
    });
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'source-change-int-'));
  hlsDir = path.join(dir, 'hls');
  key = randomBytes(12).toString('base64url');
  await writeFile(path.join(dir, 'streamKey'), key + '\n', { mode: 0o600 });
  streamKey = openStreamKey(path.join(dir, 'streamKey'));
  ingest = await startIngest({ port: 0, host: '127.0.0.1', app: () => config.app, streamKey, logger });
  channel = createChannel({ ingest, hlsDir, config: () => config, logger, pollMs: 100 });
});

afterAll(async () => {
  await Promise.all(publishers.map((p) => p.kill()));
  await channel?.shutdown();
  await ingest?.close();
  streamKey?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a reconnect inside the window with another resolution', () => {
  it('continues the session: same variants and sizes, numbering continued after a discontinuity, no 404', async () => {
    const first = publish('640x360');
    await waitFor('the master playlist', () => read('master.m3u8'), { timeoutMs: 20_000 });
    const renditions = ['source', '240p', '180p', 'audio'];
    for (const name of renditions) {
      await waitFor(`2 segments of ${name}`, async () => (await media(name)).segments.length >= 2, {
        timeoutMs: 20_000,
      });
    }
    const shape = (modes: boolean) =>
      channel.plan()!.videos.map((v) => `${v.name}:${modes ? v.mode : ''}:${v.width}x${v.height}`);
    expect(shape(true)).toEqual(['source:copy:640x360', '240p:encode:426x240', '180p:encode:320x180']);
    const variants = shape(false);
    const session = channel.sessionId();
    const masterBefore = await read('master.m3u8');
    const watch = new PlaylistWatch();
    try {
      await first.stop();
      await waitFor('the reconnecting state', () => channel.state() === 'reconnecting', { timeoutMs: 5_000 });
      const before: Record<string, number> = {};
      for (const name of renditions) before[name] = await lastSequence(name);

      publish('1280x720');
      for (const name of renditions) {
        await waitFor(`2 new ${name} segments`, async () => (await lastSequence(name)) >= before[name]! + 2, {
          timeoutMs: 25_000,
        });
      }
      expect(channel.sessionId()).toBe(session);
      expect(await read('master.m3u8')).toBe(masterBefore); // the same variants, sizes and codecs
      for (const name of renditions) {
        const p = await media(name);
        // (ffmpeg's append_list may also mark the playlist's first segment: harmless to players.)
        const marked = p.segments.flatMap((s, i) => (s.discontinuity ? [p.mediaSequenceBase! + i] : []));
        expect(marked).toContain(before[name]! + 1);
        expect(p.endlist).toBe(false);
      }
      // The new source is scaled into the ladder: the top rung keeps the 640x360 the master announces.
      const top = await media('source');
      const probe = await ffprobe(path.join(hlsDir, 'source', top.segments.at(-1)!.uri));
      const video = probe.streams.find((s) => s.codec_type === 'video')!;
      expect([video.width, video.height, video.profile]).toEqual([640, 360, 'High']);
      expect(shape(false)).toEqual(variants);
      expect(channel.plan()!.videos.every((v) => v.mode === 'encode')).toBe(true);
    } finally {
      await watch.stop();
    }
    expect(watch.misses).toEqual([]);
    expect(watch.reused).toEqual([]);
    expect(watch.uriBySequence.size).toBeGreaterThan(8);
  });
});

// A publisher back inside the reconnect window with a picture of another shape (4:3 webcam settings, then a phone held
// upright) into a session whose ladder is 16:9, on real node-media-server and ffmpeg: every rung keeps the size the
// master announces, and the picture inside it keeps its own aspect ratio, letterboxed or pillarboxed (black bars),
// never stretched (issue 13).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import { ffprobe } from '../../../test/support/media-probe.ts';
import type { Publisher } from '../../../test/support/rtmp-publisher.ts';
import { startChannelHarness, type ChannelHarness } from '../../../test/support/channel-harness.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { resolveSpec } from '../config/livestream-spec.ts';

const run = promisify(execFile);
const config = resolveSpec(
  validateSpec({
    ladder: {
      passthrough: false,
      renditions: [
        { name: '360p', width: 640, height: 360, videoBitrateKbps: 800 },
        { name: '240p', width: 426, height: 240, videoBitrateKbps: 400, fps: 15 },
      ],
    },
    hls: { segmentSeconds: 2, playlistLength: 8 },
    reconnectWindowSeconds: 15,
  }),
  'itest',
  'media',
);
const renditions = ['360p', '240p', 'audio'];
const frames: Record<string, [number, number]> = { '360p': [640, 360], '240p': [426, 240] };

let h: ChannelHarness;
const logger = createLogger('source-shape-int', process.env.LOG_LEVEL ?? 'warn');

beforeAll(async () => {
  h = await startChannelHarness({ name: 'source-shape-int', config: () => config, logger });
});

afterAll(() => h?.close());

/** The luma plane of the first frame of a rendition's newest segment, as a player decodes it. */
async function newestFrame(rendition: string): Promise<{ width: number; height: number; sar?: string; luma: Buffer }> {
  const playlist = await h.media(rendition);
  const file = path.join(h.hlsDir, rendition, playlist.segments.at(-1)!.uri);
  const probe = await ffprobe(file);
  const video = probe.streams.find((s) => s.codec_type === 'video') as
    { width: number; height: number; sample_aspect_ratio?: string } | undefined;
  if (video === undefined) throw new Error(`no video in ${file}`);
  const { stdout } = await run(
    'ffmpeg',
    ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'],
    { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024, timeout: 30_000 },
  );
  return { width: video.width, height: video.height, sar: video.sample_aspect_ratio, luma: stdout };
}

/** Where the picture is in a frame: the columns and rows that are not black bars (Y <= 40 on every pixel). */
function pictureBox(frame: { width: number; height: number; luma: Buffer }): { width: number; height: number } {
  const { width, height, luma } = frame;
  const column = (x: number) => {
    let max = 0;
    for (let y = 0; y < height; y++) max = Math.max(max, luma[y * width + x]!);
    return max;
  };
  const row = (y: number) => Math.max(...luma.subarray(y * width, (y + 1) * width));
  const lit = (n: number, value: (i: number) => number) => [...Array(n).keys()].filter((i) => value(i) > 40);
  const xs = lit(width, column);
  const ys = lit(height, row);
  return { width: xs.at(-1)! - xs[0]! + 1, height: ys.at(-1)! - ys[0]! + 1 };
}

async function republish(previous: Publisher, size: string): Promise<Publisher> {
  const before: Record<string, number> = {};
  await previous.stop();
  await waitFor('the reconnecting state', () => h.channel.state() === 'reconnecting', { timeoutMs: 5_000 });
  for (const name of renditions) before[name] = await h.lastSequence(name);
  const next = h.publish({ size, fps: 30 });
  for (const name of renditions) {
    // Two new segments: the newest is wholly the new source's.
    await waitFor(`2 new ${name} segments`, async () => (await h.lastSequence(name)) >= before[name]! + 2, {
      timeoutMs: 30_000,
    });
  }
  return next;
}

describe('a reconnect inside the window with a picture of another shape', () => {
  it('keeps every rung at its announced size and the picture at its own aspect ratio, with black bars', async () => {
    let publisher = h.publish({ size: '640x360', fps: 30 });
    await waitFor('the master playlist', () => h.read('master.m3u8'), { timeoutMs: 20_000 });
    const session = h.channel.sessionId();
    const master = await h.read('master.m3u8');
    for (const [size, aspect] of [
      ['480x360', 4 / 3], // a webcam at 4:3: pillarboxed
      ['360x640', 9 / 16], // a phone upright: pillarboxed, narrow
      ['640x360', 16 / 9], // back to the ladder's shape: fills the frame again
    ] as const) {
      publisher = await republish(publisher, size);
      expect(h.channel.sessionId()).toBe(session);
      expect(await h.read('master.m3u8')).toBe(master);
      for (const [rendition, [width, height]] of Object.entries(frames)) {
        const frame = await newestFrame(rendition);
        expect([frame.width, frame.height], `${rendition} after ${size}`).toEqual([width, height]); // as announced
        // Displayed at that size: square pixels, or within the rounding of an even-sized rung (640:639).
        const [num, den] = (frame.sar ?? '1:1').split(':').map(Number);
        expect(Math.abs(num! / den! - 1), `${rendition} SAR ${frame.sar} after ${size}`).toBeLessThan(0.005);
        const box = pictureBox(frame);
        logger.info({ size, rendition, box }, 'picture inside the frame');
        // The picture's own shape within rounding and the encoder's edge blur; it fills the frame's height or width.
        expect(
          Math.abs(box.width / box.height / aspect - 1),
          `${rendition} ${JSON.stringify(box)} after ${size}`,
        ).toBeLessThan(0.05);
        expect(box.height >= height - 4 || box.width >= width - 4).toBe(true);
      }
    }
  });
});

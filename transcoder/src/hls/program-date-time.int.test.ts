// EXT-X-PROGRAM-DATE-TIME in every media playlist the ladder writes (real node-media-server and ffmpeg, a copied
// source and an encoded rung, audio apart): on every segment, parsed in strict mode, increasing by exactly each
// segment's EXTINF within a run, close to the wall clock, and after a publisher's return within the reconnect window
// (ffmpeg continues the playlist behind a discontinuity) at the new wall clock, still increasing.
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import { startChannelHarness, type ChannelHarness } from '../../../test/support/channel-harness.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { resolveSpec } from '../config/livestream-spec.ts';

const segmentSeconds = 2;
const config = resolveSpec(
  validateSpec({
    ladder: { renditions: [{ name: '180p', width: 320, height: 180, videoBitrateKbps: 200, fps: 15 }] },
    hls: { segmentSeconds, playlistLength: 10 },
    reconnectWindowSeconds: 20,
  }),
  'itest',
  'media',
);
const logger = createLogger('program-date-time-int', process.env.LOG_LEVEL ?? 'warn');
let h: ChannelHarness;

beforeAll(async () => {
  h = await startChannelHarness({ name: 'pdt-int', config: () => config, logger });
});
afterAll(() => h?.close());

/** Every media playlist the master names (variants and audio renditions), parsed strictly. */
async function mediaPlaylists(): Promise<Map<string, HLS.types.MediaPlaylist>> {
  const master = await h.master();
  const uris = new Set([
    ...master.variants.map((v) => v.uri),
    ...master.variants.flatMap((v) => v.audio.map((a) => a.uri)).filter((u): u is string => u !== undefined),
  ]);
  const out = new Map<string, HLS.types.MediaPlaylist>();
  for (const uri of uris) out.set(uri, await h.media(uri.replace(/\/index\.m3u8$/, '')));
  return out;
}

async function segmentsEverywhere(atLeast: number, discontinuity: boolean): Promise<void> {
  await waitFor(
    `${atLeast} segments in every media playlist${discontinuity ? ' after a discontinuity' : ''}`,
    async () => {
      const playlists = await mediaPlaylists().catch(() => undefined);
      if (playlists === undefined || playlists.size < 2) return false;
      return [...playlists.values()].every((p) => {
        const from = discontinuity ? p.segments.findLastIndex((s) => s.discontinuity === true) : 0;
        return from >= (discontinuity ? 1 : 0) && p.segments.length - from >= atLeast;
      });
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

/** The PDT rules of one playlist; returns the wall clock at its end (last PDT + its EXTINF). */
function checkProgramDateTimes(uri: string, playlist: HLS.types.MediaPlaylist): number {
  const segments = playlist.segments;
  expect(segments.length, uri).toBeGreaterThan(0);
  for (const s of segments) expect(s.programDateTime, `${uri} ${s.uri}`).toBeInstanceOf(Date);
  for (let i = 1; i < segments.length; i++) {
    const [previous, current] = [segments[i - 1]!, segments[i]!];
    const step = current.programDateTime!.getTime() - previous.programDateTime!.getTime();
    const extinfMs = previous.duration * 1000;
    if (current.discontinuity === true) expect(step, `${uri} across the discontinuity`).toBeGreaterThan(extinfMs);
    else expect(Math.abs(step - extinfMs), `${uri} ${current.uri}: PDT step against EXTINF`).toBeLessThanOrEqual(2);
  }
  const last = segments.at(-1)!;
  return last.programDateTime!.getTime() + last.duration * 1000;
}

describe('EXT-X-PROGRAM-DATE-TIME in the live playlists', () => {
  it('is on every segment, steps by EXTINF, follows the wall clock, and continues after a resume', async () => {
    const first = h.publish({ size: '640x360', fps: 30, gopSeconds: 1 });
    await segmentsEverywhere(3, false);
    for (const [uri, playlist] of await mediaPlaylists()) {
      const end = checkProgramDateTimes(uri, playlist);
      // The newest segment ended at most a few segments ago (it is listed once complete), never in the future.
      expect(Date.now() - end, uri).toBeGreaterThan(-500);
      expect(Date.now() - end, uri).toBeLessThan(4 * segmentSeconds * 1000);
    }
    await first.kill(); // the encoder's network drops; it comes back within the reconnect window
    const gapStartedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    h.publish({ size: '640x360', fps: 30, gopSeconds: 1 });
    await segmentsEverywhere(2, true);
    for (const [uri, playlist] of await mediaPlaylists()) {
      const end = checkProgramDateTimes(uri, playlist);
      expect(Date.now() - end, uri).toBeLessThan(4 * segmentSeconds * 1000);
      const resumed = playlist.segments.findLast((s) => s.discontinuity === true)!;
      // The first segment after the return starts after the drop, at the wall clock of the new run.
      expect(resumed.programDateTime!.getTime(), uri).toBeGreaterThan(gapStartedAt);
    }
  });
});

// The benchmarks' static HLS sample: one 720p rendition (the contract's default top rung), three 2 s segments,
// encoded as fast as ffmpeg can (not in real time), for wrk to fetch again and again.
import { startHlsWriter, type TestRendition } from '../../test/support/ffmpeg-hls-writer.ts';

export const sampleRendition: TestRendition = { name: '720p', width: 1280, height: 720, videoKbps: 2800 };

/** Writes `<hlsDir>/720p/index.m3u8` and `seg-00000.ts`... `seg-00002.ts`. */
export async function encodeStaticSample(hlsDir: string, segmentSeconds = 2): Promise<void> {
  const sample = await startHlsWriter({
    dir: hlsDir,
    renditions: [sampleRendition],
    segmentSeconds,
    realtime: false,
    durationSeconds: 3 * segmentSeconds + 0.5,
    fps: 30,
    preset: 'veryfast',
  });
  if ((await sample.exited) !== 0) throw new Error(`sample encode failed: ${sample.stderr()}`);
}

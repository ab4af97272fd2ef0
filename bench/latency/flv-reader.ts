// HTTP-FLV read by ffmpeg, not a browser: the project has no FLV player for the browser (mpegts.js or flv.js would
// be one), so this is the stream's own latency with no player buffer, a floor for what such a player shows. ffmpeg
// decodes with one thread and no input buffering, crops the clock's rectangle and shrinks each block to one pixel
// (area average: the block's mean luma), and writes every frame at once (-flush_packets 1); the bench stamps a frame
// when its bytes arrive.
import { spawn } from 'node:child_process';
import { clockBits, clockLayout } from './clock-code.ts';
import type { PageSample } from './bench-page.ts';

export interface FlvReader {
  /** Frames read since the last call, one in every `sampleMs`. */
  take(): PageSample[];
  /** ffmpeg's stderr once it has exited (while it runs, only decoder warnings such as a first partial GOP). */
  failure(): string | undefined;
  stop(): Promise<void>;
}

export function flvReaderArgs(url: string): string[] {
  const { width: w, height: h, x, y, blockWidth, blockHeight } = clockLayout;
  const crop = `crop=w=iw*${clockBits * blockWidth}/${w}:h=ih*${2 * blockHeight}/${h}:x=iw*${x}/${w}:y=ih*${y}/${h}`;
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '32768', '-analyzeduration', '0',
    '-threads', '1',
    '-i', url,
    '-an', '-vf', `${crop},scale=${clockBits}:2:flags=area,format=gray`,
    '-fps_mode', 'passthrough', '-flush_packets', '1',
    '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1',
  ]; // prettier-ignore
}

export function startFlvReader(url: string, sampleMs: number): FlvReader {
  const child = spawn('ffmpeg', flvReaderArgs(url), { stdio: ['ignore', 'pipe', 'pipe'] });
  const frameBytes = clockBits * 2;
  let pending = Buffer.alloc(0);
  let samples: PageSample[] = [];
  let last = 0;
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (err = (err + d).slice(-4_000)));
  child.stdout.on('data', (chunk: Buffer) => {
    const at = Date.now();
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= frameBytes) {
      const frame = pending.subarray(0, frameBytes);
      pending = pending.subarray(frameBytes);
      if (at - last < sampleMs) continue;
      last = at;
      samples.push({ at, top: [...frame.subarray(0, clockBits)], bottom: [...frame.subarray(clockBits)], height: 0 });
    }
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    take: () => {
      const out = samples;
      samples = [];
      return out;
    },
    failure: () => (child.exitCode !== null || child.signalCode !== null ? err.slice(-300) : undefined),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

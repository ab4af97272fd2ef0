// ffprobe as a test oracle: what a player would find in a playlist, a segment or a stream.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ProbedStream {
  codec_type: string; // 'video' | 'audio' | ...
  codec_name: string;
  profile?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  pix_fmt?: string;
}

export interface Probe {
  streams: ProbedStream[];
  format: { format_name: string; duration?: string; start_time?: string };
}

export async function ffprobe(target: string, extra: string[] = []): Promise<Probe> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', ...extra, target],
    { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as Probe;
}

// "30/1" -> 30, "30000/1001" -> 29.97
export function frameRate(ratio: string | undefined): number {
  if (ratio === undefined) return 0;
  const [n, d] = ratio.split('/').map(Number);
  return d ? Math.round(((n ?? 0) / d) * 100) / 100 : 0;
}

// Presentation times of the keyframes of a file's first video stream.
export async function keyframeTimes(file: string): Promise<number[]> {
  const { stdout } = await run(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-skip_frame',
      'nokey',
      '-show_entries',
      'frame=pts_time',
      '-of',
      'csv=p=0',
      file,
    ],
    { timeout: 30_000 },
  );
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

// A real ffmpeg writing a live ABR HLS output (master playlist + one directory per rendition) from a test source,
// in real time, the way the ladder does: for origin tests, browser playback tests and the origin benchmark.
import { spawn, type ChildProcess } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';

export interface TestRendition {
  name: string;
  width: number;
  height: number;
  videoKbps: number;
}

export interface HlsWriterOptions {
  dir: string;
  renditions?: TestRendition[]; // default: 360p + 240p, small and cheap
  segmentSeconds?: number; // default 2
  playlistLength?: number; // default 6
  fps?: number; // default 25
  durationSeconds?: number; // stop by itself after this much content (default: run until stop())
  realtime?: boolean; // default true (-re, like a live source); false writes as fast as it can
  preset?: string; // x264 preset, default ultrafast
}

export interface HlsWriter {
  process: ChildProcess;
  renditions: TestRendition[];
  stderr(): string;
  exited: Promise<number | null>; // exit code, e.g. after durationSeconds
  stop(): Promise<void>;
}

export const smallLadder: TestRendition[] = [
  { name: '360p', width: 640, height: 360, videoKbps: 600 },
  { name: '240p', width: 426, height: 240, videoKbps: 300 },
];

export function hlsWriterArgs(options: HlsWriterOptions): string[] {
  const renditions = options.renditions ?? smallLadder;
  const fps = options.fps ?? 25;
  const segment = options.segmentSeconds ?? 2;
  const top = renditions[0]!;
  const n = renditions.length;
  const split = `[0:v]split=${n}${renditions.map((_, i) => `[s${i}]`).join('')}`;
  const scales = renditions.map((r, i) => `[s${i}]scale=${r.width}:${r.height}[v${i}]`);
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  if (options.realtime ?? true) args.push('-re');
  args.push('-f', 'lavfi', '-i', `testsrc2=size=${top.width}x${top.height}:rate=${fps}`);
  args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  if (options.durationSeconds) args.push('-t', String(options.durationSeconds));
  args.push('-filter_complex', [split, ...scales].join(';'));
  renditions.forEach((r, i) => {
    args.push('-map', `[v${i}]`, '-map', '1:a');
    args.push(
      `-b:v:${i}`,
      `${r.videoKbps}k`,
      `-maxrate:v:${i}`,
      `${r.videoKbps}k`,
      `-bufsize:v:${i}`,
      `${r.videoKbps * 2}k`,
    );
  });
  args.push('-c:v', 'libx264', '-preset', options.preset ?? 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p');
  args.push('-profile:v', 'main', '-g', String(fps * segment), '-keyint_min', String(fps * segment));
  args.push('-sc_threshold', '0', '-c:a', 'aac', '-b:a', '64k', '-ac', '2');
  args.push('-f', 'hls', '-hls_time', String(segment), '-hls_list_size', String(options.playlistLength ?? 6));
  args.push('-hls_flags', 'delete_segments+temp_file+independent_segments+program_date_time');
  args.push('-master_pl_name', 'master.m3u8');
  args.push('-var_stream_map', renditions.map((r, i) => `v:${i},a:${i},name:${r.name}`).join(' '));
  args.push('-hls_segment_filename', join(options.dir, '%v', 'seg-%05d.ts'));
  args.push(join(options.dir, '%v', 'index.m3u8'));
  return args;
}

export async function startHlsWriter(options: HlsWriterOptions): Promise<HlsWriter> {
  const renditions = options.renditions ?? smallLadder;
  const proc = spawn('ffmpeg', hlsWriterArgs(options), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );

  const writer: HlsWriter = {
    process: proc,
    renditions,
    stderr: () => stderr,
    exited: exit,
    async stop() {
      if (exited) return;
      proc.kill('SIGINT');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(timer);
    },
  };

  // Ready when the master playlist and every variant playlist exist.
  const files = ['master.m3u8', ...renditions.map((r) => join(r.name, 'index.m3u8'))];
  const deadline = Date.now() + 30_000;
  for (;;) {
    const gone = exited; // read before checking files: a short non-real-time run may finish before the first check
    const present = await Promise.all(
      files.map((f) =>
        access(join(options.dir, f)).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (present.every(Boolean)) return writer;
    if (gone) throw new Error(`ffmpeg HLS writer exited early: ${stderr}`);
    if (Date.now() > deadline) {
      await writer.stop();
      throw new Error(`ffmpeg HLS writer produced no playlists within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

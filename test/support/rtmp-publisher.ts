// A real encoder for media tests: ffmpeg publishing a synthetic source (testsrc2 + a sine tone) to an RTMP URL in
// real time, H.264/AAC like OBS with a keyframe every `gopSeconds`. Small sizes keep the 2-core test machine free.
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait-for.ts';

export interface PublisherOptions {
  url: string; // rtmp://127.0.0.1:<port>/<app>/<key>
  size?: string; // default 640x360
  fps?: number; // default 30
  gopSeconds?: number; // default 2
  videoKbps?: number; // default 800
  audio?: boolean; // default true
  video?: boolean; // default true (false: an audio-only publish, like radio)
  pixFmt?: string; // default yuv420p
  preset?: string; // x264 preset, default veryfast (ultrafast costs well under half: 720p30 at 0.26 of a core) (yuv444p makes x264 write High 4:4:4, which browsers cannot decode)
  durationSeconds?: number; // default: until stop()
}

export interface Publisher {
  process: ChildProcess;
  // Resolves when ffmpeg exits, with its code/signal (a refused publish exits on its own with an error).
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  stop(): Promise<void>; // graceful (SIGINT), then SIGKILL after 5 s
  kill(): Promise<void>; // abrupt (SIGKILL): the connection drops without an RTMP goodbye
}

export function publisherArgs(options: PublisherOptions): string[] {
  const fps = options.fps ?? 30;
  const gop = Math.round(fps * (options.gopSeconds ?? 2));
  const video = options.video ?? true;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re'];
  if (video) args.push('-f', 'lavfi', '-i', `testsrc2=size=${options.size ?? '640x360'}:rate=${fps}`);
  if (options.audio ?? true) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  if (options.durationSeconds !== undefined) args.push('-t', String(options.durationSeconds));
  if (video) {
    args.push('-c:v', 'libx264', '-preset', options.preset ?? 'veryfast', '-pix_fmt', options.pixFmt ?? 'yuv420p');
    args.push('-b:v', `${options.videoKbps ?? 800}k`, '-g', String(gop), '-keyint_min', String(gop));
    args.push('-sc_threshold', '0');
  }
  if (options.audio ?? true) args.push('-c:a', 'aac', '-b:a', '96k');
  args.push('-f', 'flv', options.url);
  return args;
}

export function startPublisher(options: PublisherOptions): Publisher {
  const proc = spawn('ffmpeg', publisherArgs(options), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('close', (code, signal) => resolve({ code, signal }));
  });
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    proc.kill(signal);
    await exited;
    clearTimeout(timer);
  };
  return { process: proc, exited, stderr: () => stderr, stop: () => end('SIGINT'), kill: () => end('SIGKILL') };
}

/** An encoder that reconnects, as OBS does: when the connection drops, it publishes again a second later. */
export function keepPublishing(options: PublisherOptions): { stop: () => Promise<void>; connects: () => number } {
  let stopped = false;
  let current: Publisher | undefined;
  let connects = 0;
  const loop = (async () => {
    while (!stopped) {
      current = startPublisher(options);
      connects++;
      await current.exited;
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  })();
  return {
    connects: () => connects,
    stop: async () => {
      stopped = true;
      await current?.stop();
      await loop;
    },
  };
}

/** Whether ffmpeg exits on its own within `ms` (a refused publish does) rather than staying on air. */
export async function exitsWithin(p: Publisher, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const onAir = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const gone = await Promise.race([p.exited.then(() => true as const), onAir]);
  clearTimeout(timer);
  return gone;
}

/** Whether the publish `start` makes is refused (it is stopped either way). */
export async function publishRefused(start: () => Publisher, waitMs = 8_000): Promise<boolean> {
  const p = start();
  const gone = await exitsWithin(p, waitMs);
  await p.stop();
  return gone;
}

/** A publish that stays on air for `onAirMs`, tried again as an encoder's reconnect is until one is not refused. */
export function publishAccepted(
  start: () => Publisher,
  what: string,
  options: { timeoutMs: number; onAirMs?: number; intervalMs?: number },
): Promise<Publisher> {
  return waitFor(
    what,
    async () => {
      const p = start();
      return (await exitsWithin(p, options.onAirMs ?? 4_000)) ? undefined : p;
    },
    { timeoutMs: options.timeoutMs, intervalMs: options.intervalMs ?? 500 },
  );
}

// Keeps one ffmpeg running while the publisher is live: restarts it after an unexpected exit with a bounded,
// jittered exponential delay, and stops it with SIGINT (ffmpeg then finishes the segment it is writing and updates
// the playlists; an ffmpeg reading RTMP from node-media-server never sees EOF on its own when the publisher leaves).
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';

export interface FfmpegFailure {
  exitCode: number | null;
  signal: string | null;
  restarts: number; // restarts so far, this one included
  message: string; // last stderr lines, URLs scrubbed
  delayMs: number; // until the next start
}

export interface SupervisorOptions {
  ffmpegPath?: string;
  // argv for the nth start (0 = first): later starts continue the playlists of earlier ones.
  args: (start: number) => string[];
  logger: Logger;
  onStart?: (pid: number | undefined, start: number) => void;
  onFailure?: (failure: FfmpegFailure) => void;
  baseDelayMs?: number;
  maxDelayMs?: number;
  healthyAfterMs?: number; // a run this long resets the backoff
  stopTimeoutMs?: number; // SIGKILL after SIGINT if ffmpeg has not exited by then
  random?: () => number;
}

export interface Supervisor {
  readonly restarts: number;
  pid(): number | undefined;
  stop(): Promise<void>;
}

// Delay before the nth consecutive restart (n >= 1): base x 2^(n-1), capped, scaled by a random factor in [0.5, 1).
export function restartDelayMs(n: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(n - 1, 20)));
  return Math.round(exp * (0.5 + random() * 0.5));
}

export function scrubUrls(text: string): string {
  return text.replace(/\b(rtmps?|srt|https?):\/\/\S+/g, '$1://[redacted]');
}

export function superviseFfmpeg(options: SupervisorOptions): Supervisor {
  const { logger } = options;
  const baseMs = options.baseDelayMs ?? 250;
  const maxMs = options.maxDelayMs ?? 10_000;
  const healthyAfterMs = options.healthyAfterMs ?? 30_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 8_000;
  let child: ChildProcess | undefined;
  let starts = 0;
  let restarts = 0;
  let consecutive = 0;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = (): void => {
    timer = undefined;
    if (stopping) return;
    const n = starts++;
    const startedAt = Date.now();
    const tail: string[] = [];
    const proc = spawn(options.ffmpegPath ?? 'ffmpeg', options.args(n), { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let buffered = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        tail.push(scrubUrls(line));
        if (tail.length > 20) tail.shift();
        logger.debug({ ffmpeg: scrubUrls(line) }, 'ffmpeg');
      }
    });
    exited = new Promise((resolve) => {
      proc.once('error', (err) => {
        tail.push(err.message);
      });
      proc.once('close', (exitCode, signal) => {
        child = undefined;
        resolve();
        if (stopping) return;
        if (Date.now() - startedAt >= healthyAfterMs) consecutive = 0;
        consecutive++;
        restarts++;
        const delayMs = restartDelayMs(consecutive, baseMs, maxMs, options.random);
        const failure = { exitCode, signal, restarts, message: tail.slice(-8).join('\n'), delayMs };
        logger.warn({ exitCode, signal, restarts, delayMs, stderr: failure.message }, 'ffmpeg exited unexpectedly');
        options.onFailure?.(failure);
        timer = setTimeout(start, delayMs);
      });
    });
    options.onStart?.(proc.pid, n);
  };

  start();
  return {
    get restarts() {
      return restarts;
    },
    pid: () => child?.pid,
    async stop() {
      stopping = true;
      clearTimeout(timer);
      const proc = child;
      if (proc === undefined) return;
      const kill = setTimeout(() => proc.kill('SIGKILL'), stopTimeoutMs);
      proc.kill('SIGINT');
      await exited;
      clearTimeout(kill);
    },
  };
}

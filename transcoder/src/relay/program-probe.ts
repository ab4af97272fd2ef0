// Is the program (the accepted publish, at /<app>/lso-program on the loopback ingest) live? One cheap ffmpeg plays it
// and throws the packets away (`-c copy -f null`); the program is live while that ffmpeg's media time advances.
//
// Relays start when the program goes live and stop when it ends, so a relay that stops moving bytes while the
// program is live is the target's fault (Retrying), not the publisher's. node-media-server keeps a player attached
// when the publisher leaves (no EOF) and drops it when a new publish takes the path: the probe just restarts then.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { ProgressParser } from './ffmpeg-progress.ts';

export interface ProgramProbeOptions {
  inputUrl: string;
  ffmpegPath?: string;
  staleMs?: number; // no media time advance for this long: not live (default 4 s)
  restartDelayMs?: number; // after the probe ffmpeg exits (default 500 ms)
  logger: Logger;
}

export interface ProgramProbe {
  readonly events: EventEmitter<{ change: [boolean] }>;
  live(): boolean;
  close(): Promise<void>;
}

export function startProgramProbe(options: ProgramProbeOptions): ProgramProbe {
  const { logger } = options;
  const staleMs = options.staleMs ?? 4_000;
  const events = new EventEmitter<{ change: [boolean] }>();
  let live = false;
  let lastAdvanceAt = 0;
  let lastOutTimeUs = -1;
  let child: ChildProcess | undefined;
  let closed = false;
  let restartTimer: NodeJS.Timeout | undefined;

  const setLive = (value: boolean): void => {
    if (value === live) return;
    live = value;
    logger.info({ live }, live ? 'program is live: starting relays' : 'program is not live: relays wait');
    events.emit('change', live);
  };

  const run = (): void => {
    if (closed) return;
    const parser = new ProgressParser();
    lastOutTimeUs = -1;
    // Progress every half second; no log output (the probe's only job is the progress).
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1'];
    args.push('-stats_period', '0.5', '-i', options.inputUrl, '-map', '0', '-c', 'copy', '-f', 'null', '-');
    const proc = spawn(options.ffmpegPath ?? 'ffmpeg', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    child = proc;
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (chunk: string) => {
      for (const report of parser.push(chunk)) {
        if (report.outTimeUs > lastOutTimeUs && lastOutTimeUs >= 0) {
          lastAdvanceAt = Date.now();
          setLive(true);
        }
        lastOutTimeUs = Math.max(lastOutTimeUs, report.outTimeUs);
      }
    });
    proc.once('error', (err) => logger.error({ err: err.message }, 'cannot start the program probe (ffmpeg)'));
    proc.once('close', () => {
      if (child === proc) child = undefined;
      if (closed) return;
      restartTimer = setTimeout(run, options.restartDelayMs ?? 500);
    });
  };

  const checker = setInterval(() => {
    if (live && Date.now() - lastAdvanceAt > staleMs) setLive(false);
  }, 250);

  run();

  return {
    events,
    live: () => live,
    async close() {
      closed = true;
      clearInterval(checker);
      clearTimeout(restartTimer);
      const proc = child;
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('close', r));
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}

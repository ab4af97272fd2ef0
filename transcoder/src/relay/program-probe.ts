// Is the program (the accepted publish, at /<app>/lso-program on the loopback ingest) live? One cheap ffmpeg plays it
// and throws the packets away (`-c copy -f null`); the program is live while that ffmpeg's media time advances.
//
// Relays start when the program goes live and stop when it ends, so a relay that stops moving bytes while the
// program is live is the target's fault (Retrying), not the publisher's. node-media-server keeps a player attached
// when the publisher leaves (no EOF) and drops it when a new publish takes the path: the probe just restarts then,
// with the one backoff: its base after a run that saw media, growing over runs that did not (no ingest to play yet).
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { backoffDelay, type BackoffPolicy } from '../../../contract/src/backoff.ts';
import { FfmpegProcess } from '../ffmpeg/ffmpeg-process.ts';

export interface ProgramProbeOptions {
  inputUrl: string;
  ffmpegPath?: string;
  staleMs?: number; // no media time advance for this long: not live (default 4 s)
  restartBackoff?: BackoffPolicy; // before the next probe: its base after a run that saw media (default 0.5 to 5 s)
  logger: Logger;
}

export interface ProgramProbe {
  readonly events: EventEmitter<{ change: [boolean] }>;
  live(): boolean;
  close(): Promise<void>;
}

const defaultRestartBackoff: BackoffPolicy = { baseMs: 500, maxMs: 5_000, jitter: 0.2 };

export function startProgramProbe(options: ProgramProbeOptions): ProgramProbe {
  const { logger } = options;
  const staleMs = options.staleMs ?? 4_000;
  const events = new EventEmitter<{ change: [boolean] }>();
  let live = false;
  let lastAdvanceAt = 0;
  let child: FfmpegProcess | undefined;
  let closed = false;
  let failures = 0; // runs in a row that saw no media, plus one
  let restartTimer: NodeJS.Timeout | undefined;

  const setLive = (value: boolean): void => {
    if (value === live) return;
    live = value;
    logger.info({ live }, live ? 'program is live: starting relays' : 'program is not live: relays wait');
    events.emit('change', live);
  };

  const run = (): void => {
    if (closed) return;
    let lastOutTimeUs = -1;
    let sawMedia = false;
    // Progress every half second; no log output (the probe's only job is the progress).
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1'];
    args.push('-stats_period', '0.5', '-i', options.inputUrl, '-map', '0', '-c', 'copy', '-f', 'null', '-');
    const proc = new FfmpegProcess({
      ...(options.ffmpegPath !== undefined && { command: options.ffmpegPath }),
      args,
      stdout: 'progress',
      tailLines: 4,
      onProgress: (report) => {
        if (report.outTimeUs > lastOutTimeUs && lastOutTimeUs >= 0) {
          lastAdvanceAt = Date.now();
          sawMedia = true;
          setLive(true);
        }
        lastOutTimeUs = Math.max(lastOutTimeUs, report.outTimeUs);
      },
    });
    child = proc;
    void proc.exited.then((exit) => {
      if (child === proc) child = undefined;
      if (exit.spawnError !== undefined)
        logger.error({ err: exit.spawnError }, 'cannot start the program probe (ffmpeg)');
      if (closed) return;
      failures = sawMedia ? 1 : failures + 1;
      restartTimer = setTimeout(run, backoffDelay(failures, options.restartBackoff ?? defaultRestartBackoff));
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
      if (proc === undefined) return;
      proc.kill(); // a copy to null: nothing to finish
      await proc.exited;
    },
  };
}

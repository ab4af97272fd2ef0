// The one way the transcoder runs ffmpeg and ffprobe. One instance is one process: spawned with its arguments (never
// a secret: keys reach ffmpeg through an inherited descriptor, docs/adr/0003), its stderr kept as a bounded tail of
// redacted lines, its `-progress pipe:1` blocks parsed, stopped with SIGINT (ffmpeg then finishes the segment it is
// writing, updates its playlists and unpublishes cleanly) and SIGKILL after a grace, its end a promise with the
// exit code or signal. Restart policies belong to the callers, which use the one backoff (contract/src/backoff.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { redact } from '../../../contract/src/redact.ts';
import { ProgressParser, type ProgressReport } from './ffmpeg-progress.ts';

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: string; // the binary could not be started (ENOENT, EACCES)
  stopped: boolean; // ended by stop() or kill(), not on its own
  ranMs: number;
}

export interface FfmpegProcessOptions {
  command?: string; // default 'ffmpeg'; an ffprobe path works the same way
  args: readonly string[];
  // 'progress': stdout carries `-progress pipe:1` blocks, parsed into onProgress; 'collect': kept (ffprobe's output).
  stdout?: 'ignore' | 'progress' | 'collect';
  // Descriptors the child inherits, child fd -> parent fd (the relay's key preset file, ADR 0003).
  inheritFds?: Readonly<Record<number, number>>;
  // Child descriptors (3 and up) that ffmpeg writes media to (`pipe:3`...), read through outputPipe(fd): the LL-HLS
  // ladder's fragmented MP4, one pipe per rendition. The reader must keep reading: a full pipe stalls every output.
  outputPipes?: readonly number[];
  tailLines?: number; // stderr lines kept (default 20)
  secrets?: readonly string[]; // removed from stderr, besides what redact() removes by pattern
  onStderrLine?: (line: string) => void; // each stderr line, redacted
  onProgress?: (report: ProgressReport) => void;
  stopGraceMs?: number; // after SIGINT, SIGKILL (default 5 s)
}

const maxLineLength = 2_000;
const maxCollectBytes = 4 * 1024 * 1024;

export class FfmpegProcess {
  readonly startedAt = Date.now();
  readonly exited: Promise<FfmpegExit>;
  private readonly child: ChildProcess;
  private readonly options: FfmpegProcessOptions;
  private readonly tail: string[] = [];
  private partialLine = '';
  private collected = '';
  private spawnError: string | undefined;
  private stopRequested = false;
  private ended = false;

  constructor(options: FfmpegProcessOptions) {
    this.options = options;
    const stdio: Array<'ignore' | 'pipe' | number> = [
      'ignore',
      (options.stdout ?? 'ignore') === 'ignore' ? 'ignore' : 'pipe',
    ];
    stdio.push('pipe');
    for (const [fd, parentFd] of Object.entries(options.inheritFds ?? {})) {
      while (stdio.length < Number(fd)) stdio.push('ignore');
      stdio[Number(fd)] = parentFd;
    }
    for (const fd of options.outputPipes ?? []) {
      if (fd < 3) throw new Error(`output pipe ${fd}: descriptors 0-2 are ffmpeg's own`);
      while (stdio.length <= fd) stdio.push('ignore');
      stdio[fd] = 'pipe';
    }
    this.child = spawn(options.command ?? 'ffmpeg', options.args, { stdio });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => this.onStderr(chunk));
    this.readStdout();
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.spawnError = err.message;
        this.keep(`cannot start ${options.command ?? 'ffmpeg'}: ${err.message}`);
      });
      // 'close' follows 'exit' once the pipes are drained, and follows 'error' when the spawn failed.
      this.child.once('close', (code, signal) => {
        this.ended = true;
        if (this.partialLine.trim() !== '') this.keep(this.partialLine);
        resolve({
          code,
          signal,
          ...(this.spawnError !== undefined && { spawnError: this.spawnError }),
          stopped: this.stopRequested,
          ranMs: Date.now() - this.startedAt,
        });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.ended;
  }

  /** The last stderr lines, redacted, oldest first. */
  stderrTail(lines = this.tail.length): string[] {
    return this.tail.slice(-lines);
  }

  /** The read end of an output pipe (one of options.outputPipes); it ends when ffmpeg closes it or exits. */
  outputPipe(fd: number): Readable {
    const pipe = this.options.outputPipes?.includes(fd) ? this.child.stdio[fd] : undefined;
    if (pipe === null || pipe === undefined) throw new Error(`fd ${fd} is not an output pipe of this ffmpeg`);
    return pipe as Readable;
  }

  /** What stdout held, with `stdout: 'collect'`. */
  stdout(): string {
    return this.collected;
  }

  /** SIGINT, then SIGKILL if ffmpeg has not exited within the grace. Idempotent. */
  async stop(graceMs = this.options.stopGraceMs ?? 5_000): Promise<FfmpegExit> {
    if (this.ended) return this.exited;
    this.stopRequested = true;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The input has ended (the ingest closed it): ffmpeg reads what is left, writes its last segment and exits on its
   * own. A SIGINT now could drop frames still unread in its socket, so it is sent only if ffmpeg has not exited
   * within `drainMs`. Idempotent.
   */
  async finish(drainMs: number): Promise<FfmpegExit> {
    if (this.ended) return this.exited;
    this.stopRequested = true;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), drainMs)));
    const first = await Promise.race([this.exited, expired]);
    clearTimeout(timer);
    return first === 'expired' ? this.stop() : first;
  }

  /** SIGKILL now: the output is stuck, or nothing it still writes is worth waiting for. */
  kill(): void {
    if (this.ended) return;
    this.stopRequested = true;
    this.child.kill('SIGKILL');
  }

  private readStdout(): void {
    const out = this.child.stdout;
    if (out === null) return;
    out.setEncoding('utf8');
    if (this.options.stdout === 'progress') {
      const parser = new ProgressParser();
      out.on('data', (chunk: string) => {
        for (const report of parser.push(chunk)) this.options.onProgress?.(report);
      });
    } else {
      out.on('data', (chunk: string) => {
        if (this.collected.length < maxCollectBytes) this.collected += chunk;
      });
    }
  }

  private onStderr(chunk: string): void {
    const lines = (this.partialLine + chunk).split(/\r?\n|\r/);
    this.partialLine = (lines.pop() ?? '').slice(-maxLineLength);
    for (const line of lines) if (line.trim() !== '') this.keep(line);
  }

  private keep(raw: string): void {
    const line = redact(raw.slice(0, maxLineLength), { secrets: this.options.secrets ?? [] });
    this.tail.push(line);
    if (this.tail.length > (this.options.tailLines ?? 20)) this.tail.shift();
    this.options.onStderrLine?.(line);
  }
}

export class FfmpegError extends Error {
  override name = 'FfmpegError';
}

/** Runs one ffmpeg/ffprobe to its end; resolves with its stdout, rejects with its last stderr line. */
export async function runFfmpeg(options: FfmpegProcessOptions & { timeoutMs: number }): Promise<string> {
  const proc = new FfmpegProcess({ stdout: 'collect', ...options });
  const name = options.command ?? 'ffmpeg';
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void proc.stop(1_000);
  }, options.timeoutMs);
  const exit = await proc.exited.finally(() => clearTimeout(timer));
  if (exit.code === 0 && !timedOut) return proc.stdout();
  const why = timedOut
    ? `timed out after ${options.timeoutMs} ms`
    : (exit.spawnError ?? (exit.signal !== null ? `killed by ${exit.signal}` : `exited with code ${exit.code}`));
  const last = proc.stderrTail(1)[0];
  throw new FfmpegError(`${name} ${why}${last !== undefined ? `: ${last}` : ''}`);
}

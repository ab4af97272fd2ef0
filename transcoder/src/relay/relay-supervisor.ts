// One relay target: runs its ffmpeg while the program is live, knows whether bytes actually reach the target, and
// reconnects with capped exponential backoff. States (status.relays[].state):
//   Connecting  enabled, waiting for the program or for the first bytes to flow
//   Active      media is flowing to the target (ffmpeg's progress: output size and media time advancing)
//   Retrying    the target failed (exit, refused, stalled); lastError says why, without the key or the URL
//   Disabled    enabled: false in the spec
import { open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { backoffDelay, type BackoffPolicy } from '../../../contract/src/backoff.ts';
import { redact } from '../../../contract/src/redact.ts';
import type { RelayState } from '../../../contract/src/api/index.ts';
import type { RelayStateData } from '../../../contract/src/reports.ts';
import { rfc3339 } from '../../../contract/src/time.ts';
import { defaultRelayBackoff } from '../config/settings.ts';
import { FfmpegProcess } from '../ffmpeg/ffmpeg-process.ts';
import type { ProgressReport } from '../ffmpeg/ffmpeg-progress.ts';
import { parseKey, presetFd, relayFfmpegCommand, type RelayFfmpegCommand } from './relay-command.ts';
import { describeTarget, type RelayTarget } from './relay-targets.ts';
import { lastErrorLine, sanitizeError } from './sanitize.ts';

export interface RelayTimings {
  backoff: BackoffPolicy; // the reconnect delay, reset after stableMs of Active
  stallMs: number; // Active, yet no byte written for this long: the target is stuck
  connectTimeoutMs: number; // program live, ffmpeg running, no media flowing after this long
  activeAfterUs: number; // media time that must flow to the target before the relay counts as Active
  stableMs: number; // Active this long resets the backoff
  stopGraceMs: number; // SIGINT (ffmpeg unpublishes cleanly), then SIGKILL
}

export const defaultRelayTimings: RelayTimings = {
  backoff: defaultRelayBackoff,
  stallMs: 10_000,
  connectTimeoutMs: 20_000,
  activeAfterUs: 1_000_000,
  stableMs: 10_000,
  stopGraceMs: 3_000,
};

export interface RelaySupervisorOptions {
  target: RelayTarget;
  keyPath: string; // read only for a keyed relay (target.keyed)
  inputUrl: string; // the program on the loopback ingest
  workDir: string; // private (0700) directory for the short-lived preset file
  ffmpegPath?: string;
  timings?: Partial<RelayTimings>;
  programLive: boolean;
  bytesOut?: number; // carried over when a relay is restarted for a change (the counter is per relay, not per run)
  logger: Logger;
  onChange: (snapshot: RelayStateData) => void;
  onBytes: (delta: number) => void;
  onRestart: () => void;
}

interface Run {
  proc: FfmpegProcess;
  startedAt: number;
  totalSize: number;
  firstOutTimeUs: number;
  lastGrowthAt: number;
  killReason: string | undefined; // set when we end it on purpose for a failure (stall, timeout)
  stopping: boolean; // ended on purpose, not a failure (program ended, relay removed)
}

export class RelaySupervisor {
  readonly target: RelayTarget;
  private readonly options: RelaySupervisorOptions;
  private readonly timings: RelayTimings;
  private readonly logger: Logger;
  private state: RelayState;
  private lastError: string | undefined;
  private since = rfc3339(Date.now());
  private bytesOut = 0;
  private attempt = 0;
  private activeSince = 0;
  private programLive: boolean;
  private run: Run | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private launching = false;
  private closed = false;
  private readonly watchdog: NodeJS.Timeout;

  constructor(options: RelaySupervisorOptions) {
    this.options = options;
    this.target = options.target;
    this.timings = { ...defaultRelayTimings, ...options.timings };
    this.logger = options.logger.child({ relay: options.target.name, target: describeTarget(options.target) });
    this.programLive = options.programLive;
    this.bytesOut = options.bytesOut ?? 0;
    this.state = options.target.enabled ? 'Connecting' : 'Disabled';
    this.watchdog = setInterval(() => this.check(), 500);
    this.options.onChange(this.snapshot());
    if (this.target.enabled && this.programLive) this.launch();
  }

  snapshot(): RelayStateData {
    return {
      name: this.target.name,
      state: this.state,
      ...(this.lastError !== undefined && { lastError: this.lastError }),
      bytesOut: this.bytesOut,
      since: this.since,
    };
  }

  pid(): number | undefined {
    return this.run?.proc.pid;
  }

  setProgramLive(live: boolean): void {
    if (live === this.programLive || this.closed) return;
    this.programLive = live;
    if (!this.target.enabled) return;
    if (live) {
      if (this.run === undefined && this.retryTimer === undefined) this.launch();
      return;
    }
    // The program ended: stop pushing (ffmpeg unpublishes cleanly on SIGINT) and wait for the next one.
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.attempt = 0;
    this.setState('Connecting', undefined);
    void this.end(this.run);
  }

  async stop(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    clearTimeout(this.retryTimer);
    await this.end(this.run);
  }

  private setState(state: RelayState, lastError: string | undefined): void {
    if (state === this.state && lastError === this.lastError) return;
    if (state !== this.state) this.since = rfc3339(Date.now());
    const previous = this.state;
    this.state = state;
    this.lastError = lastError;
    if (state === 'Retrying') this.logger.warn({ state, previous, lastError }, 'relay retrying');
    else this.logger.info({ state, previous }, 'relay state');
    this.options.onChange(this.snapshot());
  }

  private launch(): void {
    if (this.closed || this.launching || this.run !== undefined || !this.programLive) return;
    this.launching = true;
    this.start()
      .catch((err: unknown) => this.fail(sanitizeError(String((err as Error).message ?? err), [])))
      .finally(() => {
        this.launching = false;
      });
  }

  private async start(): Promise<void> {
    const key = this.target.keyed ? await this.readKey() : undefined;
    if (key === null || this.closed || !this.programLive) return;
    const command = relayFfmpegCommand(this.target, key, this.options.inputUrl);
    const proc = await this.spawn(command, key === undefined ? [] : [key], (report) =>
      this.onProgress(run, report.totalSize, report.outTimeUs),
    );
    const run: Run = {
      proc,
      startedAt: Date.now(),
      totalSize: 0,
      firstOutTimeUs: -1,
      lastGrowthAt: Date.now(),
      killReason: undefined,
      stopping: false,
    };
    this.run = run;
    if (this.attempt > 0) this.options.onRestart();
    this.logger.info({ pid: proc.pid, attempt: this.attempt }, 'relay ffmpeg started');
    void proc.exited.then((exit) => this.onExit(run, exit.code));
  }

  // The key of a keyed relay, or null when it cannot be read (the relay is then Retrying, saying why).
  private async readKey(): Promise<string | null> {
    try {
      return parseKey(await readFile(this.options.keyPath, 'utf8'));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'no key file' : code ? `cannot read the key file (${code})` : (err as Error).message;
      this.fail(`relay key unavailable: ${why}`);
      return null;
    }
  }

  private async spawn(
    command: RelayFfmpegCommand,
    secrets: string[],
    onProgress: (report: ProgressReport) => void,
  ): Promise<FfmpegProcess> {
    const spawnWith = (inheritFds: Record<number, number>): FfmpegProcess =>
      new FfmpegProcess({
        ...(this.options.ffmpegPath !== undefined && { command: this.options.ffmpegPath }),
        args: command.args,
        inheritFds,
        stdout: 'progress',
        tailLines: 40,
        secrets,
        stopGraceMs: this.timings.stopGraceMs,
        onProgress,
      });
    if (command.preset === undefined) return spawnWith({});
    // The preset file lives only between these lines: ffmpeg re-opens it through /dev/fd/3 after it is unlinked.
    const file = path.join(this.options.workDir, `${this.target.name}.ffpreset`);
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.writeFile(command.preset);
      await unlink(file);
      return spawnWith({ [presetFd]: handle.fd });
    } finally {
      await unlink(file).catch(() => {});
      await handle.close();
    }
  }

  private onProgress(run: Run, totalSize: number, outTimeUs: number): void {
    if (totalSize > run.totalSize) {
      this.bytesOut += totalSize - run.totalSize;
      this.options.onBytes(totalSize - run.totalSize);
      run.totalSize = totalSize;
      run.lastGrowthAt = Date.now();
    }
    if (run.firstOutTimeUs < 0) run.firstOutTimeUs = outTimeUs;
    const flowing = outTimeUs - run.firstOutTimeUs >= this.timings.activeAfterUs && run.totalSize > 0;
    if (flowing && this.state !== 'Active' && this.run === run && !run.stopping) {
      this.activeSince = Date.now();
      this.setState('Active', undefined);
    }
  }

  private check(): void {
    const run = this.run;
    const now = Date.now();
    if (this.state === 'Active' && this.attempt > 0 && now - this.activeSince >= this.timings.stableMs) {
      this.attempt = 0;
    }
    if (run === undefined || run.stopping || run.killReason !== undefined || !this.programLive) return;
    if (this.state === 'Active' && now - run.lastGrowthAt > this.timings.stallMs) {
      this.kill(run, `no data accepted by the target for ${Math.round(this.timings.stallMs / 1000)} s`);
    } else if (this.state !== 'Active' && now - run.startedAt > this.timings.connectTimeoutMs) {
      this.kill(run, `no media reached the target within ${Math.round(this.timings.connectTimeoutMs / 1000)} s`);
    }
  }

  private kill(run: Run, reason: string): void {
    run.killReason = reason;
    run.proc.kill();
  }

  private onExit(run: Run, code: number | null): void {
    if (this.run === run) this.run = undefined;
    if (run.stopping || this.closed) return;
    // The stderr tail is redacted: the program's URL in it reads as its scheme://host:port.
    const program = new RegExp(`${escapeRegExp(redact(this.options.inputUrl))}(?![\\d.])`, 'g');
    const line = lastErrorLine(run.proc.stderrTail());
    const inputEnded = code === 0 || (line !== undefined && line.search(program) >= 0);
    if (run.killReason === undefined && inputEnded) {
      // The program itself ended or went away (a new publish took over the path): not the target's fault.
      this.logger.info('program input ended: relay waits for the program');
      this.setState('Connecting', undefined);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.launch();
      }, 500);
      return;
    }
    const reason =
      run.killReason ??
      (line !== undefined ? sanitizeError(line.replace(program, 'program'), []) : `ffmpeg exited (${code})`);
    this.fail(reason);
  }

  private fail(reason: string): void {
    if (this.closed) return;
    const delay = backoffDelay(this.attempt + 1, this.timings.backoff);
    this.attempt++;
    this.setState('Retrying', reason);
    this.logger.info({ retryInMs: delay }, 'relay will retry');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.launch();
    }, delay);
  }

  private async end(run: Run | undefined): Promise<void> {
    if (run === undefined) return;
    run.stopping = true;
    await run.proc.stop(); // SIGINT: ffmpeg unpublishes cleanly; SIGKILL after the grace
    if (this.run === run) this.run = undefined;
  }
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Records a LiveStream's sessions to S3 segment by segment, as each segment completes.
//
// Capture: every poll reads the live playlists of the recorded tracks (the chosen video rung and the audio) and
// spools each newly listed segment (a hard link: ffmpeg may delete it from the live window right after). Upload: one
// loop sends the spool in order, one PutObject per segment, and removes an entry only after S3 accepted it; failures
// retry the same segment with capped exponential backoff, so while S3 is unreachable segments wait on disk.
// Restart: the spool left by an earlier process is uploaded first, and the segments its last session had completed
// but not yet spooled (capture.json says how far it got) are picked up from the HLS directory, which only a new
// session clears. A killed process thus loses at most the segment ffmpeg was writing.
// Receipt: once a session's capture is over (it ended, or an earlier process left it) and none of its segments waits,
// captured.json goes next to them, so the finalize Job knows it has them all.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { backoffDelay } from '../../../contract/src/backoff.ts';
import { rfc3339 } from '../../../contract/src/time.ts';
import type { RecordingFailedData, RecordingFailureReason } from '../../../contract/src/reports.ts';
import type { ReportSink } from '../session/channel.ts';
import type { RecordingMetrics } from './recording-metrics.ts';
import {
  captureReceiptFile,
  sessionPrefix,
  type CaptureReceipt,
  type S3Settings,
} from '../../../contract/src/recording-layout.ts';
import type { RecordingConfig } from './recording-config.ts';
import { createS3Client, describeS3Error } from './s3-client.ts';
import { parseLivePlaylist, type LiveSegment } from './live-playlist.ts';
import { createSpool, type Spool, type SpoolEntry } from './spool.ts';

export const defaultMaxSpoolBytes = 1024 * 1024 * 1024;

export interface RecordingTarget {
  namespace: string;
  name: string;
  recording: RecordingConfig | undefined; // undefined: recording off
  error?: string; // spec.recording is invalid (recording stays off)
  // Video tracks to record for the running ladder (throws on a rendition the ladder lacks).
  tracks(): string[];
}

export interface RecorderOptions {
  hlsDir: string;
  spoolDir: string;
  maxSpoolBytes?: number;
  credentialsDir: string;
  sessionId: () => string; // '' while idle
  target: () => RecordingTarget;
  metrics: RecordingMetrics;
  reporter?: ReportSink;
  logger: Logger;
  pollMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  progressEveryMs?: number;
  s3Client?: (s3: S3Settings) => S3Client;
}

export interface RecorderStatus {
  pending: number;
  spoolBytes: number;
  uploaded: number;
  dropped: number;
  failing: boolean;
}

export interface Recorder {
  // Load the spool and recover an interrupted session; call before the ingest accepts publishes.
  start(): Promise<void>;
  poll(): Promise<void>;
  status(): RecorderStatus;
  // Resolves true once nothing is pending (false at the deadline).
  drained(timeoutMs: number): Promise<boolean>;
  // Capture the last segments, give uploads up to drainTimeoutMs, stop. What is left stays on disk.
  close(drainTimeoutMs?: number): Promise<void>;
}

interface CaptureState {
  session: string;
  tracks: Record<string, number>; // track -> last media sequence spooled
}

export function createRecorder(options: RecorderOptions): Recorder {
  return new SegmentRecorder(options);
}

const uploadTimeoutMs = 30_000;

class SegmentRecorder implements Recorder {
  private readonly options: RecorderOptions;
  private readonly logger: Logger;
  private readonly spool: Spool;
  private readonly captureFile: string;
  private readonly queue: SpoolEntry[] = [];
  private readonly uploadedBySession = new Map<string, number>();
  /** Sessions no longer captured whose receipt is not written yet (sent once none of their segments waits). */
  private readonly receiptsDue = new Set<string>();
  private readonly clients = new Map<string, S3Client>();
  private readonly lastProgress = new Map<string, number>();
  private readonly lastFailureReport = new Map<RecordingFailureReason, string>();
  private capture: CaptureState | undefined;
  private uploaded = 0;
  private dropped = 0;
  private failures = 0;
  private stopped = false;
  private polling: Promise<void> | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private inFlight: AbortController | undefined;
  private lastS3: S3Settings | undefined;

  constructor(options: RecorderOptions) {
    this.options = options;
    this.logger = options.logger;
    this.spool = createSpool(options.spoolDir, options.maxSpoolBytes ?? defaultMaxSpoolBytes);
    this.captureFile = path.join(options.spoolDir, 'capture.json');
  }

  async start(): Promise<void> {
    const left = await this.spool.load();
    this.queue.push(...left);
    this.options.metrics.spoolBytes.set(this.spool.bytes());
    if (left.length > 0) {
      this.logger.info({ segments: left.length, bytes: this.spool.bytes() }, 'recording: spool from a previous run');
    }
    await this.recoverInterrupted();
    // What an earlier process captured is complete once sent: this one records only new sessions.
    for (const e of this.queue) this.receiptsDue.add(e.session);
    this.capture = undefined;
    await this.saveCapture();
    await this.spool.prune('');
    this.loop = this.uploadLoop();
    this.pollTimer = setInterval(() => void this.poll(), this.options.pollMs ?? 500);
    this.pollTimer.unref();
  }

  poll(): Promise<void> {
    this.polling ??= this.pollOnce()
      .catch((err: unknown) => {
        this.logger.error({ err }, 'recording: capture failed');
        this.fail(this.capture?.session ?? '', 'spool-error', (err as Error).message);
      })
      .finally(() => {
        this.polling = undefined;
      });
    return this.polling;
  }

  status(): RecorderStatus {
    const { queue, spool, uploaded, dropped, failures } = this;
    return { pending: queue.length, spoolBytes: spool.bytes(), uploaded, dropped, failing: failures > 0 };
  }

  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const idle = () => this.queue.length === 0 && this.receiptsDue.size === 0;
    while (!idle() && Date.now() < deadline) {
      this.nudge(); // cut a backoff short: S3 may be back
      await new Promise((r) => setTimeout(r, 100));
    }
    return idle();
  }

  async close(drainTimeoutMs = 5_000): Promise<void> {
    clearInterval(this.pollTimer);
    await this.poll();
    if (this.loop !== undefined && !(await this.drained(drainTimeoutMs))) {
      const { queue, spool } = this;
      this.logger.warn(
        { pending: queue.length, bytes: spool.bytes() },
        'recording: stopping with segments still spooled',
      );
    }
    this.stopped = true;
    this.inFlight?.abort();
    this.nudge();
    await this.loop;
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }

  // The previous process was capturing a session when it stopped: take what that session completed since.
  private async recoverInterrupted(): Promise<void> {
    try {
      const saved = JSON.parse(await readFile(this.captureFile, 'utf8')) as CaptureState | null;
      if (saved === null || typeof saved.session !== 'string') return;
      const before = this.queue.length;
      await this.captureFrom(saved);
      this.receiptsDue.add(saved.session);
      const recovered = this.queue.length - before;
      this.logger.info({ session: saved.session, recovered }, 'recording: recovered an interrupted session');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.logger.warn({ err }, 'recording: unreadable capture state');
    }
  }

  private nudge(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private fail(session: string, reason: RecordingFailureReason, message: string, always = false): void {
    // One report per distinct failure, not one per retry.
    if (!always && this.lastFailureReport.get(reason) === message) return;
    this.lastFailureReport.set(reason, message);
    const data: RecordingFailedData = { reason, message, pending: this.queue.length, dropped: this.dropped };
    this.options.reporter?.report('recording-failed', session, data);
  }

  private async saveCapture(): Promise<void> {
    const tmp = `${this.captureFile}.tmp`;
    await writeFile(tmp, JSON.stringify(this.capture ?? null));
    await rename(tmp, this.captureFile);
  }

  private async captureFrom(state: CaptureState): Promise<void> {
    let changed = false;
    for (const track of Object.keys(state.tracks)) {
      let text: string;
      try {
        text = await readFile(path.join(this.options.hlsDir, track, 'index.m3u8'), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      for (const seg of parseLivePlaylist(text)) {
        if (seg.sequence <= (state.tracks[track] ?? -1)) continue;
        state.tracks[track] = seg.sequence;
        changed = true;
        await this.spoolSegment(state.session, track, seg);
      }
    }
    this.options.metrics.spoolBytes.set(this.spool.bytes());
    if (changed) await this.saveCapture();
  }

  private async spoolSegment(session: string, track: string, seg: LiveSegment): Promise<void> {
    const meta = { session, track, ...seg, completedAt: Date.now() };
    const { result, entry } = await this.spool.add(path.join(this.options.hlsDir, track, seg.file), meta);
    if (result === 'added') {
      this.queue.push(entry!);
      if (this.queue.length === 1) this.nudge(); // the uploader was idle (not backing off)
      return;
    }
    if (result === 'empty') {
      this.logger.info({ session, track, file: seg.file }, 'recording: empty segment skipped');
      return;
    }
    this.dropped++;
    this.options.metrics.spoolDroppedTotal.inc();
    const message =
      result === 'dropped'
        ? `spool full (${this.spool.bytes()} bytes pending): segment ${track}/${seg.file} dropped`
        : `segment ${track}/${seg.file} vanished before it could be spooled`;
    this.logger.error({ session, track, file: seg.file }, message);
    this.fail(session, 'spool-full', message, true);
  }

  private async pollOnce(): Promise<void> {
    const sid = this.options.sessionId();
    const capture = this.capture;
    if (capture !== undefined && capture.session !== sid) {
      // The session ended: its files stay in place until the next one starts, so take its last segments now.
      // (If the next session already started, the directory holds its files, not ours: nothing safe to read.)
      if (sid === '') await this.captureFrom(capture);
      this.logger.info({ session: capture.session, tracks: capture.tracks }, 'recording: session capture finished');
      this.receiptsDue.add(capture.session);
      this.nudge();
      this.capture = undefined;
      await this.saveCapture();
      await this.spool.prune('');
    }
    if (sid === '') return;
    const target = this.options.target();
    if (target.error !== undefined) this.fail(sid, 'config-invalid', target.error);
    if (target.recording === undefined) return; // off (hot: turning it on records from the next segment)
    this.lastS3 = target.recording.s3;
    if (this.capture === undefined || Object.keys(this.capture.tracks).length === 0) {
      let tracks: string[];
      try {
        tracks = target.tracks();
      } catch (err) {
        this.fail(sid, 'config-invalid', (err as Error).message);
        return;
      }
      if (tracks.length === 0) return; // ladder not planned yet
      this.capture = { session: sid, tracks: Object.fromEntries(tracks.map((t) => [t, -1])) };
      this.logger.info({ session: sid, tracks }, 'recording: capturing session');
    }
    await this.captureFrom(this.capture);
  }

  private clientFor(s3: S3Settings): S3Client {
    const key = JSON.stringify(s3);
    let client = this.clients.get(key);
    if (client === undefined) {
      for (const c of this.clients.values()) c.destroy();
      this.clients.clear();
      client = this.options.s3Client?.(s3) ?? createS3Client(s3, this.options.credentialsDir);
      this.clients.set(key, client);
    }
    return client;
  }

  /** One object, abortable by close() and bounded by uploadTimeoutMs (segments and receipts alike). */
  private async put(s3: S3Settings, input: Omit<PutObjectCommandInput, 'Bucket'>): Promise<void> {
    const inFlight = new AbortController();
    this.inFlight = inFlight;
    const timeout = setTimeout(() => inFlight.abort(), uploadTimeoutMs);
    try {
      await this.clientFor(s3).send(new PutObjectCommand({ Bucket: s3.bucket, ...input }), {
        abortSignal: inFlight.signal,
      });
    } finally {
      clearTimeout(timeout);
      this.inFlight = undefined;
    }
  }

  private async upload(entry: SpoolEntry, s3: S3Settings, target: RecordingTarget): Promise<void> {
    await this.put(s3, {
      Key: `${sessionPrefix(s3, target.namespace, target.name, entry.session)}${entry.track}/${entry.file}`,
      Body: await readFile(entry.path),
      ContentType: 'video/mp2t',
      // What the finalize job needs to rebuild the playlist from a listing alone.
      Metadata: {
        sequence: String(entry.sequence),
        duration: entry.duration.toFixed(6),
        discontinuity: entry.discontinuity ? '1' : '0',
        'completed-at': rfc3339(entry.completedAt),
      },
    });
  }

  private async writeReceipt(session: string, s3: S3Settings, target: RecordingTarget): Promise<void> {
    const receipt: CaptureReceipt = {
      session,
      uploaded: this.uploadedBySession.get(session) ?? 0,
      completedAt: rfc3339(Date.now()),
    };
    await this.put(s3, {
      Key: `${sessionPrefix(s3, target.namespace, target.name, session)}${captureReceiptFile}`,
      Body: JSON.stringify(receipt),
      ContentType: 'application/json',
    });
    this.receiptsDue.delete(session);
    this.logger.info({ session, uploaded: receipt.uploaded }, 'recording: capture receipt written');
  }

  /** A session whose capture is over and none of whose segments waits. */
  private receiptReady(): string | undefined {
    for (const session of this.receiptsDue) if (!this.queue.some((e) => e.session === session)) return session;
    return undefined;
  }

  private progress(entry: SpoolEntry, recovered: boolean): void {
    const count = (this.uploadedBySession.get(entry.session) ?? 0) + 1;
    this.uploadedBySession.set(entry.session, count);
    const now = Date.now();
    const sessionDone = !this.queue.some((e) => e.session === entry.session);
    const recent = now - (this.lastProgress.get(entry.session) ?? 0) < (this.options.progressEveryMs ?? 10_000);
    if (!recovered && !sessionDone && recent) return;
    this.lastProgress.set(entry.session, now);
    this.options.reporter?.report('recording-progress', entry.session, {
      track: entry.track,
      uploaded: count,
      lastSequence: entry.sequence,
      pending: this.queue.length,
      spoolBytes: this.spool.bytes(),
      dropped: this.dropped,
    });
  }

  private async uploadLoop(): Promise<void> {
    while (!this.stopped) {
      const receipt = this.receiptReady();
      const entry = this.queue[0];
      if (entry === undefined && receipt === undefined) {
        await this.pause(60_000);
        continue;
      }
      const target = this.options.target();
      const s3 = target.recording?.s3 ?? this.lastS3;
      if (s3 === undefined) {
        // Spooled by an earlier process, and recording is off now: keep it until S3 settings come back.
        await this.pause(5_000);
        continue;
      }
      if (receipt !== undefined)
        await this.send(receipt, captureReceiptFile, () => this.writeReceipt(receipt, s3, target));
      else if (entry !== undefined) await this.uploadHead(entry, s3, target);
    }
  }

  // One PutObject of the loop (a segment, or a session's receipt); on failure the same one is retried after the
  // backoff, so nothing behind it goes first. Resolves whether it was sent.
  private async send(session: string, what: string, put: () => Promise<void>): Promise<boolean> {
    const { metrics } = this.options;
    try {
      await put();
    } catch (err) {
      this.failures++;
      metrics.uploadsTotal.inc({ result: 'error' });
      const message = describeS3Error(err);
      const { baseDelayMs, maxDelayMs } = this.options;
      const delay = backoffDelay(this.failures, {
        baseMs: baseDelayMs ?? 500,
        maxMs: maxDelayMs ?? 10_000,
        jitter: 0.5,
      });
      this.logger.warn(
        { session, file: what, failures: this.failures, delay, err: message },
        'recording: upload failed',
      );
      if (this.failures === 1) this.fail(session, 'upload-failed', message, true);
      if (!this.stopped) await this.pause(delay);
      return false;
    }
    metrics.uploadsTotal.inc({ result: 'success' });
    if (this.failures > 0)
      this.logger.info({ failures: this.failures, pending: this.queue.length }, 'recording: uploads recovered');
    this.failures = 0;
    this.lastFailureReport.delete('upload-failed');
    return true;
  }

  // The oldest spooled segment: removed from the spool only once S3 has it.
  private async uploadHead(entry: SpoolEntry, s3: S3Settings, target: RecordingTarget): Promise<void> {
    const recovered = this.failures > 0;
    const file = `${entry.track}/${entry.file}`;
    if (!(await this.send(entry.session, file, () => this.upload(entry, s3, target)))) return;
    this.queue.shift();
    await this.spool.remove(entry);
    this.uploaded++;
    this.options.metrics.spoolBytes.set(this.spool.bytes());
    this.progress(entry, recovered);
  }
}

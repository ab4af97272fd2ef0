// Records a LiveStream's sessions to S3 segment by segment, as each segment completes.
//
// Capture: every poll reads the live playlists of the recorded tracks (the chosen video rung and the audio) and
// spools each newly listed segment (a hard link: ffmpeg may delete it from the live window right after). Upload: one
// loop sends the spool in order, one PutObject per segment, and removes an entry only after S3 accepted it; failures
// retry the same segment with capped exponential backoff, so while S3 is unreachable segments wait on disk.
// Restart: the spool left by an earlier process is uploaded first, and the segments its last session had completed
// but not yet spooled (capture.json says how far it got) are picked up from the HLS directory, which only a new
// session clears. A killed process thus loses at most the segment ffmpeg was writing.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { backoffDelay } from '../../../contract/src/backoff.ts';
import { rfc3339 } from '../../../contract/src/time.ts';
import type { RecordingFailedData, RecordingFailureReason } from '../../../contract/src/reports.ts';
import type { ReportSink } from '../session/channel.ts';
import type { RecordingMetrics } from './recording-metrics.ts';
import { sessionPrefix, type S3Settings } from '../../../contract/src/recording-layout.ts';
import type { RecordingConfig } from './recording-config.ts';
import { createS3Client, describeS3Error } from './s3-client.ts';
import { parseLivePlaylist } from './live-playlist.ts';
import { createSpool, type SpoolEntry } from './spool.ts';

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
  const { hlsDir, metrics, logger } = options;
  const spool = createSpool(options.spoolDir, options.maxSpoolBytes ?? defaultMaxSpoolBytes);
  const captureFile = path.join(options.spoolDir, 'capture.json');
  const queue: SpoolEntry[] = [];
  const uploadedBySession = new Map<string, number>();
  let capture: CaptureState | undefined;
  let uploaded = 0;
  let dropped = 0;
  let failures = 0;
  let stopped = false;
  let polling: Promise<void> | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let inFlight: AbortController | undefined;
  let lastS3: S3Settings | undefined;
  const clients = new Map<string, S3Client>();
  const lastProgress = new Map<string, number>();
  const lastFailureReport = new Map<RecordingFailureReason, string>();

  const nudge = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      wake = done;
    });

  const fail = (session: string, reason: RecordingFailureReason, message: string, always = false): void => {
    // One report per distinct failure, not one per retry.
    if (!always && lastFailureReport.get(reason) === message) return;
    lastFailureReport.set(reason, message);
    const data: RecordingFailedData = { reason, message, pending: queue.length, dropped };
    options.reporter?.report('recording-failed', session, data);
  };

  const saveCapture = async (): Promise<void> => {
    const tmp = `${captureFile}.tmp`;
    await writeFile(tmp, JSON.stringify(capture ?? null));
    await rename(tmp, captureFile);
  };

  const captureFrom = async (state: CaptureState): Promise<void> => {
    let changed = false;
    for (const track of Object.keys(state.tracks)) {
      let text: string;
      try {
        text = await readFile(path.join(hlsDir, track, 'index.m3u8'), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      for (const seg of parseLivePlaylist(text)) {
        if (seg.sequence <= (state.tracks[track] ?? -1)) continue;
        state.tracks[track] = seg.sequence;
        changed = true;
        const meta = { session: state.session, track, ...seg, completedAt: Date.now() };
        const { result, entry } = await spool.add(path.join(hlsDir, track, seg.file), meta);
        if (result === 'added') {
          queue.push(entry!);
          if (queue.length === 1) nudge(); // the uploader was idle (not backing off)
        } else if (result === 'empty') {
          logger.info({ session: state.session, track, file: seg.file }, 'recording: empty segment skipped');
        } else {
          dropped++;
          metrics.spoolDroppedTotal.inc();
          const message =
            result === 'dropped'
              ? `spool full (${spool.bytes()} bytes pending): segment ${track}/${seg.file} dropped`
              : `segment ${track}/${seg.file} vanished before it could be spooled`;
          logger.error({ session: state.session, track, file: seg.file }, message);
          fail(state.session, 'spool-full', message, true);
        }
      }
    }
    metrics.spoolBytes.set(spool.bytes());
    if (changed) await saveCapture();
  };

  const pollOnce = async (): Promise<void> => {
    const sid = options.sessionId();
    if (capture !== undefined && capture.session !== sid) {
      // The session ended: its files stay in place until the next one starts, so take its last segments now.
      // (If the next session already started, the directory holds its files, not ours: nothing safe to read.)
      if (sid === '') await captureFrom(capture);
      logger.info({ session: capture.session, tracks: capture.tracks }, 'recording: session capture finished');
      capture = undefined;
      await saveCapture();
      await spool.prune('');
    }
    if (sid === '') return;
    const target = options.target();
    if (target.error !== undefined) fail(sid, 'config-invalid', target.error);
    if (target.recording === undefined) return; // off (hot: turning it on records from the next segment)
    lastS3 = target.recording.s3;
    if (capture === undefined || Object.keys(capture.tracks).length === 0) {
      let tracks: string[];
      try {
        tracks = target.tracks();
      } catch (err) {
        fail(sid, 'config-invalid', (err as Error).message);
        return;
      }
      if (tracks.length === 0) return; // ladder not planned yet
      capture = { session: sid, tracks: Object.fromEntries(tracks.map((t) => [t, -1])) };
      logger.info({ session: sid, tracks }, 'recording: capturing session');
    }
    await captureFrom(capture);
  };

  const poll = (): Promise<void> => {
    polling ??= pollOnce()
      .catch((err: unknown) => {
        logger.error({ err }, 'recording: capture failed');
        fail(capture?.session ?? '', 'spool-error', (err as Error).message);
      })
      .finally(() => {
        polling = undefined;
      });
    return polling;
  };

  const clientFor = (s3: S3Settings): S3Client => {
    const key = JSON.stringify(s3);
    let client = clients.get(key);
    if (client === undefined) {
      for (const c of clients.values()) c.destroy();
      clients.clear();
      client = options.s3Client?.(s3) ?? createS3Client(s3, options.credentialsDir);
      clients.set(key, client);
    }
    return client;
  };

  const upload = async (entry: SpoolEntry, s3: S3Settings, target: RecordingTarget): Promise<void> => {
    const body = await readFile(entry.path);
    const key = `${sessionPrefix(s3, target.namespace, target.name, entry.session)}${entry.track}/${entry.file}`;
    inFlight = new AbortController();
    const timeout = setTimeout(() => inFlight?.abort(), 30_000);
    try {
      await clientFor(s3).send(
        new PutObjectCommand({
          Bucket: s3.bucket,
          Key: key,
          Body: body,
          ContentType: 'video/mp2t',
          // What the finalize job needs to rebuild the playlist from a listing alone.
          Metadata: {
            sequence: String(entry.sequence),
            duration: entry.duration.toFixed(6),
            discontinuity: entry.discontinuity ? '1' : '0',
            'completed-at': rfc3339(entry.completedAt),
          },
        }),
        { abortSignal: inFlight.signal },
      );
    } finally {
      clearTimeout(timeout);
      inFlight = undefined;
    }
  };

  const progress = (entry: SpoolEntry, recovered: boolean): void => {
    const count = (uploadedBySession.get(entry.session) ?? 0) + 1;
    uploadedBySession.set(entry.session, count);
    const now = Date.now();
    const sessionDone = !queue.some((e) => e.session === entry.session);
    if (
      !recovered &&
      !sessionDone &&
      now - (lastProgress.get(entry.session) ?? 0) < (options.progressEveryMs ?? 10_000)
    )
      return;
    lastProgress.set(entry.session, now);
    options.reporter?.report('recording-progress', entry.session, {
      track: entry.track,
      uploaded: count,
      lastSequence: entry.sequence,
      pending: queue.length,
      spoolBytes: spool.bytes(),
      dropped,
    });
  };

  const uploadLoop = async (): Promise<void> => {
    while (!stopped) {
      const entry = queue[0];
      if (entry === undefined) {
        await pause(60_000);
        continue;
      }
      const target = options.target();
      const s3 = target.recording?.s3 ?? lastS3;
      if (s3 === undefined) {
        // Spooled by an earlier process, and recording is off now: keep it until S3 settings come back.
        await pause(5_000);
        continue;
      }
      try {
        await upload(entry, s3, target);
      } catch (err) {
        failures++;
        metrics.uploadsTotal.inc({ result: 'error' });
        const message = describeS3Error(err);
        const delay = backoffDelay(failures, {
          baseMs: options.baseDelayMs ?? 500,
          maxMs: options.maxDelayMs ?? 10_000,
          jitter: 0.5,
        });
        logger.warn(
          { session: entry.session, file: entry.file, failures, delay, err: message },
          'recording: upload failed',
        );
        if (failures === 1) fail(entry.session, 'upload-failed', message, true);
        if (!stopped) await pause(delay);
        continue;
      }
      queue.shift();
      await spool.remove(entry);
      uploaded++;
      metrics.uploadsTotal.inc({ result: 'success' });
      metrics.spoolBytes.set(spool.bytes());
      const recovered = failures > 0;
      if (recovered) logger.info({ failures, pending: queue.length }, 'recording: uploads recovered');
      failures = 0;
      lastFailureReport.delete('upload-failed');
      progress(entry, recovered);
    }
  };

  const drained = async (timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    while (queue.length > 0 && Date.now() < deadline) {
      nudge(); // cut a backoff short: S3 may be back
      await new Promise((r) => setTimeout(r, 100));
    }
    return queue.length === 0;
  };

  return {
    async start() {
      const left = await spool.load();
      queue.push(...left);
      metrics.spoolBytes.set(spool.bytes());
      if (left.length > 0)
        logger.info({ segments: left.length, bytes: spool.bytes() }, 'recording: spool from a previous run');
      try {
        const saved = JSON.parse(await readFile(captureFile, 'utf8')) as CaptureState | null;
        if (saved !== null && typeof saved.session === 'string') {
          // The previous process was capturing this session when it stopped: take what it completed since.
          const before = queue.length;
          await captureFrom(saved);
          logger.info(
            { session: saved.session, recovered: queue.length - before },
            'recording: recovered an interrupted session',
          );
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
          logger.warn({ err }, 'recording: unreadable capture state');
      }
      capture = undefined;
      await saveCapture();
      await spool.prune('');
      loop = uploadLoop();
      pollTimer = setInterval(() => void poll(), options.pollMs ?? 500);
      pollTimer.unref();
    },
    poll,
    status: () => ({ pending: queue.length, spoolBytes: spool.bytes(), uploaded, dropped, failing: failures > 0 }),
    drained,
    async close(drainTimeoutMs = 5_000) {
      clearInterval(pollTimer);
      await poll();
      if (loop !== undefined && !(await drained(drainTimeoutMs))) {
        logger.warn({ pending: queue.length, bytes: spool.bytes() }, 'recording: stopping with segments still spooled');
      }
      stopped = true;
      inFlight?.abort();
      nudge();
      await loop;
      for (const c of clients.values()) c.destroy();
      clients.clear();
    },
  };
}

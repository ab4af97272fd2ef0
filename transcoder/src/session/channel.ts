// The broadcast session of one LiveStream: idle -> live -> reconnecting -> live ... -> idle.
//
// A session starts with the first accepted publish (fresh id, empty HLS directory) and survives publisher drops
// shorter than spec.reconnectWindowSeconds: the next publish continues the same playlists after an
// #EXT-X-DISCONTINUITY. When the window runs out (or on shutdown) the playlists get #EXT-X-ENDLIST and the session
// is reported ended; the next publish is a new session. Transitions run one at a time through a queue, because
// stopping ffmpeg is asynchronous and a publisher may come back while it is still writing its last segment.
import { watch, type FSWatcher } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ResolvedConfig } from '../config/livestream-spec.ts';
import type { Ingest, PublishInfo } from '../ingest/ingest-server.ts';
import { buildFfmpegArgs, variantPlaylistPath } from '../ladder/ffmpeg-args.ts';
import { buildMasterPlaylist } from '../ladder/master-playlist.ts';
import { audioRenditionName, planLadder, type LadderPlan } from '../ladder/plan-ladder.ts';
import type { SourceInfo } from '../ladder/source-info.ts';
import { superviseFfmpeg, type Supervisor } from '../ladder/supervisor.ts';
import type { EventDataByType, EventType, SessionEndReason } from '../../../contract/src/reports.ts';
import type { TranscoderMetrics } from '../telemetry/metrics.ts';
import { appendEndlist, clearDirectory, readPlaylistPosition, writeFileAtomic } from './hls-files.ts';
import { newSessionId } from './session-id.ts';

export type ChannelState = 'idle' | 'live' | 'reconnecting';

export interface ReportSink {
  report<T extends EventType>(type: T, session: string, data: EventDataByType[T]): void;
}

export interface ChannelOptions {
  ingest: Ingest;
  hlsDir: string;
  config: () => ResolvedConfig;
  logger: Logger;
  metrics?: TranscoderMetrics;
  reporter?: ReportSink;
  viewers?: () => number;
  peakViewers?: () => number;
  resetPeakViewers?: () => void;
  ffmpegPath?: string;
  x264Preset?: string;
  heartbeatMs?: number;
  pollMs?: number;
  restartBaseDelayMs?: number;
  restartMaxDelayMs?: number;
}

export interface Channel {
  state(): ChannelState;
  sessionId(): string; // '' when idle
  plan(): LadderPlan | undefined;
  segments(): Record<string, number>; // per rendition, this session
  ffmpegPid(): number | undefined;
  ffmpegRestarts(): number; // this session
  // Playlists are worth serving: a session is running, or ended so recently that players are still finishing it.
  servingPlaylists(): boolean;
  settled(): Promise<void>; // resolves when queued transitions are done
  shutdown(): Promise<void>;
}

interface Session {
  id: string;
  startedAt: number;
  bytesIn: number; // of the publishes that already ended
  plan: LadderPlan | undefined;
  ffmpegStarted: boolean;
  segments: Record<string, number>;
  lastSequence: Record<string, number>;
  masterWritten: boolean;
  restarts: number;
  publishReported: boolean;
}

export function createChannel(options: ChannelOptions): Channel {
  const { ingest, hlsDir, logger, metrics, reporter } = options;
  let state: ChannelState = 'idle';
  let session: Session | undefined;
  let publisher: PublishInfo | undefined;
  let supervisor: Supervisor | undefined;
  let windowTimer: NodeJS.Timeout | undefined;
  let reportTimer: NodeJS.Timeout | undefined;
  let endedAt = 0;
  let shuttingDown = false;
  let queue: Promise<void> = Promise.resolve();
  let startupWatchers: FSWatcher[] = [];

  const enqueue = (name: string, task: () => Promise<void>): void => {
    queue = queue.then(task).catch((err: unknown) => logger.error({ err }, `session transition "${name}" failed`));
  };
  const report = <T extends EventType>(type: T, data: EventDataByType[T]): void =>
    reporter?.report(type, session?.id ?? '', data);

  const renditionNames = (plan: LadderPlan): string[] => [
    ...plan.videos.map((v) => v.name),
    ...(plan.audio ? [audioRenditionName] : []),
  ];

  const reportPublishStarted = (resumed: boolean, source?: SourceInfo): void => {
    clearTimeout(reportTimer);
    if (session === undefined || session.publishReported) return;
    session.publishReported = true;
    report('publish-started', {
      resumed,
      ...(source && {
        videoCodec: source.videoCodec,
        ...(source.audioCodec !== null && { audioCodec: source.audioCodec }),
        width: source.width,
        height: source.height,
        fps: source.fps,
      }),
    });
  };

  const beginSession = async (): Promise<void> => {
    await mkdir(hlsDir, { recursive: true });
    await clearDirectory(hlsDir);
    session = {
      id: newSessionId(),
      startedAt: Date.now(),
      bytesIn: 0,
      plan: undefined,
      ffmpegStarted: false,
      segments: {},
      lastSequence: {},
      masterWritten: false,
      restarts: 0,
      publishReported: false,
    };
    metrics?.sessionsTotal.inc();
    options.resetPeakViewers?.();
    logger.info({ session: session.id }, 'session started');
  };

  const stopFfmpeg = async (): Promise<void> => {
    const s = supervisor;
    supervisor = undefined;
    if (s !== undefined) await s.stop();
  };

  const endSession = async (reason: SessionEndReason): Promise<void> => {
    clearTimeout(windowTimer);
    clearTimeout(reportTimer);
    const s = session;
    if (s === undefined) return;
    stopWatching();
    await stopFfmpeg();
    await pollSegments();
    if (s.plan !== undefined) {
      for (const name of renditionNames(s.plan)) await appendEndlist(variantPlaylistPath(hlsDir, name));
    }
    const live = publisher !== undefined ? ingest.stats().bytesIn : 0;
    report('session-ended', {
      duration: Math.round((Date.now() - s.startedAt) / 100) / 10,
      bytesIn: s.bytesIn + live,
      peakViewers: options.peakViewers?.() ?? 0,
      reason,
    });
    logger.info({ session: s.id, reason, segments: s.segments }, 'session ended');
    session = undefined;
    state = 'idle';
    endedAt = Date.now();
  };

  const startFfmpeg = (plan: LadderPlan): void => {
    const s = session!;
    const resumeFirst = s.ffmpegStarted;
    s.ffmpegStarted = true;
    supervisor = superviseFfmpeg({
      ffmpegPath: options.ffmpegPath,
      logger: logger.child({ component: 'ffmpeg' }),
      args: (n) =>
        buildFfmpegArgs(plan, {
          inputUrl: ingest.internalRtmpUrl(),
          outDir: hlsDir,
          resume: resumeFirst || n > 0,
          segmentPrefix: s.id,
          ...(options.x264Preset !== undefined && { x264Preset: options.x264Preset }),
        }),
      baseDelayMs: options.restartBaseDelayMs,
      maxDelayMs: options.restartMaxDelayMs,
      onStart: (pid, n) => logger.info({ pid, start: n, session: s.id }, 'ffmpeg started'),
      onFailure: (f) => {
        s.restarts++;
        metrics?.ffmpegRestartsTotal.inc();
        report('ffmpeg-failed', { exitCode: f.exitCode, signal: f.signal, restarts: s.restarts, message: f.message });
      },
    });
  };

  const samePlanShape = (a: LadderPlan, b: LadderPlan): boolean =>
    JSON.stringify(a.videos.map((v) => [v.name, v.mode, v.width, v.height, v.fps])) ===
      JSON.stringify(b.videos.map((v) => [v.name, v.mode, v.width, v.height, v.fps])) &&
    a.audio?.mode === b.audio?.mode &&
    a.segmentSeconds === b.segmentSeconds;

  ingest.events.on('publish-start', (info) =>
    enqueue('publish-start', async () => {
      if (shuttingDown) return;
      clearTimeout(windowTimer);
      publisher = info;
      const resumed = state === 'reconnecting' && session !== undefined;
      if (!resumed) {
        if (session !== undefined) await endSession('error');
        await beginSession();
      } else {
        session!.publishReported = false;
      }
      state = 'live';
      logger.info({ session: session!.id, resumed }, 'publisher live');
      // Report as soon as the source is known, or after 3 s without it (then say why nothing is transcoded).
      reportTimer = setTimeout(() => {
        reportPublishStarted(resumed);
        if (supervisor === undefined)
          logger.warn({ session: session?.id }, 'no H.264/video header from the publisher yet');
      }, 3_000);
      reportTimer.unref();
    }),
  );

  ingest.events.on('source-ready', (info, source) =>
    enqueue('source-ready', async () => {
      if (shuttingDown || session === undefined || publisher?.publisherId !== info.publisherId) return;
      const resumed = session.ffmpegStarted;
      reportPublishStarted(resumed, source);
      const plan = planLadder(options.config(), source);
      if (session.plan !== undefined && !samePlanShape(session.plan, plan)) {
        // The returning source (or the ladder config) changed shape: its renditions cannot continue the old ones.
        logger.info({ session: session.id }, 'ladder changed on reconnect: starting a new session');
        await endSession('config-changed');
        await beginSession();
        state = 'live';
        reportPublishStarted(false, source);
      }
      session.plan = plan;
      logger.info(
        { renditions: plan.videos.map((v) => `${v.name}:${v.mode}:${v.width}x${v.height}@${v.fps}`) },
        'ladder',
      );
      if (!session.masterWritten) await watchFirstSegments(plan);
      startFfmpeg(plan);
    }),
  );

  ingest.events.on('publish-end', (info, { bytesIn }) =>
    enqueue('publish-end', async () => {
      if (session === undefined || publisher?.publisherId !== info.publisherId) return;
      publisher = undefined;
      session.bytesIn += bytesIn;
      await stopFfmpeg();
      if (shuttingDown) return;
      if (!session.publishReported) reportPublishStarted(session.ffmpegStarted);
      state = 'reconnecting';
      const windowSeconds = options.config().reconnectWindowSeconds;
      report('publish-ended', { reconnectWindowSeconds: windowSeconds, bytesIn: session.bytesIn });
      logger.info({ session: session.id, windowSeconds }, 'publisher left: reconnect window open');
      if (windowSeconds === 0) return endSession('window-expired');
      windowTimer = setTimeout(
        () => enqueue('window-expired', () => endSession('window-expired')),
        windowSeconds * 1000,
      );
    }),
  );

  ingest.events.on('refused', (reason) => report('publish-refused', { reason }));

  // Segment accounting and the master playlist, from the variant playlists ffmpeg writes.
  let polling = false;
  let pollAgain = false;
  const pollSegments = async (): Promise<void> => {
    const s = session;
    if (s?.plan === undefined) return;
    if (polling) {
      pollAgain = true;
      return;
    }
    polling = true;
    try {
      let ready = 0;
      const names = renditionNames(s.plan);
      for (const name of names) {
        const pos = await readPlaylistPosition(variantPlaylistPath(hlsDir, name));
        if (pos === null) continue;
        if (pos.segments > 0) ready++;
        const last = s.lastSequence[name] ?? -1;
        if (pos.lastSequence > last) {
          const delta = pos.lastSequence - last;
          s.lastSequence[name] = pos.lastSequence;
          s.segments[name] = (s.segments[name] ?? 0) + delta;
          metrics?.segmentsTotal.inc({ rendition: name }, delta);
        }
      }
      // Write the master only once every variant it lists has a segment, so players never follow it into a 404.
      if (!s.masterWritten && ready === names.length && session === s) {
        await writeFileAtomic(path.join(hlsDir, 'master.m3u8'), buildMasterPlaylist(s.plan));
        s.masterWritten = true;
        stopWatching();
        logger.info({ session: s.id }, 'master playlist written');
        // The stream just became playable: report its figures now rather than at the next tick.
        sendHeartbeat();
      }
    } finally {
      polling = false;
      if (pollAgain) {
        pollAgain = false;
        requestPoll();
      }
    }
  };
  function requestPoll(): void {
    pollSegments().catch((err: unknown) => logger.warn({ err }, 'segment poll failed'));
  }

  // Until the master playlist is out, a variant playlist appearing or changing triggers a poll at once, so the
  // master follows the last rendition's first segment within milliseconds rather than up to a poll interval later
  // (start-up latency). ffmpeg creates the rendition directories itself; creating them first lets them be watched
  // before it starts. The interval poll stays the fallback (and does the accounting once the master is out).
  async function watchFirstSegments(plan: LadderPlan): Promise<void> {
    stopWatching();
    for (const name of renditionNames(plan)) {
      const dir = path.dirname(variantPlaylistPath(hlsDir, name));
      await mkdir(dir, { recursive: true });
      try {
        const watcher = watch(dir, (_event, file) => {
          if (file === null || file.endsWith('.m3u8')) requestPoll();
        });
        watcher.on('error', (err) => logger.warn({ err, rendition: name }, 'rendition directory watch failed'));
        startupWatchers.push(watcher);
      } catch (err) {
        logger.warn({ err, rendition: name }, 'cannot watch the rendition directory: polling only');
      }
    }
  }
  function stopWatching(): void {
    for (const watcher of startupWatchers) watcher.close();
    startupWatchers = [];
  }

  function sendHeartbeat(): void {
    const st = ingest.stats();
    report('heartbeat', {
      state,
      bitrateKbps: st.bitrateKbps,
      fps: st.fps,
      width: st.width,
      height: st.height,
      viewers: options.viewers?.() ?? 0,
      bytesIn: (session?.bytesIn ?? 0) + st.bytesIn,
      segments: { ...session?.segments },
    });
  }

  const poller = setInterval(requestPoll, options.pollMs ?? 100);
  poller.unref();

  const heartbeat = setInterval(() => sendHeartbeat(), options.heartbeatMs ?? 5_000);
  heartbeat.unref();

  return {
    state: () => state,
    sessionId: () => session?.id ?? '',
    plan: () => session?.plan,
    segments: () => ({ ...session?.segments }),
    ffmpegPid: () => supervisor?.pid(),
    ffmpegRestarts: () => session?.restarts ?? 0,
    servingPlaylists: () => {
      if (state !== 'idle') return true;
      const linger = options.config().segmentSeconds * options.config().playlistLength * 2 * 1000;
      return endedAt > 0 && Date.now() - endedAt < linger;
    },
    settled: async () => {
      let seen: Promise<void> | undefined;
      while (seen !== queue) {
        seen = queue;
        await queue;
      }
    },
    async shutdown() {
      shuttingDown = true;
      enqueue('shutdown', () => endSession('shutdown'));
      await queue;
      stopWatching();
      clearInterval(poller);
      clearInterval(heartbeat);
    },
  };
}

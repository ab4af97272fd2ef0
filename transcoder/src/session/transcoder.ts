// One LiveStream's transcoder, wired: config (hot-reloaded), stream key, RTMP ingest, session channel (ladder
// supervisor, reconnect window), HTTP origin, metrics and Redis reports. main.ts parses the command line and the
// environment into TranscoderOptions; tests start it in-process the same way.
import { readFile } from 'node:fs/promises';
import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { parseAndResolve } from '../config/load-livestream.ts';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import type { ResolvedConfig } from '../config/livestream-spec.ts';
import { watchFile, type WatchedFile } from '../../../contract/src/watched-file.ts';
import { startOrigin, type Origin } from '../hls/origin.ts';
import { startIngest, type Ingest } from '../ingest/ingest-server.ts';
import { openStreamKey, type StreamKey } from '../ingest/stream-key.ts';
import { createReporter, type Reporter } from '../report/reporter.ts';
import { serveReportLog } from '../report/report-log-server.ts';
import { createTranscoderMetrics, type TranscoderMetrics } from '../telemetry/metrics.ts';
import { startRecording } from '../recording/recording-service.ts';
import type { Recorder } from '../recording/recorder.ts';
import { createChannel, type Channel } from './channel.ts';

export interface TranscoderOptions {
  configPath: string; // the LiveStream as JSON (pod) or YAML (standalone); watched for changes
  streamKeyPath: string;
  hlsDir: string;
  rtmpPort: number;
  rtmpHost?: string;
  httpPort: number;
  httpHost?: string;
  redisUrl?: string | undefined;
  reportLogPort?: number; // without Redis, where the operator polls the reports (default: LSO_REPORTS_PORT, 8082)
  reportToken?: string; // the bearer token the poller must send (default: LSO_REPORT_TOKEN; none: every ask refused)
  ffmpegPath?: string;
  x264Preset?: string;
  thumbnailSeconds?: number;
  logger: Logger;
  registry?: Registry;
  defaultMetrics?: boolean;
  configPollMs?: number;
  heartbeatMs?: number;
}

export interface Transcoder {
  config(): ResolvedConfig;
  object(): LiveStream;
  ingest: Ingest;
  origin: Origin;
  channel: Channel;
  recorder: Recorder;
  metrics: TranscoderMetrics;
  ready(): boolean;
  // End the session (ENDLIST, session-ended report), stop listening, flush reports. Idempotent.
  close(): Promise<void>;
}

// The LiveStream file, re-read when it changes. A bad edit keeps the last good configuration: it must not take a
// live stream down.
class WatchedConfig {
  object: LiveStream;
  config: ResolvedConfig;
  private readonly watch: WatchedFile;

  constructor(path: string, text: string, options: TranscoderOptions, onReload: () => void) {
    const { logger } = options;
    ({ object: this.object, config: this.config } = parseAndResolve(text, path));
    const reload = (content: Buffer): void => {
      try {
        ({ object: this.object, config: this.config } = parseAndResolve(content.toString('utf8'), path));
        const generation = this.object.metadata.generation;
        logger.info({ generation }, 'configuration reloaded (ladder changes apply to the next publish)');
        onReload();
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'configuration change rejected; keeping the previous one');
      }
    };
    const onError = (err: unknown): void => logger.warn({ err }, 'cannot read configuration');
    this.watch = watchFile(path, reload, { intervalMs: options.configPollMs ?? 1_000, onError });
  }

  close(): void {
    this.watch.close();
  }
}

// The key file is re-read every second; a rotation changes who may publish next and never disconnects the
// publisher on air (stream-key.ts).
function openKey(options: TranscoderOptions): StreamKey {
  const { logger, streamKeyPath } = options;
  return openStreamKey(streamKeyPath, {
    // Never log the file content; the path is not secret.
    onError: (err) =>
      logger.warn(
        { path: streamKeyPath, code: (err as NodeJS.ErrnoException).code, err: (err as Error).message },
        'stream key unreadable: keeping the keys last read (none at start: publishes are refused)',
      ),
    onReload: (loaded) => logger.info(loaded, 'stream keys reloaded; the publisher on air stays connected'),
  });
}

interface Shared {
  options: TranscoderOptions;
  watched: WatchedConfig;
  metrics: TranscoderMetrics;
  streamKey: StreamKey;
  reporter: Reporter;
  ready: () => boolean;
}

interface Parts {
  recorder?: Recorder;
  ingest?: Ingest;
  channel?: Channel;
  origin?: Origin;
}

// In this order: a restarted pod uploads the spool and recovers its interrupted session before the ingest accepts
// a publish. Each part is in `parts` as soon as it runs, so a failure can close what did start.
async function startParts(parts: Parts, shared: Shared): Promise<Required<Parts>> {
  const { options, watched, metrics, reporter } = shared;
  const { logger } = options;
  const recorder = (parts.recorder = await startRecording({
    hlsDir: options.hlsDir,
    object: () => watched.object,
    config: () => watched.config,
    sessionId: () => parts.channel?.sessionId() ?? '',
    plan: () => parts.channel?.plan(),
    registry: metrics.registry,
    reporter,
    logger: logger.child({ component: 'recording' }),
  }));
  const ingest = (parts.ingest = await startIngest({
    port: options.rtmpPort,
    host: options.rtmpHost ?? '0.0.0.0',
    flvPort: 0, // loopback only; reached through the origin's /live.flv when spec.ingest.httpFlv is on
    app: () => watched.config.app,
    segmentSeconds: () => watched.config.segmentSeconds,
    streamKey: shared.streamKey,
    logger: logger.child({ component: 'ingest' }),
    metrics,
  }));
  const channel = (parts.channel = createChannel({
    ingest,
    hlsDir: options.hlsDir,
    config: () => watched.config,
    logger: logger.child({ component: 'session' }),
    metrics,
    reporter,
    viewers: () => parts.origin?.viewers() ?? 0,
    peakViewers: () => parts.origin?.peakViewers() ?? 0,
    resetPeakViewers: () => parts.origin?.resetPeakViewers(),
    ...(options.ffmpegPath !== undefined && { ffmpegPath: options.ffmpegPath }),
    ...(options.x264Preset !== undefined && { x264Preset: options.x264Preset }),
    ...(options.thumbnailSeconds !== undefined && { thumbnailSeconds: options.thumbnailSeconds }),
    ...(options.heartbeatMs !== undefined && { heartbeatMs: options.heartbeatMs }),
  }));
  const origin = (parts.origin = await startOrigin({
    port: options.httpPort,
    ...(options.httpHost !== undefined && { host: options.httpHost }),
    hlsDir: options.hlsDir,
    isLive: () => channel.servingPlaylists(),
    lowLatency: (rendition) => channel.lowLatency(rendition),
    metrics,
    logger: logger.child({ component: 'origin' }),
    flvUpstream: () => (watched.config.httpFlv ? ingest.internalFlvUrl() : undefined),
    readiness: shared.ready,
    title: watched.config.name,
  }));
  return { recorder, ingest, channel, origin };
}

// The session first (ENDLIST, session-ended), then its last segments with a bounded wait for their upload, then
// the listeners, the reports, the files.
async function closeParts(parts: Parts, shared: Shared, graceful: boolean): Promise<void> {
  await parts.channel?.shutdown();
  await (graceful ? parts.recorder?.close() : parts.recorder?.close(0));
  await parts.ingest?.close();
  await parts.origin?.close();
  await shared.reporter.close({ flushTimeoutMs: graceful ? 3_000 : 0 });
  shared.streamKey.close();
  shared.watched.close();
}

export async function startTranscoder(options: TranscoderOptions): Promise<Transcoder> {
  const { logger, configPath } = options;
  const parts: Parts = {};
  const watched = new WatchedConfig(
    configPath,
    await readFile(configPath, 'utf8'),
    options,
    () => parts.channel?.configChanged(), // the reconnect window and spec.paused apply at once
  );
  const metrics = createTranscoderMetrics(options.registry ?? new Registry(), {
    defaultMetrics: options.defaultMetrics ?? true,
  });
  const { namespace, name } = watched.config;
  const redisReporter = createReporter({
    redisUrl: options.redisUrl,
    namespace,
    name,
    metrics,
    logger: logger.child({ component: 'reporter' }),
  });
  // Without Redis the reports are also kept in a log the operator polls (report-log-server.ts).
  const { reporter } = await serveReportLog(redisReporter, {
    redisUrl: options.redisUrl,
    namespace,
    name,
    logger: logger.child({ component: 'report-log' }),
    ...(options.reportLogPort !== undefined && { port: options.reportLogPort }),
    ...(options.reportToken !== undefined && { token: options.reportToken }),
    ...(options.httpHost !== undefined && { host: options.httpHost }),
  });
  let ready = false;
  const shared: Shared = { options, watched, metrics, streamKey: openKey(options), reporter, ready: () => ready };
  let started: Required<Parts>;
  try {
    started = await startParts(parts, shared);
  } catch (err) {
    await closeParts(parts, shared, false);
    throw err;
  }
  ready = true;
  let closing: Promise<void> | undefined;
  return {
    config: () => watched.config,
    object: () => watched.object,
    ...started,
    metrics,
    ready: () => ready,
    close: () =>
      (closing ??= (async () => {
        ready = false;
        await closeParts(parts, shared, true);
      })()),
  };
}

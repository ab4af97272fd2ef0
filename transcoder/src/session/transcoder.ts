// One LiveStream's transcoder, wired: config (hot-reloaded), stream key, RTMP ingest, session channel (ladder
// supervisor, reconnect window), HTTP origin, metrics and Redis reports. main.ts parses the command line and the
// environment into TranscoderOptions; tests start it in-process the same way.
import { readFile } from 'node:fs/promises';
import { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { parseAndResolve } from '../config/load-livestream.ts';
import type { LiveStreamObject, ResolvedConfig } from '../config/livestream-spec.ts';
import { watchFile, type WatchedFile } from '../config/watched-file.ts';
import { startOrigin, type Origin } from '../hls/origin.ts';
import { startIngest, type Ingest } from '../ingest/ingest-server.ts';
import { openStreamKey, type StreamKey } from '../ingest/stream-key.ts';
import { createReporter, type Reporter } from '../report/reporter.ts';
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
  ffmpegPath?: string;
  x264Preset?: string;
  logger: Logger;
  registry?: Registry;
  defaultMetrics?: boolean;
  configPollMs?: number;
  heartbeatMs?: number;
}

export interface Transcoder {
  config(): ResolvedConfig;
  object(): LiveStreamObject;
  ingest: Ingest;
  origin: Origin;
  channel: Channel;
  recorder: Recorder;
  metrics: TranscoderMetrics;
  ready(): boolean;
  // End the session (ENDLIST, session-ended report), stop listening, flush reports. Idempotent.
  close(): Promise<void>;
}

export async function startTranscoder(options: TranscoderOptions): Promise<Transcoder> {
  const { logger, configPath } = options;
  let { object, config } = parseAndResolve(await readFile(configPath, 'utf8'), configPath);
  const metrics = createTranscoderMetrics(options.registry ?? new Registry(), {
    defaultMetrics: options.defaultMetrics ?? true,
  });

  const configWatch: WatchedFile = watchFile(
    configPath,
    (content) => {
      try {
        const next = parseAndResolve(content.toString('utf8'), configPath);
        object = next.object;
        config = next.config;
        logger.info(
          { generation: object.metadata.generation },
          'configuration reloaded (ladder changes apply to the next publish)',
        );
        channel?.configChanged(); // the reconnect window and spec.paused apply at once
      } catch (err) {
        // Keep running on the last good configuration: a bad edit must not take a live stream down.
        logger.error({ err: (err as Error).message }, 'configuration change rejected; keeping the previous one');
      }
    },
    { intervalMs: options.configPollMs ?? 1_000, onError: (err) => logger.warn({ err }, 'cannot read configuration') },
  );

  const streamKey: StreamKey = openStreamKey(
    options.streamKeyPath,
    // Never log the file content; the path is not secret.
    (err) =>
      logger.warn(
        { path: options.streamKeyPath, code: (err as NodeJS.ErrnoException).code },
        'stream key unreadable: publishes are refused',
      ),
    () => logger.info('stream key reloaded'),
  );

  const reporter: Reporter = createReporter({
    redisUrl: options.redisUrl,
    namespace: config.namespace,
    name: config.name,
    metrics,
    logger: logger.child({ component: 'reporter' }),
  });

  let ingest: Ingest | undefined;
  let origin: Origin | undefined;
  let channel: Channel | undefined;
  let recorder: Recorder | undefined;
  let ready = false;
  try {
    // Before the ingest: a restarted pod uploads the spool and recovers its interrupted session first.
    recorder = await startRecording({
      hlsDir: options.hlsDir,
      object: () => object,
      config: () => config,
      sessionId: () => channel?.sessionId() ?? '',
      plan: () => channel?.plan(),
      registry: metrics.registry,
      reporter,
      logger: logger.child({ component: 'recording' }),
    });
    ingest = await startIngest({
      port: options.rtmpPort,
      host: options.rtmpHost ?? '0.0.0.0',
      flvPort: 0, // loopback only; reached through the origin's /live.flv when spec.ingest.httpFlv is on
      app: () => config.app,
      streamKey,
      logger: logger.child({ component: 'ingest' }),
      metrics,
    });
    const started = ingest;
    channel = createChannel({
      ingest: started,
      hlsDir: options.hlsDir,
      config: () => config,
      logger: logger.child({ component: 'session' }),
      metrics,
      reporter,
      viewers: () => origin?.viewers() ?? 0,
      peakViewers: () => origin?.peakViewers() ?? 0,
      resetPeakViewers: () => origin?.resetPeakViewers(),
      ...(options.ffmpegPath !== undefined && { ffmpegPath: options.ffmpegPath }),
      ...(options.x264Preset !== undefined && { x264Preset: options.x264Preset }),
      ...(options.heartbeatMs !== undefined && { heartbeatMs: options.heartbeatMs }),
    });
    const live = channel;
    origin = await startOrigin({
      port: options.httpPort,
      ...(options.httpHost !== undefined && { host: options.httpHost }),
      hlsDir: options.hlsDir,
      isLive: () => live.servingPlaylists(),
      metrics,
      logger: logger.child({ component: 'origin' }),
      flvUpstream: () => (config.httpFlv ? started.internalFlvUrl() : undefined),
      readiness: () => ready,
      title: config.name,
    });
  } catch (err) {
    await channel?.shutdown();
    await recorder?.close(0);
    await ingest?.close();
    await reporter.close({ flushTimeoutMs: 0 });
    streamKey.close();
    configWatch.close();
    throw err;
  }
  ready = true;

  const [i, o, c, r] = [ingest, origin, channel, recorder];
  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    ready = false;
    await c.shutdown();
    await r.close(); // the session's last segments, and a bounded wait for their upload
    await i.close();
    await o.close();
    await reporter.close({ flushTimeoutMs: 3_000 });
    streamKey.close();
    configWatch.close();
  };
  return {
    config: () => config,
    object: () => object,
    ingest: i,
    origin: o,
    channel: c,
    recorder: r,
    metrics,
    ready: () => ready,
    close: () => (closing ??= close()),
  };
}

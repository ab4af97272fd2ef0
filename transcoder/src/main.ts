// The transcoder container's entry point (`node transcoder/src/main.ts`), and standalone mode
// (`node transcoder/src/main.ts --livestream examples/basic.yaml`).
//
// Pod mode: the LiveStream JSON from --config / LSO_CONFIG (default /etc/livestream/livestream.json), the stream key
// file from --stream-key-file (default the mounted Secret), ports from LSO_RTMP_PORT / LSO_HTTP_PORT, HLS under
// LSO_HLS_DIR, reports to LSO_REDIS_URL when set. SIGTERM ends the session (ENDLIST, session-ended) and flushes.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { defaultConfigPath, parseAndResolve } from './config/load-livestream.ts';
import { ConfigError } from './config/livestream-spec.ts';
import { defaultStreamKeyPath } from './ingest/stream-key.ts';
import { startTranscoder, type Transcoder } from './session/transcoder.ts';
import { defaultDataDir, describeEndpoints, ensureStreamKeyFile } from './standalone.ts';
import { createLogger } from '../../contract/src/logger.ts';
import { onStopSignals, runMain } from './lifecycle.ts';

const usage = `usage: node transcoder/src/main.ts [--config FILE] [--stream-key-file FILE]
       node transcoder/src/main.ts --livestream FILE.yaml [--stream-key-file FILE] [--data-dir DIR]
                                   [--rtmp-port N] [--http-port N] [--host NAME]
environment: LSO_CONFIG, LSO_RTMP_PORT (1935), LSO_HTTP_PORT (8080), LSO_HLS_DIR, LSO_REDIS_URL, LSO_FFMPEG,
             LSO_X264_PRESET, LOG_LEVEL`;

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name} must be a port number (got ${value})`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      livestream: { type: 'string' },
      'stream-key-file': { type: 'string' },
      'data-dir': { type: 'string' },
      'rtmp-port': { type: 'string' },
      'http-port': { type: 'string' },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const env = process.env;
  const logger = createLogger('transcoder');
  const standalone = values.livestream !== undefined;
  const configPath = path.resolve(values.livestream ?? values.config ?? env.LSO_CONFIG ?? defaultConfigPath);
  const rtmpPort = port(values['rtmp-port'] ?? env.LSO_RTMP_PORT, 1935, 'the RTMP port');
  const httpPort = port(values['http-port'] ?? env.LSO_HTTP_PORT, 8080, 'the HTTP port');

  let streamKeyPath = values['stream-key-file'] ?? (standalone ? undefined : defaultStreamKeyPath);
  let hlsDir = env.LSO_HLS_DIR ?? '/var/lib/livestream/hls';
  let keyCreated = false;
  if (standalone) {
    // Validate before creating anything, so a typo in the YAML leaves no directory behind.
    const { config } = parseAndResolve(await readFile(configPath, 'utf8'), configPath);
    const dataDir = path.resolve(values['data-dir'] ?? env.LSO_DATA_DIR ?? defaultDataDir(config));
    hlsDir = env.LSO_HLS_DIR ?? path.join(dataDir, 'hls');
    if (streamKeyPath === undefined) {
      const key = await ensureStreamKeyFile(dataDir);
      streamKeyPath = key.path;
      keyCreated = key.created;
    }
  }

  const transcoder: Transcoder = await startTranscoder({
    configPath,
    streamKeyPath: path.resolve(streamKeyPath!),
    hlsDir,
    rtmpPort,
    httpPort,
    redisUrl: env.LSO_REDIS_URL || undefined,
    ...(env.LSO_FFMPEG && { ffmpegPath: env.LSO_FFMPEG }),
    ...(env.LSO_X264_PRESET && { x264Preset: env.LSO_X264_PRESET }),
    logger,
  });
  logger.info(
    { rtmpPort: transcoder.ingest.port, httpPort: transcoder.origin.port, hlsDir, name: transcoder.config().name },
    'transcoder ready',
  );
  if (standalone) {
    const lines = describeEndpoints(
      transcoder.config(),
      { host: values.host ?? 'localhost', rtmpPort: transcoder.ingest.port, httpPort: transcoder.origin.port },
      streamKeyPath!,
    );
    if (keyCreated) lines.push(`  (a new stream key was generated into ${streamKeyPath}, mode 0600)`);
    process.stderr.write(lines.join('\n') + '\n');
  }

  onStopSignals(logger, 'ending the session', () => transcoder.close(), 20_000);
}

runMain('transcoder', main);

// The transcoder container's entry point (`node transcoder/src/main.ts`), and standalone mode
// (`node transcoder/src/main.ts --livestream examples/basic.yaml`).
//
// Pod mode: the LiveStream JSON from --config / LSO_CONFIG, the stream key file from --stream-key-file (default the
// mounted Secret), ports from LSO_RTMP_PORT / LSO_HTTP_PORT, HLS under LSO_HLS_DIR, reports to LSO_REDIS_URL when set
// (names and defaults: the pod contract; resolved by transcoderSettings). SIGTERM ends the session (ENDLIST,
// session-ended) and flushes. Standalone mode checks the YAML with the CRD's own schema before creating anything.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import * as contract from '../../contract/src/pod-contract.ts';
import { parseAndResolve } from './config/load-livestream.ts';
import { transcoderSettings, type StandaloneTranscoderSettings } from './config/settings.ts';
import { startTranscoder, type Transcoder } from './session/transcoder.ts';
import { defaultDataDir, describeEndpoints, ensureStreamKeyFile } from './standalone.ts';
import { createLogger } from '../../contract/src/logger.ts';
import { onStopSignals, runMain } from './lifecycle.ts';

const { env: names, ports } = contract;
const usage = `usage: node transcoder/src/main.ts [--config FILE] [--stream-key-file FILE]
       node transcoder/src/main.ts --livestream FILE.yaml [--stream-key-file FILE] [--data-dir DIR]
                                   [--rtmp-port N] [--http-port N] [--host NAME]
environment: ${names.config}, ${names.rtmpPort} (${ports.rtmp}), ${names.httpPort} (${ports.http}), ${names.hlsDir},
             ${names.redisUrl}, ${names.ffmpeg}, ${names.x264Preset}, ${names.dataDir}, LOG_LEVEL`;

/** Standalone mode: validate the YAML first (a typo leaves no directory behind), then the data dir and the key. */
async function standaloneFiles(
  settings: StandaloneTranscoderSettings,
): Promise<{ streamKeyPath: string; hlsDir: string; keyCreated: boolean }> {
  const { config } = parseAndResolve(await readFile(settings.configPath, 'utf8'), settings.configPath);
  const dataDir = settings.dataDir ?? defaultDataDir(config);
  const hlsDir = settings.hlsDir ?? path.join(dataDir, 'hls');
  if (settings.streamKeyPath !== undefined) return { streamKeyPath: settings.streamKeyPath, hlsDir, keyCreated: false };
  const key = await ensureStreamKeyFile(dataDir);
  return { streamKeyPath: key.path, hlsDir, keyCreated: key.created };
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
  const logger = createLogger('transcoder');
  const settings = transcoderSettings(values, process.env);
  const files = settings.standalone
    ? await standaloneFiles(settings)
    : { streamKeyPath: settings.streamKeyPath, hlsDir: settings.hlsDir, keyCreated: false };

  const transcoder: Transcoder = await startTranscoder({
    configPath: settings.configPath,
    streamKeyPath: files.streamKeyPath,
    hlsDir: files.hlsDir,
    rtmpPort: settings.rtmpPort,
    httpPort: settings.httpPort,
    redisUrl: settings.redisUrl,
    ...(settings.ffmpegPath !== undefined && { ffmpegPath: settings.ffmpegPath }),
    ...(settings.x264Preset !== undefined && { x264Preset: settings.x264Preset }),
    thumbnailSeconds: settings.thumbnailSeconds,
    logger,
  });
  logger.info(
    {
      rtmpPort: transcoder.ingest.port,
      httpPort: transcoder.origin.port,
      hlsDir: files.hlsDir,
      name: transcoder.config().name,
    },
    'transcoder ready',
  );
  if (settings.standalone) {
    const lines = describeEndpoints(
      transcoder.config(),
      { host: values.host ?? 'localhost', rtmpPort: transcoder.ingest.port, httpPort: transcoder.origin.port },
      files.streamKeyPath,
    );
    if (files.keyCreated) lines.push(`  (a new stream key was generated into ${files.streamKeyPath}, mode 0600)`);
    process.stderr.write(lines.join('\n') + '\n');
  }

  onStopSignals(logger, 'ending the session', () => transcoder.close(), 20_000);
}

runMain('transcoder', main);

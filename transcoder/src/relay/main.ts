// The relay container's entry point (`node transcoder/src/relay/main.ts`): restreams the program of its pod's
// transcoder to the relay targets of the LiveStream, hot-reloading the relay set from the mounted configuration.
//
// Config: --config / LSO_CONFIG (default /etc/livestream/livestream.json), watched; keys: <LSO_RELAY_KEYS_DIR>/<relay>/key
// (default /var/run/secrets/livestream/relays), watched; program: rtmp://127.0.0.1:<LSO_RTMP_PORT>/<app>/lso-program;
// reports to LSO_REDIS_URL (relay-state on every change, relay-heartbeat every 5 s); /metrics and /healthz on
// LSO_RELAY_METRICS_PORT (default 8081). SIGTERM stops every relay cleanly (the targets see an unpublish).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { defaultConfigPath, parseAndResolve } from '../config/load-livestream.ts';
import { ConfigError } from '../config/livestream-spec.ts';
import { watchFile } from '../config/watched-file.ts';
import { internalStreamName } from '../ingest/ingest-server.ts';
import { createReporter } from '../report/reporter.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import { startProgramProbe, type ProgramProbe } from './program-probe.ts';
import { createRelayMetrics } from './relay-metrics.ts';
import { defaultKeysDir, RelayManager } from './relay-manager.ts';
import type { RelayTimings } from './relay-supervisor.ts';
import { parseRelays, type RelayTarget } from './relay-targets.ts';
import { onStopSignals, runMain } from '../lifecycle.ts';

const usage = `usage: node transcoder/src/relay/main.ts [--config FILE]
environment: LSO_CONFIG, LSO_RTMP_PORT (1935), LSO_RELAY_KEYS_DIR, LSO_RELAY_METRICS_PORT (8081), LSO_REDIS_URL,
             LSO_FFMPEG, LSO_RELAY_BACKOFF_CAP_MS (30000), LSO_RELAY_HEARTBEAT_MS (5000), LOG_LEVEL`;

function intEnv(value: string | undefined, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got ${value})`);
  }
  return n;
}

interface RelayConfig {
  namespace: string;
  name: string;
  app: string;
  relays: RelayTarget[];
}

function parseRelayConfig(text: string, source: string): RelayConfig {
  const { object, config } = parseAndResolve(text, source);
  try {
    return { namespace: config.namespace, name: config.name, app: config.app, relays: parseRelays(object.spec.relays) };
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${source}: ${err.message}`);
    throw err;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const env = process.env;
  const logger = createLogger('relay');
  const configPath = path.resolve(values.config ?? env.LSO_CONFIG ?? defaultConfigPath);
  const rtmpPort = intEnv(env.LSO_RTMP_PORT, 1935, 1, 65535, 'LSO_RTMP_PORT');
  const metricsPort = intEnv(env.LSO_RELAY_METRICS_PORT, 8081, 0, 65535, 'LSO_RELAY_METRICS_PORT');
  const heartbeatMs = intEnv(env.LSO_RELAY_HEARTBEAT_MS, 5_000, 100, 600_000, 'LSO_RELAY_HEARTBEAT_MS');
  const capMs = intEnv(env.LSO_RELAY_BACKOFF_CAP_MS, 30_000, 1_000, 600_000, 'LSO_RELAY_BACKOFF_CAP_MS');
  const timings: Partial<RelayTimings> = { backoff: { baseMs: Math.min(1_000, capMs), capMs } };
  const keysDir = path.resolve(env.LSO_RELAY_KEYS_DIR ?? defaultKeysDir);

  const text = await readFile(configPath, 'utf8');
  const initial = parseRelayConfig(text, configPath); // an invalid file at start is an error the user must see
  const programUrl = (app: string): string => `rtmp://127.0.0.1:${rtmpPort}/${app}/${internalStreamName}`;

  const registry = new Registry();
  const metrics = createRelayMetrics(registry);
  const reporter = createReporter({
    redisUrl: env.LSO_REDIS_URL || undefined,
    namespace: initial.namespace,
    name: initial.name,
    logger,
  });
  // Private directory for the preset files that hand the keys to ffmpeg (each exists for a few microseconds).
  const workDir = await mkdtemp(path.join(env.LSO_RELAY_RUN_DIR ?? tmpdir(), 'lso-relay-'));
  const manager = new RelayManager({
    keysDir,
    workDir,
    ...(env.LSO_FFMPEG && { ffmpegPath: env.LSO_FFMPEG }),
    timings,
    logger,
    metrics,
    onChange: (snapshot) => reporter.report('relay-state', '', snapshot),
  });
  const heartbeat = (): void => reporter.report('relay-heartbeat', '', { relays: manager.snapshots() });

  let app = initial.app;
  let probe: ProgramProbe | undefined;
  const startProbe = (): void => {
    probe = startProgramProbe({
      inputUrl: programUrl(app),
      ...(env.LSO_FFMPEG && { ffmpegPath: env.LSO_FFMPEG }),
      logger,
    });
    probe.events.on('change', (live) => manager.setProgramLive(live));
  };
  startProbe();
  await manager.apply(initial.relays, programUrl(app));
  heartbeat();
  logger.info({ relays: initial.relays.map((r) => r.name), keysDir }, 'relays configured');

  const watcher = watchFile(
    configPath,
    (content) => {
      let next: RelayConfig;
      try {
        next = parseRelayConfig(content.toString('utf8'), configPath);
      } catch (err) {
        // Keep the running relays: a broken edit must not take the restreams down.
        logger.error({ err: (err as Error).message }, 'configuration rejected: relays unchanged');
        return;
      }
      const appChanged = next.app !== app;
      app = next.app;
      const restartProbe = appChanged ? probe?.close() : undefined;
      void Promise.resolve(restartProbe)
        .then(() => {
          if (appChanged) {
            manager.setProgramLive(false);
            startProbe();
          }
          return manager.apply(next.relays, programUrl(app));
        })
        .then(() => {
          logger.info({ relays: next.relays.map((r) => r.name) }, 'relay configuration applied');
          heartbeat();
        });
    },
    {
      intervalMs: 1_000,
      initialContent: text,
      onError: (err) => logger.warn({ err }, 'cannot read the configuration'),
    },
  );
  const heartbeatTimer = setInterval(heartbeat, heartbeatMs);

  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (url === '/metrics') {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(metricsPort, '0.0.0.0', () => resolve());
  });
  logger.info({ metricsPort: (server.address() as AddressInfo).port, program: programUrl(app) }, 'relay ready');

  onStopSignals(
    logger,
    'stopping relays',
    async () => {
      watcher.close();
      clearInterval(heartbeatTimer);
      await manager.close();
      await probe?.close();
      heartbeat();
      await reporter.close();
      server.close();
      await rm(workDir, { recursive: true, force: true });
    },
    15_000,
  );
}

runMain('relay', main);

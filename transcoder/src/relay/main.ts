// The relay container's entry point (`node transcoder/src/relay/main.ts`): restreams the program of its pod's
// transcoder to the relay targets of the LiveStream, hot-reloading the relay set from the mounted configuration.
//
// Config: --config / LSO_CONFIG, watched; keys: <LSO_RELAY_KEYS_DIR>/<relay> (the mounted Secret), watched; program:
// rtmp://127.0.0.1:<LSO_RTMP_PORT>/<app>/<the internal stream name>; reports to LSO_REDIS_URL (relay-state on every
// change, relay-heartbeat every 5 s), or without it into a log served at /reports to a poller with the bearer token of
// LSO_REPORT_TOKEN (contract/src/report-log.ts);
// /metrics and /healthz on LSO_RELAY_METRICS_PORT. Names and defaults: the pod
// contract, resolved by relaySettings. No node-media-server here: the relay only plays the pod's ingest.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import * as contract from '../../../contract/src/pod-contract.ts';
import { parseAndResolve } from '../config/load-livestream.ts';
import { ConfigError } from '../config/livestream-spec.ts';
import { defaultRelayBackoff, programUrl, relaySettings, type RelaySettings } from '../config/settings.ts';
import { watchFile } from '../../../contract/src/watched-file.ts';
import { createReporter } from '../report/reporter.ts';
import {
  handleReportLogRequest,
  newReportLog,
  teeReporter,
  warnWithoutToken,
  type ServedLog,
} from '../report/report-log-server.ts';
import { createLogger, type Logger } from '../../../contract/src/logger.ts';
import { startProgramProbe, type ProgramProbe } from './program-probe.ts';
import { createRelayMetrics } from './relay-metrics.ts';
import { RelayManager } from './relay-manager.ts';
import { parseRelays, type RelayTarget } from './relay-targets.ts';
import { onStopSignals, runMain } from '../lifecycle.ts';

const { env: names, ports } = contract;
const usage = `usage: node transcoder/src/relay/main.ts [--config FILE]
environment: ${names.config}, ${names.rtmpPort} (${ports.rtmp}), ${names.relayKeysDir}, ${names.relayMetricsPort} (${ports.relayMetrics}),
             ${names.redisUrl}, ${names.reportToken}, ${names.ffmpeg}, ${names.relayBackoffCapMs} (${defaultRelayBackoff.maxMs}), ${names.relayHeartbeatMs} (5000), LOG_LEVEL`;

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

/** The probe of the program the relays push, restarted on a new RTMP app (the program's URL changes with it). */
class ProgramWatch {
  private app: string;
  private probe: ProgramProbe;
  private readonly start: (url: string) => ProgramProbe;
  private readonly rtmpPort: number;
  private readonly onChange: (live: boolean) => void;

  constructor(app: string, rtmpPort: number, start: (url: string) => ProgramProbe, onChange: (live: boolean) => void) {
    this.app = app;
    this.rtmpPort = rtmpPort;
    this.start = start;
    this.onChange = onChange;
    this.probe = this.open();
  }

  url(): string {
    return programUrl(this.rtmpPort, this.app);
  }

  async follow(app: string): Promise<void> {
    if (app === this.app) return;
    this.app = app;
    await this.probe.close();
    this.onChange(false);
    this.probe = this.open();
  }

  close(): Promise<void> {
    return this.probe.close();
  }

  private open(): ProgramProbe {
    const probe = this.start(this.url());
    probe.events.on('change', this.onChange);
    return probe;
  }
}

/** /healthz and /metrics of the relay container, and its report log when there is one (no Redis). */
async function serveMetrics(registry: Registry, port: number, log: ServedLog | undefined): Promise<Server> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (log && handleReportLogRequest(log, req, res)) return;
    if (url === contract.healthPath) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (url === contract.metricsPath) {
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
    server.listen(port, '0.0.0.0', () => resolve());
  });
  return server;
}

/** The reporter to Redis, or without Redis one teed into this container's own log, served on its metrics port to
 * a poller with the channel's token. */
function relayReporter(settings: RelaySettings, channel: RelayConfig, logger: Logger) {
  const { namespace, name } = channel;
  const { redisUrl, reportToken: token } = settings;
  const toRedis = createReporter({ redisUrl, namespace, name, logger });
  if (redisUrl) return { reporter: toRedis, log: undefined };
  const log = newReportLog({ namespace, name });
  warnWithoutToken(token, logger);
  return { reporter: teeReporter(toRedis, log), log: { log, token } };
}

/** The command line, or undefined once --help has printed the usage. */
function commandLine(): { config?: string } | undefined {
  const { values } = parseArgs({
    options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (!values.help) return values;
  console.log(usage);
  return undefined;
}

async function main(): Promise<void> {
  const args = commandLine();
  if (args === undefined) return;
  const logger = createLogger('relay');
  const settings = relaySettings(args, process.env);
  const { configPath, keysDir } = settings;
  const ffmpeg = settings.ffmpegPath !== undefined ? { ffmpegPath: settings.ffmpegPath } : {};

  const text = await readFile(configPath, 'utf8');
  const initial = parseRelayConfig(text, configPath); // an invalid file at start is an error the user must see
  const registry = new Registry();
  const metrics = createRelayMetrics(registry);
  const { reporter, log } = relayReporter(settings, initial, logger);
  // Private directory for the preset files that hand the keys to ffmpeg (each exists for a few microseconds).
  const workDir = await mkdtemp(path.join(settings.runDir, 'lso-relay-'));
  const manager = new RelayManager({
    keysDir,
    workDir,
    ...ffmpeg,
    timings: { backoff: settings.backoff },
    logger,
    metrics,
    onChange: (snapshot) => reporter.report('relay-state', '', snapshot),
  });
  const heartbeat = (): void => reporter.report('relay-heartbeat', '', { relays: manager.snapshots() });
  const program = new ProgramWatch(
    initial.app,
    settings.rtmpPort,
    (inputUrl) => startProgramProbe({ inputUrl, ...ffmpeg, logger }),
    (live) => manager.setProgramLive(live),
  );
  await manager.apply(initial.relays, program.url());
  heartbeat();
  logger.info({ relays: initial.relays.map((r) => r.name), keysDir }, 'relays configured');

  const apply = (content: Buffer): void => {
    let next: RelayConfig;
    try {
      next = parseRelayConfig(content.toString('utf8'), configPath);
    } catch (err) {
      // Keep the running relays: a broken edit must not take the restreams down.
      logger.error({ err: (err as Error).message }, 'configuration rejected: relays unchanged');
      return;
    }
    void program
      .follow(next.app)
      .then(() => manager.apply(next.relays, program.url()))
      .then(() => {
        logger.info({ relays: next.relays.map((r) => r.name) }, 'relay configuration applied');
        heartbeat();
      });
  };
  const watcher = watchFile(configPath, apply, {
    intervalMs: 1_000,
    initialContent: text,
    onError: (err) => logger.warn({ err }, 'cannot read the configuration'),
  });
  const heartbeatTimer = setInterval(heartbeat, settings.heartbeatMs);
  const server = await serveMetrics(registry, settings.metricsPort, log);
  logger.info({ metricsPort: (server.address() as AddressInfo).port, program: program.url() }, 'relay ready');

  onStopSignals(
    logger,
    'stopping relays',
    async () => {
      watcher.close();
      clearInterval(heartbeatTimer);
      await manager.close();
      await program.close();
      heartbeat();
      await reporter.close();
      server.close();
      await rm(workDir, { recursive: true, force: true });
    },
    15_000,
  );
}

runMain('relay', main);

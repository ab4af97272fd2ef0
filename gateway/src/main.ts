// The gateway's entry point (`node gateway/src/main.ts`): one RTMP ingest address for every channel, routed by the
// stream key's keyed hash in the route table, and one playback origin with a shared cache. Settings from the
// environment (config/settings.ts); SIGTERM closes the listeners (encoders reconnect through another replica).
import { createLogger } from '../../contract/src/logger.ts';
import { gatewaySettings } from './config/settings.ts';
import { startGateway } from './gateway.ts';

async function main(): Promise<void> {
  const logger = createLogger('gateway');
  const settings = gatewaySettings(process.env);
  const gateway = await startGateway(settings, logger);
  logger.info({ rtmpPort: gateway.rtmpPort, httpPort: gateway.httpPort }, 'gateway listening');
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'gateway stopping');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

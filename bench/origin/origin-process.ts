// Runs one HTTP origin in its own process for the benchmark (so the load generator never shares its event loop).
// usage: node bench/origin/origin-process.ts HLS_DIR   -> prints {"port":N} on stdout when listening.
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { startOrigin } from '../../transcoder/src/hls/origin.ts';
import { createTranscoderMetrics } from '../../transcoder/src/telemetry/metrics.ts';

const hlsDir = process.argv[2];
if (!hlsDir) {
  console.error('usage: origin-process.ts HLS_DIR');
  process.exit(2);
}
const origin = await startOrigin({
  host: '127.0.0.1',
  port: 0,
  hlsDir,
  isLive: () => true,
  readiness: () => true,
  metrics: createTranscoderMetrics(new Registry()),
  logger: pino({ level: 'warn' }),
});
process.stdout.write(JSON.stringify({ port: origin.port }) + '\n');
const stop = (): void => {
  void origin.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

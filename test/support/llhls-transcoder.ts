// A real LL-HLS channel for the gateway's tests: the transcoder's channel (ingest, one ffmpeg ladder writing fMP4 to
// pipes, a packager per rendition) and its origin, in this process, fed by a real ffmpeg publisher, behind a counting
// forwarder: every request the gateway makes is logged by path and query, with the moment its answer ended, as
// llhls-origin.ts logs them (llhls-viewers.ts sets them against what the viewers saw).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { validateSpec } from '../../contract/src/api/validate.ts';
import { createLogger } from '../../contract/src/logger.ts';
import { resolveSpec } from '../../transcoder/src/config/livestream-spec.ts';
import { startOrigin } from '../../transcoder/src/hls/origin.ts';
import { createTranscoderMetrics } from '../../transcoder/src/telemetry/metrics.ts';
import { startChannelHarness } from './channel-harness.ts';
import { waitFor } from './wait-for.ts';

export interface TranscoderLlChannel {
  port: number; // the forwarder's, where a route's `http` points
  hits: Map<string, number>;
  answeredAt: Map<string, number>;
  close(): Promise<void>;
}

export async function startTranscoderLlChannel(): Promise<TranscoderLlChannel> {
  const config = resolveSpec(
    validateSpec({
      ladder: { renditions: [{ name: '180p', width: 320, height: 180, videoBitrateKbps: 200, fps: 30 }] },
      hls: { segmentSeconds: 2, playlistLength: 10, lowLatency: { enabled: true, partSeconds: 0.5 } },
      reconnectWindowSeconds: 60,
    }),
    'll',
    'media',
  );
  const logger = createLogger('llhls-transcoder', process.env.LOG_LEVEL ?? 'warn');
  const h = await startChannelHarness({ name: 'llhls-gateway', config: () => config, logger });
  const origin = await startOrigin({
    host: '127.0.0.1',
    port: 0,
    hlsDir: h.hlsDir,
    isLive: () => h.channel.servingPlaylists(),
    lowLatency: (rendition) => h.channel.lowLatency(rendition),
    readiness: () => true,
    metrics: createTranscoderMetrics(new Registry(), { defaultMetrics: false }),
    logger,
  });
  h.publish({ size: '320x180', fps: 30, gopSeconds: 2 }); // stopped by h.close()
  const hits = new Map<string, number>();
  const answeredAt = new Map<string, number>();
  const forwarder = http.createServer((req, res) => {
    const url = req.url ?? '/';
    hits.set(url, (hits.get(url) ?? 0) + 1);
    const up = http.get({ host: '127.0.0.1', port: origin.port, path: url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.once('end', () => answeredAt.set(url, Date.now()));
    });
    up.once('error', () => res.destroy());
    res.once('close', () => up.destroy());
  });
  forwarder.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => forwarder.listen(0, '127.0.0.1', resolve));
  const close = async () => {
    forwarder.closeAllConnections();
    await new Promise((resolve) => forwarder.close(resolve));
    await origin.close();
    await h.close();
  };
  try {
    await waitFor(
      'LL-HLS parts of 180p',
      async () => {
        const res = await fetch(`http://127.0.0.1:${origin.port}/hls/180p/index.m3u8`);
        return res.ok && (await res.text()).includes('#EXT-X-PART:');
      },
      { timeoutMs: 40_000, intervalMs: 250 },
    );
  } catch (err) {
    await close();
    throw err;
  }
  return { port: (forwarder.address() as AddressInfo).port, hits, answeredAt, close };
}

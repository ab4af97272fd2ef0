// LL-HLS through the gateway in front of the real transcoder (ADR 0018): a real publish, the ladder's fMP4 parts
// packaged by the transcoder and served by its origin with blocking reload and held hinted parts, a counting
// forwarder between origin and gateway (test/support/llhls-transcoder.ts), and the gateway's entry point with the
// channel routed as low latency. 200 simulated LL-HLS viewers watch 8 parts: one backend fetch per blocking playlist
// and per part.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../../../test/support/gateway-process.ts';
import { startTranscoderLlChannel, type TranscoderLlChannel } from '../../../test/support/llhls-transcoder.ts';
import { runLlAudience } from '../../../test/support/llhls-viewers.ts';

let channel: TranscoderLlChannel;
let gateway: GatewayProcess;

beforeAll(async () => {
  channel = await startTranscoderLlChannel();
  const route = {
    key: 'k',
    namespace: 'tenant',
    name: 'live-ll',
    rtmp: '127.0.0.1:1',
    http: `127.0.0.1:${channel.port}`,
  };
  gateway = await startGatewayProcess({ routes: [{ ...route, lowLatency: true }] });
}, 90_000);

afterAll(async () => {
  await gateway?.close();
  await channel?.close();
});

describe('LL-HLS from the real transcoder through the gateway', () => {
  it('holds 200 viewers with one backend fetch per blocking playlist and per part', async () => {
    const viewers = 200;
    const rounds = 8;
    const run = await runLlAudience({
      port: gateway.httpPort,
      channelPath: '/tenant/live-ll',
      rendition: '180p',
      origin: channel,
      viewers,
      rounds,
      cpuSeconds: () => gateway.cpuSeconds(),
      label: 'llhls-gateway-transcoder',
    });
    expect(run.entries.filter((e) => e.status !== 200 || e.partStatus !== 200)).toEqual([]);
    expect(run.entries).toHaveLength(viewers * rounds);
    expect(run.blockingFetches.filter(([, n]) => n !== 1)).toEqual([]);
    expect(run.partFetches.filter(([, n]) => n !== 1)).toEqual([]);
    expect(run.partFetches.length).toBe(run.figures.distinctParts);
    expect(run.lags.length).toBeGreaterThan(viewers * (rounds - 3)); // they waited at the origin
    expect(run.lags.at(-1)).toBeLessThan(500);
  });
});

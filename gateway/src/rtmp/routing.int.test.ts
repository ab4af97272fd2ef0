// Three real transcoders (standalone mode) behind one real gateway (its entry point as a child process), real
// ffmpeg encoders publishing to the gateway's one address with each channel's key, ffprobe playing through the
// gateway's playback paths. The order matters only at the end: the burst test uses up this address's refusals.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayRig, type GatewayRig, type TestChannel } from '../../../test/support/gateway-channels.ts';
import { ffprobe } from '../../../test/support/media-probe.ts';
import { startPublisher, type Publisher, type PublisherOptions } from '../../../test/support/rtmp-publisher.ts';
import { waitFor } from '../../../test/support/wait-for.ts';

let rig: GatewayRig;
const publishers: Publisher[] = [];
const burst = 6;

function publish(url: string, extra: Partial<PublisherOptions> = {}): Publisher {
  const p = startPublisher({ url, size: '320x180', fps: 15, videoKbps: 300, ...extra });
  publishers.push(p);
  return p;
}

const refused = (reason: string) => rig.metric(`livestream_gateway_publishes_refused_total{reason="${reason}"}`);
const publishing = (channels: TestChannel[]) => Promise.all(channels.map((c) => c.publishing()));

// A publish the gateway refuses: ffmpeg exits on its own, having logged the gateway's status.
async function expectRefused(p: Publisher, description: RegExp): Promise<void> {
  const { code } = await waitFor(
    'the refused encoder to exit',
    () => (p.process.exitCode !== null ? p.exited : undefined),
    {
      timeoutMs: 15_000,
    },
  );
  expect(code).not.toBe(0);
  expect(p.stderr()).toMatch(description);
}

beforeAll(async () => {
  rig = await startGatewayRig({
    channels: 3,
    env: { LSO_GATEWAY_REFUSAL_BURST: String(burst), LSO_GATEWAY_REFUSAL_REFILL_MS: '600000' },
  });
});

afterAll(async () => {
  await Promise.all(publishers.map((p) => p.kill()));
  await rig?.close();
});

describe('RTMP ingest through the gateway', () => {
  it("routes a channel's key to that channel's transcoder only", async () => {
    const [a, b, c] = rig.channels as [TestChannel, TestChannel, TestChannel];
    publish(rig.publishUrl(a.key));
    await waitFor('channel A to have its publisher', async () => (await a.publishing()) === 1, { timeoutMs: 20_000 });
    expect(await publishing([b, c])).toEqual([0, 0]);
    // Counted when the transcoder's NetStream.Publish.Start passes back through, which may trail its session count.
    await waitFor(
      'the gateway to count one routed publish',
      async () => (await rig.metric('livestream_gateway_publishes_routed_total')) === 1,
    );
    // The gateway holds no key: nothing it logged names one (or its hash).
    for (const ch of rig.channels) expect(rig.gateway.output()).not.toContain(ch.key);
  });

  it('routes every channel, and each plays at its gateway path', async () => {
    const [, b, c] = rig.channels as [TestChannel, TestChannel, TestChannel];
    publish(rig.publishUrl(b.key));
    publish(rig.publishUrl(c.key));
    await waitFor(
      'every channel to have a publisher',
      async () => (await publishing(rig.channels)).every((n) => n === 1),
      {
        timeoutMs: 20_000,
      },
    );
    for (const ch of rig.channels) {
      await waitFor(
        `${ch.name}'s master through the gateway`,
        () => fetch(rig.playbackUrl(ch)).then((r) => r.status === 200),
        { timeoutMs: 30_000 },
      );
      const probe = await ffprobe(rig.playbackUrl(ch));
      const video = probe.streams.find((s) => s.codec_type === 'video');
      expect(video).toMatchObject({ codec_name: 'h264', width: 320, height: 180 });
      expect(probe.streams.some((s) => s.codec_type === 'audio')).toBe(true);
    }
    expect(await rig.metric('livestream_gateway_publishes_routed_total')).toBe(3);
    // Each channel's HLS is its own: the gateway's master equals the one its own transcoder serves.
    for (const ch of rig.channels) {
      const direct = await fetch(`http://127.0.0.1:${ch.httpPort}/hls/master.m3u8`).then((r) => r.text());
      expect(await fetch(rig.playbackUrl(ch)).then((r) => r.text())).toBe(direct);
    }
  });

  it('refuses a key it does not know at the gateway, counts it, and no transcoder sees it', async () => {
    const before = await refused('unknown_key');
    const p = publish(rig.publishUrl(randomBytes(18).toString('base64url')));
    await expectRefused(p, /stream key is not valid/);
    expect(await refused('unknown_key')).toBe(before + 1);
    for (const ch of rig.channels) {
      const text = await fetch(`http://127.0.0.1:${ch.httpPort}/metrics`).then((r) => r.text());
      expect(text).not.toMatch(/^livestream_transcoder_publish_refused_total\{[^}]*\} [1-9]/m);
    }
  });

  it('refuses a second publisher for a live channel (busy), and the first goes on', async () => {
    const [a] = rig.channels as [TestChannel];
    const before = await refused('busy');
    const p = publish(rig.publishUrl(a.key));
    await expectRefused(p, /already has a publisher/);
    expect(await refused('busy')).toBe(before + 1);
    expect(await a.publishing()).toBe(1);
  });

  it("refuses a channel's key under another app (bad_request)", async () => {
    const [a] = rig.channels as [TestChannel];
    const before = await refused('bad_request');
    await expectRefused(publish(rig.publishUrl(a.key, 'other')), /not a publish this server accepts/);
    expect(await refused('bad_request')).toBe(before + 1);
  });

  it("reaches a channel's new backend when its transcoder is replaced and the table updated", async () => {
    const [a] = rig.channels as [TestChannel];
    const first = publishers[0]!;
    const oldPort = a.rtmpPort;
    await a.replace();
    expect(a.rtmpPort).not.toBe(oldPort);
    // The gateway closes the encoder's connection when its backend goes: the encoder notices and would reconnect.
    await waitFor('the encoder to lose its connection', () => first.process.exitCode !== null, { timeoutMs: 20_000 });
    await rig.writeTable();
    await waitFor(
      'the gateway to load the new table',
      () => rig.gateway.output().split('route table loaded').length > 2,
    );
    publish(rig.publishUrl(a.key));
    await waitFor('the new transcoder to have the publisher', async () => (await a.publishing()) === 1, {
      timeoutMs: 20_000,
    });
    await waitFor(
      'the new backend to play through the gateway',
      () => fetch(rig.playbackUrl(a)).then((r) => r.status === 200),
      { timeoutMs: 30_000 },
    );
    const probe = await ffprobe(rig.playbackUrl(a));
    expect(probe.streams.some((s) => s.codec_type === 'video')).toBe(true);
  });

  it('rate-limits a burst of refused publishes from one address, before looking at the key', async () => {
    const limited = await refused('rate_limited');
    const attempts = Array.from({ length: burst + 2 }, () => publish(rig.publishUrl(randomBytes(9).toString('hex'))));
    await Promise.all(attempts.map((p) => expectRefused(p, /not valid|too many refused attempts/)));
    expect(await refused('rate_limited')).toBeGreaterThan(limited);
    // Now even a valid key from this address waits for the bucket to refill.
    const [, b] = rig.channels as [TestChannel, TestChannel];
    const p = publish(rig.publishUrl(b.key));
    await expectRefused(p, /too many refused attempts/);
  });
});

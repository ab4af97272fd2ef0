// WHIP ingest end to end: headless Chromium publishes its fake camera and microphone over WebRTC to the WHIP handler
// (on its own HTTP server here), which publishes over RTMP to a real standalone transcoder; the transcoder's HLS has
// H.264 video and AAC audio. Also: wrong key 401, a second publish while live 409, DELETE ends the publish, and no
// process's arguments hold the key.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../contract/src/logger.ts';
import type { ChannelRoute } from '../../../contract/src/route-table.ts';
import { launchChromium } from '../../../test/support/chromium.ts';
import { gatewayTestNamespace, startTestChannel, type TestChannel } from '../../../test/support/gateway-channels.ts';
import { ffprobe } from '../../../test/support/media-probe.ts';
import { startPublisher } from '../../../test/support/rtmp-publisher.ts';
import { cpuSeconds } from '../../../test/support/process-cpu.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { RefusalLimiter } from '../../../contract/src/refusal-limiter.ts';
import { createWhipIngest, type WhipIngest } from './whip-ingest.ts';

const run = promisify(execFile);

// The publisher page (plain browser JavaScript, served by the test's server): camera + microphone, sendonly, H.264
// first, a gather-complete offer POSTed with the key, the answer set.
const publisherPage = `<!doctype html><title>publisher</title><script>
async function publish(url, key) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
  const pc = new RTCPeerConnection();
  for (const track of stream.getTracks()) {
    const t = pc.addTransceiver(track, { direction: 'sendonly' });
    if (track.kind === 'video') {
      const codecs = RTCRtpReceiver.getCapabilities('video').codecs;
      t.setCodecPreferences(codecs.filter((c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine)));
    }
  }
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
    setTimeout(resolve, 3000);
  });
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: 'Bearer ' + key },
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) return { status: res.status, body: await res.text() };
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  window.pc = pc;
  return { status: res.status, location: res.headers.get('location'), etag: res.headers.get('etag') };
}
</script>`;

interface PublishResult {
  status: number;
  body?: string;
  location?: string;
  etag?: string;
}

const publish = (page: Page, url: string, key: string): Promise<PublishResult> =>
  page.evaluate(`publish(${JSON.stringify(url)}, ${JSON.stringify(key)})`);

describe('WHIP ingest', () => {
  let root: string;
  let channel: TestChannel;
  let route: ChannelRoute;
  let whip: WhipIngest;
  let server: http.Server;
  let base: string;
  let browser: Browser;
  const pages: Page[] = [];
  const refusals: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'whip-'));
    channel = await startTestChannel(root, 'whip-ch');
    route = {
      namespace: gatewayTestNamespace,
      name: channel.name,
      app: 'live',
      rtmp: `127.0.0.1:${channel.rtmpPort}`,
      http: `127.0.0.1:${channel.httpPort}`,
    };
    whip = createWhipIngest({
      lookup: (key) => (key === channel.key ? route : undefined),
      logger: createLogger('whip-test', 'warn'),
      maxSessions: 4,
      // Four wrong keys from this address, then none (the last test spends them).
      limiter: new RefusalLimiter({ burst: 4, refillMs: 3_600_000 }),
      onRefused: (reason) => refusals.push(reason),
    });
    server = http.createServer((req, res) => {
      if (whip.handle(req, res)) return;
      res.writeHead(200, { 'content-type': 'text/html' }).end(publisherPage);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
  });

  afterAll(async () => {
    await browser?.close();
    await whip?.close();
    await new Promise((r) => server?.close(r));
    await channel?.transcoder.kill('SIGKILL');
    if (root) await rm(root, { recursive: true, force: true });
  });

  const openPage = async () => {
    const page = await browser.newPage();
    pages.push(page);
    await page.goto(`${base}/`);
    return page;
  };

  it('refuses a wrong key (401) and a key on another channel URL (401)', async () => {
    const page = await openPage();
    expect(await publish(page, `${base}/whip`, 'not-the-key')).toMatchObject({ status: 401 });
    const other = `${base}/${gatewayTestNamespace}/another/whip`;
    expect(await publish(page, other, channel.key)).toMatchObject({ status: 401 });
  });

  it('answers CORS preflights and refuses offers without H.264 (406) and past maxSessions (503)', async () => {
    const pre = await fetch(`${base}/whip`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(pre.headers.get('access-control-expose-headers')).toContain('location');
    const vp8 =
      'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n';
    const post = (url: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${channel.key}` },
        body: vp8,
      });
    const refused = await post(`${base}/whip`);
    expect(refused.status).toBe(406);
    expect(await refused.text()).toContain('offered video: vp8');
    const full = createWhipIngest({ lookup: () => route, logger: createLogger('whip-test', 'warn'), maxSessions: 0 });
    const small = http.createServer((req, res) => void full.handle(req, res));
    await new Promise<void>((r) => small.listen(0, '127.0.0.1', r));
    try {
      expect((await post(`http://127.0.0.1:${(small.address() as AddressInfo).port}/whip`)).status).toBe(503);
    } finally {
      await new Promise((r) => small.close(r));
    }
  });

  it('publishes Chromium over WHIP to the transcoder as H.264 + AAC HLS, 409 while live, DELETE ends it', async () => {
    const page = await openPage();
    const url = `${base}/${gatewayTestNamespace}/${channel.name}/whip`;
    const first = await publish(page, url, channel.key);
    expect(first).toMatchObject({ status: 201 });
    const location = first.location ?? '';
    expect(location).toMatch(/^\/whip\/sessions\//);
    const abort = () => (channel.transcoder.process.exitCode !== null ? channel.transcoder.output() : undefined);
    await waitFor('the transcoder to have a publisher', async () => (await channel.publishing()) === 1, {
      timeoutMs: 30_000,
      abort,
    });

    const master = `http://127.0.0.1:${channel.httpPort}/hls/master.m3u8`;
    const probe = await waitFor(
      'HLS with video and audio',
      async () => {
        const p = await ffprobe(master);
        return p.streams.some((s) => s.codec_type === 'video') && p.streams.some((s) => s.codec_type === 'audio') && p;
      },
      { timeoutMs: 40_000, intervalMs: 2000, abort },
    );
    expect(probe.streams.find((s) => s.codec_type === 'video')?.codec_name).toBe('h264');
    expect(probe.streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe('aac');
    // The test channel's one rung (its 640x360 source is larger than the rung, so it is transcoded, not passed through).
    expect(probe.streams.map((s) => `${s.codec_type} ${s.width ?? ''}x${s.height ?? ''}`)).toContain('video 320x180');
    // What the transcoder saw: Chromium's 640x360 camera. (Its keyframe interval is measured over the first keyframes,
    // which Chromium also sends on its own while it ramps up: 0.3 s to 2 s were seen, so it is only logged.)
    const ready = channel.transcoder
      .output()
      .split('\n')
      .find((l) => l.includes('"source ready"'));
    const source = (JSON.parse(ready ?? '{}') as { source?: Record<string, unknown> }).source;
    expect(source).toMatchObject({ videoCodec: 'h264', audioCodec: 'aac', width: 640, height: 360 });
    console.log(
      `WHIP source keyframe interval as the transcoder measured it: ${String(source?.keyframeIntervalSeconds)} s`,
    );

    const { stdout } = await run('ps', ['-eo', 'args'], { maxBuffer: 8 * 1024 * 1024 });
    expect(stdout).toContain('/dev/fd/3'); // the bridge's ffmpeg is running...
    expect(stdout).not.toContain(channel.key); // ...and no process holds the key in its arguments

    const second = await publish(await openPage(), `${base}/whip`, channel.key);
    expect(second).toMatchObject({ status: 409 });

    // This test process is the gateway here (werift runs in it); the bridge's ffmpeg is a child of it. CPU over 10 s
    // of the publish, as a share of one core.
    const [pid = 0] = whip.ffmpegPids();
    const cpuStart = process.cpuUsage();
    const ffmpegStart = await cpuSeconds(pid);
    const wallStart = Date.now();
    await new Promise((r) => setTimeout(r, 10_000));
    const seconds = (Date.now() - wallStart) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const node = (cpu.user + cpu.system) / 1e6 / seconds;
    const ffmpeg = ((await cpuSeconds(pid)) - ffmpegStart) / seconds;
    console.log(
      `WHIP 640x360 publish CPU (share of one core): gateway node ${(node * 100).toFixed(1)}%, bridge ffmpeg ${(ffmpeg * 100).toFixed(1)}%`,
    );

    // Trickle ICE (RFC 8840 fragments) on the session URL: a candidate is taken, other bodies are refused.
    const patch = (type: string) =>
      fetch(`${base}${location}`, {
        method: 'PATCH',
        headers: { 'content-type': type },
        body: 'a=mid:0\r\na=candidate:9 1 udp 2122260223 127.0.0.1 9 typ host\r\n',
      });
    expect((await patch('text/plain')).status).toBe(415);
    expect((await patch('application/trickle-ice-sdpfrag')).status).toBe(204);

    const del = await fetch(`${base}${location}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(whip.sessions).toBe(0);
    await waitFor('the publisher to be gone', async () => (await channel.publishing()) === 0, { timeoutMs: 20_000 });
    expect((await fetch(`${base}${location}`, { method: 'DELETE' })).status).toBe(404);
  });

  it('ends a WHIP session whose RTMP publish the transcoder refuses (the channel is live through RTMP)', async () => {
    const rtmp = startPublisher({ url: `rtmp://127.0.0.1:${channel.rtmpPort}/live/${channel.key}`, size: '320x180' });
    try {
      await waitFor('the RTMP publisher', async () => (await channel.publishing()) === 1, { timeoutMs: 30_000 });
      const answer = await publish(await openPage(), `${base}/whip`, channel.key);
      expect(answer).toMatchObject({ status: 201 }); // the refusal comes only once ffmpeg publishes
      await waitFor('the refused WHIP session to end', () => whip.sessions === 0, { timeoutMs: 30_000 });
      expect(await channel.publishing()).toBe(1);
    } finally {
      await rtmp.stop();
    }
  });

  it("spends the address's tries on wrong keys, then refuses it (429) before looking at any key", async () => {
    const page = await openPage();
    expect(await publish(page, `${base}/whip`, 'wrong-3')).toMatchObject({ status: 401 });
    expect(await publish(page, `${base}/whip`, 'wrong-4')).toMatchObject({ status: 401 });
    expect(await publish(page, `${base}/whip`, channel.key)).toMatchObject({ status: 429 });
    expect(refusals.filter((r) => r === 'unknown_key')).toHaveLength(4);
    expect(refusals.at(-1)).toBe('rate_limited');
  });
});

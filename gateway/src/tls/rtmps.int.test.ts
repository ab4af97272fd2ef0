// RTMPS and HTTPS on the real gateway entry point (a child process) with a certificate mounted the kubelet's way,
// in front of a real transcoder: real ffmpeg publishes over rtmps://, ffprobe plays the channel over https://, a
// wrong key is refused over RTMPS as over RTMP, and a renewed certificate reaches new handshakes without a restart
// while the publish made before it goes on.
import { X509Certificate, randomBytes } from 'node:crypto';
import https from 'node:https';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayRig, type GatewayRig, type TestChannel } from '../../../test/support/gateway-channels.ts';
import { ffprobe } from '../../../test/support/media-probe.ts';
import { pickFreePort } from '../../../test/support/redis-process.ts';
import { startPublisher, type Publisher } from '../../../test/support/rtmp-publisher.ts';
import {
  makeCertificate,
  secretMount,
  type SecretMount,
  type TestCertificate,
} from '../../../test/support/tls-certificates.ts';
import { waitFor } from '../../../test/support/wait-for.ts';

let rig: GatewayRig;
let mount: SecretMount;
let first: TestCertificate, renewed: TestCertificate;
let rtmpsPort = 0;
let httpsPort = 0;
const publishers: Publisher[] = [];

const fingerprint = (c: TestCertificate) => new X509Certificate(c.cert).fingerprint256;

/** The certificate a new TLS handshake on `port` presents, checked against `ca` (the test's self-signed certs). */
function presented(port: number, ca: TestCertificate[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.map((c) => c.cert) }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/** GET over HTTPS, verifying the gateway's certificate against `ca`. */
function httpsGet(url: string, ca: TestCertificate[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: ca.map((c) => c.cert), agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
  });
}

const rtmpsUrl = (key: string) => `rtmps://127.0.0.1:${rtmpsPort}/live/${key}`;
const httpsUrl = (ch: TestChannel, file = 'master.m3u8') => `https://127.0.0.1:${httpsPort}/gw-test/${ch.name}/${file}`;
const channel = () => rig.channels[0] as TestChannel;
function publish(url: string): Publisher {
  const p = startPublisher({ url, size: '320x180', fps: 15, videoKbps: 300, preset: 'ultrafast' });
  publishers.push(p);
  return p;
}

beforeAll(async () => {
  [first, renewed] = await Promise.all([makeCertificate('gateway-first'), makeCertificate('gateway-renewed')]);
  rtmpsPort = await pickFreePort();
  httpsPort = await pickFreePort();
  const tlsDir = path.join(tmpdir(), `gateway-tls-${randomBytes(4).toString('hex')}`);
  await mkdir(tlsDir);
  mount = await secretMount(tlsDir, first);
  rig = await startGatewayRig({
    channels: 1,
    env: {
      LSO_GATEWAY_TLS_CERT_FILE: mount.certPath,
      LSO_GATEWAY_TLS_KEY_FILE: mount.keyPath,
      LSO_GATEWAY_RTMPS_PORT: String(rtmpsPort),
      LSO_GATEWAY_HTTPS_PORT: String(httpsPort),
    },
  });
});

afterAll(async () => {
  await Promise.all(publishers.map((p) => p.kill()));
  await rig?.close();
});

describe('RTMPS and HTTPS through the gateway', () => {
  it('routes an RTMPS publish into the transcoder, and the channel plays over HTTPS', async () => {
    expect(await presented(rtmpsPort, [first])).toBe(fingerprint(first));
    publish(rtmpsUrl(channel().key));
    await waitFor('the transcoder to have the RTMPS publisher', async () => (await channel().publishing()) === 1, {
      timeoutMs: 20_000,
    });
    // Counted once the transcoder's Publish.Start has come back through the gateway: a moment after the transcoder
    // has the publisher (as in the routing test).
    await waitFor('the publish counted as routed', async () => (await rig.metric('livestream_gateway_publishes_routed_total')) === 1, { timeoutMs: 10_000 }); // prettier-ignore
    await waitFor('the master over HTTPS', async () => (await httpsGet(httpsUrl(channel()), [first])).status === 200, {
      timeoutMs: 30_000,
    });
    // Played over HTTPS by ffprobe (the master, the variant playlist and its segments); right after the first
    // master a variant may still lack its first segment, so this waits for a probe that finds the video.
    const probe = await waitFor(
      'ffprobe over HTTPS to find the video',
      async () => {
        const p = await ffprobe(httpsUrl(channel()));
        return p.streams.some((s) => s.codec_type === 'video') ? p : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(probe.streams.find((s) => s.codec_type === 'video')).toMatchObject({ codec_name: 'h264', width: 320 });
    expect(probe.streams.some((s) => s.codec_type === 'audio')).toBe(true);
    // The same bytes as the plain listener serves: one handler behind both (fetched side by side: a playlist may
    // change between two fetches while the channel starts).
    await waitFor('the same master over HTTPS and HTTP', async () => {
      const [secure, plain] = await Promise.all([
        httpsGet(httpsUrl(channel()), [first]),
        fetch(rig.playbackUrl(channel())).then((r) => r.text()),
      ]);
      return secure.body.startsWith('#EXTM3U') && secure.body === plain;
    });
    // /readyz is served over HTTPS too, unchanged.
    expect(await httpsGet(`https://127.0.0.1:${httpsPort}/readyz`, [first])).toEqual({ status: 200, body: 'ready\n' });
  });

  it('refuses a wrong key over RTMPS as over RTMP, and counts it', async () => {
    const refused = () => rig.metric('livestream_gateway_publishes_refused_total{reason="unknown_key"}');
    const before = await refused();
    const p = publish(rtmpsUrl(randomBytes(18).toString('base64url')));
    const { code } = await waitFor('the refused encoder to exit', () => (p.process.exitCode !== null ? p.exited : undefined), { timeoutMs: 15_000 }); // prettier-ignore
    expect(code).not.toBe(0);
    expect(p.stderr()).toMatch(/stream key is not valid/);
    expect(await refused()).toBe(before + 1);
    expect(await channel().publishing()).toBe(1); // the channel's own publisher goes on
  });

  it('presents a renewed certificate to new handshakes while the publish made before it goes on', async () => {
    const encoder = publishers[0]!;
    const bytesIn = () => rig.metric('livestream_gateway_rtmp_bytes_total{direction="in"}');
    await mount.write(renewed); // the kubelet's ..data swap, as after a cert-manager renewal
    await waitFor('RTMPS to present the renewed certificate', async () => (await presented(rtmpsPort, [first, renewed])) === fingerprint(renewed), { timeoutMs: 10_000 }); // prettier-ignore
    expect(await presented(httpsPort, [first, renewed])).toBe(fingerprint(renewed));
    expect(rig.gateway.output()).toContain('tls certificate reloaded');
    // The connection made with the first certificate is still carrying media.
    const before = await bytesIn();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(encoder.process.exitCode).toBeNull();
    expect(await bytesIn()).toBeGreaterThan(before + 20_000); // 2 s at ~300 kbit/s
    expect(await channel().publishing()).toBe(1);
    // Playback over HTTPS, now verified against the renewed certificate only.
    const playlist = await waitFor('the master over HTTPS with the renewed certificate', async () => {
      const answer = await httpsGet(httpsUrl(channel()), [renewed]);
      return answer.status === 200 ? answer : undefined;
    }, { timeoutMs: 30_000 }); // prettier-ignore
    expect(playlist.body).toContain('#EXTM3U');
    // No key material in what the gateway logged.
    for (const c of [first, renewed]) expect(rig.gateway.output()).not.toContain(c.key.toString().split('\n')[1]);
  });
});

// Playback authorization end to end: real transcoders behind the real gateway process, a private channel (A, token)
// and a password channel (B), each with a real publisher. The oracle is what a player sees: statuses, the URIs of
// the playlists served, and ffprobe decoding the stream through the session.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintPlaybackToken } from '../../../contract/src/playback-token.ts';
import type { ChannelAccess } from '../../../contract/src/route-table.ts';
import { hashViewerPassword } from '../../../contract/src/viewer-password.ts';
import { gatewayTestNamespace, startGatewayRig, type GatewayRig } from '../../../test/support/gateway-channels.ts';
import { launchChromium } from '../../../test/support/chromium.ts';
import { ffprobe } from '../../../test/support/media-probe.ts';
import { loadHlsJs } from '../../../contract/src/hls-js.ts';
import { startPublisher, type Publisher } from '../../../test/support/rtmp-publisher.ts';
import { waitFor } from '../../../test/support/wait-for.ts';

let rig: GatewayRig;
let keysDir: string;
const publishers: Publisher[] = [];
const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
const ns = gatewayTestNamespace;
const [nameA, nameB] = ['ch-0', 'ch-1'];

const routes = () =>
  rig.channels.map((c) => ({
    key: c.key,
    namespace: ns,
    name: c.name,
    rtmp: `127.0.0.1:${c.rtmpPort}`,
    http: `127.0.0.1:${c.httpPort}`,
  }));
let access: ChannelAccess[] = [];
const url = (name: string, file: string) => `http://127.0.0.1:${rig.httpPort}/${ns}/${name}/${file}`;
const mint = (name: string, over: { viewerId?: string; ttlSeconds?: number; now?: number } = {}) =>
  mintPlaybackToken({ privateKeyPem: pem as string, kid: 'k1', namespace: ns, name, ttlSeconds: 300, ...over });
const uris = (playlist: string) => [
  ...[...playlist.matchAll(/URI="([^"]*)"/g)].map((m) => m[1] ?? ''),
  ...playlist.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')),
];
const refusal = async (res: Response) => ({ status: res.status, body: (await res.json()) as { error: string } });

beforeAll(async () => {
  keysDir = await mkdtemp(path.join(tmpdir(), 'playback-keys-'));
  await writeFile(path.join(keysDir, 'k1.key'), pem as string);
  rig = await startGatewayRig({ channels: 2, env: { LSO_GATEWAY_PLAYBACK_KEYS_DIR: keysDir } });
  const passwordHash = await hashViewerPassword('letmein', Buffer.alloc(16, 3));
  access = [
    { namespace: ns, name: nameA, visibility: 'private', revokedViewers: [] },
    { namespace: ns, name: nameB, visibility: 'password', passwordHash },
  ];
  await rig.gateway.writeRoutes(routes(), access);
  await waitFor('the access rules to load', async () => (await fetch(url(nameA, 'master.m3u8'))).status === 403);
  for (const c of rig.channels) {
    publishers.push(startPublisher({ url: rig.publishUrl(c.key), size: '320x180', fps: 15, videoKbps: 200 }));
  }
  const token = await mint(nameA);
  await waitFor('channel A to play', async () => (await fetch(url(nameA, `master.m3u8?token=${token}`))).ok, {
    timeoutMs: 40_000,
  });
}, 90_000);

afterAll(async () => {
  await Promise.all(publishers.map((p) => p.kill()));
  await rig?.close();
  await rm(keysDir, { recursive: true, force: true });
});

describe('a private channel', () => {
  it('refuses without a token, and serves the JWKS', async () => {
    expect(await refusal(await fetch(url(nameA, 'master.m3u8')))).toMatchObject({
      status: 403,
      body: { error: 'missing' },
    });
    const jwks = (await (await fetch(`http://127.0.0.1:${rig.httpPort}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys.map((k) => k.kid)).toEqual(['k1']);
  });

  it('with a token: every URI of the master and a variant carries the session; segments need it', async () => {
    const master = await fetch(url(nameA, `master.m3u8?token=${await mint(nameA)}`));
    expect(master.status).toBe(200);
    expect(master.headers.get('cache-control')).toBe('private, no-store');
    const text = await master.text();
    const masterUris = uris(text);
    expect(masterUris.length).toBeGreaterThan(0);
    for (const u of masterUris) expect(u).toMatch(/[?&]session=[^&]+$/);
    const variantUri = masterUris.find((u) => u.includes('.m3u8'))!;
    const variant = await waitFor('a variant with segments', async () => {
      const res = await fetch(url(nameA, variantUri));
      const body = res.ok ? await res.text() : '';
      return /#EXTINF/.test(body) ? body : undefined;
    });
    const segmentUris = uris(variant);
    for (const u of segmentUris) expect(u).toMatch(/[?&]session=[^&]+$/);
    const rendition = variantUri.split('/')[0]!;
    const segment = segmentUris.at(-1)!;
    expect((await fetch(url(nameA, `${rendition}/${segment}`))).status).toBe(200);
    const bare = segment.split('?')[0]!;
    expect(await refusal(await fetch(url(nameA, `${rendition}/${bare}`)))).toMatchObject({ status: 403 });
    expect(await refusal(await fetch(url(nameA, 'thumbnail.jpg')))).toMatchObject({ status: 403 });
  });

  it("refuses channel A's token on channel B, an expired token, and a revoked viewer", async () => {
    const onB = await fetch(url(nameB, `master.m3u8?token=${await mint(nameA)}`));
    expect((await refusal(onB)).status).toBe(403);
    const expired = await mint(nameA, { ttlSeconds: 10, now: Date.now() - 120_000 });
    expect(await refusal(await fetch(url(nameA, `master.m3u8?token=${expired}`)))).toMatchObject({
      body: { error: 'expired' },
    });
    const master = await fetch(url(nameA, `master.m3u8?token=${await mint(nameA, { viewerId: 'viewer-7' })}`));
    const session = /session=([^&\s"]+)/.exec(await master.text())?.[1];
    expect(session).toBeDefined();
    access = access.map((a) => (a.name === nameA ? { ...a, revokedViewers: ['viewer-7'] } : a));
    await rig.gateway.writeRoutes(routes(), access);
    await waitFor(
      'the revocation to apply',
      async () => (await fetch(url(nameA, `master.m3u8?session=${session}`))).status === 403,
    );
    expect(
      await refusal(await fetch(url(nameA, `master.m3u8?token=${await mint(nameA, { viewerId: 'viewer-7' })}`))),
    ).toMatchObject({
      body: { error: 'revoked' },
    });
    expect(await rig.metric('livestream_gateway_playback_refused_total{reason="revoked"}')).toBeGreaterThanOrEqual(2);
    expect(rig.gateway.output()).not.toContain(session);
  });
});

describe('a password channel', () => {
  const post = (body: unknown) =>
    fetch(url(nameB, 'session'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('refuses a wrong password, plays with the right one, throttles the tenth wrong try in a minute', async () => {
    expect((await post({ password: 'nope' })).status).toBe(403);
    const right = await post({ password: 'letmein' });
    expect(right.status).toBe(200);
    const { session } = (await right.json()) as { session: string };
    const probe = await waitFor(
      'channel B to play with the session',
      async () => {
        const res = await fetch(url(nameB, `master.m3u8?session=${session}`));
        return res.ok ? ffprobe(url(nameB, `master.m3u8?session=${session}`)).catch(() => undefined) : undefined;
      },
      { timeoutMs: 40_000 },
    );
    expect(probe.streams.some((s) => s.codec_type === 'video')).toBe(true);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await post({ password: `wrong-${i}` })).status);
    // one wrong try was made above: 8 more are refused with 403, the tenth is throttled
    expect(statuses.slice(0, 8)).toEqual(Array.from({ length: 8 }, () => 403));
    expect(statuses[8]).toBe(429);
  }, 90_000);
});

describe('hls.js in Chromium', () => {
  it('plays the private channel with a token, every request carrying the session', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const requested: string[] = [];
      page.on('request', (r) => requested.push(r.url()));
      await page.setContent('<video id="v" muted autoplay playsinline width="320" height="180"></video>');
      await page.addScriptTag({ content: (await loadHlsJs()).bytes.toString('utf8') });
      const src = url(nameA, `master.m3u8?token=${await mint(nameA)}`);
      await page.evaluate(`(() => { const h = new Hls(); h.loadSource(${JSON.stringify(src)});
        h.attachMedia(document.getElementById('v')); })()`);
      await page.waitForFunction("document.getElementById('v').currentTime > 1", undefined, { timeout: 30_000 });
      await page.screenshot({ path: 'test-results/playback-private-hlsjs.png' });
      const after = requested.filter((u) => u.startsWith(`http://127.0.0.1:${rig.httpPort}/`)).slice(1);
      expect(after.length).toBeGreaterThan(2);
      for (const u of after) expect(u).toMatch(/[?&]session=/);
    } finally {
      await browser.close();
    }
  }, 60_000);
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playerHlsConfig, playerLlHlsConfig } from '../../../contract/src/hls-js.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import type { ChannelListing, DirectoryUpdate } from '../../../contract/src/portal-directory.ts';
import { Registry } from 'prom-client';
import { handleAdmin } from '../admin/admin.ts';
import { createAccessContext } from '../access/playback-access.ts';
import { PlaybackKeys } from '../access/playback-keys.ts';
import { mintSession, sessionKey } from '../access/session-token.ts';
import { DirectoryStore } from './directory-store.ts';
import { Portal, loadPortalAssets, parseChannelPagePath } from './portal.ts';

const token = 'an-admin-token-of-at-least-32-characters';
const listing = (name: string, extra: Partial<ChannelListing> = {}): ChannelListing => ({
  namespace: 'ns',
  name,
  title: name,
  visibility: 'public',
  state: 'Live',
  liveSince: '2026-12-02T12:00:00Z',
  viewers: 2,
  ...extra,
});

let base = '';
let server: http.Server;
let portal: Portal;
let sequence = 0;
const key = sessionKey(Buffer.from('a routing secret of at least 32 characters'));
const keys = new PlaybackKeys(undefined, createLogger('portal-test', 'silent'), 60_000);
const session = (name: string, expMs = Date.now() + 60_000) => mintSession(key, { namespace: 'ns', name, expMs });

async function push(update: Partial<DirectoryUpdate>, auth = `Bearer ${token}`) {
  const body = { generation: 'g', sequence: sequence + 1, reset: false, upserts: [], deletes: [], ...update };
  const res = await fetch(`${base}/admin/directory`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status === 200) sequence = body.sequence;
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  const directory = new DirectoryStore();
  portal = new Portal({
    directory,
    assets: await loadPortalAssets(),
    logger: createLogger('portal-test'),
    coalesceMs: 50,
    heartbeatMs: 200,
    lowLatency: (namespace, name) => namespace === 'ns' && name === 'fast',
    access: createAccessContext({
      access: (namespace, name) => ({ namespace, name, visibility: 'public' }),
      sessionKey: () => key,
      keys,
      trustedProxies: 0,
      registry: new Registry(),
    }),
  });
  const admin = { replica: 'gw-0', token: () => token, viewers: () => [], routes: () => undefined, directory };
  server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path.startsWith('/admin/')) return handleAdmin(req, res, path, admin);
    if (!portal.handle(req, res)) res.writeHead(418).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  expect(
    (await push({ reset: true, sequence: 0, upserts: [listing('a'), listing('u', { visibility: 'unlisted' })] }))
      .status,
  ).toBe(200);
});

afterAll(() => {
  keys.close();
  portal.close();
  server.closeAllConnections();
  server.close();
});

describe('POST /admin/directory', () => {
  it('wants the admin token', async () => {
    expect((await push({}, 'Bearer wrong-token-wrong-token-wrong-token')).status).toBe(401);
    expect((await push({}, '')).status).toBe(401);
  });

  it('names the malformed field, and never echoes a value', async () => {
    const res = await push({ upserts: [listing('b', { viewers: -1, title: '<secret>' })] });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/upserts\.0\.viewers/);
    expect(JSON.stringify(res.body)).not.toContain('secret');
    const notJson = await fetch(`${base}/admin/directory`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: '{',
    });
    expect(notJson.status).toBe(400);
  });

  it('answers 409 with what it holds for an update that does not continue it, 200 for the next one', async () => {
    const gap = await push({ sequence: sequence + 2 });
    expect(gap).toEqual({ status: 409, body: { replica: 'gw-0', generation: 'g', sequence } });
    const next = await push({});
    expect(next).toEqual({ status: 200, body: { replica: 'gw-0', generation: 'g', sequence } });
  });

  it('refuses a body beyond its bound and any method but POST', async () => {
    const big = await fetch(`${base}/admin/directory`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-length': String(64 * 1024 * 1024) },
      body: 'x'.repeat(1024),
      duplex: 'half',
    }).catch((err: Error) => err);
    expect(big instanceof Error ? big.message : big.status).not.toBe(200);
    if (!(big instanceof Error)) expect(big.status).toBe(413);
    expect((await fetch(`${base}/admin/directory`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
      405,
    );
  });
});

describe('the pages', () => {
  it('the directory lists public live channels only, escaped, with a strict policy and no external resource', async () => {
    await push({ upserts: [listing('x', { title: '<script>window.pwned=1</script> & "q"' })] });
    const res = await fetch(`${base}/`);
    const html = await res.text();
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(html).toContain('href="/ns/a/"');
    expect(html).toContain('src="/ns/a/thumbnail.jpg"');
    expect(html).not.toContain('/ns/u/');
    expect(html).toContain('&lt;script&gt;window.pwned=1&lt;/script&gt; &amp; &quot;q&quot;');
    expect(html).not.toMatch(/<script>|<style|style=|\son\w+=/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('a stream page renders the description sanitized; an unlisted one is served by URL; unknown ones are 404', async () => {
    await push({
      upserts: [listing('d', { description: 'hi <img src=x onerror=alert(1)> [x](javascript:alert(2))' })],
    });
    const html = await (await fetch(`${base}/ns/d/`)).text();
    expect(html).toContain('<div id="description" class="description"><p>hi  <a rel="nofollow noopener ugc">x</a></p>');
    expect((await fetch(`${base}/ns/u/`)).status).toBe(200);
    const missing = await fetch(`${base}/ns/nope/`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect((await fetch(`${base}/ns/a`, { redirect: 'manual' })).headers.get('location')).toBe('/ns/a/');
    expect((await fetch(`${base}/ns/nope`)).status).toBe(418); // left to playback
    expect((await fetch(`${base}/ns/a/master.m3u8`)).status).toBe(418);
  });

  it('a password page has its form, a private one its notice, and neither says anything of the channel', async () => {
    const secret = { title: '"><script>x</script> Secret title', description: 'The **secret** plan', viewers: 41 };
    await push({
      upserts: [
        listing('pw', { visibility: 'password', ...secret }),
        listing('pv', { visibility: 'private', ...secret }),
      ],
    });
    const pw = await (await fetch(`${base}/ns/pw/`)).text();
    expect(pw).toContain('<form id="password-form" class="gate" hidden>');
    expect(pw).toContain('type="password"');
    expect(pw).toContain('<title>Password-protected stream</title>');
    expect(pw).toContain(
      'data-status="{&quot;phase&quot;:&quot;locked&quot;,&quot;visibility&quot;:&quot;password&quot;,&quot;title&quot;:&quot;Password-protected stream&quot;}"',
    );
    expect(pw).not.toContain('token-missing');
    const pv = await (await fetch(`${base}/ns/pv/?token=whatever`)).text();
    expect(pv).toContain('id="token-missing"');
    expect(pv).toContain('<h1 id="title">Private stream</h1>');
    expect(pv).not.toContain('password-form');
    for (const html of [pw, pv]) {
      expect(html).not.toMatch(/Secret|secret|41|\d viewer|Live<|badge live/);
      expect(html).toContain('<div id="description" class="description"></div>');
    }
    expect(await (await fetch(`${base}/`)).text()).not.toMatch(/\/ns\/p[wv]\//);
  });

  it("offers an ended session's recording on its page, never while live, and never the presigned URL itself", async () => {
    const vod = {
      session: 's-1',
      url: 'https://s3.example.com/vod/rec.mp4?X-Amz-Signature=secret-signature',
      expiresAt: '2026-12-02T18:00:00Z',
      contentType: 'video/mp4' as const,
    };
    const ended = { state: 'Idle' as const, liveSince: undefined, lastEndedAt: '2026-12-02T12:30:00Z', vod };
    expect((await push({ upserts: [listing('rec', ended), listing('rec-live', { vod })] })).status).toBe(200);
    const page = await (await fetch(`${base}/ns/rec/`)).text();
    expect(page).toContain('<p id="vod" class="vod"><a id="vod-link" href="vod.mp4">Watch the recording</a></p>');
    expect(page).toContain('&quot;vod&quot;:&quot;vod.mp4&quot;');
    const live = await (await fetch(`${base}/ns/rec-live/`)).text();
    expect(live).toContain('<p id="vod" class="vod" hidden>');
    expect(live).not.toContain('&quot;vod&quot;');
    const none = await (await fetch(`${base}/ns/a/`)).text();
    expect(none).toContain('<p id="vod" class="vod" hidden><a id="vod-link" href="">');
    for (const html of [page, live]) expect(html).not.toContain('secret-signature');
  });

  it("tells the page an LL-HLS channel's mode (from the route table), which picks hls.js's low-latency settings", async () => {
    await push({ upserts: [listing('fast')] });
    expect(await (await fetch(`${base}/ns/fast/`)).text()).toContain('data-latency="low"');
    expect(await (await fetch(`${base}/ns/a/`)).text()).toContain('data-latency="classic"');
    const script = await (await fetch(`${base}/_portal/stream.js`)).text();
    // The settings of the transcoder's player page, which bench-latency measures (contract/src/hls-js.ts).
    const configs = /const hlsConfigs = JSON\.parse\('(\{[^']*\})'\);/.exec(script)?.[1] ?? '';
    const { low, classic } = JSON.parse(configs) as Record<string, Record<string, unknown>>;
    expect({ low, classic }).toEqual({ low: playerLlHlsConfig, classic: playerHlsConfig });
    expect(low).toEqual({ lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.1 }); // no liveSync*: PART-HOLD-BACK rules
    expect(classic).toMatchObject({ liveSyncDurationCount: 2, lowLatencyMode: true }); // blocking reload, catch-up
    expect(script).not.toContain('__HLS_JS');
    expect(script).toContain('hlsConfigs[article.dataset.latency] ?? hlsConfigs.classic');
  });

  it('serves its scripts with the hls.js path filled in, and hls.js as immutable', async () => {
    const script = await (await fetch(`${base}/_portal/stream.js`)).text();
    const hlsPath = /'(\/_portal\/hls-[\d.]+\.min\.js)'/.exec(script)?.[1];
    expect(hlsPath).toBeDefined();
    const hls = await fetch(`${base}${hlsPath}`);
    expect(hls.headers.get('cache-control')).toContain('immutable');
    expect((await hls.text()).length).toBeGreaterThan(100_000);
    expect((await fetch(`${base}/_portal/nothing.js`)).status).toBe(404);
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${base}/_portal/events`, { method: 'HEAD' })).status).toBe(405);
  });

  it('streams the directory and a channel as events after each push', async () => {
    const read = async (path: string, needle: string, act: () => Promise<unknown>) => {
      const res = await fetch(`${base}${path}`);
      const reader: ReadableStreamDefaultReader<Uint8Array> = res.body!.getReader();
      let text = '';
      let acted = false;
      const deadline = Date.now() + 3000;
      while (!text.includes(needle) && Date.now() < deadline) {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
        if (!acted && text.includes('\n\n')) {
          acted = true;
          await act();
        }
      }
      await reader.cancel();
      return text;
    };
    const dir = await read('/_portal/events', '/ns/late/', () => push({ upserts: [listing('late')] }));
    expect(dir).toMatch(/^retry: 3000\nevent: directory\ndata: \{"live":/);
    expect(dir).toContain('/ns/late/');
    const ch = await read('/ns/late/events', '"phase":"ended"', () =>
      push({
        upserts: [listing('late', { state: 'Idle', liveSince: undefined, lastEndedAt: '2026-12-02T12:30:00Z' })],
      }),
    );
    expect(ch).toContain('event: channel\ndata: {"phase":"live"');
    expect(ch).toContain('"phase":"ended"');
    const gone = await read('/ns/late/events', 'event: gone', () =>
      push({ deletes: [{ namespace: 'ns', name: 'late' }] }),
    );
    expect(gone).toContain('event: gone');
  });

  it("a gated channel's events want a valid session for that channel, and end when it runs out", async () => {
    await push({ upserts: [listing('pv2', { visibility: 'private', title: 'Members only', viewers: 7 })] });
    for (const query of [
      '',
      `?session=${session('pv')}`,
      `?session=${session('pv2', Date.now() - 1000)}`,
      '?session=x.y',
    ]) {
      const res = await fetch(`${base}/ns/pv2/events${query}`);
      expect(res.status).toBe(403);
      const body = await res.text();
      expect(body).not.toMatch(/Members|7/);
      expect(JSON.parse(body)).toMatchObject({ error: expect.any(String) as string });
    }
    expect((await fetch(`${base}/ns/nothing/events?session=${session('nothing')}`)).status).toBe(404);
    const open = await fetch(`${base}/ns/pv2/events?session=${session('pv2', Date.now() + 2500)}`);
    expect(open.status).toBe(200);
    const started = Date.now();
    let text = '';
    let pushed = false;
    for await (const chunk of open.body!) {
      text += new TextDecoder().decode(chunk as Uint8Array);
      if (!pushed && text.includes('\n\n')) {
        pushed = true;
        await push({ upserts: [listing('pv2', { visibility: 'private', title: 'Members only', viewers: 8 })] });
      }
    }
    expect(Date.now() - started).toBeGreaterThan(1000); // ended by the gateway at the session's expiry
    expect(text).toContain('"title":"Members only","viewers":7');
    expect(text).toContain('"viewers":8');
  });

  it('a stream opened on a public channel that turns private is told only that it is locked', async () => {
    await push({ upserts: [listing('turn', { title: 'Open for now' })] });
    const res = await fetch(`${base}/ns/turn/events`);
    const reader: ReadableStreamDefaultReader<Uint8Array> = res.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('Open for now');
    await push({ upserts: [listing('turn', { title: 'Now secret', visibility: 'private' })] });
    while (!text.includes('locked')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toContain('data: {"phase":"locked","visibility":"private","title":"Private stream"}');
    expect(text).not.toContain('Now secret');
  });
});

describe('parseChannelPagePath', () => {
  it.each([
    ['/ns/a/', 'page'],
    ['/ns/a', 'redirect'],
    ['/ns/a/events', 'events'],
    ['/ns/a/master.m3u8', undefined],
    ['/NS/a/', undefined],
    ['/_portal/x/', undefined],
    ['/ns/a%2e/', undefined],
  ])('%s', (path, kind) => {
    expect(parseChannelPagePath(path)?.kind).toBe(kind);
  });
});

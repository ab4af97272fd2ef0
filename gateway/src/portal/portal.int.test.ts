// The portal in a real browser against the real gateway process and real transcoders (passthrough, 320x180): the
// directory follows pushed listings in place, a scheduled stream's page counts down and then plays, and a hostile
// description stays inert; a private channel's page and events say nothing of it without a token and show it all and
// play with one; a password channel's page likewise before and after its password. Screenshots go to
// test-results/portal/ (kept by CI).
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintPlaybackToken } from '../../../contract/src/playback-token.ts';
import type { ChannelListing, DirectoryUpdate } from '../../../contract/src/portal-directory.ts';
import { hashViewerPassword } from '../../../contract/src/viewer-password.ts';
import { launchChromium } from '../../../test/support/chromium.ts';
import {
  gatewayTestNamespace as ns,
  startGatewayRig,
  type GatewayRig,
} from '../../../test/support/gateway-channels.ts';
import { startPublisher, type Publisher } from '../../../test/support/rtmp-publisher.ts';
import { waitFor } from '../../../test/support/wait-for.ts';

const shots = path.join(import.meta.dirname, '..', '..', '..', 'test-results', 'portal');
const light = { size: '320x180', fps: 15, videoKbps: 250, preset: 'ultrafast', gopSeconds: 2 };

let rig: GatewayRig;
let browser: Browser;
const publishers: Publisher[] = [];
let sequence = 0;
let keysDir: string;
const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
const mint = (name: string) =>
  mintPlaybackToken({ privateKeyPem: pem as string, kid: 'k1', namespace: ns, name, ttlSeconds: 300 });

const listing = (name: string, extra: Partial<ChannelListing> = {}): ChannelListing => ({
  namespace: ns,
  name,
  title: `Channel ${name}`,
  visibility: 'public',
  state: 'Live',
  liveSince: new Date(Date.now() - 12 * 60_000).toISOString(),
  viewers: 3,
  ...extra,
});

/** Pushes listings as the operator does: a reset first, then the next sequence of one generation; expects 200. */
let started = false;
async function push(upserts: ChannelListing[], reset = !started): Promise<void> {
  const update: DirectoryUpdate = {
    generation: 'int-test',
    sequence: reset ? 0 : sequence + 1,
    reset,
    upserts,
    deletes: [],
  };
  const { status, body } = await rig.gateway.pushDirectory(update);
  expect(status, JSON.stringify(body)).toBe(200);
  sequence = update.sequence;
  started = true;
}

async function newPage(): Promise<{ page: Page; dialogs: string[]; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1024, height: 700 } });
  const dialogs: string[] = [];
  const problems: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) problems.push(m.text());
  });
  return { page, dialogs, problems };
}

/** A gated channel's title, description and viewers, and the pattern that finds any of them in a text. */
const secrets = (title: string) => ({ title, description: 'The **members** agenda', viewers: 4 });
const leaks = (title: string) => new RegExp(`${title}|members|agenda|4 viewers`);

// The page's DOM is reached through expressions (the project's TypeScript has no DOM library).
const liveCards = (page: Page) =>
  page.evaluate<string[]>(`[...document.querySelectorAll('#live a')].map((a) => a.getAttribute('href'))`);
const flagOf = (page: Page) => page.evaluate<unknown>('window.pwned');
const notReloaded = (page: Page) => page.evaluate<unknown>('window.notReloaded');
const markLoaded = (page: Page) => page.evaluate('window.notReloaded = true');
// Polled with evaluate: waitForFunction's string predicates are eval()ed in the page, which its CSP forbids.
const until = (page: Page, expression: string, timeoutMs: number) =>
  waitFor(expression, () => page.evaluate<unknown>(expression).then(Boolean), { timeoutMs, intervalMs: 100 });

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  keysDir = await mkdtemp(path.join(tmpdir(), 'portal-keys-'));
  await writeFile(path.join(keysDir, 'k1.key'), pem as string);
  rig = await startGatewayRig({ channels: 4, env: { LSO_GATEWAY_PLAYBACK_KEYS_DIR: keysDir } });
  for (const c of rig.channels.slice(0, 3)) publishers.push(startPublisher({ url: rig.publishUrl(c.key), ...light }));
  for (const c of rig.channels.slice(0, 3)) {
    await waitFor(`${c.name} playing through the gateway`, () => fetch(rig.playbackUrl(c)).then((r) => r.ok), {
      timeoutMs: 40_000,
    });
  }
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(publishers.map((p) => p.stop()));
  await rig?.close();
  if (keysDir) await rm(keysDir, { recursive: true, force: true });
});

describe('the portal in Chromium', () => {
  it('lists exactly the public live channels; a third appears and goes within 5 s, without a reload', async () => {
    await push(
      [
        listing('ch-0', { viewers: 5 }),
        listing('ch-1', { title: 'Second <b>public</b> & co' }),
        listing('ch-2', { visibility: 'unlisted', title: 'Unlisted one' }),
        listing('ch-3', {
          state: 'Idle',
          liveSince: undefined,
          scheduledStart: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      ],
      true,
    );
    const { page, problems } = await newPage();
    await page.goto(`http://127.0.0.1:${rig.httpPort}/`);
    await page.waitForSelector('html[data-portal="ready"]');
    expect(await liveCards(page)).toEqual([`/${ns}/ch-0/`, `/${ns}/ch-1/`]);
    expect(await page.textContent('#live')).toContain('Second <b>public</b> & co'); // as text, not markup
    expect(await page.textContent('#live')).toMatch(/live for 1[23] min/);
    expect(await page.textContent('#scheduled')).toMatch(/Channel ch-3[\s\S]*starts in (59 min|1 h)/);
    expect(await page.textContent('body')).not.toContain('Unlisted one');
    // Each live card shows its transcoder's thumbnail through the gateway: at once if the picture was there already,
    // else at the page's next refresh (every 15 s; a placeholder stands in meanwhile).
    const pictures = `[...document.querySelectorAll('#live .thumb img')].filter((i) => !i.hidden && i.naturalWidth === 320)`;
    await until(page, `${pictures}.length === 2`, 30_000);
    await page.screenshot({ path: path.join(shots, 'directory.png'), fullPage: true });
    await markLoaded(page);

    // The SSE stream is open (the first event arrived): now a third public channel goes live.
    const pushedAt = Date.now();
    await push([listing('extra', { title: 'Third public', liveSince: new Date().toISOString() })]);
    await page.waitForSelector(`#live a[href="/${ns}/extra/"]`, { timeout: 5000 });
    const appearedMs = Date.now() - pushedAt;
    expect((await liveCards(page)).sort()).toEqual([`/${ns}/ch-0/`, `/${ns}/ch-1/`, `/${ns}/extra/`]);
    await page.screenshot({ path: path.join(shots, 'directory-third-live.png'), fullPage: true });

    const endedAt = Date.now();
    await push([
      listing('extra', {
        title: 'Third public',
        state: 'Idle',
        liveSince: undefined,
        lastEndedAt: new Date().toISOString(),
      }),
    ]);
    await page.waitForSelector(`#live a[href="/${ns}/extra/"]`, { state: 'detached', timeout: 5000 });
    const goneMs = Date.now() - endedAt;
    expect(await liveCards(page)).toEqual([`/${ns}/ch-0/`, `/${ns}/ch-1/`]);
    expect(await notReloaded(page)).toBe(true);
    console.log(JSON.stringify({ portalDirectoryAppearMs: appearedMs, portalDirectoryGoneMs: goneMs }));

    // Usable with a keyboard: the skip link, then the cards are real links in tab order.
    await page.keyboard.press('Tab');
    expect(await page.evaluate<unknown>('document.activeElement?.textContent')).toBe('Skip to content');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(shots, 'directory-phone.png'), fullPage: true });
    expect(await page.evaluate<unknown>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a scheduled stream counts down, then plays when it goes live, without a reload', async () => {
    const start = new Date(Date.now() + 90_000).toISOString();
    await push([listing('ch-3', { title: 'Later today', state: 'Idle', liveSince: undefined, scheduledStart: start })]);
    const { page, problems } = await newPage();
    await page.goto(`http://127.0.0.1:${rig.httpPort}/${ns}/ch-3/`);
    await page.waitForSelector('html[data-portal="ready"]');
    expect(await page.getAttribute('#channel', 'data-phase')).toBe('scheduled');
    await until(page, `/^in 1 min \\d\\d s$/.test(document.getElementById('countdown').textContent)`, 3000);
    expect(await page.isVisible('#video')).toBe(false);
    await page.screenshot({ path: path.join(shots, 'stream-scheduled.png'), fullPage: true });
    await markLoaded(page);

    const ch3 = rig.channels[3]!;
    publishers.push(startPublisher({ url: rig.publishUrl(ch3.key), ...light }));
    await waitFor('ch-3 publishing', async () => (await ch3.publishing()) === 1, { timeoutMs: 20_000 });
    await push([
      listing('ch-3', { title: 'Later today', scheduledStart: start, liveSince: new Date().toISOString(), viewers: 1 }),
    ]);
    await until(page, `document.getElementById('channel').dataset.phase === 'live'`, 5000);
    const video = `document.querySelector('video')`;
    await until(page, `${video}.readyState >= 3 && ${video}.currentTime > 1 && ${video}.videoWidth === 320`, 45_000);
    expect(await page.textContent('#viewers')).toBe('1 viewer');
    expect(await page.textContent('#duration')).toMatch(/^live for \d+ s$/);
    expect(await notReloaded(page)).toBe(true);
    await page.screenshot({ path: path.join(shots, 'stream-playing.png'), fullPage: true });

    await push([
      listing('ch-3', {
        title: 'Later today',
        state: 'Idle',
        liveSince: undefined,
        lastEndedAt: new Date().toISOString(),
      }),
    ]);
    await until(page, `/ended/.test(document.getElementById('notice-text').textContent)`, 5000);
    expect(await page.isVisible('#video')).toBe(false);
    await page.screenshot({ path: path.join(shots, 'stream-ended.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a hostile description and title render inert', async () => {
    const flag = 'window.pwned = (window.pwned || 0) + 1';
    const description = [
      '## About',
      `<script>${flag}</script>`,
      `<img src=x onerror="${flag}; alert('img')">`,
      `<iframe src="javascript:alert('frame')"></iframe>`,
      `[click me](javascript:alert('link'))`,
      `[data](data:text/html,<script>alert('data')</script>)`,
      `<a href="#" onclick="${flag}">handler</a>`,
      `<div style="position:fixed;inset:0;background:red" onmouseover="alert('over')">cover</div>`,
      `<svg onload="alert('svg')"></svg>`,
      '<style>body{display:none}</style>',
    ].join('\n\n');
    await push([listing('ch-0', { title: `<script>${flag}</script><img src=x onerror=alert(1)>`, description })]);
    const { page, dialogs, problems } = await newPage();
    await page.goto(`http://127.0.0.1:${rig.httpPort}/${ns}/ch-0/`);
    await page.waitForSelector('html[data-portal="ready"]');
    await page.hover('#description');
    for (const link of await page.$$('#description a')) await link.click({ timeout: 2000 }).catch(() => {});
    await page.waitForTimeout(1000);
    expect(await page.textContent('#title')).toBe(`<script>${flag}</script><img src=x onerror=alert(1)>`);
    const all = `[...document.querySelectorAll('#description *')]`;
    const description$ = await page.evaluate<{
      elements: string[];
      hrefs: (string | null)[];
      rels: string[];
      attrs: string[];
    }>(`({
      elements: ${all}.map((e) => e.tagName.toLowerCase()),
      hrefs: ${all}.filter((e) => e.tagName === 'A').map((a) => a.getAttribute('href')),
      rels: ${all}.filter((e) => e.hasAttribute('href')).map((a) => a.getAttribute('rel')),
      attrs: ${all}.flatMap((e) => e.getAttributeNames()),
    })`);
    expect(description$.elements.filter((t) => !['h3', 'p', 'a'].includes(t))).toEqual([]);
    expect(description$.hrefs.filter((h) => h !== null && h !== '#')).toEqual([]);
    expect(description$.attrs.filter((a) => !['href', 'rel'].includes(a))).toEqual([]);
    expect(description$.rels.every((r) => r === 'nofollow noopener ugc')).toBe(true);
    expect(await page.isVisible('#video')).toBe(true); // the style did not hide the page
    await page.screenshot({ path: path.join(shots, 'stream-hostile-description.png'), fullPage: true });
    expect(await flagOf(page)).toBeUndefined();
    expect(dialogs).toEqual([]);
    // The detectors work: a script that does run is seen by both.
    await page.evaluate(`${flag}; setTimeout(() => alert('control'))`);
    await page.waitForTimeout(300);
    expect(dialogs).toEqual(['control']);
    expect(await flagOf(page)).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("a private channel's page and events say nothing of it without a token; with one it shows all and plays", async () => {
    const ch1 = rig.channels[1]!;
    await rig.writeTable([{ namespace: ns, name: ch1.name, visibility: 'private', revokedViewers: [] }]);
    await waitFor('ch-1 closed to a player without a token', async () => (await fetch(rig.playbackUrl(ch1))).status === 403, { timeoutMs: 10_000 }); // prettier-ignore
    await push([listing('ch-1', { visibility: 'private', ...secrets('Members only') })]);
    const pageUrl = `http://127.0.0.1:${rig.httpPort}/${ns}/ch-1/`;
    // Without a token: the HTML, the events and the page as rendered say nothing of the channel.
    const raw = await (await fetch(pageUrl)).text();
    const events = await fetch(`${pageUrl}events`);
    expect(events.status).toBe(403);
    for (const text of [raw, await events.text()]) expect(text).not.toMatch(leaks('Members only'));
    const { page, problems } = await newPage();
    const requests: { url: string; referer: string | undefined }[] = [];
    page.on('request', (r) => requests.push({ url: r.url(), referer: r.headers().referer }));
    await page.goto(pageUrl);
    await page.waitForSelector('html[data-portal="ready"]');
    expect(await page.isVisible('#token-missing')).toBe(true);
    await page.waitForTimeout(1500);
    expect(await page.textContent('body')).not.toMatch(leaks('Members only'));
    expect([await page.textContent('#title'), await page.title()]).toEqual(['Private stream', 'Private stream']);
    expect(requests.filter((r) => /master\.m3u8|\/events/.test(r.url))).toEqual([]);
    await page.screenshot({ path: path.join(shots, 'stream-private-no-token.png'), fullPage: true });

    // With a token: exchanged for a session, which the events and the playlists carry (the token stays in the
    // page's URL and the POST body).
    const token = await mint('ch-1');
    requests.length = 0;
    await page.goto(`${pageUrl}?token=${token}`);
    await until(page, `document.getElementById('title').textContent === 'Members only'`, 10_000);
    expect(await page.textContent('#description')).toContain('The members agenda');
    expect(await page.textContent('#viewers')).toBe('4 viewers');
    expect(await page.textContent('#badge')).toBe('Live');
    expect(await page.isVisible('#token-missing')).toBe(false);
    const video = `document.querySelector('video')`;
    await until(page, `${video}.readyState >= 3 && ${video}.currentTime > 1 && ${video}.videoWidth === 320`, 45_000);
    expect(requests.some((r) => r.url.startsWith(`${pageUrl}events?session=`))).toBe(true);
    expect(requests.some((r) => r.url.startsWith(`${pageUrl}master.m3u8?session=`))).toBe(true);
    expect(requests.filter((r) => r.url.includes(token)).map((r) => r.url)).toEqual([`${pageUrl}?token=${token}`]);
    expect(requests.filter((r) => r.referer)).toEqual([]); // no token or session leaves in a Referer
    await page.screenshot({ path: path.join(shots, 'stream-private-token.png'), fullPage: true });

    // A token that does not open the channel: refused, and still nothing shown.
    await page.goto(`${pageUrl}?token=${await mint('ch-2')}`);
    await until(page, `!document.getElementById('token-error').hidden`, 10_000);
    expect(await page.textContent('#token-error')).toMatch(/another channel/);
    expect(await page.textContent('body')).not.toMatch(leaks('Members only'));
    expect(problems).toEqual([]);
    await page.close();
    expect(await (await fetch(`http://127.0.0.1:${rig.httpPort}/`)).text()).not.toContain('Members only');
    await rig.writeTable();
  });

  it("a password channel's page refuses a wrong password and plays with the right one", async () => {
    const ch2 = rig.channels[2]!;
    const passwordHash = await hashViewerPassword('open sesame', Buffer.alloc(16, 5));
    await rig.writeTable([{ namespace: ns, name: ch2.name, visibility: 'password', passwordHash }]);
    await waitFor('ch-2 closed to a player without a session', async () => (await fetch(rig.playbackUrl(ch2))).status === 403, { timeoutMs: 10_000 }); // prettier-ignore
    await push([listing('ch-2', { visibility: 'password', ...secrets('Friends only') })]);
    const pageUrl = `http://127.0.0.1:${rig.httpPort}/${ns}/ch-2/`;
    const { page, problems } = await newPage();
    const raw = await page.goto(pageUrl);
    expect(await raw?.text()).not.toMatch(leaks('Friends only'));
    expect((await fetch(`${pageUrl}events`)).status).toBe(403);
    await page.waitForSelector('html[data-portal="ready"]');
    await page.waitForSelector('#password-form', { state: 'visible' });
    expect(await page.textContent('#title')).toBe('Password-protected stream');
    await page.fill('#password', 'not it');
    await page.press('#password', 'Enter');
    await until(page, `document.getElementById('password-error').textContent.length > 0`, 5000);
    const video = `document.querySelector('video')`;
    expect(await page.evaluate<number>(`${video}?.currentTime ?? 0`)).toBe(0);
    expect(await page.textContent('body')).not.toMatch(leaks('Friends only'));
    await page.fill('#password', 'open sesame');
    await page.press('#password', 'Enter');
    await until(page, `document.getElementById('title').textContent === 'Friends only'`, 10_000);
    expect(await page.textContent('#description')).toContain('The members agenda');
    expect(await page.textContent('#viewers')).toBe('4 viewers');
    expect(await page.isVisible('#password-form')).toBe(false);
    await until(page, `${video}.readyState >= 3 && ${video}.currentTime > 1 && ${video}.videoWidth === 320`, 45_000);
    await page.screenshot({ path: path.join(shots, 'stream-password.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
    await rig.writeTable();
  });

  it('an unknown channel is a 404 page', async () => {
    const { page } = await newPage();
    const res = await page.goto(`http://127.0.0.1:${rig.httpPort}/${ns}/nobody/`);
    expect(res?.status()).toBe(404);
    expect(await page.textContent('h1')).toBe('No such channel');
    await page.close();
  });
});

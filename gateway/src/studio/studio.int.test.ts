// The studio page in Chromium (fake camera and microphone) against the real gateway process and a real transcoder:
// a wrong key shows the 401 message; the right key goes live over WHIP, the channel's HLS appears through the
// gateway and a second page plays it with hls.js while the studio shows the send bitrate and the channel's status;
// a blip (the gateway process frozen for 12 s) is ridden out without a click, in the same broadcast
// session; Stop ends the publish; a channel live over RTMP through the gateway is refused (409) before any answer.
// Screenshots go to test-results/studio/.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelListing } from '../../../contract/src/portal-directory.ts';
import { launchChromium } from '../../../test/support/chromium.ts';
import {
  gatewayTestNamespace as ns,
  startGatewayRig,
  type GatewayRig,
} from '../../../test/support/gateway-channels.ts';
import { ffprobe } from '../../../test/support/media-probe.ts';
import { startPublisher } from '../../../test/support/rtmp-publisher.ts';
import { waitFor } from '../../../test/support/wait-for.ts';

const shots = path.join(import.meta.dirname, '..', '..', '..', 'test-results', 'studio');

let rig: GatewayRig;
let browser: Browser;
let studio: Page;
const problems: string[] = [];

// Polled with evaluate: waitForFunction's string predicates are eval()ed in the page, which its CSP forbids.
const until = (page: Page, expression: string, timeoutMs: number) =>
  waitFor(expression, () => page.evaluate<unknown>(expression).then(Boolean), { timeoutMs, intervalMs: 100 });
const text = (page: Page, id: string) => page.evaluate<string>(`document.getElementById('${id}').textContent`);
const state = (page: Page) => page.evaluate<string>(`document.getElementById('state').dataset.state`);

async function openStudio(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1024, height: 760 } });
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) problems.push(m.text());
  });
  await page.goto(`http://127.0.0.1:${rig.httpPort}/${ns}/ch-0/studio`);
  await until(page, `document.getElementById('main').dataset.studio === 'ready'`, 10_000);
  return page;
}

async function goLive(page: Page, key: string): Promise<void> {
  await page.fill('#key', key);
  await page.keyboard.press('Enter'); // the form submits from the key field: no mouse needed
}

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  // A window long enough for a reconnect on a loaded machine (the page backs off up to 10 s; ICE and the bridge follow).
  rig = await startGatewayRig({ channels: 1, reconnectWindowSeconds: 30 });
  const listing: ChannelListing = {
    namespace: ns,
    name: 'ch-0',
    title: 'Studio channel',
    visibility: 'public',
    state: 'Live',
    viewers: 2,
  };
  const pushed = await rig.gateway.pushDirectory({
    generation: 'studio',
    sequence: 0,
    reset: true,
    upserts: [listing],
    deletes: [],
  });
  expect(pushed.status).toBe(200);
  browser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
  studio = await openStudio();
});

afterAll(async () => {
  await browser?.close();
  await rig?.close();
});

describe('the studio page', () => {
  const channel = () => rig.channels[0]!;

  it('shows the 401 message for a wrong key and stays stopped', async () => {
    await goLive(studio, 'not-the-key');
    await until(studio, `document.getElementById('message').textContent.includes('Wrong stream key')`, 20_000);
    expect(await state(studio)).toBe('stopped');
    expect(studio.url()).not.toContain('not-the-key');
    await studio.screenshot({ path: path.join(shots, 'studio-wrong-key.png'), fullPage: true });
  });

  it('goes live: HLS through the gateway, a second page plays it, bitrate and channel status shown', async () => {
    const abort = () => (channel().transcoder.process.exitCode !== null ? channel().transcoder.output() : undefined);
    const started = Date.now();
    await goLive(studio, channel().key);
    await until(studio, `document.getElementById('state').dataset.state === 'live'`, 20_000);
    await waitFor('the transcoder to have a publisher', async () => (await channel().publishing()) === 1, {
      timeoutMs: 20_000,
      abort,
    });
    const publishingMs = Date.now() - started;
    const master = rig.playbackUrl(channel());
    const probe = await waitFor(
      'HLS with video and audio through the gateway',
      async () => {
        const p = await ffprobe(master);
        return p.streams.some((s) => s.codec_type === 'video') && p.streams.some((s) => s.codec_type === 'audio') && p;
      },
      { timeoutMs: 40_000, intervalMs: 2000, abort },
    );
    const hlsMs = Date.now() - started;
    expect(probe.streams.find((s) => s.codec_type === 'video')?.codec_name).toBe('h264');
    expect(probe.streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe('aac');
    console.log(
      `studio: publishing at the transcoder after ${publishingMs} ms, HLS through the gateway after ${hlsMs} ms`,
    );

    await until(studio, `/bit\\/s$/.test(document.getElementById('bitrate').textContent)`, 10_000);
    expect(await text(studio, 'viewers')).toBe('2');
    expect(await text(studio, 'channel-state')).toBe('Live');

    const viewer = await browser.newPage({ viewport: { width: 800, height: 600 } });
    await viewer.goto(`http://127.0.0.1:${rig.httpPort}/${ns}/ch-0/`);
    const video = `document.getElementById('video')`;
    await until(viewer, `${video}.readyState >= 3 && ${video}.currentTime > 1 && ${video}.videoWidth > 0`, 45_000);
    await viewer.screenshot({ path: path.join(shots, 'viewer-playing.png') });
    await viewer.close();
    console.log(`studio bitrate shown: ${await text(studio, 'bitrate')}`);
    await studio.screenshot({ path: path.join(shots, 'studio-live.png'), fullPage: true });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(`http://127.0.0.1:${rig.httpPort}/${ns}/ch-0/studio`);
    await phone.screenshot({ path: path.join(shots, 'studio-phone.png'), fullPage: true });
    await phone.close();
  });

  it('rides out a blip (the gateway frozen 12 s) without a click, in the same broadcast session', async () => {
    const sessionsBefore = sessionStarts();
    expect(sessionsBefore).toBeDefined();
    const states = new Set<string>();
    const watcher = setInterval(
      () =>
        void state(studio).then(
          (s) => states.add(s),
          () => {},
        ),
      200,
    );
    try {
      rig.gateway.process.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 12_000));
      rig.gateway.process.kill('SIGCONT');
      await until(studio, `document.getElementById('state').dataset.state === 'reconnecting'`, 15_000).catch(() => {});
      await until(studio, `document.getElementById('state').dataset.state === 'live'`, 45_000);
    } finally {
      rig.gateway.process.kill('SIGCONT');
      clearInterval(watcher);
    }
    expect([...states]).toContain('reconnecting');
    await waitFor('the transcoder to have the publisher back', async () => (await channel().publishing()) === 1, {
      timeoutMs: 20_000,
    });
    expect(sessionStarts()).toBe(sessionsBefore); // the reconnect window kept the session
    console.log(`studio states seen during the blip: ${[...states].join(', ')}`);
  });

  it('Stop ends the publish', async () => {
    await studio.click('#stop');
    expect(await state(studio)).toBe('stopped');
    await waitFor('the publisher to be gone', async () => (await channel().publishing()) === 0, { timeoutMs: 20_000 });
    await studio.screenshot({ path: path.join(shots, 'studio-stopped.png'), fullPage: true });
  });

  it('refuses (409, before any answer) a channel live over RTMP through this gateway', async () => {
    const rtmp = startPublisher({ url: rig.publishUrl(channel().key), size: '320x180' });
    try {
      await waitFor('the RTMP publisher', async () => (await channel().publishing()) === 1, { timeoutMs: 30_000 });
      await goLive(studio, channel().key);
      await until(studio, `document.getElementById('message').textContent.includes('live already')`, 20_000);
      expect(await state(studio)).toBe('stopped');
      expect(await rig.metric('livestream_gateway_publishes_refused_total{reason="busy"}')).toBeGreaterThanOrEqual(1);
    } finally {
      await rtmp.stop();
    }
    expect(problems).toEqual([]);
  });
});

/** The id of the broadcast session the transcoder started last (its log). */
function sessionStarts(): string | undefined {
  const line = rig.channels[0]!.transcoder.output()
    .split('\n')
    .findLast((l) => l.includes('"session started"'));
  return line && (JSON.parse(line) as { session?: string }).session;
}

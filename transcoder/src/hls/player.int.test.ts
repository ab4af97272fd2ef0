// The player page in a real headless Chromium (hls.js over MSE) against a live ffmpeg HLS output: it waits while
// the stream is idle, then plays, and offers the ladder's renditions.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../../test/support/chromium.ts';
import { startHlsWriter, type HlsWriter } from '../../../test/support/ffmpeg-hls-writer.ts';
import { createTranscoderMetrics } from '../telemetry/metrics.ts';
import { startOrigin, type Origin } from './origin.ts';

let dir: string;
let writer: HlsWriter;
let origin: Origin;
let browser: Browser;
let live = false;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'player-int-'));
  writer = await startHlsWriter({ dir, segmentSeconds: 1, playlistLength: 6 });
  origin = await startOrigin({
    host: '127.0.0.1',
    port: 0,
    hlsDir: dir,
    isLive: () => live,
    readiness: () => true,
    metrics: createTranscoderMetrics(new Registry(), { defaultMetrics: false }),
    logger: pino({ level: 'warn' }),
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await origin?.close();
  await writer?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('player page', () => {
  it('shows offline while idle, plays the live stream with hls.js, offers each rendition, then waits again', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    // Browser-side expressions are strings: this project type-checks without the DOM library.
    const waitFor = (expression: string, timeout = 20_000): Promise<unknown> =>
      page.waitForFunction(expression, undefined, { timeout });
    const state = "document.getElementById('state').dataset.state";
    const currentTime = (): Promise<number> => page.evaluate<number>("document.querySelector('video').currentTime");

    await page.goto(`http://127.0.0.1:${origin.port}/`);
    await waitFor(`${state} === 'idle'`);
    expect(await page.textContent('#state')).toBe('OFFLINE');

    live = true;
    await waitFor(`${state} === 'live'`);
    await waitFor("document.querySelector('video').currentTime > 0");
    const start = await currentTime();
    await new Promise((r) => setTimeout(r, 10_000));
    const advanced = (await currentTime()) - start;
    expect(advanced).toBeGreaterThan(8); // real time, allowing for a short stall on 2 busy cores

    const options = await page.locator('#quality option').allTextContents();
    expect(options).toEqual(['Auto', '360p (730 kbps)', '240p (400 kbps)']);
    // Pick the lowest rendition: hls.js switches to it and playback goes on.
    await page.selectOption('#quality', { label: '240p (400 kbps)' });
    await waitFor("document.getElementById('info').textContent === 'Playing 240p'", 15_000);
    const beforeSwitch = await currentTime();
    await waitFor(`document.querySelector('video').currentTime > ${beforeSwitch + 3}`, 15_000);
    expect(origin.viewers()).toBe(1); // one page, one viewer token

    // The stream ends: playlists go 404 and the page goes back to waiting.
    live = false;
    await waitFor(`${state} === 'idle'`, 40_000);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});

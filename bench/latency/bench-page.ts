// The page the latency bench opens in headless Chromium: hls.js with the player page's own settings (or the ones a
// run overrides) playing one source, and a sampler that, on presented frames (requestVideoFrameCallback), copies the
// clock's rectangle of the frame to a canvas and keeps each block's mean luma with the moment the frame was shown.
// The page only samples; decoding is clock-code.ts's, in the bench. Served by a loopback server of the bench's own.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { clockBits, clockRegion } from './clock-code.ts';

export interface PageSample {
  at: number; // epoch ms when the frame was presented
  top: number[];
  bottom: number[];
  pdtMs?: number; // hls.js's playingDate (from EXT-X-PROGRAM-DATE-TIME), epoch ms
  height: number; // the rung on screen
  hlsLatencyMs?: number; // hls.js's own estimate: its live edge minus the playhead
  bufferMs?: number; // buffered ahead of the playhead
}

export interface PageState {
  samples: PageSample[];
  stalls: number; // `waiting` after playback began
  playing: boolean;
  visibility: string;
  errors: string[];
}

export function renderBenchPage(options: { src: string; hlsConfig: object; sampleMs: number }): string {
  const settings = { ...options, region: clockRegion(), bits: clockBits };
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>latency</title></head>
<body style="margin:0;background:#000">
<video id="video" muted autoplay playsinline style="width:640px;height:360px"></video>
<script src="/hls.js"></script>
<script>
(function () {
  'use strict';
  var s = ${JSON.stringify(settings)};
  var state = { samples: [], stalls: 0, playing: false, visibility: document.visibilityState, errors: [] };
  window.latencyState = state;
  var video = document.getElementById('video');
  var canvas = document.createElement('canvas');
  var ctx = canvas.getContext('2d', { willReadFrequently: true });
  var hls = new Hls(s.hlsConfig);
  var last = 0;
  hls.on(Hls.Events.ERROR, function (_e, data) {
    if (state.errors.length < 20) state.errors.push(data.type + ':' + data.details + (data.fatal ? ':fatal' : ''));
    if (data.fatal && data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
  });
  video.addEventListener('playing', function () { state.playing = true; });
  video.addEventListener('waiting', function () { if (state.playing) state.stalls++; });
  function blocks(data, w, h, row) {
    var out = [];
    var bw = w / s.bits;
    for (var i = 0; i < s.bits; i++) {
      var sum = 0, n = 0;
      for (var y = Math.floor((row + 0.25) * h / 2); y < Math.ceil((row + 0.75) * h / 2); y++) {
        for (var x = Math.floor((i + 0.25) * bw); x < Math.ceil((i + 0.75) * bw); x++) {
          var p = (y * w + x) * 4;
          sum += 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2];
          n++;
        }
      }
      out.push(n > 0 ? sum / n : 0);
    }
    return out;
  }
  function sample(at) {
    var vw = video.videoWidth, vh = video.videoHeight;
    if (!vw || !vh) return;
    var sx = Math.round(s.region.x * vw), sy = Math.round(s.region.y * vh);
    var w = Math.max(s.bits, Math.round(s.region.w * vw)), h = Math.max(2, Math.round(s.region.h * vh));
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
    ctx.drawImage(video, sx, sy, w, h, 0, 0, w, h);
    var data = ctx.getImageData(0, 0, w, h).data;
    var entry = { at: at, top: blocks(data, w, h, 0), bottom: blocks(data, w, h, 1), height: vh };
    if (hls.playingDate) entry.pdtMs = hls.playingDate.getTime();
    if (hls.latency > 0) entry.hlsLatencyMs = Math.round(hls.latency * 1000);
    var b = video.buffered;
    if (b.length) entry.bufferMs = Math.round((b.end(b.length - 1) - video.currentTime) * 1000);
    state.samples.push(entry);
  }
  function onFrame(_now, meta) {
    var at = performance.timeOrigin + meta.expectedDisplayTime;
    if (at - last >= s.sampleMs) { last = at; sample(at); }
    video.requestVideoFrameCallback(onFrame);
  }
  video.requestVideoFrameCallback(onFrame);
  hls.loadSource(s.src);
  hls.attachMedia(video);
})();
</script>
</body></html>
`;
}

export interface BenchPageServer {
  /** The page's URL for one source, played with the LL-HLS config when `lowLatency`. */
  pageUrl(src: string, lowLatency?: boolean): string;
  close(): Promise<void>;
}

/** A loopback server for the page and hls.js (the version the origin serves): one hls.js config for classic pages,
 * one for LL-HLS pages. */
export async function startBenchPageServer(options: {
  hlsConfig: object;
  /** for `pageUrl(src, true)`; hlsConfig when absent */
  llHlsConfig?: object;
  sampleMs: number;
}): Promise<BenchPageServer> {
  const require = createRequire(import.meta.url);
  const hlsJs = await readFile(require.resolve('hls.js/dist/hls.min.js'));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/hls.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(hlsJs);
      return;
    }
    const src = url.searchParams.get('src');
    if (url.pathname !== '/' || src === null) {
      res.writeHead(404).end();
      return;
    }
    const hlsConfig =
      url.searchParams.get('ll') === '1' ? (options.llHlsConfig ?? options.hlsConfig) : options.hlsConfig;
    const page = renderBenchPage({ src, hlsConfig, sampleMs: options.sampleMs });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    pageUrl: (src, lowLatency = false) =>
      `http://127.0.0.1:${port}/?src=${encodeURIComponent(src)}${lowLatency ? '&ll=1' : ''}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

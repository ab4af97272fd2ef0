// The WHIP publisher of bench-whip, as a browser streamer does it: a page in headless Chromium draws the wall clock
// into a 1280x720 canvas 30 times a second (the block code of bench/latency/clock-code.ts, at the same place as a
// fraction of the frame, over a moving pattern so the encoder has work), publishes canvas.captureStream(30) plus an
// oscillator's audio over WebRTC (H.264 first, as the studio page does) to a WHIP URL, and reports its sender's stats.
// A fake camera cannot carry a live clock (Chromium's file-based fake capture replays a recorded one), hence the
// canvas. Served by a loopback server of its own, like the latency bench's player page.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { clockBits, clockLayout, type ClockLayout } from './latency/clock-code.ts';

/** clock-code.ts's layout scaled to `width` x `height` (same aspect): the reader's clockRegion() fractions still hold. */
export function scaledClockLayout(width: number, height: number): ClockLayout {
  const k = width / clockLayout.width;
  if (Math.abs(height / clockLayout.height - k) > 1e-9) throw new Error(`${width}x${height} is not 16:9`);
  const { x, y, blockWidth, blockHeight } = clockLayout;
  return { width, height, x: x * k, y: y * k, blockWidth: blockWidth * k, blockHeight: blockHeight * k };
}

export interface PublisherSettings {
  layout: ClockLayout;
  fps: number;
  videoKbps: number;
  /** Floor of the sender's bandwidth estimate (Chromium's x-google-min-bitrate in the answer's H.264 fmtp); 0: none. */
  minKbps: number;
}

const page = (s: PublisherSettings): string => `<!doctype html>
<html><head><meta charset="utf-8"><title>whip publisher</title></head>
<body style="margin:0;background:#000">
<canvas id="c" width="${s.layout.width}" height="${s.layout.height}"></canvas>
<script>
'use strict';
var s = ${JSON.stringify({ ...s, bits: clockBits })};
var canvas = document.getElementById('c');
var ctx = canvas.getContext('2d');
var frames = 0;
function draw() {
  var now = performance.timeOrigin + performance.now();
  var L = s.layout, W = L.width, H = L.height;
  var hue = (frames * 3) % 360;
  ctx.fillStyle = 'hsl(' + hue + ',60%,35%)';
  ctx.fillRect(0, 0, W, H);
  for (var i = 0; i < 8; i++) {
    ctx.fillStyle = 'hsl(' + ((hue + i * 45) % 360) + ',80%,55%)';
    var x = ((frames * (4 + i)) % (W + 200)) - 100;
    ctx.fillRect(x, H * (0.25 + i * 0.09), 160, 50);
  }
  ctx.fillStyle = '#fff';
  ctx.font = '48px sans-serif';
  ctx.fillText('frame ' + frames, 64, H - 64);
  var code = Math.floor(now) % Math.pow(2, s.bits);
  for (var b = 0; b < s.bits; b++) {
    var one = Math.floor(code / Math.pow(2, b)) % 2 === 1;
    var bx = L.x + b * L.blockWidth;
    ctx.fillStyle = one ? '#fff' : '#000';
    ctx.fillRect(bx, L.y, L.blockWidth, L.blockHeight);
    ctx.fillStyle = one ? '#000' : '#fff';
    ctx.fillRect(bx, L.y + L.blockHeight, L.blockWidth, L.blockHeight);
  }
  frames++;
}
draw();
setInterval(draw, 1000 / s.fps);

async function publish(url, key) {
  var stream = canvas.captureStream(s.fps);
  var audio = new AudioContext();
  var osc = audio.createOscillator();
  var dest = audio.createMediaStreamDestination();
  osc.connect(dest);
  osc.start();
  stream.addTrack(dest.stream.getAudioTracks()[0]);
  var pc = new RTCPeerConnection();
  var video;
  for (var track of stream.getTracks()) {
    if (track.kind === 'video') {
      track.contentHint = 'motion';
      video = pc.addTransceiver(track, {
        direction: 'sendonly',
        sendEncodings: [{ maxBitrate: s.videoKbps * 1000, maxFramerate: s.fps }],
      });
      var codecs = RTCRtpReceiver.getCapabilities('video').codecs;
      video.setCodecPreferences(codecs.filter(function (c) {
        return c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine);
      }));
    } else {
      pc.addTransceiver(track, { direction: 'sendonly' });
    }
  }
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(function (resolve) {
    pc.onicegatheringstatechange = function () { if (pc.iceGatheringState === 'complete') resolve(); };
    setTimeout(resolve, 3000);
  });
  var res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: 'Bearer ' + key },
    body: pc.localDescription.sdp,
  });
  if (res.status !== 201) return { status: res.status, body: await res.text() };
  var answer = await res.text();
  // On a loaded 2-core machine the delay-based estimate stays near 100 kbit/s (3 fps at 720p): a floor keeps the
  // publish at the bitrate the figure is for. The answer is the gateway's; only this page's copy is changed.
  if (s.minKbps > 0) {
    answer = answer.replace(/^(a=fmtp:\\d+ .*packetization-mode=1.*)$/gm, function (line) {
      return line + ';x-google-min-bitrate=' + s.minKbps + ';x-google-start-bitrate=' + s.minKbps +
        ';x-google-max-bitrate=' + s.videoKbps;
    });
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  // Keep 720p when bandwidth or CPU is short (frames are dropped instead): the figure is for a 720p publish.
  try {
    var p = video.sender.getParameters();
    p.degradationPreference = 'maintain-resolution';
    await video.sender.setParameters(p);
  } catch (e) {}
  window.pc = pc;
  window.session = new URL(res.headers.get('location'), url).href;
  return { status: res.status };
}

async function senderStats() {
  var out = {};
  (await window.pc.getStats()).forEach(function (r) {
    if (r.type === 'outbound-rtp' && r.kind === 'video') {
      out = {
        frameWidth: r.frameWidth, frameHeight: r.frameHeight, framesPerSecond: r.framesPerSecond,
        framesEncoded: r.framesEncoded, bytesSent: r.bytesSent, encoderImplementation: r.encoderImplementation,
        qualityLimitationReason: r.qualityLimitationReason, targetBitrate: r.targetBitrate, at: Date.now(),
        sourceFramesPerSecond: out.sourceFramesPerSecond,
      };
    }
    if (r.type === 'media-source' && r.kind === 'video') out.sourceFramesPerSecond = r.framesPerSecond;
  });
  return out;
}

async function unpublish() {
  window.pc.close();
  return (await fetch(window.session, { method: 'DELETE' })).status;
}
</script>
</body></html>
`;

export interface SenderStats {
  frameWidth?: number;
  frameHeight?: number;
  framesPerSecond?: number;
  framesEncoded?: number;
  bytesSent?: number;
  encoderImplementation?: string;
  qualityLimitationReason?: string;
  targetBitrate?: number;
  sourceFramesPerSecond?: number; // the canvas track's frame rate as the sender saw it
  at?: number;
}

export interface WhipPublisher {
  /** POSTs the offer (the key as a bearer token, never in a URL); the WHIP answer's status. */
  publish(whipUrl: string, key: string): Promise<{ status: number; body?: string }>;
  stats(): Promise<SenderStats>;
  /** Closes the peer connection and DELETEs the session. */
  unpublish(): Promise<number>;
  close(): Promise<void>;
}

export async function startWhipPublisher(browser: Browser, settings: PublisherSettings): Promise<WhipPublisher> {
  const html = page(settings);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const tab: Page = await (await browser.newContext()).newPage();
  await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  return {
    publish: (url, key) => tab.evaluate(`publish(${JSON.stringify(url)}, ${JSON.stringify(key)})`),
    stats: () => tab.evaluate('senderStats()'),
    unpublish: () => tab.evaluate('unpublish()'),
    close: async () => {
      await tab.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

// The player page served at `/`: hls.js (served by the origin at a versioned path, nothing from the internet)
// playing /hls/master.m3u8, a quality selector, and a live/offline badge. While the stream is idle the master playlist
// is 404, so the page polls it and starts playback when it appears. Every request carries the page's viewer token
// (`vs=`) so the origin counts distinct viewers, not IP addresses.
import { playerHlsConfig, playerLlHlsConfig } from '../../../contract/src/hls-js.ts';

// The hls.js settings (contract/src/hls-js.ts) are the gateway portal's too. The page tells classic and LL-HLS apart
// by the first media playlist's EXT-X-PART-INF, so one page serves both and a session switching mode needs no new page.
export function renderPlayerPage(options: { hlsJsPath: string; title?: string }): string {
  const title = escapeHtml(options.title ?? 'Live');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
  body { margin: 0; background: #111; color: #eee; font: 14px system-ui, sans-serif; }
  main { max-width: 1280px; margin: 0 auto; padding: 12px; }
  video { width: 100%; aspect-ratio: 16 / 9; background: #000; display: block; }
  .bar { display: flex; gap: 12px; align-items: center; padding: 8px 0; }
  #state { padding: 2px 8px; border-radius: 4px; font-weight: 600; background: #444; }
  #state.live { background: #c00; }
  select { background: #222; color: #eee; border: 1px solid #555; padding: 2px 4px; }
</style>
</head>
<body>
<main>
  <video id="video" muted autoplay playsinline controls></video>
  <div class="bar">
    <span id="state" data-state="idle">OFFLINE</span>
    <label>Quality <select id="quality"><option value="-1">Auto</option></select></label>
    <span id="info"></span>
  </div>
</main>
<script src="${options.hlsJsPath}"></script>
<script>
(function () {
  'use strict';
  var master = '/hls/master.m3u8';
  var token = (Math.random().toString(36).slice(2) + Date.now().toString(36)).replace(/[^a-z0-9]/g, '').slice(0, 32);
  var video = document.getElementById('video');
  var stateEl = document.getElementById('state');
  var quality = document.getElementById('quality');
  var info = document.getElementById('info');
  var hls = null;
  var pollTimer = null;

  function withToken(url) {
    return url + (url.indexOf('?') < 0 ? '?' : '&') + 'vs=' + token;
  }
  function setState(live) {
    stateEl.textContent = live ? 'LIVE' : 'OFFLINE';
    stateEl.className = live ? 'live' : '';
    stateEl.dataset.state = live ? 'live' : 'idle';
    if (!live) { info.textContent = 'Waiting for the stream to start'; }
  }
  function fillQualities() {
    while (quality.options.length > 1) quality.remove(1);
    // highest quality first; option values are hls.js level indexes (which are sorted by bitrate, lowest first)
    hls.levels.map(function (level, i) { return { level: level, i: i }; }).reverse().forEach(function (entry) {
      var level = entry.level;
      var i = entry.i;
      var option = document.createElement('option');
      option.value = String(i);
      option.textContent = (level.height ? level.height + 'p' : 'level ' + i) +
        (level.bitrate ? ' (' + Math.round(level.bitrate / 1000) + ' kbps)' : '');
      quality.appendChild(option);
    });
    quality.value = '-1';
  }
  function stop() {
    if (hls) { hls.destroy(); hls = null; }
    setState(false);
    schedulePoll(3000);
  }
  function firstMediaUri(text) {
    var lines = text.split(/\\r?\\n/);
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i].trim();
      if (line && line.charAt(0) !== '#') return line;
    }
    return null;
  }
  // LL-HLS when the first media playlist has parts (EXT-X-PART-INF), classic HLS otherwise.
  function detectAndStart(masterText) {
    var uri = firstMediaUri(masterText);
    if (!uri) { start(false); return; }
    var xhr = new XMLHttpRequest();
    xhr.open('GET', withToken(new URL(uri, location.origin + master).href), true);
    xhr.onload = function () { start(xhr.status === 200 && xhr.responseText.indexOf('#EXT-X-PART-INF') >= 0); };
    xhr.onerror = function () { start(false); };
    xhr.send();
  }
  function start(lowLatency) {
    if (!window.Hls || !Hls.isSupported()) {
      if (video.canPlayType('application/vnd.apple.mpegurl')) {
        video.src = withToken(master);
        setState(true);
        return;
      }
      info.textContent = 'This browser cannot play HLS';
      return;
    }
    var config = lowLatency ? ${JSON.stringify(playerLlHlsConfig)} : ${JSON.stringify(playerHlsConfig)};
    config.xhrSetup = function (xhr, url) { xhr.open('GET', withToken(url), true); };
    hls = new Hls(config);
    window.lsoPlayer = { hls: hls, lowLatency: lowLatency }; // for tests and benchmarks: hls.latency, events
    hls.on(Hls.Events.MANIFEST_PARSED, function () {
      fillQualities();
      setState(true);
      info.textContent = '';
      var played = video.play();
      if (played && played.catch) played.catch(function () {});
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, function (_event, data) {
      var level = hls.levels[data.level];
      if (level && level.height) info.textContent = 'Playing ' + level.height + 'p' + (hls.autoLevelEnabled ? ' (auto)' : '');
    });
    hls.on(Hls.Events.ERROR, function (_event, data) {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
      stop(); // playlist gone (stream ended) or network failure: go back to waiting
    });
    hls.loadSource(master);
    hls.attachMedia(video);
  }
  function poll() {
    pollTimer = null;
    var xhr = new XMLHttpRequest();
    xhr.open('GET', withToken(master), true);
    xhr.onload = function () { if (xhr.status === 200) detectAndStart(xhr.responseText); else schedulePoll(3000); };
    xhr.onerror = function () { schedulePoll(5000); };
    xhr.send();
  }
  function schedulePoll(ms) {
    if (!pollTimer && !hls) pollTimer = setTimeout(poll, ms);
  }
  quality.addEventListener('change', function () {
    if (hls) hls.currentLevel = Number(quality.value);
  });
  setState(false);
  poll();
})();
</script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

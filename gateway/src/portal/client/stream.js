/* global document, window, location, URLSearchParams, fetch, setTimeout, clearTimeout, setInterval, EventSource */
// A stream page: plays the channel while it is live (hls.js, the browser's own HLS where hls.js cannot run), shows
// a countdown before a scheduled start and a notice after the session, and follows the channel's events so that it
// starts and stops without a reload. Private channels play with the page's own ?token=; password channels after
// the password is exchanged for a session.
import { countdownText, durationText } from './common.js';

const article = document.getElementById('channel');
const video = document.getElementById('video');
const notice = document.getElementById('notice');
const noticeText = document.getElementById('notice-text');
const countdown = document.getElementById('countdown');
const badge = document.getElementById('badge');
const viewers = document.getElementById('viewers');
const duration = document.getElementById('duration');
const visibility = article.dataset.visibility;
let status = JSON.parse(article.dataset.status);

// The query string playback wants: '' (open), 'token=...', 'session=...'; null until there is one.
const token = new URLSearchParams(location.search).get('token');
let access =
  visibility === 'private'
    ? token
      ? `token=${encodeURIComponent(token)}`
      : null
    : visibility === 'password'
      ? null
      : '';

const utc = (iso) => `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const notices = {
  scheduled: () => `Starts at ${utc(status.scheduledStart)}`,
  ended: () => `The stream ended at ${utc(status.lastEndedAt)}.`,
  offline: () => 'This channel is offline.',
  gone: () => 'This channel no longer exists.',
};

let hlsLoaded;
function loadHls() {
  hlsLoaded ??= new Promise((resolve) => {
    const script = document.createElement('script');
    script.src = '__HLS_JS_PATH__';
    script.onload = () => resolve(window.Hls);
    script.onerror = () => resolve(undefined);
    document.head.append(script);
  });
  return hlsLoaded;
}

let player; // { stop() } while playing
let retryTimer;
async function startPlayer() {
  if (player || access === null || status.phase !== 'live') return;
  const src = `master.m3u8${access ? `?${access}` : ''}`;
  player = { stop: () => {} };
  const Hls = await loadHls();
  if (Hls?.isSupported()) {
    const hls = new Hls({ liveSyncDurationCount: 2, liveMaxLatencyDurationCount: 4, maxLiveSyncPlaybackRate: 1.1 });
    player.stop = () => hls.destroy();
    hls.on(Hls.Events.ERROR, (_e, data) => {
      if (data.fatal) retry(); // e.g. the playlist is not written yet just after the channel went live
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = src;
    player.stop = () => video.removeAttribute('src');
    video.addEventListener('error', retry, { once: true });
  } else {
    noticeText.textContent = 'This browser cannot play HLS.';
    notice.hidden = false;
    return;
  }
  void video.play().catch(() => {}); // autoplay may be refused: the controls are there
}

function stopPlayer() {
  player?.stop();
  player = undefined;
  clearTimeout(retryTimer);
}

let sessionExpiresAt = Infinity;
function retry() {
  stopPlayer();
  if (Date.now() >= sessionExpiresAt) {
    // The session ran out: ask for the password again rather than retrying a refused one.
    access = null;
    sessionExpiresAt = Infinity;
    render();
    return;
  }
  retryTimer = setTimeout(() => void startPlayer(), 2000);
}

function tick() {
  const now = Date.now();
  if (status.phase === 'live' && status.liveSince)
    duration.textContent = `live for ${durationText(now - Date.parse(status.liveSince))}`;
  countdown.textContent = status.phase === 'scheduled' ? countdownText(Date.parse(status.scheduledStart) - now) : '';
}

function render() {
  const live = status.phase === 'live';
  article.dataset.phase = status.phase;
  document.getElementById('title').textContent = status.title;
  document.title = status.title;
  badge.textContent = live ? (status.state === 'Reconnecting' ? 'Reconnecting' : 'Live') : status.phase;
  badge.classList.toggle('live', live);
  viewers.textContent = `${status.viewers} ${status.viewers === 1 ? 'viewer' : 'viewers'}`;
  viewers.hidden = duration.hidden = !live;
  video.hidden = !live;
  notice.hidden = live;
  if (!live) noticeText.textContent = notices[status.phase]();
  document.getElementById('token-missing')?.toggleAttribute('hidden', access !== null);
  document.getElementById('password-form')?.toggleAttribute('hidden', access !== null);
  tick();
  if (live) void startPlayer();
  else stopPlayer();
}

const form = document.getElementById('password-form');
form?.addEventListener('submit', (e) => {
  e.preventDefault();
  const error = document.getElementById('password-error');
  error.textContent = '';
  const password = document.getElementById('password').value;
  fetch('session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password }),
  })
    .then(async (res) => {
      const body = await res.json().catch(() => ({}));
      if (res.ok && typeof body.session === 'string') {
        access = `session=${encodeURIComponent(body.session)}`;
        sessionExpiresAt = Date.parse(body.expiresAt) || Infinity;
        render();
      } else {
        error.textContent = body.message || body.error || `Refused (${res.status}).`;
      }
    })
    .catch(() => (error.textContent = 'The gateway could not be reached; try again.'));
});

render();
setInterval(tick, 1000);
const events = new EventSource('events');
events.addEventListener('channel', (e) => {
  const description = status.descriptionHtml;
  status = JSON.parse(e.data);
  // Sanitized by the gateway (render-description.ts), as on the page itself.
  if (status.descriptionHtml !== description) document.getElementById('description').innerHTML = status.descriptionHtml;
  render();
});
events.addEventListener('gone', () => {
  status = { ...status, phase: 'gone' };
  render();
});
document.documentElement.dataset.portal = 'ready';

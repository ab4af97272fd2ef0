/* global document, window, location, URLSearchParams, fetch, setTimeout, clearTimeout, setInterval, EventSource */
// A stream page: plays the channel while it is live (hls.js, the browser's own HLS where hls.js cannot run), shows
// a countdown before a scheduled start and a notice after the session, and follows the channel's events so that it
// starts and stops without a reload.
import { countdownText, durationText } from './common.js';

const article = document.getElementById('channel');
const video = document.getElementById('video');
const notice = document.getElementById('notice');
const noticeText = document.getElementById('notice-text');
const countdown = document.getElementById('countdown');
const badge = document.getElementById('badge');
const viewers = document.getElementById('viewers');
const duration = document.getElementById('duration');
const vod = document.getElementById('vod');
const vodLink = document.getElementById('vod-link');
const visibility = article.dataset.visibility;
let status = JSON.parse(article.dataset.status);

// A private or password channel's page arrives locked (no title, description or state: channel-gate.ts). Its
// details, its events and its playlists come with a session: the page's ?token= (private) or the password, POSTed
// to `session`. The session is short-lived: renewed at half its life, and on renewal the events are opened again
// (the gateway ends a stream when the session it was opened with runs out).
const gated = visibility === 'private' || visibility === 'password';
const lockedView = gated ? status : undefined;
const token = visibility === 'private' ? new URLSearchParams(location.search).get('token') : null;
let session = null; // { value, expiresAt } once there is one
const query = () => (session ? `?session=${encodeURIComponent(session.value)}` : '');
const lockedBadges = { private: 'Private', password: 'Password' };

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

// hls.js settings per channel kind (data-latency, from the route table: ADR 0018), filled in by the gateway from
// contract/src/hls-js.ts: the transcoder's player page's, which make bench-latency measures. Classic HLS: two target
// durations behind the live edge, blocking reload, catch up at up to 1.1x. LL-HLS: low-latency mode at the
// playlist's PART-HOLD-BACK, which any liveSync* setting would override.
// Players without LL-HLS (the browser's own HLS, older players) play an LL channel's whole segments.
const hlsConfigs = JSON.parse('__HLS_JS_CONFIGS__'); // JSON of ours: no quote to escape

let player; // { stop() } while playing
let retryTimer;
async function startPlayer() {
  if (player || (gated && !session) || status.phase !== 'live') return;
  const src = `master.m3u8${query()}`;
  player = { stop: () => {} };
  const Hls = await loadHls();
  if (Hls?.isSupported()) {
    const hls = new Hls(hlsConfigs[article.dataset.latency] ?? hlsConfigs.classic);
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

function retry() {
  stopPlayer();
  retryTimer = setTimeout(() => void startPlayer(), 2000);
}

function tick() {
  const now = Date.now();
  if (status.phase === 'live' && status.liveSince)
    duration.textContent = `live for ${durationText(now - Date.parse(status.liveSince))}`;
  countdown.textContent = status.phase === 'scheduled' ? countdownText(Date.parse(status.scheduledStart) - now) : '';
}

let shownDescription = document.getElementById('description').innerHTML;
function render() {
  const live = status.phase === 'live';
  const locked = status.phase === 'locked';
  article.dataset.phase = status.phase;
  document.getElementById('title').textContent = status.title;
  document.title = status.title;
  badge.textContent = live
    ? status.state === 'Reconnecting'
      ? 'Reconnecting'
      : 'Live'
    : locked
      ? lockedBadges[status.visibility]
      : status.phase;
  badge.classList.toggle('live', live);
  viewers.textContent = locked ? '' : `${status.viewers} ${status.viewers === 1 ? 'viewer' : 'viewers'}`;
  viewers.hidden = duration.hidden = !live;
  video.hidden = !live && !playingVod;
  notice.hidden = live || locked || playingVod;
  noticeText.textContent = live || locked ? '' : notices[status.phase]();
  // Sanitized by the gateway (render-description.ts), as on the page itself.
  const description = locked ? '' : (status.descriptionHtml ?? '');
  if (description !== shownDescription)
    document.getElementById('description').innerHTML = shownDescription = description;
  document.getElementById('token-missing')?.toggleAttribute('hidden', !(locked && !token));
  document.getElementById('password-form')?.toggleAttribute('hidden', session !== null);
  // After a session, its recording (the gateway's VOD proxy, with the session on a gated channel's).
  const recording = !live && !locked && status.vod ? `${status.vod}${query()}` : '';
  vod.hidden = recording === '';
  if (recording) vodLink.href = recording;
  else if (playingVod) stopVod();
  tick();
  if (live) void startPlayer();
  else stopPlayer();
}

// "Watch the recording" plays it in the page's player (the link still opens the MP4 on its own without script).
let playingVod = false;
vodLink.addEventListener('click', (e) => {
  e.preventDefault();
  stopPlayer();
  playingVod = true;
  video.src = vodLink.href;
  video.muted = false;
  video.hidden = false;
  notice.hidden = true;
  void video.play().catch(() => {});
});
function stopVod() {
  playingVod = false;
  video.pause();
  video.removeAttribute('src');
}

/** POST `session`: { session } (opened or renewed), or { message } (refused); rejects when unreachable. */
async function postSession(body) {
  const res = await fetch('session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await res.json().catch(() => ({}));
  if (res.ok && typeof answer.session === 'string') {
    return { session: { value: answer.session, expiresAt: Date.parse(answer.expiresAt) || Date.now() + 60_000 } };
  }
  return { message: answer.message || answer.error || `Refused (${res.status}).` };
}

let events;
function openEvents() {
  events?.close();
  const source = new EventSource(`events${query()}`);
  events = source;
  source.addEventListener('channel', (e) => {
    status = JSON.parse(e.data);
    render();
  });
  source.addEventListener('gone', () => {
    status = { ...status, phase: 'gone' };
    render();
  });
  source.addEventListener('error', () => {
    // Refused (the session ran out, the viewer was revoked) or turned away (503): a gated page renews its session,
    // and opens the events again, after a moment so that a full gateway is not asked again at once.
    if (!gated || source !== events || source.readyState !== EventSource.CLOSED) return;
    clearTimeout(renewTimer);
    renewTimer = setTimeout(() => void renew(), 3000);
  });
}

let renewTimer;
function opened(next) {
  session = next;
  clearTimeout(renewTimer);
  renewTimer = setTimeout(() => void renew(), Math.max(5000, (session.expiresAt - Date.now()) / 2));
  showError('');
  openEvents();
  render();
}

function showError(message) {
  const error = document.getElementById(visibility === 'private' ? 'token-error' : 'password-error');
  if (!error) return;
  error.textContent = message;
  error.hidden = message === '';
}

/** Back to the locked page: nothing of the channel stays on it. */
function lock(message) {
  session = null;
  clearTimeout(renewTimer);
  events?.close();
  events = undefined;
  status = lockedView;
  showError(message);
  render();
}

let renewing;
function renew() {
  renewing ??= (async () => {
    // The session for a fresh one; a private page falls back on its own token, a password page asks again.
    let result = session ? await postSession({ session: session.value }) : { message: '' };
    if (!result.session && token) result = await postSession({ token });
    if (result.session) opened(result.session);
    else lock(result.message);
  })()
    .catch(() => {
      // Unreachable for now: try again shortly (the session may still hold).
      clearTimeout(renewTimer);
      renewTimer = setTimeout(() => void renew(), 5000);
    })
    .finally(() => (renewing = undefined));
  return renewing;
}

const form = document.getElementById('password-form');
form?.addEventListener('submit', (e) => {
  e.preventDefault();
  showError('');
  const password = document.getElementById('password').value;
  postSession({ password })
    .then((result) => (result.session ? opened(result.session) : showError(result.message)))
    .catch(() => showError('The gateway could not be reached; try again.'));
});

render();
setInterval(tick, 1000);
if (!gated) openEvents();
else if (token) void renew();
document.documentElement.dataset.portal = 'ready';

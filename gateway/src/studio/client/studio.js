/* global document, navigator, window, fetch, setTimeout, clearTimeout, setInterval, clearInterval, EventSource, AbortSignal, RTCPeerConnection, RTCRtpReceiver, AudioContext, URL */
// The studio page: preview a camera or a screen (and a microphone), go live over WHIP to this channel's endpoint,
// show the state, the send bitrate and the channel's status, stop. The stream key lives in this module's memory
// only (no storage, no cookie, no URL): a reload asks for it again. A lost connection (ICE failed, or disconnected
// for a few seconds) is replaced by a new POST with backoff; the channel's reconnect window keeps the broadcast
// session meanwhile, so viewers see one stream with a short gap.
import {
  backoffMs,
  bitrateText,
  bytesSent,
  h264First,
  kbitsPerSecond,
  refusalText,
  worthRetrying,
} from './studio-core.js';

const main = document.getElementById('main');
const channelPath = `/${main.dataset.namespace}/${main.dataset.name}`;
const $ = (id) => document.getElementById(id);
const form = $('studio-form');
const keyInput = $('key');
const video = $('preview');
const cameraSelect = $('camera');
const microphoneSelect = $('microphone');
const buttons = { preview: $('preview-button'), live: $('go-live'), stop: $('stop') };

const disconnectedGraceMs = 4000;
const postTimeoutMs = 20_000; // a gateway that does not answer is retried like one that refused
let media; // the MediaStream being previewed (and sent)
let silence; // an AudioContext making a silent track when there is no microphone (the gateway wants audio)
let key; // in memory only
let wanted = false; // the streamer wants to be live (until Stop or a refusal that no retry can fix)
let current; // { pc, location } of the session now
let retryTimer;
let disconnectTimer;
let statsTimer;

function setState(state, message = '') {
  const el = $('state');
  el.textContent = state;
  el.dataset.state = state;
  $('message').textContent = message;
  const busy = state !== 'stopped';
  buttons.live.disabled = busy;
  buttons.stop.disabled = !busy;
  keyInput.disabled = busy;
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  const fill = (select, kind, keep) => {
    const chosen = select.value;
    for (const o of [...select.options]) if (!keep.includes(o.value)) o.remove();
    devices
      .filter((d) => d.kind === kind && d.deviceId)
      .forEach((d, i) => select.add(new window.Option(d.label || `${kind} ${i + 1}`, d.deviceId)));
    if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
  };
  fill(cameraSelect, 'videoinput', ['']);
  fill(microphoneSelect, 'audioinput', ['', 'none']);
}

async function captureSource() {
  const source = form.elements.source.value;
  const mic = microphoneSelect.value;
  const audio = mic === 'none' ? false : mic ? { deviceId: { exact: mic } } : true;
  if (source === 'screen') {
    const screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    if (!audio) return screen;
    const voice = await navigator.mediaDevices.getUserMedia({ audio });
    return new window.MediaStream([...screen.getVideoTracks(), ...voice.getAudioTracks()]);
  }
  const cam = cameraSelect.value;
  return navigator.mediaDevices.getUserMedia({ video: cam ? { deviceId: { exact: cam } } : true, audio });
}

async function preview() {
  const next = await captureSource();
  for (const t of media?.getTracks() ?? []) t.stop();
  media = next;
  video.srcObject = media;
  $('preview-empty').hidden = true;
  // A screen share ended from the browser's own bar: nothing to send any more.
  media.getVideoTracks()[0]?.addEventListener('ended', () => wanted && stop('The shared screen was closed.'));
  await listDevices();
}

function audioTrack() {
  const mic = media.getAudioTracks()[0];
  if (mic) return mic;
  silence ??= new AudioContext();
  const destination = silence.createMediaStreamDestination();
  const tone = silence.createConstantSource();
  tone.offset.value = 0;
  tone.connect(destination);
  tone.start();
  return destination.stream.getAudioTracks()[0];
}

async function offer(pc) {
  const videoTrack = media.getVideoTracks()[0];
  const v = pc.addTransceiver(videoTrack, { direction: 'sendonly', streams: [media] });
  v.setCodecPreferences(h264First(RTCRtpReceiver.getCapabilities('video').codecs));
  pc.addTransceiver(audioTrack(), { direction: 'sendonly', streams: [media] });
  await pc.setLocalDescription(await pc.createOffer());
  // The whole offer at once (every candidate in it): one POST, no trickle needed.
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    setTimeout(resolve, 3000);
  });
  return pc.localDescription.sdp;
}

/** One WHIP POST; resolves with the session or throws { status, text } (status undefined: no answer). */
async function open() {
  const pc = new RTCPeerConnection();
  try {
    const sdp = await offer(pc);
    const res = await fetch(`${channelPath}/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
      body: sdp,
      cache: 'no-store',
      credentials: 'omit',
      signal: AbortSignal.timeout(postTimeoutMs),
    }).catch(() => undefined);
    if (!res) throw { status: undefined, text: 'The gateway did not answer.' };
    const body = await res.text();
    if (res.status !== 201) {
      const retryAfter = Number(res.headers.get('retry-after')) || undefined;
      throw { status: res.status, text: refusalText(res.status, body, retryAfter) };
    }
    const session = { pc, location: new URL(res.headers.get('location'), res.url).href };
    await pc.setRemoteDescription({ type: 'answer', sdp: body });
    return session;
  } catch (err) {
    pc.close();
    throw err;
  }
}

function end(session) {
  if (!session) return;
  session.pc.close();
  // Best effort: the server ends a session whose connection failed by itself as well.
  void fetch(session.location, { method: 'DELETE', keepalive: true, credentials: 'omit' }).catch(() => {});
}

function watch(session) {
  const pc = session.pc;
  pc.addEventListener('connectionstatechange', () => {
    if (current !== session) return;
    clearTimeout(disconnectTimer);
    if (pc.connectionState === 'connected') setState('live');
    else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') reconnect('The connection was lost.');
    else if (pc.connectionState === 'disconnected') {
      disconnectTimer = setTimeout(
        () => current === session && reconnect('The connection was lost.'),
        disconnectedGraceMs,
      );
    }
  });
}

async function attempt(n) {
  if (!wanted) return;
  try {
    const session = await open();
    if (!wanted) return end(session);
    current = session;
    watch(session);
    setState(session.pc.connectionState === 'connected' ? 'live' : 'connecting');
  } catch (err) {
    if (!wanted) return;
    const retrying = n > 0 && worthRetrying(err.status);
    if (!retrying) return stop(err.text ?? String(err));
    const delay = backoffMs(n - 1);
    setState('reconnecting', `${err.text} Trying again in ${Math.ceil(delay / 1000)} s.`);
    retryTimer = setTimeout(() => attempt(n + 1), delay);
  }
}

function reconnect(reason) {
  const old = current;
  current = undefined;
  end(old);
  setState('reconnecting', `${reason} Reconnecting…`);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => attempt(1), backoffMs(0) / 2);
}

function stop(message = '') {
  wanted = false;
  clearTimeout(retryTimer);
  clearTimeout(disconnectTimer);
  const old = current;
  current = undefined;
  end(old);
  setState('stopped', message);
  $('bitrate').textContent = '–';
}

async function goLive() {
  key = keyInput.value.trim();
  if (!key) return setState('stopped', 'Enter the stream key first.');
  wanted = true;
  setState('connecting');
  try {
    if (!media) await preview();
  } catch (err) {
    return stop(`No source: ${err.message}`);
  }
  await attempt(0);
}

function sampleStats() {
  let previous;
  return async () => {
    const pc = current?.pc;
    if (!pc) return void (previous = undefined);
    const sample = { bytes: bytesSent(await pc.getStats()), at: Date.now() };
    $('bitrate').textContent = bitrateText(kbitsPerSecond(previous, sample));
    previous = sample;
  };
}

function followChannel() {
  const events = new EventSource(`${channelPath}/events`);
  events.addEventListener('channel', (e) => {
    const status = JSON.parse(e.data);
    $('channel-state').textContent = status.state ?? status.phase;
    $('viewers').textContent = String(status.viewers ?? 0);
  });
  events.addEventListener('gone', () => ($('channel-state').textContent = 'not in the directory'));
  events.addEventListener('error', () => {
    if (events.readyState === EventSource.CLOSED) $('channel-state').textContent = 'status unavailable';
  });
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  void goLive();
});
buttons.preview.addEventListener('click', () => {
  preview().catch((err) => ($('message').textContent = `No source: ${err.message}`));
});
buttons.stop.addEventListener('click', () => stop());
// Closing or leaving the tab ends the publish at once (the channel then waits out its reconnect window).
window.addEventListener('pagehide', () => wanted && stop());
statsTimer = setInterval(sampleStats(), 1000);
window.addEventListener('pagehide', () => clearInterval(statsTimer));
followChannel();
setState('stopped');
main.dataset.studio = 'ready';

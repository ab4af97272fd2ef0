/* global document, setInterval, EventSource, CSS */
// The directory page: swaps in the lists the gateway sends on each change (server-rendered and escaped there), keeps
// the keyboard focus on the same channel across a swap, ticks durations and countdowns, refreshes thumbnails.
import { countdownText, durationText, watchThumbnails } from './common.js';

const lists = { live: document.getElementById('live'), scheduled: document.getElementById('scheduled') };

function tick() {
  const now = Date.now();
  for (const t of document.querySelectorAll('time.since')) {
    t.textContent = `live for ${durationText(now - Date.parse(t.dateTime))}`;
  }
  for (const t of document.querySelectorAll('time.countdown')) {
    t.textContent = `starts ${countdownText(Date.parse(t.dateTime) - now)}`;
  }
}

function swap(html) {
  const focused = document.activeElement?.closest?.('.cards a')?.getAttribute('href');
  for (const [key, list] of Object.entries(lists)) list.innerHTML = html[key];
  if (focused) document.querySelector(`.cards a[href="${CSS.escape(focused)}"]`)?.focus();
  watchThumbnails(document);
  tick();
}

let refresh = 0;
function refreshThumbnails() {
  refresh++;
  for (const img of document.querySelectorAll('.thumb img')) {
    img.src = `${img.src.split('?')[0]}?v=${refresh}`;
  }
}

watchThumbnails(document);
tick();
setInterval(tick, 1000);
setInterval(refreshThumbnails, 15_000);
const events = new EventSource('/_portal/events');
events.addEventListener('directory', (e) => swap(JSON.parse(e.data)));
document.documentElement.dataset.portal = 'ready'; // for tests and for the curious: the script is running

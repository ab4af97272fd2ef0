// Shared by the portal's pages (served as ES modules by the gateway): durations and countdowns as words, and
// thumbnails that fall back to a neutral placeholder when the channel has none (yet).

/** "12 min", "1 h 05 min", "45 s" */
export function durationText(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

/** "in 2 min 05 s", "in 3 h 10 min", "any moment now" */
export function countdownText(untilMs) {
  const s = Math.floor(untilMs / 1000);
  if (s <= 0) return 'any moment now';
  if (s < 60) return `in ${s} s`;
  if (s < 3600) return `in ${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const days = Math.floor(s / 86400);
  if (days > 0) return `in ${days} d ${Math.floor((s % 86400) / 3600)} h`;
  return `in ${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

function missing(img) {
  img.hidden = true;
  img.parentElement.classList.add('placeholder');
}

/** Placeholders for thumbnails that failed already or fail later; a later success shows the picture again. */
export function watchThumbnails(root) {
  for (const img of root.querySelectorAll('.thumb img')) {
    if (img.dataset.watched) continue;
    img.dataset.watched = '1';
    img.addEventListener('error', () => missing(img));
    img.addEventListener('load', () => {
      img.hidden = false;
      img.parentElement.classList.remove('placeholder');
    });
    if (img.complete && img.naturalWidth === 0) missing(img);
  }
}

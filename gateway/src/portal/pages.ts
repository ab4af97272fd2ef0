// The portal's HTML (pure): the directory at `/`, a stream page per channel, the 404 page, and the headers every
// page is served with. Every text from a listing is escaped here (titles may hold markup); the description arrives
// already sanitized (render-description.ts). The pages load only the gateway's own files: no inline script or style,
// which the Content-Security-Policy forbids.
import type { ChannelListing } from '../../../contract/src/portal-directory.ts';
import type { Visibility } from '../../../contract/src/route-table.ts';
import { isGated, type GatedVisibility, type LockedStatus, type PageStatus } from './channel-gate.ts';
import type { ChannelStatus, DirectoryView } from './directory-view.ts';

export const portalAssetPrefix = '/_portal/';
export const directoryEventsPath = `${portalAssetPrefix}events`;

export const pageHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // Nothing from anywhere else; hls.js plays from blob: media sources and may start a blob: worker.
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "media-src 'self' blob:",
    "connect-src 'self'",
    'worker-src blob:',
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  // A private channel's page URL carries its token: never in a Referer.
  'referrer-policy': 'no-referrer',
} as const;

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => htmlEscapes[c]!);
}

export const channelPath = (l: Pick<ChannelListing, 'namespace' | 'name'>) => `/${l.namespace}/${l.name}/`;

const utc = (iso: string) => `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const viewersText = (n: number) => `${n} ${n === 1 ? 'viewer' : 'viewers'}`;

function layout(title: string, body: string, script: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${portalAssetPrefix}portal.css">
${script ? `<script type="module" src="${portalAssetPrefix}${script}"></script>\n` : ''}</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a href="/" class="home">Live channels</a></header>
<main id="main">
${body}
</main>
</body>
</html>
`;
}

function liveCard(l: ChannelListing): string {
  const since = l.liveSince
    ? ` · <time class="since" datetime="${escapeHtml(l.liveSince)}">live since ${utc(l.liveSince)}</time>`
    : '';
  return `<li class="card"><a href="${channelPath(l)}">
<span class="thumb"><img src="${channelPath(l)}thumbnail.jpg" alt="" width="320" height="180" loading="lazy"></span>
<span class="card-title">${escapeHtml(l.title)}</span>
<span class="meta"><span class="badge live">${l.state === 'Reconnecting' ? 'Reconnecting' : 'Live'}</span> ${viewersText(l.viewers)}${since}</span>
</a></li>`;
}

function scheduledCard(l: ChannelListing): string {
  const start = escapeHtml(l.scheduledStart!);
  return `<li class="card"><a href="${channelPath(l)}">
<span class="thumb placeholder" aria-hidden="true"></span>
<span class="card-title">${escapeHtml(l.title)}</span>
<span class="meta"><span class="badge">Scheduled</span> <time class="countdown" datetime="${start}">starts ${utc(start)}</time></span>
</a></li>`;
}

/** The two lists' inner HTML: on the page, and in each `directory` event (the page swaps them in). */
export function renderDirectoryLists(view: DirectoryView): { live: string; scheduled: string } {
  return {
    live: view.live.map(liveCard).join('\n') || '<li class="empty">Nothing is live right now.</li>',
    scheduled: view.scheduled.map(scheduledCard).join('\n') || '<li class="empty">Nothing is scheduled.</li>',
  };
}

export function renderDirectoryPage(view: DirectoryView): string {
  const lists = renderDirectoryLists(view);
  return layout(
    'Live channels',
    `<section aria-labelledby="live-heading">
<h1 id="live-heading">Live now</h1>
<ul id="live" class="cards" aria-live="polite">${lists.live}</ul>
</section>
<section aria-labelledby="scheduled-heading">
<h2 id="scheduled-heading">Coming up</h2>
<ul id="scheduled" class="cards">${lists.scheduled}</ul>
</section>`,
    'directory.js',
  );
}

function phaseNotice(status: ChannelStatus): string {
  switch (status.phase) {
    case 'scheduled':
      return `Starts at ${utc(status.scheduledStart!)}`;
    case 'ended':
      return `The stream ended at ${utc(status.lastEndedAt!)}.`;
    case 'offline':
      return 'This channel is offline.';
    case 'live':
      return '';
  }
}

const gates: Record<GatedVisibility, string> = {
  password: `<form id="password-form" class="gate" hidden>
<label for="password">This stream is protected by a password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">Watch</button>
<p id="password-error" class="error" role="alert"></p>
</form>`,
  private: `<p id="token-missing" class="notice" hidden>This stream is private: open it with the link you were given.</p>
<p id="token-error" class="error" role="alert" hidden></p>`,
};
export const lockedBadges: Record<GatedVisibility, string> = { private: 'Private', password: 'Password' };

/**
 * The stream page; `status` is also handed to its script (as an attribute, escaped like any other). A gated
 * channel's page is always rendered locked (channel-gate.ts): its script fetches the details with a session.
 * `lowLatency` (the route table's, ADR 0018) tells the script to play LL-HLS: hls.js in low-latency mode.
 */
export function renderStreamPage(visibility: Visibility, status: PageStatus, lowLatency = false): string {
  const live = status.phase === 'live';
  const open = status.phase === 'locked' ? undefined : status;
  const badge = live ? 'Live' : open ? open.phase : lockedBadges[(status as LockedStatus).visibility];
  return layout(
    status.title,
    `<article id="channel" data-status="${escapeHtml(JSON.stringify(status))}" data-visibility="${visibility}" data-latency="${lowLatency ? 'low' : 'classic'}">
<h1 id="title">${escapeHtml(status.title)}</h1>
<div class="player"><video id="video" controls muted autoplay playsinline${live ? '' : ' hidden'}></video>
<p id="notice" class="notice" role="status"${live || !open ? ' hidden' : ''}><span id="notice-text">${open ? escapeHtml(phaseNotice(open)) : ''}</span> <time id="countdown"></time></p>
</div>
<p id="vod" class="vod"${open?.vod ? '' : ' hidden'}><a id="vod-link" href="${escapeHtml(open?.vod ?? '')}">Watch the recording</a></p>
${isGated(visibility) ? gates[visibility] : ''}
<p class="meta"><span id="badge" class="badge${live ? ' live' : ''}">${escapeHtml(badge)}</span>
<span id="viewers"${live ? '' : ' hidden'}>${open ? viewersText(open.viewers) : ''}</span>
<time id="duration"${live ? '' : ' hidden'}></time></p>
<div id="description" class="description">${open?.descriptionHtml ?? ''}</div>
</article>`,
    'stream.js',
  );
}

export function renderNotFoundPage(): string {
  return layout('Not found', '<h1>No such channel</h1>\n<p><a href="/">See what is live</a></p>', '');
}

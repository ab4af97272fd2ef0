// The studio page's HTML (pure): where a streamer goes live from the browser, `/<namespace>/<name>/studio`. The page
// is the same for every well-formed channel name, known or not, so it tells nobody which channels exist: the WHIP
// POST is what checks the key. The stream key field has no `name`, so even without the script (a form submitted by
// the browser itself) the key never reaches a URL. Scripts and styles are the gateway's own files (no inline code,
// which the portal's Content-Security-Policy forbids).
import { escapeHtml, pageHeaders, portalAssetPrefix } from '../portal/pages.ts';

export const studioAssetPrefix = '/_studio/';

export const studioPageHeaders = {
  ...pageHeaders,
  // The page may ask for the camera, the microphone and a screen; nothing embedded may.
  'permissions-policy': 'camera=(self), microphone=(self), display-capture=(self)',
} as const;

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;

/** `/<ns>/<name>/studio` -> the channel; undefined for any other path (or a name Kubernetes would not allow). */
export function parseStudioPath(pathname: string): { namespace: string; name: string } | undefined {
  const match = /^\/([^/]+)\/([^/]+)\/studio$/.exec(pathname);
  if (!match) return undefined;
  const [, namespace = '', name = ''] = match;
  if (!dnsLabel.test(namespace) || !dnsSubdomain.test(name)) return undefined;
  return { namespace, name };
}

export function renderStudioPage(channel: { namespace: string; name: string }): string {
  const id = escapeHtml(`${channel.namespace}/${channel.name}`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Studio · ${id}</title>
<link rel="stylesheet" href="${portalAssetPrefix}portal.css">
<link rel="stylesheet" href="${studioAssetPrefix}studio.css">
<script type="module" src="${studioAssetPrefix}studio.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><a href="/" class="home">Live channels</a></header>
<main id="main" class="studio" data-namespace="${escapeHtml(channel.namespace)}" data-name="${escapeHtml(channel.name)}">
<h1>Studio <span class="channel-id">${id}</span></h1>
<div class="studio-grid">
<div class="preview">
<video id="preview" muted autoplay playsinline aria-label="Preview of what you send"></video>
<p id="preview-empty" class="notice">No source yet: pick one and press Preview.</p>
</div>
<form id="studio-form" class="controls" autocomplete="off">
<label for="key">Stream key</label>
<input id="key" type="password" autocomplete="off" spellcheck="false" required maxlength="512" aria-describedby="key-hint">
<p id="key-hint" class="hint">Kept in this tab only, never saved.</p>
<fieldset>
<legend>Video</legend>
<label><input type="radio" name="source" value="camera" checked> Camera</label>
<label><input type="radio" name="source" value="screen"> Screen</label>
<label for="camera">Camera</label>
<select id="camera"><option value="">Default camera</option></select>
</fieldset>
<label for="microphone">Microphone</label>
<select id="microphone"><option value="">Default microphone</option><option value="none">No microphone</option></select>
<div class="buttons">
<button type="button" id="preview-button">Preview</button>
<button type="submit" id="go-live" class="primary">Go live</button>
<button type="button" id="stop" disabled>Stop</button>
</div>
</form>
</div>
<section class="readout" aria-label="Broadcast">
<p>State: <strong id="state" role="status" data-state="stopped">stopped</strong></p>
<p id="message" class="error" role="alert"></p>
<dl>
<dt>Sending</dt><dd id="bitrate">–</dd>
<dt>Channel</dt><dd id="channel-state">–</dd>
<dt>Viewers</dt><dd id="viewers">–</dd>
</dl>
<p><a id="watch" href="/${escapeHtml(channel.namespace)}/${escapeHtml(channel.name)}/">Open the stream page</a></p>
</section>
</main>
</body>
</html>
`;
}

// Which channel and which origin file a playback URL names (pure): `/<namespace>/<name>/master.m3u8`,
// `/<namespace>/<name>/<rendition>/<file>`, `/<namespace>/<name>/live.flv` and `/<namespace>/<name>/thumbnail.jpg`,
// mapped onto the transcoder's own origin paths (`/hls/master.m3u8`, `/hls/<rendition>/<file>`, `/live.flv`,
// `/thumbnail.jpg`). A strict whitelist of shapes: names
// as the ladder writes them, no encoded characters, so traversal has nothing to match.

// An LL-HLS part (`<prefix>_<msn>.<index>.m4s`, part-segmenter.ts's names) is a segment that may be asked for before
// it exists (the preload hint): its own kind, so that a miss is not kept.
export type PlaybackKind = 'master' | 'variant' | 'segment' | 'part' | 'flv' | 'thumbnail';

export type PlaybackTarget =
  { namespace: string; name: string; kind: PlaybackKind; upstreamPath: string } | { error: 400 | 404 };

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;
const fileName = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;
const segmentExt = /\.(ts|m4s|mp4|aac)$/;
const partName = /_\d+\.\d+\.m4s$/;

/** `pathname` as received: still percent-encoded, without the query. */
export function parsePlaybackPath(pathname: string): PlaybackTarget {
  if (/[%\\]/.test(pathname)) return { error: 400 };
  const parts = pathname.split('/').slice(1);
  if (parts.some((p) => p === '..' || p === '.')) return { error: 400 };
  if (parts.length < 3 || parts.length > 4) return { error: 404 };
  const [namespace = '', name = '', ...rest] = parts;
  if (!dnsLabel.test(namespace) || !dnsSubdomain.test(name)) return { error: 404 };
  if (!rest.every((p) => fileName.test(p) && !p.includes('..'))) return { error: 404 };
  const channel = { namespace, name };
  if (rest.length === 1) {
    if (rest[0] === 'master.m3u8') return { ...channel, kind: 'master', upstreamPath: '/hls/master.m3u8' };
    if (rest[0] === 'live.flv') return { ...channel, kind: 'flv', upstreamPath: '/live.flv' };
    if (rest[0] === 'thumbnail.jpg') return { ...channel, kind: 'thumbnail', upstreamPath: '/thumbnail.jpg' };
    return { error: 404 };
  }
  const file = rest.join('/');
  if (file.endsWith('.m3u8')) return { ...channel, kind: 'variant', upstreamPath: `/hls/${file}` };
  if (partName.test(file)) return { ...channel, kind: 'part', upstreamPath: `/hls/${file}` };
  if (segmentExt.test(file)) return { ...channel, kind: 'segment', upstreamPath: `/hls/${file}` };
  return { error: 404 };
}

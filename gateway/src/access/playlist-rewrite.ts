// Writes a session into every URI of a playlist (pure): URI lines (variants, segments) and every URI="..." attribute
// of any tag (EXT-X-MEDIA, EXT-X-MAP, EXT-X-I-FRAME-STREAM-INF, EXT-X-PART, EXT-X-PRELOAD-HINT,
// EXT-X-RENDITION-REPORT, EXT-X-KEY and whatever tag is added later), so players that send no custom headers
// (Safari, TVs) carry it on every request. Existing query strings are kept. Only relative URIs are rewritten: an
// absolute one points elsewhere, and a session must not leak to another host (or into a data: URI).

const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:|^\/\//;

/** `uri` with `session=<session>` added to its query (any old session parameter replaced). */
export function withSessionParam(uri: string, session: string): string {
  if (uri === '' || absolute.test(uri)) return uri;
  const hash = uri.indexOf('#');
  const fragment = hash === -1 ? '' : uri.slice(hash);
  const base = hash === -1 ? uri : uri.slice(0, hash);
  const [path = '', query] = base.split(/\?(.*)/s, 2);
  const kept = (query ?? '').split('&').filter((p) => p !== '' && !p.startsWith('session='));
  return `${path}?${[...kept, `session=${encodeURIComponent(session)}`].join('&')}${fragment}`;
}

export function rewritePlaylist(playlist: string, session: string): string {
  return playlist
    .split('\n')
    .map((line) => {
      const trimmed = line.replace(/\r$/, '');
      const cr = trimmed.length === line.length ? '' : '\r';
      if (trimmed.startsWith('#')) {
        return (
          trimmed.replace(
            /([:,])URI="([^"]*)"/g,
            (_m, lead: string, uri: string) => `${lead}URI="${withSessionParam(uri, session)}"`,
          ) + cr
        );
      }
      if (trimmed.trim() === '') return line;
      return withSessionParam(trimmed.trim(), session) + cr;
    })
    .join('\n');
}

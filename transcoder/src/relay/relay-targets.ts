// The relay set of a LiveStream (spec.relays), checked and normalised. The CRD validates the same rules; this is the
// second line of defence, because the relay container also runs from hand-written YAML and must never guess.
import { ConfigError } from '../config/livestream-spec.ts';

export type RelayProtocol = 'rtmp' | 'rtmps' | 'srt';

export interface RelayTarget {
  name: string;
  protocol: RelayProtocol;
  url: string; // as in the spec: scheme://host[:port]/app (rtmp, rtmps) or srt://host:port[?options]; no key
  enabled: boolean;
}

export const maxRelays = 16;
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const protocols: Record<string, RelayProtocol> = { 'rtmp:': 'rtmp', 'rtmps:': 'rtmps', 'srt:': 'srt' };
// SRT options that carry secrets: they would be visible in `ps` as part of the URL. The key is the streamid.
const forbiddenSrtOptions = ['streamid', 'srt_streamid', 'passphrase'];

export function parseRelays(value: unknown): RelayTarget[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ConfigError('spec.relays must be a list');
  if (value.length > maxRelays) throw new ConfigError(`spec.relays lists at most ${maxRelays} relays`);
  const seen = new Set<string>();
  return value.map((item: unknown, i) => {
    const at = `spec.relays[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new ConfigError(`${at} must be an object`);
    const r = item as Record<string, unknown>;
    if (typeof r.name !== 'string' || !dnsLabel.test(r.name)) {
      throw new ConfigError(`${at}.name must be a DNS label (got ${JSON.stringify(r.name)})`);
    }
    if (seen.has(r.name)) throw new ConfigError(`${at}.name ${JSON.stringify(r.name)} is not unique`);
    seen.add(r.name);
    if (r.enabled !== undefined && typeof r.enabled !== 'boolean') {
      throw new ConfigError(`${at}.enabled must be true or false`);
    }
    return { name: r.name, ...parseTargetUrl(r.url, `${at}.url`), enabled: r.enabled ?? true };
  });
}

function parseTargetUrl(value: unknown, at: string): { protocol: RelayProtocol; url: string } {
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${at} is required`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The value is not echoed: a user may have pasted a key into it.
    throw new ConfigError(`${at} is not a valid URL`);
  }
  const protocol = protocols[url.protocol];
  if (protocol === undefined) throw new ConfigError(`${at} must start with rtmp://, rtmps:// or srt://`);
  if (url.hostname === '') throw new ConfigError(`${at} has no host`);
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(`${at} must not carry credentials: put the key in the relay's Secret`);
  }
  if (url.hash !== '') throw new ConfigError(`${at} must not have a #fragment`);
  if (protocol === 'srt') {
    if (url.port === '') throw new ConfigError(`${at}: an srt:// URL needs a port`);
    for (const option of forbiddenSrtOptions) {
      if (url.searchParams.has(option)) {
        throw new ConfigError(`${at} must not set ${option}: the relay key (Secret) is sent as the SRT streamid`);
      }
    }
  } else if (rtmpApp(url) === '') {
    throw new ConfigError(`${at} needs the application path, e.g. rtmp://a.rtmp.youtube.com/live2`);
  }
  return { protocol, url: value };
}

// The RTMP application: the whole path (and query, e.g. YouTube's `live2?backup=1`) without the outer slashes.
// The stream name (the key) is never part of it: it is sent separately as the playpath.
export function rtmpApp(url: URL): string {
  return `${url.pathname}${url.search}`.replace(/^\/+/, '').replace(/\/+$/, '');
}

// What may be shown of a target in logs and errors: scheme and host, nothing a user could have put a secret into.
export function describeTarget(target: Pick<RelayTarget, 'url'>): string {
  try {
    const url = new URL(target.url);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(invalid URL)';
  }
}

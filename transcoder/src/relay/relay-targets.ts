// The relay set of a LiveStream (spec.relays) as the relay container runs it. The spec has passed the CRD's schema
// before it gets here (the API server in a cluster, contract/src/api/validate.ts for a standalone YAML): names are
// DNS labels and unique, at most 16 relays, URLs start with rtmp://, rtmps:// or srt:// and a host, carry no
// credentials and no key, passphrase or streamid in their query, `enabled` is defaulted. Only what the CRD does not
// check is checked here, because ffmpeg would otherwise guess: the URL must parse, an srt:// URL needs its port, an
// RTMP(S) URL its application path, no #fragment (it would be dropped silently), and no srt_streamid option (the
// CRD's query rule names streamid only; the relay key is sent as the SRT streamid).
import type { RelaySpec } from '../../../contract/src/api/index.ts';
import { ConfigError } from '../config/livestream-spec.ts';

export type RelayProtocol = 'rtmp' | 'rtmps' | 'srt';

export interface RelayTarget {
  name: string;
  protocol: RelayProtocol;
  url: string; // as in the spec: scheme://host[:port]/app (rtmp, rtmps) or srt://host:port[?options]; no key
  enabled: boolean;
  // spec.relays[].keySecretRef is set: the key (a mounted file) is sent as the RTMP stream name or the SRT streamid.
  // Without one the URL is pushed to as written (a target that needs no key, e.g. rtmp://host/app/name).
  keyed: boolean;
}

export function parseRelays(relays: readonly RelaySpec[] | undefined): RelayTarget[] {
  return (relays ?? []).map((relay, i) => ({
    name: relay.name,
    ...parseTargetUrl(relay.url, `spec.relays[${i}].url`),
    enabled: relay.enabled,
    keyed: relay.keySecretRef !== undefined,
  }));
}

function parseTargetUrl(value: string, at: string): { protocol: RelayProtocol; url: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The value is not echoed: a user may have pasted a key into it.
    throw new ConfigError(`${at} is not a valid URL`);
  }
  const protocol = url.protocol.slice(0, -1) as RelayProtocol; // the CRD admits these three schemes only
  if (url.hash !== '') throw new ConfigError(`${at} must not have a #fragment`);
  if (protocol === 'srt') {
    if (url.port === '') throw new ConfigError(`${at}: an srt:// URL needs a port`);
    if (url.searchParams.has('srt_streamid')) {
      throw new ConfigError(`${at} must not set srt_streamid: the relay key (Secret) is sent as the SRT streamid`);
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

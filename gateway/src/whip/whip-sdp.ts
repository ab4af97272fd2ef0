// The pure parts of WHIP ingest (RFC 9725): which URL a request is for, the bearer key, what codecs an offer carries,
// and the SDP that tells the local ffmpeg where the forwarded RTP arrives. No I/O here.

export type WhipTarget =
  { kind: 'endpoint'; namespace?: string; name?: string } | { kind: 'session'; id: string } | undefined;

const segment = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const channelPath = new RegExp(`^/(${segment})/(${segment})/whip$`);
const sessionPath = /^\/whip\/sessions\/([A-Za-z0-9_-]{16,64})$/;

/** `/whip`, `/<namespace>/<name>/whip` (an endpoint) or `/whip/sessions/<id>` (a session's URL). */
export function whipTarget(pathname: string): WhipTarget {
  if (pathname === '/whip') return { kind: 'endpoint' };
  const session = sessionPath.exec(pathname);
  if (session?.[1]) return { kind: 'session', id: session[1] };
  const channel = channelPath.exec(pathname);
  if (channel?.[1] && channel[3]) return { kind: 'endpoint', namespace: channel[1], name: channel[3] };
  return undefined;
}

/** The key of `Authorization: Bearer <key>`, or undefined. */
export function bearerKey(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

export interface OfferedMedia {
  kind: string;
  /** Lower-case codec names of the section's rtpmap lines, e.g. ["h264", "vp8"]. */
  codecs: string[];
}

/** The media sections of an SDP with the codec names each offers. */
export function offeredMedia(sdp: string): OfferedMedia[] {
  const sections: OfferedMedia[] = [];
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^m=(\w+) /.exec(line);
    if (m?.[1]) sections.push({ kind: m[1], codecs: [] });
    const rtpmap = /^a=rtpmap:\d+ ([^/\s]+)\//.exec(line);
    const current = sections.at(-1);
    if (rtpmap?.[1] && current) {
      const name = rtpmap[1].toLowerCase();
      if (!current.codecs.includes(name)) current.codecs.push(name);
    }
  }
  return sections;
}

/** Why an offer cannot be ingested (H.264 video and Opus audio are needed), or undefined when it can. */
export function offerProblem(sdp: string): string | undefined {
  const media = offeredMedia(sdp);
  const video = media.filter((m) => m.kind === 'video');
  const audio = media.filter((m) => m.kind === 'audio');
  const list = (ms: OfferedMedia[]) => (ms.length === 0 ? 'none' : ms.map((m) => m.codecs.join(',') || '-').join('; '));
  const offered = `offered video: ${list(video)}; audio: ${list(audio)}`;
  const [v, a] = [video[0], audio[0]];
  if (video.length !== 1 || audio.length !== 1 || !v || !a) {
    return `one video and one audio section are needed (${offered})`;
  }
  if (!v.codecs.includes('h264')) return `H.264 video is needed (${offered})`;
  if (!a.codecs.includes('opus')) return `Opus audio is needed (${offered})`;
  return undefined;
}

export const forwardedPayloadType = { video: 96, audio: 111 } as const;

/**
 * The SDP ffmpeg reads: the forwarded RTP on loopback, with the payload types the gateway rewrites every packet to
 * (so ffmpeg's view does not depend on what was negotiated).
 */
export function ffmpegSdp(ports: { video: number; audio: number }): string {
  return [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=whip',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=video ${ports.video} RTP/AVP ${forwardedPayloadType.video}`,
    `a=rtpmap:${forwardedPayloadType.video} H264/90000`,
    `a=fmtp:${forwardedPayloadType.video} packetization-mode=1`,
    `m=audio ${ports.audio} RTP/AVP ${forwardedPayloadType.audio}`,
    `a=rtpmap:${forwardedPayloadType.audio} opus/48000/2`,
    '',
  ].join('\n');
}

/** The candidates of a trickle-ice-sdpfrag body (RFC 8840), as `candidate:...` strings. */
export function fragmentCandidates(body: string): string[] {
  return body
    .split(/\r?\n/)
    .filter((l) => l.startsWith('a=candidate:'))
    .map((l) => l.slice(2));
}

export interface IceCredentials {
  ufrag: string;
  pwd: string;
}

/** The a=ice-ufrag and a=ice-pwd of an SDP or fragment (the first of each), or undefined without both. */
export function iceCredentials(sdp: string): IceCredentials | undefined {
  const ufrag = /^a=ice-ufrag:(\S+)\s*$/m.exec(sdp)?.[1];
  const pwd = /^a=ice-pwd:(\S+)\s*$/m.exec(sdp)?.[1];
  return ufrag && pwd ? { ufrag, pwd } : undefined;
}

/**
 * The offer an ICE restart amounts to (RFC 9725 section 4.4: the client sends only ICE information, everything else
 * of the first offer still holds): the first offer with the new credentials and without its candidates (the
 * fragment's are added after it).
 */
export function restartedOffer(offer: string, credentials: IceCredentials): string {
  return offer
    .split(/\r?\n/)
    .filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates')
    .map((l) =>
      l.startsWith('a=ice-ufrag:')
        ? `a=ice-ufrag:${credentials.ufrag}`
        : l.startsWith('a=ice-pwd:')
          ? `a=ice-pwd:${credentials.pwd}`
          : l,
    )
    .join('\r\n');
}

/** The trickle-ice-sdpfrag (RFC 8840) of an answer: its credentials, its first media section's mid and candidates. */
export function answerFragment(answer: string): string {
  const lines = answer.split(/\r?\n/);
  const credentials = iceCredentials(answer);
  const first = lines.findIndex((l) => l.startsWith('m='));
  const next = lines.findIndex((l, i) => i > first && l.startsWith('m='));
  const section = lines.slice(first, next === -1 ? undefined : next);
  return [
    `a=ice-ufrag:${credentials?.ufrag ?? ''}`,
    `a=ice-pwd:${credentials?.pwd ?? ''}`,
    section[0] ?? 'm=audio 9 UDP/TLS/RTP/SAVPF 0',
    ...section.filter((l) => l.startsWith('a=mid:') || l.startsWith('a=candidate:')),
    'a=end-of-candidates',
    '',
  ].join('\r\n');
}

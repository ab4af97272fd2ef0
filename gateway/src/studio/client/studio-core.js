// The studio page's pure parts (no DOM, no network), so they are unit tested in Node: what a WHIP refusal means for
// the streamer, which refusals are worth another try while reconnecting, the reconnect backoff, the send bitrate from
// two getStats() samples, and the codec order that puts H.264 first.

/** The streamer's words for a refused POST; `body` is the gateway's own text (it names what was wrong). */
export function refusalText(status, body = '', retryAfterSeconds) {
  const detail = body.trim();
  const later = retryAfterSeconds ? ` Try again in ${retryAfterSeconds} s.` : '';
  switch (status) {
    case 401:
      return 'Wrong stream key for this channel.';
    case 409:
      return 'This channel is live already: another encoder is publishing to it.';
    case 406:
      return `The gateway cannot take this browser's codecs (it needs H.264 video and Opus audio): ${detail}`;
    case 429:
      return `Too many refused tries from this address.${later || ' Wait a moment and try again.'}`;
    case 503:
      return `The gateway is at its limit of browser publishes.${later || ' Try again shortly.'}`;
    default:
      return `The gateway refused the publish (${status})${detail ? `: ${detail}` : '.'}`;
  }
}

/**
 * While reconnecting, some refusals pass by themselves: the old session still holding the channel (409), a throttle
 * (429), a full gateway (503), a gateway restarting (5xx, no answer). A wrong key (401) or codecs (406) do not.
 */
export function worthRetrying(status) {
  return status === undefined || status === 409 || status === 429 || status >= 500;
}

/** Attempt 0, 1, 2, ...: 1 s, 2 s, 4 s, 8 s, then 10 s each, each +-20 % (`random` in [0, 1)). */
export function backoffMs(attempt, random = Math.random()) {
  const base = Math.min(10_000, 1000 * 2 ** attempt);
  return Math.round(base * (0.8 + 0.4 * random));
}

/** Summed outbound-rtp bytesSent of a getStats() report (a Map, or any iterable of [id, stat]). */
export function bytesSent(report) {
  let total = 0;
  for (const [, stat] of report) if (stat.type === 'outbound-rtp') total += stat.bytesSent ?? 0;
  return total;
}

/** kbit/s between two samples `{ bytes, at }` (at in ms); undefined when they cannot be compared. */
export function kbitsPerSecond(previous, current) {
  if (!previous || current.at <= previous.at || current.bytes < previous.bytes) return undefined;
  return ((current.bytes - previous.bytes) * 8) / (current.at - previous.at);
}

/** The codecs with H.264 packetization-mode 1 first (what the gateway copies), the rest after, in their order. */
export function h264First(codecs) {
  const h264 = (c) => c.mimeType.toLowerCase() === 'video/h264' && /packetization-mode=1/.test(c.sdpFmtpLine ?? '');
  return [...codecs.filter(h264), ...codecs.filter((c) => !h264(c))];
}

/** "1.8 Mbit/s", "640 kbit/s" */
export function bitrateText(kbps) {
  if (kbps === undefined) return '–';
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${Math.round(kbps)} kbit/s`;
}

// The one redaction of the project: what may leave a process as text (log lines, ffmpeg's stderr, status messages,
// events) goes through here. It removes
// - known secret values (a relay key, a stream key the caller holds), raw and percent-encoded;
// - media URLs (RTMP(S), SRT, RTSP, ...) down to scheme://host:port: their path carries the app and the key, their
//   query an SRT streamid or passphrase, their user info credentials;
// - user info of any other URL, and query parameters and key=value pairs whose name says "secret";
// - with `streamPaths`, node-media-server's `/app/<key>` paths and `name=`/`streamPath=` fields (its log lines name
//   the stream key everywhere; it is opt-in because in other text `/a/b` is a file path).
// It is the second line of defence: the first is never putting a secret into a message at all.

export const redactedText = '[redacted]';

export interface RedactOptions {
  /** Values to remove wherever they occur (shorter than 3 characters: ignored, too common to replace safely). */
  secrets?: Iterable<string>;
  /** node-media-server text: `/app/name` paths and `name=`/`streamPath=` fields name the stream key. */
  streamPaths?: boolean;
}

const mediaSchemes = 'rtmps?|rtmpte?|rtmpts|rtmpe|srt|rtsps?|rist|udp|tcp|tls';
const mediaUrl = new RegExp(String.raw`\b(${mediaSchemes}):\/\/(?:[^\s/@'"?]*@)?([^\s/'"?]*)[^\s'"]*`, 'gi');
const userInfo = /\b([a-z][a-z0-9+.-]*):\/\/[^\s/@'"]+@/gi;
const secretNames =
  'key|stream_?key|token|access_token|secret|password|passwd|passphrase|streamid|rtmp_playpath|playpath|' +
  'signature|sig|credential|auth|x-amz-signature|x-amz-credential|x-amz-security-token';
const secretParam = new RegExp(String.raw`([?&](?:${secretNames})=)[^&\s'"#]*`, 'gi');
const secretPair = new RegExp(String.raw`\b((?:${secretNames})=)(?!\[redacted\])[^\s&'",;]+`, 'gi');
const nmsPath = /(\/[A-Za-z0-9_-]+\/)[A-Za-z0-9_-]+/g;
const nmsField = /\b(name|streamPath|StreamPath|stream)=\S+/g;

export function redact(text: string, options: RedactOptions = {}): string {
  let out = removeSecrets(text, options.secrets);
  out = out.replace(mediaUrl, (match: string, scheme: string, host: string) => {
    const origin = `${scheme}://${host.replace(/:+$/, '')}`;
    return match.endsWith(':') ? `${origin}:` : origin; // "URL: message" keeps its colon
  });
  out = out.replace(userInfo, `$1://${redactedText}@`);
  out = out.replace(secretParam, `$1${redactedText}`).replace(secretPair, `$1${redactedText}`);
  if (options.streamPaths === true) {
    out = out.replace(nmsPath, `$1${redactedText}`).replace(nmsField, `$1=${redactedText}`);
  }
  return out;
}

function removeSecrets(text: string, secrets: Iterable<string> | undefined): string {
  if (secrets === undefined) return text;
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 3) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
  }
  let out = text;
  // Longest first, so a secret that contains another is removed whole.
  for (const form of [...forms].sort((a, b) => b.length - a.length)) out = out.split(form).join(redactedText);
  return out;
}

/** Every string inside a log record, redacted (objects and arrays to a bounded depth; Errors as plain objects). */
export function redactDeep(value: unknown, options: RedactOptions = {}, depth = 0): unknown {
  if (typeof value === 'string') return redact(value, options);
  if (value === null || typeof value !== 'object' || depth > 5) return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, options, depth + 1));
  if (value instanceof Error) {
    const plain: Record<string, unknown> = { type: value.name, message: value.message, stack: value.stack };
    for (const [k, v] of Object.entries(value)) plain[k] = v;
    return redactDeep(plain, options, depth + 1);
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value; // Dates, Buffers, class instances: as they are
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, options, depth + 1);
  return out;
}

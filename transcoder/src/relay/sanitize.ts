// Error text that may leave the relay process (logs, status, events): ffmpeg's stderr with the key and the target
// URL removed. The key is replaced wherever it occurs (also percent-encoded), target URLs are cut to scheme://host,
// and the result is bounded. What is left is ffmpeg's own wording, e.g. "Connection refused".
export function sanitizeError(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 3) continue; // too short to be a key, too common to replace safely
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('[redacted]');
  }
  // Any URL: keep scheme and host only (the path may hold an app, a key or a token).
  // "URL: message" keeps its colon.
  const url = /\b((?:rtmps?|rtmpt|srt|https?|tcp|tls):\/\/[^/\s'"?]+)[^\s'"]*/g;
  out = out.replace(url, (match: string, origin: string) => (match.endsWith(':') ? `${origin}:` : origin));
  // ffmpeg's "[rtmp @ 0x55d0c...]" context prefixes only add noise.
  out = out.replace(/\[[a-z0-9_]+ @ 0x[0-9a-f]+\]\s*/g, '');
  out = out.replace(/\s+/g, ' ').trim();
  return out.length > 300 ? `${out.slice(0, 297)}...` : out;
}

// The most telling line of a failed ffmpeg run: the last line that looks like an error, skipping ffmpeg's generic
// epilogue ("Conversion failed!") that follows every failure.
export function lastErrorLine(lines: readonly string[]): string | undefined {
  const pattern =
    /error|failed|refused|unreachable|timed out|broken pipe|reset|denied|not found|invalid|unable|cannot/i;
  const generic = /^(conversion failed!?|exiting normally.*)$/i;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (pattern.test(line) && !generic.test(line)) return line;
  }
  return lines[lines.length - 1];
}

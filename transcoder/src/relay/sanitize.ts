// Error text that may leave the relay process (logs, status, events): one line of ffmpeg's stderr through the one
// redaction (the key wherever it occurs, also percent-encoded; target URLs cut to scheme://host:port), without
// ffmpeg's context prefixes, bounded. What is left is ffmpeg's own wording, e.g. "Connection refused".
import { redact } from '../../../contract/src/redact.ts';

export function sanitizeError(text: string, secrets: readonly string[]): string {
  // ffmpeg's "[rtmp @ 0x55d0c...]" context prefixes only add noise.
  const out = redact(text, { secrets })
    .replace(/\[[a-z0-9_]+ @ 0x[0-9a-f]+\]\s*/g, '')
    .replace(/\s+/g, ' ')
    .trim();
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

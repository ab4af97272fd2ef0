// Structured JSON logs (pino). Secret-bearing fields are redacted wherever they appear, as a second line of
// defence: the first is never putting a key in a log call at all.
import { pino, type Logger } from 'pino';

export const redactedPaths = [
  'streamKey',
  '*.streamKey',
  'key',
  '*.key',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
];

export function createLogger(component: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: component, level, redact: { paths: redactedPaths, censor: '[redacted]' } });
}

export type { Logger };

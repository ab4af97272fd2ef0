// Structured JSON logs (pino), with two lines of defence behind the first one (never putting a key in a log call):
// fields named like secrets are censored wherever they appear, and every string of a record (message, format
// arguments, fields, error messages and stacks) goes through the one redaction (redact.ts).
import { pino, type DestinationStream, type Logger } from 'pino';
import { redact, redactDeep, redactedText } from './redact.ts';

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

export function createLogger(
  component: string,
  level = process.env.LOG_LEVEL ?? 'info',
  destination?: DestinationStream, // tests read the lines back
): Logger {
  const options = {
    name: component,
    level,
    redact: { paths: redactedPaths, censor: redactedText },
    hooks: {
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a: unknown) => (typeof a === 'string' ? redact(a) : a)),
        );
      },
    },
    formatters: { log: (record: Record<string, unknown>) => redactDeep(record) as Record<string, unknown> },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

export type { Logger };

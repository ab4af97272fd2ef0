// The session history's settings, from the operator's environment. Pure: parse and validate (reading the URL file
// is the one effect, and it is injectable). Absent URL and file: no history, and everything else works as before.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface HistoryConfig {
  /** postgres://user:password@host:port/db[?sslmode=...]: a secret, never logged (see databaseTarget). */
  databaseUrl: string;
  spoolDir: string;
  spoolMaxBytes: number;
  /** Sessions and viewer-minutes older than this many days are deleted; 0 keeps them forever. */
  retentionDays: number;
  retentionIntervalMs: number;
  flushIntervalMs: number;
}

export const historyEnv = {
  databaseUrl: 'LSO_HISTORY_DATABASE_URL',
  databaseUrlFile: 'LSO_HISTORY_DATABASE_URL_FILE',
  spoolDir: 'LSO_HISTORY_SPOOL_DIR',
  spoolMaxBytes: 'LSO_HISTORY_SPOOL_MAX_BYTES',
  retentionDays: 'LSO_HISTORY_RETENTION_DAYS',
  retentionIntervalSeconds: 'LSO_HISTORY_RETENTION_INTERVAL_SECONDS',
  flushIntervalMs: 'LSO_HISTORY_FLUSH_MS',
} as const;

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

/** The history settings, or undefined when no database is configured. Throws a message naming the variable. */
export function loadHistoryConfig(
  env: NodeJS.ProcessEnv,
  readFile: (file: string) => string = (f) => readFileSync(f, 'utf8'),
): HistoryConfig | undefined {
  const file = env[historyEnv.databaseUrlFile];
  let url = env[historyEnv.databaseUrl]?.trim();
  if (file !== undefined && file !== '') {
    if (url) throw new Error(`set ${historyEnv.databaseUrl} or ${historyEnv.databaseUrlFile}, not both`);
    try {
      url = readFile(file).trim();
    } catch (err) {
      throw new Error(`${historyEnv.databaseUrlFile}: cannot read ${file} (${(err as NodeJS.ErrnoException).code})`, {
        cause: err,
      });
    }
  }
  if (!url) return undefined;
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error(`${historyEnv.databaseUrl} must be a postgres:// URL`);
  try {
    new URL(url);
  } catch {
    throw new Error(`${historyEnv.databaseUrl} is not a valid URL`);
  }
  return {
    databaseUrl: url,
    spoolDir: env[historyEnv.spoolDir]?.trim() || path.join(tmpdir(), 'livestream-operator-history'),
    spoolMaxBytes: int(env, historyEnv.spoolMaxBytes, 64 * 1024 * 1024, 64 * 1024, 2 ** 40),
    retentionDays: int(env, historyEnv.retentionDays, 400, 0, 100_000),
    retentionIntervalMs: int(env, historyEnv.retentionIntervalSeconds, 3_600, 10, 7 * 86_400) * 1000,
    flushIntervalMs: int(env, historyEnv.flushIntervalMs, 1_000, 50, 60_000),
  };
}

/** host:port/database of a URL, for logs (no user, no password, no parameters). */
export function databaseTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

// Reads the local API server's audit log (writes only, see components.ts) to count what a client wrote.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

export interface AuditEvent {
  verb: string;
  stage: string;
  requestURI: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  stageTimestamp: string;
}

/**
 * The log and its rotated parts, oldest first. The API server rotates its audit log at 100 MB even when
 * --audit-log-maxsize is not given (its log writer's default), into `<name>-<timestamp><ext>` beside it: a fleet
 * benchmark writes several, and reading only the current one counted a fraction of the writes.
 */
export function auditLogParts(auditLog: string): string[] {
  const dir = dirname(auditLog);
  if (!existsSync(dir)) return [];
  const ext = extname(auditLog);
  const stem = basename(auditLog, ext);
  const rotated = readdirSync(dir)
    .filter((f) => f.startsWith(`${stem}-`) && f.endsWith(ext))
    .sort()
    .map((f) => join(dir, f));
  return existsSync(auditLog) ? [...rotated, auditLog] : rotated;
}

/** Completed write requests by `username`, optionally only those after `since` (ms epoch). */
export function writesBy(auditLog: string, username: string, since = 0): AuditEvent[] {
  // Part by part: the whole log of a fleet run is larger than one string can be.
  return auditLogParts(auditLog).flatMap((part) =>
    readFileSync(part, 'utf8')
      .split('\n')
      .filter((line) => line.includes(username))
      .map((line) => JSON.parse(line) as AuditEvent)
      .filter(
        (e) => e.stage === 'ResponseComplete' && e.user.username === username && Date.parse(e.stageTimestamp) >= since,
      ),
  );
}

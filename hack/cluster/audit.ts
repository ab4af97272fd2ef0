// Reads the local API server's audit log (writes only, see components.ts) to count what a client wrote.
import { existsSync, readFileSync } from 'node:fs';

export interface AuditEvent {
  verb: string;
  stage: string;
  requestURI: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  stageTimestamp: string;
}

/** Completed write requests by `username`, optionally only those after `since` (ms epoch). */
export function writesBy(auditLog: string, username: string, since = 0): AuditEvent[] {
  if (!existsSync(auditLog)) return [];
  return readFileSync(auditLog, 'utf8')
    .split('\n')
    .filter((line) => line.includes(username))
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter(
      (e) => e.stage === 'ResponseComplete' && e.user.username === username && Date.parse(e.stageTimestamp) >= since,
    );
}

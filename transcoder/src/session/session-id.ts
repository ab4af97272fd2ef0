// Session ids sort by start time (fixed-width base-36 milliseconds) and stay unique across pods (random suffix).
import { randomBytes } from 'node:crypto';

export function newSessionId(now: number = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}-${randomBytes(5).toString('hex')}`;
}

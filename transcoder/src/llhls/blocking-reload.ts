// Blocking playlist reload (RFC 8216bis 6.2.5.2), pure: what a playlist request's delivery directives ask for, and
// whether the timeline answers it now, once a later part exists, or never (400). The waiting itself is
// reload-waiters.ts's.
import { lastPart, type Timeline } from './part-segmenter.ts';

export interface Directives {
  msn?: number; // _HLS_msn
  part?: number; // _HLS_part
  skip: boolean; // _HLS_skip=YES or v2 (no date ranges here, so v2 is YES)
}

export type ParsedDirectives = { ok: true; directives: Directives } | { ok: false; reason: string };

const decimalInteger = /^(0|[1-9][0-9]{0,15})$/;

/** The _HLS_ directives of a query string (without its `?`); anything malformed is a 400. */
export function parseDirectives(query: string): ParsedDirectives {
  const params = new URLSearchParams(query);
  const number = (name: string): number | undefined | null => {
    const value = params.get(name);
    if (value === null) return undefined;
    return decimalInteger.test(value) ? Number(value) : null;
  };
  const msn = number('_HLS_msn');
  const part = number('_HLS_part');
  const skip = params.get('_HLS_skip');
  if (msn === null || part === null) return { ok: false, reason: '_HLS_msn and _HLS_part are decimal integers' };
  if (part !== undefined && msn === undefined) return { ok: false, reason: '_HLS_part without _HLS_msn' };
  if (skip !== null && skip !== 'YES' && skip !== 'v2') return { ok: false, reason: '_HLS_skip is YES or v2' };
  return {
    ok: true,
    directives: { ...(msn !== undefined && { msn }), ...(part !== undefined && { part }), skip: skip !== null },
  };
}

export type Decision = { kind: 'now' } | { kind: 'wait' } | { kind: 'bad-request'; reason: string };

/**
 * Answer now (no msn; the playlist has ended; or what is asked for exists, or has left the window: the whole
 * current playlist is the answer), wait, or refuse: an msn more than 2 past the last segment, or a part more than
 * the Advance Part Limit past the last part (3 / PART-TARGET parts below a 1 s part target, 3 otherwise).
 */
export function decide(d: Directives, tl: Timeline, partTarget: number, ended = false): Decision {
  if (d.msn === undefined || ended) return { kind: 'now' };
  if (isSatisfied(d, tl)) return { kind: 'now' };
  const lastMsn = tl.open?.msn ?? tl.nextMsn - 1; // the last segment, the one being written included
  if (d.msn > lastMsn + 2) return { kind: 'bad-request', reason: `_HLS_msn ${d.msn} is beyond ${lastMsn} + 2` };
  if (d.part !== undefined && partsAhead(d.msn, d.part, tl) > advancePartLimit(partTarget)) {
    return { kind: 'bad-request', reason: `_HLS_part ${d.part} is beyond the advance part limit` };
  }
  return { kind: 'wait' };
}

export function advancePartLimit(partTarget: number): number {
  return partTarget < 1 ? Math.floor(3 / partTarget) : 3;
}

// Parts between the newest one and the one asked for. In a later segment than the newest part, counted from that
// segment's start (its predecessor's remaining parts are not known yet).
function partsAhead(msn: number, part: number, tl: Timeline): number {
  const open = tl.open;
  if (open !== undefined && msn === open.msn) return part - (open.parts.length - 1);
  return part + 1;
}

/**
 * The timeline holds what is asked for: with a part, that part of segment msn or any part after it (a Part Index
 * past a complete segment's last part means part 0 of the next segment); without, segment msn complete, or later.
 */
export function isSatisfied(d: Pick<Directives, 'msn' | 'part'>, tl: Timeline): boolean {
  if (d.msn === undefined) return true;
  const newest = lastPart(tl);
  const lastComplete = tl.segments.at(-1)?.msn ?? (tl.open ? tl.open.msn - 1 : tl.nextMsn - 1);
  if (d.part === undefined) return lastComplete >= d.msn;
  if (newest === undefined) return false;
  if (newest.msn > d.msn) return true;
  return newest.msn === d.msn && newest.part >= d.part;
}

/** How long a blocked request may wait before a 503: three target durations (RFC 8216bis 6.2.5.2). */
export function blockTimeoutMs(targetDuration: number): number {
  return 3 * targetDuration * 1000;
}

// LL-HLS at the edge (pure): the delivery directives of a playlist request (RFC 8216bis 6.2.5), the query forwarded
// to the origin and the cache key they make, what a cached LL-HLS playlist says about the live edge, and whether a
// blocking request is already answered by it or is certainly beyond what the origin would accept.
//
// The cache key of a media playlist is the origin's path plus its directives, nothing else: `_HLS_msn`, `_HLS_part`
// and `_HLS_skip` with their values as received (they are validated as the origin validates them, so two spellings
// of one request cannot exist: no leading zeros, `YES` and `v2` are different requests), in the RFC's order. Any
// other parameter (a playback session, a cache buster) is neither in the key nor forwarded: the origin ignores them,
// so the answer cannot depend on them, and a session must not travel further than the gateway.

export interface Directives {
  msn?: number;
  part?: number;
  skip?: 'YES' | 'v2';
}

export type ParsedDirectives =
  | { ok: true; directives: Directives; /** the query forwarded to the origin ('' for none) */ forwarded: string }
  | { ok: false; reason: string };

const decimalInteger = /^(0|[1-9][0-9]{0,15})$/;
const directiveNames = ['_HLS_msn', '_HLS_part', '_HLS_skip'] as const;

/** The directives of a media playlist's query (without `?`): refused as the origin refuses them (a 400 either way). */
export function readDirectives(query: string): ParsedDirectives {
  const params = new URLSearchParams(query);
  const values: Partial<Record<(typeof directiveNames)[number], string>> = {};
  for (const name of directiveNames) {
    const all = params.getAll(name);
    if (all.length > 1) return { ok: false, reason: `${name} given twice` };
    if (all[0] !== undefined) values[name] = all[0];
  }
  const { _HLS_msn: msn, _HLS_part: part, _HLS_skip: skip } = values;
  if ((msn !== undefined && !decimalInteger.test(msn)) || (part !== undefined && !decimalInteger.test(part))) {
    return { ok: false, reason: '_HLS_msn and _HLS_part are decimal integers' };
  }
  if (part !== undefined && msn === undefined) return { ok: false, reason: '_HLS_part without _HLS_msn' };
  if (skip !== undefined && skip !== 'YES' && skip !== 'v2') return { ok: false, reason: '_HLS_skip is YES or v2' };
  const directives: Directives = {
    ...(msn !== undefined && { msn: Number(msn) }),
    ...(part !== undefined && { part: Number(part) }),
    ...(skip !== undefined && { skip }),
  };
  const forwarded = directiveNames.flatMap((name) => (values[name] === undefined ? [] : [`${name}=${values[name]}`]));
  return { ok: true, directives, forwarded: forwarded.join('&') };
}

/** A blocking playlist reload: one that names a Media Sequence Number. */
export const isBlocking = (d: Directives): boolean => d.msn !== undefined;

/** Where the origin's path and the forwarded directives meet: the URL fetched, and (behind the origin) the cache key. */
export const withQuery = (path: string, forwarded: string): string =>
  forwarded === '' ? path : `${path}?${forwarded}`;

export interface PartPosition {
  msn: number;
  part: number;
}

/** What an LL-HLS media playlist says about its live edge. */
export interface LiveEdge {
  /** The newest part (EXT-X-PART, not the hint); undefined before the first. */
  newest: PartPosition | undefined;
  /** The last complete segment (-1 before the first). */
  lastComplete: number;
  /** The last segment, the one being written included (what the origin's msn limit counts from). */
  lastMsn: number;
  partTarget: number; // seconds
  targetDuration: number; // seconds
  ended: boolean;
}

const numberAfter = (text: string, re: RegExp): number | undefined => {
  const m = re.exec(text);
  return m?.[1] === undefined ? undefined : Number(m[1]);
};

/** The live edge of a media playlist; undefined when it is not LL-HLS (no EXT-X-PART-INF). */
export function liveEdgeOf(playlist: string): LiveEdge | undefined {
  const partTarget = numberAfter(playlist, /#EXT-X-PART-INF:(?:[^\n]*,)?PART-TARGET=(\d+(?:\.\d+)?)/);
  const targetDuration = numberAfter(playlist, /#EXT-X-TARGETDURATION:(\d+)/);
  if (partTarget === undefined || !(partTarget > 0) || targetDuration === undefined) return undefined;
  const first = numberAfter(playlist, /#EXT-X-MEDIA-SEQUENCE:(\d+)/) ?? 0;
  let msn = first + (numberAfter(playlist, /#EXT-X-SKIP:(?:[^\n]*,)?SKIPPED-SEGMENTS=(\d+)/) ?? 0);
  let parts = 0; // EXT-X-PART lines of the segment being read
  let newest: PartPosition | undefined;
  for (const raw of playlist.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-PART:')) {
      newest = { msn, part: parts };
      parts += 1;
    } else if (line !== '' && !line.startsWith('#')) {
      msn += 1; // a segment's URI closes it
      parts = 0;
    }
  }
  const lastComplete = msn - 1;
  return {
    newest,
    lastComplete,
    lastMsn: parts > 0 ? msn : lastComplete,
    partTarget,
    targetDuration,
    ended: /^#EXT-X-ENDLIST\s*$/m.test(playlist),
  };
}

/**
 * The edge holds what the directives ask for (as the origin's blocking-reload.ts decides): with a part, that part of
 * segment msn or any later part; without, segment msn complete. An ended playlist answers everything.
 */
export function satisfies(edge: LiveEdge, d: Directives): boolean {
  if (d.msn === undefined || edge.ended) return true;
  if (d.part === undefined) return edge.lastComplete >= d.msn;
  const newest = edge.newest;
  if (newest === undefined) return false;
  return newest.msn > d.msn || (newest.msn === d.msn && newest.part >= d.part);
}

/** RFC 8216bis 6.2.5.2's Advance Part Limit: 3 / PART-TARGET parts below a 1 s part target, 3 otherwise. */
export function advancePartLimit(partTarget: number): number {
  return partTarget < 1 ? Math.floor(3 / partTarget) : 3;
}

/**
 * Why the origin would certainly refuse the request with a 400, judged from an edge seen `ageMs` ago; undefined when
 * it might accept it (then it is the origin's to decide). The origin refuses an msn more than 2 past its last
 * segment and a part more than the Advance Part Limit past its newest part; since the edge was seen, the origin may
 * have gone on by one segment per target duration and one part per part target (plus one of each for a part being
 * appended as the edge was read), so only what lies beyond that too is refused here.
 */
export function tooFarAhead(d: Directives, edge: LiveEdge, ageMs: number): string | undefined {
  if (d.msn === undefined || edge.ended) return undefined;
  const elapsedS = Math.max(0, ageMs) / 1000 + edge.partTarget;
  const segmentsSince = Math.ceil(elapsedS / edge.targetDuration);
  const partsSince = Math.ceil(elapsedS / edge.partTarget);
  if (d.msn > edge.lastMsn + 2 + segmentsSince) {
    return `_HLS_msn ${d.msn} is beyond the last segment ${edge.lastMsn} + 2`;
  }
  if (d.part === undefined) return undefined;
  const newest = edge.newest ?? { msn: edge.lastMsn, part: -1 };
  // The parts between the newest one and the one asked for, at least: within the newest part's segment, the
  // difference of their indices; in a later segment, the parts of that segment up to the one asked for.
  const ahead = d.msn === newest.msn ? d.part - newest.part : d.msn > newest.msn ? d.part + 1 : 0;
  if (ahead - partsSince > advancePartLimit(edge.partTarget)) {
    return `_HLS_part ${d.part} is beyond the advance part limit`;
  }
  return undefined;
}

/** Whether `a` is further on than `than`: their newest parts, then their complete segments, then the end. */
export function isNewer(a: LiveEdge, than: LiveEdge): boolean {
  const pa = a.newest ?? { msn: -1, part: -1 };
  const pb = than.newest ?? { msn: -1, part: -1 };
  if (pa.msn !== pb.msn) return pa.msn > pb.msn;
  if (pa.part !== pb.part) return pa.part > pb.part;
  return a.lastComplete > than.lastComplete || (a.ended && !than.ended);
}

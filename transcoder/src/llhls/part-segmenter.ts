// Fragments -> LL-HLS parts -> segments, as pure functions over an immutable timeline. Each fMP4 fragment is one
// part (INDEPENDENT when it starts with a sync sample). A new segment starts at an independent part once the open
// segment has reached its slot on a fixed grid of targetDuration seconds of media time, so renditions cut from the
// same timestamps (every rung of one ffmpeg) get the same media sequence numbers for the same instants, and an
// audio rendition whose parts do not divide the target (AAC frames of 1024 samples) does not drift away from the
// video: its segment boundaries stay within half a part of the grid. The last windowSegments complete segments are
// kept; what falls out is returned so that the caller can delete it. Bytes are not held here: the caller stores
// each part under its URI (and a segment is its parts' bytes, concatenated).

export interface PartNames {
  segment(msn: number): string;
  part(msn: number, index: number): string;
}

const namePrefixPattern = /^[A-Za-z0-9-]{1,64}$/;

/** `<prefix>_00012.m4s` for segment 12 and `<prefix>_00012.3.m4s` for its part 3 (names the origin serves). */
export function partNames(prefix: string): PartNames {
  if (!namePrefixPattern.test(prefix)) throw new Error(`invalid LL-HLS name prefix ${JSON.stringify(prefix)}`);
  const seq = (msn: number): string => String(msn).padStart(5, '0');
  return {
    segment: (msn) => `${prefix}_${seq(msn)}.m4s`,
    part: (msn, index) => `${prefix}_${seq(msn)}.${index}.m4s`,
  };
}

export interface SegmenterOptions {
  targetDuration: number; // seconds: the segment grid (and EXT-X-TARGETDURATION)
  partTarget: number; // seconds: PART-TARGET, which no part may exceed
  windowSegments: number; // complete segments kept in the playlist
  names: PartNames;
  // The writer forces a keyframe on every grid line (an encoded rung): a segment is closed as soon as its parts
  // reach the line, so the playlist lists it complete and hints part 0 of the next one without waiting for that
  // part. Otherwise (a copied rung, whose keyframes may fall anywhere) a segment closes when the next keyframe
  // arrives. Audio (every part independent) closes at the line either way.
  keyframesOnGrid?: boolean;
}

export interface PartInput {
  startTime: number; // seconds of media time
  duration: number; // seconds
  independent: boolean;
  byteLength: number;
}

export interface LlPart {
  msn: number;
  index: number; // Part Index within its segment, from 0
  uri: string;
  duration: number;
  independent: boolean;
  byteLength: number;
}

export interface LlSegment {
  msn: number;
  uri: string;
  startTime: number;
  duration: number; // the sum of its parts (EXTINF)
  programDateTime: number; // epoch ms of its first sample
  parts: readonly LlPart[];
  discontinuity: boolean; // after a restart of the writer (new timestamps, a new init segment)
  mapUri: string; // the init segment (EXT-X-MAP) its parts need
}

export interface Timeline {
  segments: readonly LlSegment[]; // complete, oldest first
  open: LlSegment | undefined; // the segment being written, with its parts so far
  nextMsn: number;
  discontinuitySequence: number; // EXT-X-DISCONTINUITY-SEQUENCE of segments[0]
  mapUri: string;
  discontinuityPending: boolean;
  // Media time to wall clock, set by the first part after a (re)start.
  anchor: { mediaTime: number; wallMs: number } | undefined;
}

export function emptyTimeline(mapUri: string, firstMsn = 0): Timeline {
  return {
    segments: [],
    open: undefined,
    nextMsn: firstMsn,
    discontinuitySequence: 0,
    mapUri,
    discontinuityPending: false,
    anchor: undefined,
  };
}

export interface AppendResult {
  timeline: Timeline;
  part: LlPart;
  completed: LlSegment | undefined; // the segment this part closed
  evicted: LlSegment[]; // segments that left the window
}

/** The timeline with one more part; `receivedAtMs` is the wall clock when its last byte arrived. */
export function appendPart(
  tl: Timeline,
  options: SegmenterOptions,
  input: PartInput,
  receivedAtMs: number,
): AppendResult {
  if (!(input.duration > 0)) throw new Error(`LL-HLS part of ${input.duration} s`);
  // The playlist's PART-TARGET is fixed; a longer part would make Apple's players reject it (the writer's
  // -frag_duration is chosen so this never happens: fmp4-output-args.ts).
  if (input.duration > options.partTarget + 1e-6) {
    throw new Error(`LL-HLS part of ${input.duration} s exceeds PART-TARGET ${options.partTarget} s`);
  }
  const anchor = tl.anchor ?? { mediaTime: input.startTime, wallMs: receivedAtMs - input.duration * 1000 };
  let completed: LlSegment | undefined;
  let open = tl.open;
  if (open !== undefined && input.independent && input.startTime >= nextBoundary(open.startTime, options)) {
    completed = open;
    open = undefined;
  }
  let nextMsn = tl.nextMsn;
  let discontinuityPending = tl.discontinuityPending;
  if (open === undefined) {
    open = {
      msn: nextMsn,
      uri: options.names.segment(nextMsn),
      startTime: input.startTime,
      duration: 0,
      programDateTime: Math.round(anchor.wallMs + (input.startTime - anchor.mediaTime) * 1000),
      parts: [],
      discontinuity: discontinuityPending,
      mapUri: tl.mapUri,
    };
    nextMsn += 1;
    discontinuityPending = false;
  }
  const part: LlPart = {
    msn: open.msn,
    index: open.parts.length,
    uri: options.names.part(open.msn, open.parts.length),
    duration: input.duration,
    independent: input.independent,
    byteLength: input.byteLength,
  };
  open = { ...open, parts: [...open.parts, part], duration: open.duration + input.duration };
  if (completed === undefined && closesAtGridLine(open, options)) {
    completed = open;
    open = undefined;
  }
  const closed = completed === undefined ? undefined : keep(tl, completed, options.windowSegments);
  return {
    timeline: {
      ...tl,
      ...(closed && { segments: closed.segments, discontinuitySequence: closed.discontinuitySequence }),
      open,
      nextMsn,
      discontinuityPending,
      anchor,
    },
    part,
    completed,
    evicted: closed?.evicted ?? [],
  };
}

// Audio: where the next part would start a segment anyway. Forced keyframes: only on the line itself (the part
// before a keyframe can be short: 0.08 s after four 0.48 s parts of 25 fps).
function closesAtGridLine(open: LlSegment, options: SegmenterOptions): boolean {
  const end = open.startTime + open.duration;
  const boundary = nextBoundary(open.startTime, options);
  if (open.parts.every((p) => p.independent)) return end >= boundary;
  return options.keyframesOnGrid === true && end >= boundary + options.partTarget / 2 - 1e-3;
}

// Where the open segment may end: the next grid line after its start, less half a part (a part starting that
// close to the line is as near to it as the rendition's parts allow). A start just before a line counts as on it.
function nextBoundary(segmentStart: number, options: Pick<SegmenterOptions, 'targetDuration' | 'partTarget'>): number {
  const slack = options.partTarget / 2;
  const target = options.targetDuration;
  return (Math.floor((segmentStart + slack) / target) + 1) * target - slack;
}

function keep(tl: Timeline, completed: LlSegment, windowSegments: number) {
  const all = [...tl.segments, completed];
  const evicted = all.splice(0, Math.max(0, all.length - windowSegments));
  // A discontinuity tag that leaves the playlist moves into EXT-X-DISCONTINUITY-SEQUENCE.
  const removedTags = evicted.filter((s) => s.discontinuity).length;
  return { segments: all, evicted, discontinuitySequence: tl.discontinuitySequence + removedTags };
}

export interface CloseResult {
  timeline: Timeline;
  completed: LlSegment | undefined;
  evicted: LlSegment[];
}

/** The open segment closed as it is: the writer stopped (end of stream, or before a restart). */
export function closeOpenSegment(tl: Timeline, windowSegments: number): CloseResult {
  if (tl.open === undefined) return { timeline: tl, completed: undefined, evicted: [] };
  const closed = keep(tl, tl.open, windowSegments);
  return {
    timeline: {
      ...tl,
      segments: closed.segments,
      discontinuitySequence: closed.discontinuitySequence,
      open: undefined,
    },
    completed: tl.open,
    evicted: closed.evicted,
  };
}

/**
 * The writer restarted (ffmpeg again after a publisher's return): the open segment is closed, the next one is marked
 * as a discontinuity with the new init segment, and media time is mapped to the wall clock anew.
 */
export function restartTimeline(tl: Timeline, windowSegments: number, mapUri: string): CloseResult {
  const closed = closeOpenSegment(tl, windowSegments);
  const started = closed.timeline.segments.length > 0;
  return {
    ...closed,
    timeline: { ...closed.timeline, mapUri, discontinuityPending: started, anchor: undefined },
  };
}

export interface PartPosition {
  msn: number;
  part: number;
}

/** The newest part: what EXT-X-RENDITION-REPORT announces (LAST-MSN, LAST-PART). */
export function lastPart(tl: Timeline): PartPosition | undefined {
  const segment = tl.open ?? tl.segments.at(-1);
  const part = segment?.parts.at(-1);
  return segment && part ? { msn: segment.msn, part: part.index } : undefined;
}

/**
 * The part that comes next, as EXT-X-PRELOAD-HINT names it: the next index of the open segment, or part 0 of the next
 * segment when none is open (a segment that reached its grid line is closed at once where the next part will start
 * a segment: keyframesOnGrid, or audio). When a copied rung's keyframe starts a segment instead, the hinted part is
 * never written (RFC 8216bis 6.2.6 allows that; a blocked request for it is answered by part 0 of the next segment).
 */
export function nextPartPosition(tl: Timeline): PartPosition {
  return tl.open === undefined ? { msn: tl.nextMsn, part: 0 } : { msn: tl.open.msn, part: tl.open.parts.length };
}

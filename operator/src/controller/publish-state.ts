// Pure: what the operator has observed of one LiveStream's publishing, folded from the transcoder's reports by a
// table of reducers, one per report type. Reports may arrive late, twice or out of order; each carries (ts, seq) from
// its transcoder process, and a report not newer than the last one applied does not move the state (it can still add
// an ended session to the history). Relay and recording reports come from other processes (own seq counters) and are
// ordered by their own content.
import type { LiveStreamStatus, SessionSummary } from '../../../contract/src/api/index.ts';
import type {
  AnyEvent,
  EventType,
  HeartbeatData,
  RelayStateData,
  StreamState,
  TranscoderEvent,
} from '../../../contract/src/reports.ts';
import { rfc3339 } from '../../../contract/src/time.ts';

export interface RecordingObservation {
  session: string;
  uploaded: number;
  pending: number;
  dropped: number;
  /** Last upload failure (ms epoch) and its message; cleared by a later progress report. */
  failedAt?: number;
  lastError?: string;
  lastProgressAt: number;
}

/** The live figures, as the heartbeat carries them. */
export type PublishFigures = Pick<HeartbeatData, 'bitrateKbps' | 'fps' | 'width' | 'height' | 'viewers' | 'bytesIn'>;

/** ffmpeg failures of the session, as the transcoder counts them (`restarts` of its ffmpeg-failed reports). */
export interface FfmpegFailures {
  failures: number;
  /** ts of the newest ffmpeg-failed report */
  lastAt: number;
  /** how ffmpeg exited and its last stderr lines (scrubbed by the writer) */
  message: string;
}

export interface PublishObservation {
  /** The transcoder's own view at its last report. */
  state: StreamState;
  session: string;
  sessionStartedAt?: number;
  /** When the publisher left (start of the reconnect window), and the window's length. */
  publishEndedAt?: number;
  reconnectWindowSeconds?: number;
  /** Time of the newest report applied (any type): the transcoder is alive at least until then. */
  lastReportAt: number;
  lastSeq: number;
  figures: PublishFigures;
  peakViewers: number;
  /** ffmpeg failures in the current session (kept after it ends, reset when a new session starts). */
  ffmpeg?: FfmpegFailures;
  /** Segments written by rendition at the current session's last heartbeat (absent until a baseline is known). */
  segments?: Record<string, number>;
  /** ts of the newest heartbeat whose segment counts grew: HLS is being produced. Cleared when the session ends. */
  segmentsGrewAt?: number;
  /** The settings fingerprint the current session runs with (publish-started, heartbeat). Cleared when it ends. */
  ladder?: string;
  /** Why the top rung is encoded though passthrough is on, for the current source (publish-started, heartbeat). */
  passthroughRefused?: string;
  /** Sessions that ended, newest first, bounded; merged into status.sessions. */
  ended: SessionSummary[];
  /** Count of refused publishes by reason, since the operator started watching. */
  refused: Record<string, number>;
  /** Each relay's last reported state, by relay name (relay reports carry no session). */
  relays: Record<string, RelayStateData>;
  recording?: RecordingObservation;
}

/** What an applied report means for events and metrics (transitions only). */
export type PublishTransition =
  | { kind: 'started'; session: string }
  | { kind: 'ended'; summary: SessionSummary }
  | { kind: 'refused'; reason: string }
  | { kind: 'ffmpeg-failed'; message: string }
  | { kind: 'relay'; name: string; from: string | undefined; to: string; lastError?: string }
  | { kind: 'none' };

export interface PublishStep {
  obs: PublishObservation;
  transition: PublishTransition;
}

type Reducer<K extends EventType> = (obs: PublishObservation, ev: TranscoderEvent<K>) => PublishStep;

export const maxSessionHistory = 20;

/** endReason of a session closed because its transcoder fell silent (killed: kill -9, OOM, node loss). */
export const transcoderLostReason = 'TranscoderLost';

const zeroFigures: PublishFigures = { bitrateKbps: 0, fps: 0, width: 0, height: 0, viewers: 0, bytesIn: 0 };
const none: PublishTransition = { kind: 'none' };

const emptyObservation = (): PublishObservation => ({
  state: 'idle',
  session: '',
  lastReportAt: 0,
  lastSeq: 0,
  figures: { ...zeroFigures },
  peakViewers: 0,
  ended: [],
  refused: {},
  relays: {},
});

const unchanged = (obs: PublishObservation): PublishStep => ({ obs, transition: none });

function isNewer(ev: TranscoderEvent, obs: PublishObservation): boolean {
  return ev.ts > obs.lastReportAt || (ev.ts === obs.lastReportAt && ev.seq > obs.lastSeq);
}

const advanced = (obs: PublishObservation, ev: TranscoderEvent): PublishObservation => ({
  ...obs,
  lastReportAt: ev.ts,
  lastSeq: ev.seq,
});

/** For reports that move the transcoder's state: one not newer than the last applied (late, a repeat) is ignored. */
const inOrder =
  <K extends EventType>(reduce: Reducer<K>): Reducer<K> =>
  (obs, ev) =>
    isNewer(ev, obs) ? reduce(advanced(obs, ev), ev) : unchanged(obs);

/** What describes one session, dropped when it ends (`keep` names what outlives it). */
function withoutSession(obs: PublishObservation, keep: { ffmpeg: boolean }): PublishObservation {
  const {
    sessionStartedAt: _s,
    publishEndedAt: _p,
    segments: _g,
    segmentsGrewAt: _a,
    ladder: _l,
    passthroughRefused: _r,
    ffmpeg,
    ...rest
  } = obs;
  return {
    ...rest,
    ...(keep.ffmpeg && ffmpeg ? { ffmpeg } : {}),
    session: '',
    figures: { ...zeroFigures },
    peakViewers: 0,
  };
}

/** A new session: nothing of the previous one carries over. `baseline` when its segment counts start at zero. */
function openSession(obs: PublishObservation, ev: TranscoderEvent, baseline: boolean): PublishObservation {
  return {
    ...withoutSession(obs, { ffmpeg: false }),
    session: ev.session,
    sessionStartedAt: ev.ts,
    ...(baseline ? { segments: {} } : {}),
  };
}

function withEnded(list: readonly SessionSummary[], summary: SessionSummary): SessionSummary[] {
  if (list.some((s) => s.id === summary.id)) return [...list];
  return [summary, ...list]
    .sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''))
    .slice(0, maxSessionHistory);
}

/** Closes the current session into the history; a session already there (by id) is not announced again. */
function endSession(obs: PublishObservation, summary: SessionSummary): PublishStep {
  const known = obs.ended.some((s) => s.id === summary.id);
  return {
    obs: { ...withoutSession(obs, { ffmpeg: true }), state: 'idle', ended: withEnded(obs.ended, summary) },
    transition: known ? none : { kind: 'ended', summary },
  };
}

/** The summary of a session whose transcoder stopped reporting it without a session-ended: it was killed. */
function lostSummary(obs: PublishObservation): SessionSummary {
  const startedAt = obs.sessionStartedAt ?? obs.lastReportAt;
  return {
    id: obs.session,
    startedAt: rfc3339(startedAt),
    endedAt: rfc3339(obs.lastReportAt),
    durationSeconds: Math.round((obs.lastReportAt - startedAt) / 1000),
    peakViewers: obs.peakViewers,
    bytesIn: obs.figures.bytesIn,
    endReason: transcoderLostReason,
  };
}

const isOpen = (obs: PublishObservation): boolean =>
  obs.session !== '' && (obs.state === 'live' || obs.state === 'reconnecting');

/**
 * A transcoder that reports no session, or another one, while ours is open was restarted (kill -9, OOM: the container
 * came back within the heartbeat TTL): the open session ended with the old process, though no session-ended says so.
 * It is closed as lost before the report applies; the report's own transition wins when it has one.
 */
const closingAbandoned =
  <K extends 'heartbeat' | 'publish-started'>(reduce: Reducer<K>): Reducer<K> =>
  (obs, ev) => {
    const reportsNone = 'state' in ev.data && ev.data.state === 'idle';
    if (!isNewer(ev, obs) || !isOpen(obs) || (!reportsNone && ev.session === obs.session)) return reduce(obs, ev);
    const closed = endSession(obs, lostSummary(obs));
    const step = reduce(closed.obs, ev);
    return step.transition.kind === 'none' ? { obs: step.obs, transition: closed.transition } : step;
  };

const segmentsGrew = (before: Record<string, number> | undefined, now: Record<string, number>): boolean =>
  before !== undefined && Object.entries(now).some(([name, n]) => n > (before[name] ?? 0));

/** The refusal a report says holds now; a report that knows the source and names none clears it. */
function withRefusal(obs: PublishObservation, refused: string | undefined, knowsSource: boolean): PublishObservation {
  if (refused !== undefined) return { ...obs, passthroughRefused: refused };
  if (!knowsSource) return obs;
  const { passthroughRefused: _r, ...rest } = obs;
  return rest;
}

const publishStarted: Reducer<'publish-started'> = (obs, ev) => {
  const d = ev.data;
  const newSession = ev.session !== obs.session;
  const opened = newSession ? openSession(obs, ev, true) : { ...obs, sessionStartedAt: obs.sessionStartedAt ?? ev.ts };
  // A publish reported before its source was known says nothing of passthrough.
  const { publishEndedAt: _ended, ...next } = withRefusal(opened, d.passthroughRefused, d.videoCodec !== undefined);
  return {
    obs: {
      ...next,
      state: 'live',
      figures: {
        ...opened.figures,
        width: d.width ?? opened.figures.width,
        height: d.height ?? opened.figures.height,
        fps: d.fps ?? opened.figures.fps,
      },
      ...(d.ladder ? { ladder: d.ladder } : {}),
    },
    transition: newSession && !d.resumed ? { kind: 'started', session: ev.session } : none,
  };
};

const publishEnded: Reducer<'publish-ended'> = (obs, ev) =>
  unchanged({
    ...obs,
    state: 'reconnecting',
    publishEndedAt: ev.ts,
    reconnectWindowSeconds: ev.data.reconnectWindowSeconds,
    figures: { ...obs.figures, bitrateKbps: 0, fps: 0, bytesIn: ev.data.bytesIn },
  });

const heartbeat: Reducer<'heartbeat'> = (obs, ev) => {
  const d = ev.data;
  if (d.state === 'idle') {
    return unchanged({
      ...withoutSession(obs, { ffmpeg: true }),
      state: 'idle',
      figures: { ...zeroFigures, viewers: d.viewers },
    });
  }
  // A session first seen by its heartbeat (its publish-started was read by an earlier replica): no baseline yet.
  const opened = ev.session && ev.session !== obs.session ? openSession(obs, ev, false) : obs;
  const current = withRefusal(opened, d.passthroughRefused, true);
  const { bitrateKbps, fps, width, height, viewers, bytesIn } = d;
  return unchanged({
    ...current,
    state: d.state,
    figures: { bitrateKbps, fps, width, height, viewers, bytesIn },
    peakViewers: Math.max(current.peakViewers, viewers),
    segments: { ...d.segments },
    ...(segmentsGrew(current.segments, d.segments) ? { segmentsGrewAt: ev.ts } : {}),
    ...(d.ladder ? { ladder: d.ladder } : {}),
  });
};

const ffmpegFailed: Reducer<'ffmpeg-failed'> = (obs, ev) => {
  const d = ev.data;
  const exit = `ffmpeg exited (${d.signal ?? `code ${d.exitCode}`})`;
  const ffmpeg: FfmpegFailures = {
    failures: d.restarts,
    lastAt: ev.ts,
    message: d.message ? `${exit}: ${d.message}` : exit,
  };
  return { obs: { ...obs, ffmpeg }, transition: { kind: 'ffmpeg-failed', message: `${exit}, restart ${d.restarts}` } };
};

// A late session-ended still belongs in the history, whatever the order.
const sessionEnded: Reducer<'session-ended'> = (obs, ev) => {
  const d = ev.data;
  const summary: SessionSummary = {
    id: ev.session,
    startedAt: rfc3339(ev.ts - d.duration * 1000),
    endedAt: rfc3339(ev.ts),
    durationSeconds: Math.round(d.duration),
    peakViewers: d.peakViewers,
    bytesIn: d.bytesIn,
    endReason: d.reason,
  };
  // A late one still ends the current session when it names it: a session that ended cannot go on.
  if (!isNewer(ev, obs) && ev.session !== obs.session)
    return unchanged({ ...obs, ended: withEnded(obs.ended, summary) });
  return endSession(isNewer(ev, obs) ? advanced(obs, ev) : obs, summary);
};

const publishRefused: Reducer<'publish-refused'> = (obs, ev) => {
  const reason = ev.data.reason;
  const refused = { ...obs.refused, [reason]: (obs.refused[reason] ?? 0) + 1 };
  return { obs: { ...(isNewer(ev, obs) ? advanced(obs, ev) : obs), refused }, transition: { kind: 'refused', reason } };
};

/** A relay's report older than what we hold for it (by its own since-time) does not move it back. */
const isCurrentRelay = (relays: Record<string, RelayStateData>, r: RelayStateData): boolean =>
  !(relays[r.name] && relays[r.name]!.since > r.since);

const relayState: Reducer<'relay-state'> = (obs, ev) => {
  const r = ev.data;
  const before = obs.relays[r.name];
  if (!isCurrentRelay(obs.relays, r)) return unchanged(obs);
  const next = { ...obs, relays: { ...obs.relays, [r.name]: r } };
  if (before?.state === r.state) return unchanged(next);
  const lastError = r.lastError ? { lastError: r.lastError } : {};
  return { obs: next, transition: { kind: 'relay', name: r.name, from: before?.state, to: r.state, ...lastError } };
};

// The heartbeat lists every configured relay: one missing from it was removed from the spec.
const relayHeartbeat: Reducer<'relay-heartbeat'> = (obs, ev) => {
  const relays: Record<string, RelayStateData> = {};
  for (const r of ev.data.relays) {
    const before = obs.relays[r.name];
    relays[r.name] = before && !isCurrentRelay(obs.relays, r) ? before : r;
  }
  return unchanged({ ...obs, relays });
};

/** A recording report older than the last one of the same session changes nothing. */
const isStaleRecording = (obs: PublishObservation, ev: TranscoderEvent): boolean =>
  obs.recording !== undefined && ev.ts < obs.recording.lastProgressAt && obs.recording.session === ev.session;

const recordingProgress: Reducer<'recording-progress'> = (obs, ev) => {
  if (isStaleRecording(obs, ev)) return unchanged(obs);
  const { uploaded, pending, dropped } = ev.data;
  return unchanged({ ...obs, recording: { session: ev.session, uploaded, pending, dropped, lastProgressAt: ev.ts } });
};

const recordingFailed: Reducer<'recording-failed'> = (obs, ev) => {
  if (isStaleRecording(obs, ev)) return unchanged(obs);
  const before = obs.recording;
  const recording: RecordingObservation = {
    session: ev.session || (before?.session ?? ''),
    uploaded: before?.uploaded ?? 0,
    pending: ev.data.pending,
    dropped: ev.data.dropped,
    failedAt: ev.ts,
    lastError: ev.data.message,
    lastProgressAt: ev.ts,
  };
  return unchanged({ ...obs, recording });
};

/** One reducer per report type: each a pure function of the observation and one report. */
export const reducers: { [K in EventType]: Reducer<K> } = {
  'publish-started': closingAbandoned(inOrder(publishStarted)),
  'publish-ended': inOrder(publishEnded),
  'session-ended': sessionEnded,
  'publish-refused': publishRefused,
  'ffmpeg-failed': inOrder(ffmpegFailed),
  heartbeat: closingAbandoned(inOrder(heartbeat)),
  'relay-state': relayState,
  'relay-heartbeat': relayHeartbeat,
  'recording-progress': recordingProgress,
  'recording-failed': recordingFailed,
};

// Generic over the type so that the table's entry and the report are known to match.
const reduce = <K extends EventType>(obs: PublishObservation, ev: TranscoderEvent<K>): PublishStep =>
  reducers[ev.type](obs, ev);

export function applyReport(prev: PublishObservation | undefined, ev: AnyEvent): PublishStep {
  return reduce(prev ?? emptyObservation(), ev);
}

/**
 * Closes a session whose transcoder has been silent for longer than `ttlMs` while it was open (live or
 * reconnecting): it was killed (kill -9, OOM, node loss) and no session-ended will come. The session ends as if that
 * report had arrived with the last one, with endReason TranscoderLost; a real session-ended arriving later for the
 * same id adds nothing (the history is deduplicated by id).
 */
export function expireSession(obs: PublishObservation, nowMs: number, ttlMs: number): PublishStep {
  if (!isOpen(obs) || nowMs - obs.lastReportAt <= ttlMs) return unchanged(obs);
  return endSession(obs, lostSummary(obs));
}

/**
 * What a new leader knows of a session its predecessor wrote into status and whose reports were all acknowledged:
 * open, alive as of `nowMs` (the first look). Reports that follow continue it; if none comes within the heartbeat
 * TTL (`ttlMs`), expireSession closes it as lost. Undefined when status shows no open session.
 */
export function observationFromStatus(
  status: LiveStreamStatus | undefined,
  nowMs: number,
  ttlMs: number,
): PublishObservation | undefined {
  const session = status?.session;
  if (!session?.id || (status?.state !== 'Live' && status?.state !== 'Reconnecting')) return undefined;
  const startedAt = session.startedAt ? Date.parse(session.startedAt) : nowMs;
  return {
    ...emptyObservation(),
    state: status.state === 'Live' ? 'live' : 'reconnecting',
    // A window of unknown length: kept open for the TTL, so it is closed as lost, not dropped as idle.
    ...(status.state === 'Reconnecting' && { publishEndedAt: nowMs, reconnectWindowSeconds: ttlMs / 1000 }),
    session: session.id,
    sessionStartedAt: Number.isFinite(startedAt) ? startedAt : nowMs,
    lastReportAt: nowMs,
    figures: { ...zeroFigures, viewers: session.viewers ?? 0, bytesIn: session.bytesIn ?? 0 },
    peakViewers: session.viewers ?? 0,
  };
}

export type PublishPhase =
  | { phase: 'unobserved' }
  | { phase: 'stale'; lastReportAgeSeconds: number }
  | { phase: 'idle' }
  | { phase: 'live' }
  | { phase: 'reconnecting'; windowEndsAt: number };

/**
 * The phase at `now`. A transcoder that has not reported for `ttlMs` is not trusted, whatever it said last: it may
 * have been killed. A reconnect window that has run out is idle even before the session-ended report arrives.
 */
export function publishPhase(obs: PublishObservation | undefined, now: number, ttlMs: number): PublishPhase {
  if (!obs) return { phase: 'unobserved' };
  if (now - obs.lastReportAt > ttlMs)
    return { phase: 'stale', lastReportAgeSeconds: Math.round((now - obs.lastReportAt) / 1000) };
  if (obs.state === 'live') return { phase: 'live' };
  if (obs.state === 'reconnecting') {
    const windowEndsAt = (obs.publishEndedAt ?? obs.lastReportAt) + (obs.reconnectWindowSeconds ?? 0) * 1000;
    return now < windowEndsAt ? { phase: 'reconnecting', windowEndsAt } : { phase: 'idle' };
  }
  return { phase: 'idle' };
}

/**
 * The observation of each LiveStream as a report source (the Redis consumer, the report poller) has folded it: one
 * store, so expiry and seeding behave the same whichever transport the reports came through.
 */
export class PublishObservations extends Map<string, PublishObservation> {
  /** Closes the open session of `key` if its transcoder has been silent for longer than `ttlMs` (expireSession). */
  expire(key: string, nowMs: number, ttlMs: number): PublishTransition {
    const obs = this.get(key);
    if (!obs) return { kind: 'none' };
    const step = expireSession(obs, nowMs, ttlMs);
    this.set(key, step.obs);
    return step.transition;
  }

  /** Starts the observation of `key` from what status showed, unless reports have already been folded for it. */
  seed(key: string, obs: PublishObservation): void {
    if (!this.has(key)) this.set(key, obs);
  }
}

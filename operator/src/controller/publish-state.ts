// Pure: what the operator has observed of one LiveStream's publishing, folded from the transcoder's reports.
// Reports may arrive late, twice or out of order; each carries (ts, seq) from its transcoder process, and a report
// not newer than the last one applied does not move the state (it can still add an ended session to the history).
import type { SessionSummary } from '../../../contract/src/api/index.ts';
import type { HeartbeatData, RelayStateData, StreamState, TranscoderEvent } from '../../../contract/src/reports.ts';

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

export const maxSessionHistory = 20;

const zeroFigures: PublishFigures = { bitrateKbps: 0, fps: 0, width: 0, height: 0, viewers: 0, bytesIn: 0 };

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function isNewer(ev: TranscoderEvent, obs: PublishObservation | undefined): boolean {
  if (!obs) return true;
  return ev.ts > obs.lastReportAt || (ev.ts === obs.lastReportAt && ev.seq > obs.lastSeq);
}

function withEnded(list: readonly SessionSummary[], summary: SessionSummary): SessionSummary[] {
  if (list.some((s) => s.id === summary.id)) return [...list];
  return [summary, ...list]
    .sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''))
    .slice(0, maxSessionHistory);
}

export function applyReport(
  prev: PublishObservation | undefined,
  ev: TranscoderEvent,
): { obs: PublishObservation; transition: PublishTransition } {
  const base: PublishObservation = prev ?? {
    state: 'idle',
    session: '',
    lastReportAt: 0,
    lastSeq: 0,
    figures: { ...zeroFigures },
    peakViewers: 0,
    ended: [],
    refused: {},
    relays: {},
  };
  // Relay and recording reports come from other processes (own seq counters): fold them by their own content.
  if (ev.type === 'relay-state' || ev.type === 'relay-heartbeat') return applyRelayReport(base, ev);
  if (ev.type === 'recording-progress' || ev.type === 'recording-failed') return applyRecordingReport(base, ev);
  // A late session-ended still belongs in the history, whatever the order.
  if (ev.type === 'session-ended' && ev.session) {
    const d = (ev as TranscoderEvent<'session-ended'>).data;
    const summary: SessionSummary = {
      id: ev.session,
      startedAt: iso(ev.ts - d.duration * 1000),
      endedAt: iso(ev.ts),
      durationSeconds: Math.round(d.duration),
      peakViewers: d.peakViewers,
      bytesIn: d.bytesIn,
      endReason: d.reason,
    };
    const known = base.ended.some((s) => s.id === ev.session);
    const ended = withEnded(base.ended, summary);
    if (!isNewer(ev, prev)) return { obs: { ...base, ended }, transition: { kind: 'none' } };
    const obs: PublishObservation = {
      ...base,
      ended,
      state: 'idle',
      session: '',
      figures: { ...zeroFigures },
      peakViewers: 0,
      lastReportAt: ev.ts,
      lastSeq: ev.seq,
    };
    delete obs.sessionStartedAt;
    delete obs.publishEndedAt;
    return { obs, transition: known ? { kind: 'none' } : { kind: 'ended', summary } };
  }
  if (ev.type === 'publish-refused') {
    const reason = (ev as TranscoderEvent<'publish-refused'>).data.reason;
    const refused = { ...base.refused, [reason]: (base.refused[reason] ?? 0) + 1 };
    const obs = isNewer(ev, prev) ? { ...base, refused, lastReportAt: ev.ts, lastSeq: ev.seq } : { ...base, refused };
    return { obs, transition: { kind: 'refused', reason } };
  }
  if (!isNewer(ev, prev)) return { obs: base, transition: { kind: 'none' } };
  const next: PublishObservation = { ...base, lastReportAt: ev.ts, lastSeq: ev.seq };

  switch (ev.type) {
    case 'publish-started': {
      const d = (ev as TranscoderEvent<'publish-started'>).data;
      const newSession = ev.session !== base.session;
      next.state = 'live';
      next.session = ev.session;
      if (newSession || next.sessionStartedAt === undefined) next.sessionStartedAt = ev.ts;
      delete next.publishEndedAt;
      next.figures = {
        ...(newSession ? zeroFigures : base.figures),
        width: d.width ?? base.figures.width,
        height: d.height ?? base.figures.height,
        fps: d.fps ?? base.figures.fps,
      };
      if (newSession) next.peakViewers = 0;
      return {
        obs: next,
        transition: newSession && !d.resumed ? { kind: 'started', session: ev.session } : { kind: 'none' },
      };
    }
    case 'publish-ended': {
      const d = (ev as TranscoderEvent<'publish-ended'>).data;
      next.state = 'reconnecting';
      next.publishEndedAt = ev.ts;
      next.reconnectWindowSeconds = d.reconnectWindowSeconds;
      next.figures = { ...base.figures, bitrateKbps: 0, fps: 0, bytesIn: d.bytesIn };
      return { obs: next, transition: { kind: 'none' } };
    }
    case 'heartbeat': {
      const d = (ev as TranscoderEvent<'heartbeat'>).data;
      next.state = d.state;
      if (d.state === 'idle') {
        next.session = '';
        next.figures = { ...zeroFigures, viewers: d.viewers };
        delete next.sessionStartedAt;
        delete next.publishEndedAt;
      } else {
        if (ev.session && ev.session !== base.session) {
          next.session = ev.session;
          next.sessionStartedAt = ev.ts;
        }
        next.figures = {
          bitrateKbps: d.bitrateKbps,
          fps: d.fps,
          width: d.width,
          height: d.height,
          viewers: d.viewers,
          bytesIn: d.bytesIn,
        };
        next.peakViewers = Math.max(base.peakViewers, d.viewers);
      }
      return { obs: next, transition: { kind: 'none' } };
    }
    case 'ffmpeg-failed': {
      const d = (ev as TranscoderEvent<'ffmpeg-failed'>).data;
      return {
        obs: next,
        transition: {
          kind: 'ffmpeg-failed',
          message: `ffmpeg exited (${d.signal ?? `code ${d.exitCode}`}), restart ${d.restarts}`,
        },
      };
    }
    default:
      return { obs: next, transition: { kind: 'none' } };
  }
}

function applyRelayReport(
  base: PublishObservation,
  ev: TranscoderEvent,
): { obs: PublishObservation; transition: PublishTransition } {
  const reported =
    ev.type === 'relay-state'
      ? [(ev as TranscoderEvent<'relay-state'>).data]
      : (ev as TranscoderEvent<'relay-heartbeat'>).data.relays;
  const relays = { ...base.relays };
  let transition: PublishTransition = { kind: 'none' };
  for (const r of reported) {
    const before = relays[r.name];
    // A report older than what we hold for this relay (by its own since-time) does not move it back.
    if (before && before.since > r.since) continue;
    relays[r.name] = r;
    if (before?.state !== r.state && ev.type === 'relay-state') {
      transition = {
        kind: 'relay',
        name: r.name,
        from: before?.state,
        to: r.state,
        ...(r.lastError ? { lastError: r.lastError } : {}),
      };
    }
  }
  if (ev.type === 'relay-heartbeat') {
    // The heartbeat lists every configured relay: one missing from it was removed from the spec.
    const names = new Set(reported.map((r) => r.name));
    for (const name of Object.keys(relays)) if (!names.has(name)) delete relays[name];
  }
  return { obs: { ...base, relays }, transition };
}

function applyRecordingReport(
  base: PublishObservation,
  ev: TranscoderEvent,
): { obs: PublishObservation; transition: PublishTransition } {
  const before = base.recording;
  if (before && ev.ts < before.lastProgressAt && before.session === ev.session)
    return { obs: base, transition: { kind: 'none' } };
  if (ev.type === 'recording-progress') {
    const d = (ev as TranscoderEvent<'recording-progress'>).data;
    const recording: RecordingObservation = {
      session: ev.session,
      uploaded: d.uploaded,
      pending: d.pending,
      dropped: d.dropped,
      lastProgressAt: ev.ts,
    };
    return { obs: { ...base, recording }, transition: { kind: 'none' } };
  }
  const d = (ev as TranscoderEvent<'recording-failed'>).data;
  const recording: RecordingObservation = {
    session: ev.session || (before?.session ?? ''),
    uploaded: before?.uploaded ?? 0,
    pending: d.pending,
    dropped: d.dropped,
    failedAt: ev.ts,
    lastError: d.message,
    lastProgressAt: ev.ts,
  };
  return { obs: { ...base, recording }, transition: { kind: 'none' } };
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

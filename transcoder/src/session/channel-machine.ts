// The broadcast session of one LiveStream as a pure state machine: `transition(state, event, now)` returns the next
// state and the effects to run, in order; channel.ts runs them (processes, files, timers, reports). Nothing here
// reads a clock, a file or a random number: time is `now`, randomness comes in the events (the backoff jitter, the
// id a new session would get), so every path is a millisecond unit test.
//
//   idle --publish-started--> live --publish-ended--> reconnecting --publish-started--> live (same session)
//                                                           \--window-expired--> idle (session ended)
// A session starts with the first accepted publish and survives publisher drops shorter than the reconnect window:
// the next publish continues the same playlists after an #EXT-X-DISCONTINUITY, a source of another size scaled into
// the session's ladder (fit-plan.ts), so the variants a player knows stay. The ladder's ffmpeg runs while a
// publisher is live and its source is known; an ffmpeg that exits on its own is restarted with the one backoff.
import { backoffDelay, type BackoffPolicy } from '../../../contract/src/backoff.ts';
import {
  passthroughRefusedMaxLength,
  type EventDataByType,
  type PublishRefusedReason,
  type SessionEndReason,
} from '../../../contract/src/reports.ts';
import type { LadderPlan } from '../ladder/plan-ladder.ts';
import type { SourceInfo } from '../ladder/source-info.ts';
import { fitPlan } from './fit-plan.ts';

export type ChannelState = 'idle' | 'live' | 'reconnecting';

export type TimerName = 'window-expired' | 'source-timeout' | 'restart-due';

export interface ChannelSettings {
  reconnectWindowSeconds: number;
  paused: boolean; // spec.paused: no session, publishers are disconnected
}

export interface ChannelPolicy {
  restartBackoff: BackoffPolicy; // between restarts of a ladder ffmpeg that exited on its own
  healthyAfterMs: number; // a run this long resets the restart backoff
  sourceWaitMs: number; // publish-started is reported without the source after this long
}

export const defaultPolicy: ChannelPolicy = {
  restartBackoff: { baseMs: 250, maxMs: 10_000, jitter: 0.5 },
  healthyAfterMs: 30_000,
  sourceWaitMs: 3_000,
};

export interface Session {
  id: string;
  startedAt: number;
  bytesIn: number; // of the publishes that already ended
  plan: LadderPlan | undefined; // what the ladder runs for the current source
  announced: LadderPlan | undefined; // the session's first plan: the variants its master lists
  ladderStarted: boolean; // a ladder ran in this session: the next one continues its playlists
  restarts: number; // ffmpeg restarts this session
  publishReported: boolean; // publish-started went out for the current publisher
  resumed: boolean; // the current publisher came back within the window
}

export interface Machine {
  phase: ChannelState | 'stopped';
  settings: ChannelSettings;
  policy: ChannelPolicy;
  session: Session | undefined;
  publisher: string | undefined; // id of the live publisher
  ladder: { run: number; startedAt: number } | undefined; // the running ladder ffmpeg
  runs: number; // ladder runs started so far (a run's id)
  failures: number; // consecutive ladder ffmpeg failures
  timers: Partial<Record<TimerName, number>>; // armed timers and when they are due
  endedAt: number; // when the last session ended (0: never)
}

export type ChannelEvent =
  | { type: 'publish-started'; publisherId: string; sessionId: string } // sessionId: for a new session
  | { type: 'source-ready'; publisherId: string; source: SourceInfo; plan: LadderPlan; sessionId: string }
  | { type: 'publish-ended'; publisherId: string; bytesIn: number }
  | { type: 'publish-refused'; reason: PublishRefusedReason }
  | {
      type: 'ffmpeg-exited';
      run: number;
      exitCode: number | null;
      signal: string | null;
      message: string;
      jitter: number;
    }
  | { type: 'config-changed'; settings: ChannelSettings }
  | { type: 'shutdown' }
  | { type: TimerName };

type ReportType = 'publish-started' | 'publish-ended' | 'publish-refused' | 'ffmpeg-failed';
export type ChannelReport = { [T in ReportType]: { type: T; session: string; data: EventDataByType[T] } }[ReportType];

export type ChannelEffect =
  | { type: 'begin-session'; session: string } // an empty HLS directory for it
  | { type: 'start-ladder'; session: string; run: number; plan: LadderPlan; resume: boolean }
  // Resolves when ffmpeg has exited. inputEnded: the ingest ended its input (the publisher left), so ffmpeg finishes
  // its last segment on its own; otherwise SIGINT makes it finish the segment it is writing.
  | { type: 'stop-ladder'; inputEnded: boolean }
  | {
      type: 'end-session'; // ENDLIST on every playlist, session-ended reported
      session: string;
      plan: LadderPlan | undefined;
      reason: SessionEndReason;
      duration: number; // seconds
      bytesIn: number; // of the ended publishes; the runner adds the connected publisher's
      publisherConnected: boolean;
    }
  | { type: 'report'; report: ChannelReport }
  | { type: 'arm-timer'; timer: TimerName; delayMs: number }
  | { type: 'cancel-timer'; timer: TimerName }
  | { type: 'disconnect-publisher' }
  | { type: 'log'; level: 'info' | 'warn'; message: string; fields?: Record<string, unknown> };

export interface Transition {
  state: Machine;
  effects: ChannelEffect[];
}

export function initialMachine(settings: ChannelSettings, policy: ChannelPolicy = defaultPolicy): Machine {
  return {
    phase: 'idle',
    settings,
    policy,
    session: undefined,
    publisher: undefined,
    ladder: undefined,
    runs: 0,
    failures: 0,
    timers: {},
    endedAt: 0,
  };
}

/** What the channel shows: a stopped channel is idle. */
export const publicState = (m: Machine): ChannelState => (m.phase === 'stopped' ? 'idle' : m.phase);

// The builder of one transition: a copy of the state to change, and the effects in the order they must run.
class Step {
  readonly effects: ChannelEffect[] = [];
  readonly state: Machine;
  readonly now: number;

  constructor(state: Machine, now: number) {
    this.state = {
      ...state,
      session: state.session && { ...state.session },
      timers: { ...state.timers },
    };
    this.now = now;
  }

  emit(...effects: ChannelEffect[]): void {
    this.effects.push(...effects);
  }

  report(report: ChannelReport): void {
    this.emit({ type: 'report', report });
  }

  arm(timer: TimerName, delayMs: number): void {
    this.state.timers[timer] = this.now + delayMs;
    this.emit({ type: 'arm-timer', timer, delayMs });
  }

  cancel(timer: TimerName): void {
    if (this.state.timers[timer] === undefined) return;
    delete this.state.timers[timer];
    this.emit({ type: 'cancel-timer', timer });
  }

  /** The ladder ffmpeg stops, and no restart is pending any more. */
  stopLadder(inputEnded = false): void {
    this.cancel('restart-due');
    if (this.state.ladder === undefined) return;
    this.state.ladder = undefined;
    this.emit({ type: 'stop-ladder', inputEnded });
  }
}

export function transition(state: Machine, event: ChannelEvent, now: number): Transition {
  const step = new Step(state, now);
  // A timer that was cancelled (or re-armed) after it fired is stale: only an armed one counts.
  if (isTimer(event.type)) {
    if (state.timers[event.type] === undefined) return { state, effects: [] };
    delete step.state.timers[event.type];
  }
  handlers[event.type](step, event as never);
  return { state: step.state, effects: step.effects };
}

const isTimer = (type: ChannelEvent['type']): type is TimerName =>
  type === 'window-expired' || type === 'source-timeout' || type === 'restart-due';

type Handlers = { [T in ChannelEvent['type']]: (step: Step, event: Extract<ChannelEvent, { type: T }>) => void };

const handlers: Handlers = {
  'publish-started': onPublishStarted,
  'source-ready': onSourceReady,
  'publish-ended': onPublishEnded,
  'publish-refused': (step, e) =>
    step.report({ type: 'publish-refused', session: step.state.session?.id ?? '', data: { reason: e.reason } }),
  'ffmpeg-exited': onFfmpegExited,
  'config-changed': onConfigChanged,
  shutdown: (step) => {
    if (step.state.phase === 'stopped') return;
    endSession(step, 'shutdown');
    step.state.phase = 'stopped';
  },
  'window-expired': (step) => {
    if (step.state.phase === 'reconnecting') endSession(step, 'window-expired');
  },
  'source-timeout': (step) => {
    // Report the publish without its source, and say why nothing is transcoded yet.
    reportPublishStarted(step, undefined);
    if (step.state.ladder === undefined) {
      step.emit({ type: 'log', level: 'warn', message: 'no H.264/video header from the publisher yet' });
    }
  },
  'restart-due': (step) => {
    const { phase, publisher, session } = step.state;
    if (phase === 'live' && publisher !== undefined && session?.plan !== undefined) startLadder(step, session.plan);
  },
};

function onPublishStarted(step: Step, e: Extract<ChannelEvent, { type: 'publish-started' }>): void {
  const { state } = step;
  if (state.phase === 'stopped') return;
  if (state.settings.paused) {
    step.emit(
      { type: 'log', level: 'info', message: 'publish while paused: disconnected' },
      { type: 'disconnect-publisher' },
    );
    return;
  }
  step.cancel('window-expired');
  const resumed = state.phase === 'reconnecting' && state.session !== undefined;
  if (!resumed) {
    // A publisher while another one is live cannot continue its session (the ingest refuses it as busy).
    if (state.session !== undefined) endSession(step, 'error');
    beginSession(step, e.sessionId);
  }
  const session = step.state.session!;
  session.publishReported = false;
  session.resumed = resumed;
  state.publisher = e.publisherId;
  state.phase = 'live';
  step.emit({ type: 'log', level: 'info', message: 'publisher live', fields: { session: session.id, resumed } });
  // Reported as soon as the source is known, or after this long without it.
  step.arm('source-timeout', state.policy.sourceWaitMs);
}

function onSourceReady(step: Step, e: Extract<ChannelEvent, { type: 'source-ready' }>): void {
  const { state } = step;
  if (state.phase === 'stopped' || state.session === undefined || state.publisher !== e.publisherId) return;
  const plan = planForSource(step, e);
  reportPublishStarted(step, e.source, plan);
  step.stopLadder(); // a second source-ready for the same publisher replaces its ladder
  state.session.plan = plan;
  state.session.announced ??= plan;
  state.failures = 0;
  startLadder(step, plan);
}

// A returning source of another size is scaled into the session's ladder (same variants, numbering continued);
// one that cannot continue it (other config, audio or video gained or lost) starts a new session.
function planForSource(step: Step, e: Extract<ChannelEvent, { type: 'source-ready' }>): LadderPlan {
  const { state } = step;
  const announced = state.session!.announced;
  if (announced === undefined || samePlanShape(announced, e.plan)) return e.plan;
  const fitted = fitPlan(announced, e.plan, e.source);
  if (fitted !== undefined) {
    const renditions = fitted.videos.map((v) => `${v.name}:${v.mode}`);
    step.emit({
      type: 'log',
      level: 'info',
      message: 'source changed: scaled into the session ladder',
      fields: { renditions },
    });
    return fitted;
  }
  step.emit({ type: 'log', level: 'info', message: 'ladder changed on reconnect: starting a new session' });
  reportPublishStarted(step, e.source, e.plan); // the returning publisher, in the session it ends
  endSession(step, 'config-changed');
  beginSession(step, e.sessionId);
  state.phase = 'live';
  return e.plan; // reported in the new session by the caller
}

function onPublishEnded(step: Step, e: Extract<ChannelEvent, { type: 'publish-ended' }>): void {
  const { state } = step;
  const session = state.session;
  if (session === undefined || state.publisher !== e.publisherId) return;
  state.publisher = undefined;
  session.bytesIn += e.bytesIn;
  step.stopLadder(true); // the ingest ended the ladder's input with the publish
  reportPublishStarted(step, undefined); // a publish that ends before its source was known still started
  state.phase = 'reconnecting';
  const windowSeconds = state.settings.reconnectWindowSeconds;
  step.report({
    type: 'publish-ended',
    session: session.id,
    data: { reconnectWindowSeconds: windowSeconds, bytesIn: session.bytesIn },
  });
  step.emit({
    type: 'log',
    level: 'info',
    message: 'publisher left: reconnect window open',
    fields: { session: session.id, windowSeconds },
  });
  if (windowSeconds === 0) endSession(step, 'window-expired');
  else step.arm('window-expired', windowSeconds * 1000);
}

function onFfmpegExited(step: Step, e: Extract<ChannelEvent, { type: 'ffmpeg-exited' }>): void {
  const { state } = step;
  const { ladder, session } = state;
  if (ladder === undefined || ladder.run !== e.run || session === undefined) return; // stopped on purpose, or stale
  state.ladder = undefined;
  state.failures = step.now - ladder.startedAt >= state.policy.healthyAfterMs ? 1 : state.failures + 1;
  session.restarts++;
  const delayMs = backoffDelay(state.failures, state.policy.restartBackoff, () => e.jitter);
  const { exitCode, signal, message } = e;
  step.emit({
    type: 'log',
    level: 'warn',
    message: 'ffmpeg exited unexpectedly',
    fields: { exitCode, signal, restarts: session.restarts, delayMs, stderr: message },
  });
  step.report({
    type: 'ffmpeg-failed',
    session: session.id,
    data: { exitCode, signal, restarts: session.restarts, message },
  });
  step.arm('restart-due', delayMs);
}

function onConfigChanged(step: Step, e: Extract<ChannelEvent, { type: 'config-changed' }>): void {
  const { state } = step;
  const pausing = e.settings.paused && !state.settings.paused;
  state.settings = { ...e.settings };
  if (!pausing || state.phase === 'stopped') return;
  step.emit({ type: 'log', level: 'info', message: 'paused: ending the session and disconnecting the publisher' });
  if (state.session !== undefined) endSession(step, 'paused');
  if (state.publisher !== undefined) {
    state.publisher = undefined;
    step.emit({ type: 'disconnect-publisher' });
  }
}

function beginSession(step: Step, id: string): void {
  step.state.session = {
    id,
    startedAt: step.now,
    bytesIn: 0,
    plan: undefined,
    announced: undefined,
    ladderStarted: false,
    restarts: 0,
    publishReported: false,
    resumed: false,
  };
  step.state.failures = 0;
  step.emit({ type: 'begin-session', session: id });
}

function endSession(step: Step, reason: SessionEndReason): void {
  const { state } = step;
  const session = state.session;
  for (const timer of Object.keys(state.timers) as TimerName[]) step.cancel(timer);
  if (session === undefined) return;
  step.stopLadder();
  step.emit({
    type: 'end-session',
    session: session.id,
    plan: session.plan,
    reason,
    duration: Math.round((step.now - session.startedAt) / 100) / 10,
    bytesIn: session.bytesIn,
    publisherConnected: state.publisher !== undefined,
  });
  state.session = undefined;
  state.phase = 'idle';
  state.endedAt = step.now;
}

function startLadder(step: Step, plan: LadderPlan): void {
  const { state } = step;
  const session = state.session!;
  const run = ++state.runs;
  state.ladder = { run, startedAt: step.now };
  step.emit({ type: 'start-ladder', session: session.id, run, plan, resume: session.ladderStarted });
  session.ladderStarted = true;
}

function reportPublishStarted(step: Step, source: SourceInfo | undefined, plan?: LadderPlan): void {
  const session = step.state.session;
  step.cancel('source-timeout');
  if (session === undefined || session.publishReported) return;
  session.publishReported = true;
  const data: EventDataByType['publish-started'] = { resumed: session.resumed };
  if (source !== undefined) {
    Object.assign(data, {
      videoCodec: source.videoCodec,
      ...(source.audioCodec !== null && { audioCodec: source.audioCodec }),
      width: source.width,
      height: source.height,
      fps: source.fps,
    });
  }
  const refused = refusalForStatus(plan);
  if (refused !== undefined) data.passthroughRefused = refused;
  step.report({ type: 'publish-started', session: session.id, data });
}

/** Why the top rung is encoded though passthrough is on, as status may show it: short, one line. */
export function refusalForStatus(plan: LadderPlan | undefined): string | undefined {
  const reason = plan?.passthroughRefused;
  if (reason === undefined || reason === '') return undefined;
  const line = reason.replace(/\s+/g, ' ').trim();
  return line.length > passthroughRefusedMaxLength ? `${line.slice(0, passthroughRefusedMaxLength - 3)}...` : line;
}

export function samePlanShape(a: LadderPlan, b: LadderPlan): boolean {
  const shape = (p: LadderPlan): string =>
    JSON.stringify(p.videos.map((v) => [v.name, v.mode, v.width, v.height, v.fps]));
  const audio = (p: LadderPlan): string =>
    JSON.stringify(p.audioRenditions.map((r) => [r.name, r.mode, r.bitrateKbps]));
  return shape(a) === shape(b) && audio(a) === audio(b) && a.segmentSeconds === b.segmentSeconds;
}

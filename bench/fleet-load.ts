// The reports the live channels' pods would send, written into Redis as the pods write them: each channel over a
// connection of its own, as the channel's ACL user from the "<name>-redis" Secret the operator made (report-writer.ts),
// the transcoder and the relay container each with its own seq. At the real cadence: a heartbeat with moving figures
// and a relay heartbeat every 5 s per channel (spread over the period), sessions that end (publish-ended, then
// session-ended once the reconnect window is over) and start again, and a relay that drops (Retrying) and comes back.
// Every transition is a probe: the tracker times it from the report to the first status that shows it.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import type { LiveStreamStatus, RelayState } from '../contract/src/api/index.ts';
import type { EventDataByType, EventType } from '../contract/src/reports.ts';
import { channelConnection, liveHeartbeat, reportWriter, type ReportWriter } from '../test/support/report-writer.ts';
import type { LiveStreamTracker } from './fleet-tracker.ts';

export const heartbeatMs = 5_000;
/** The relay every live channel has in its spec (a target that needs no key). */
export const fleetRelay = 'cdn';
/** spec.reconnectWindowSeconds of the live channels: a session ends this long after its publisher left. */
export const reconnectWindowSeconds = 5;
const idleBetweenSessionsMs = 5_000;
const relayRetryingMs = 10_000;
const relayConnectingMs = 2_000;

interface LiveChannel {
  key: string;
  transcoder: ReportWriter;
  relay: ReportWriter;
  /** Where in the heartbeat period this channel's pod beats. */
  offsetMs: number;
  phase: 'idle' | 'live' | 'reconnecting';
  session: string;
  sessions: number;
  startedAt: number;
  nextChangeAt: number;
  relayState: RelayState;
  relaySince: string;
  nextRelayChangeAt: number;
}

export interface LoadOptions {
  core: CoreV1Api;
  live: { namespace: string; name: string }[];
  tracker: LiveStreamTracker;
  /** Mean session length; the first sessions end uniformly over twice that, so ends are spread from the start. */
  sessionSeconds: number;
  /** Mean time a relay stays Active before it drops. */
  relayUpSeconds: number;
}

const relayShows = (state: RelayState, since: string) => (s: LiveStreamStatus) =>
  s.relays?.some(
    (r) => r.name === fleetRelay && r.state === state && Date.parse(r.since ?? '') === Date.parse(since),
  ) === true;

export class ReportLoad {
  private readonly channels: LiveChannel[] = [];
  private readonly connections: Redis[] = [];
  private readonly opts: LoadOptions;
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  /** Whether transitions now are counted in the latency figures (the steady state). */
  counting = false;
  readonly reports: Partial<Record<EventType, number>> = {};
  failures = 0;
  lastFailure = '';

  private constructor(opts: LoadOptions) {
    this.opts = opts;
  }

  /** Connects every live channel as its pods would (25 at a time), once the operator has made its Redis user. */
  static async connect(opts: LoadOptions): Promise<ReportLoad> {
    const load = new ReportLoad(opts);
    const now = Date.now();
    for (let i = 0; i < opts.live.length; i += 25) {
      const batch = opts.live.slice(i, i + 25);
      const redis = await Promise.all(batch.map((c) => channelConnection(opts.core, c.namespace, c.name)));
      load.connections.push(...redis);
      batch.forEach((c, j) => load.channels.push(load.channel(c, redis[j] as Redis, i + j, now)));
    }
    return load;
  }

  private channel(c: { namespace: string; name: string }, redis: Redis, i: number, now: number): LiveChannel {
    const offsetMs = Math.floor((i * heartbeatMs) / this.opts.live.length);
    return {
      key: `${c.namespace}/${c.name}`,
      transcoder: reportWriter(redis, c.namespace, c.name),
      relay: reportWriter(redis, c.namespace, c.name),
      offsetMs,
      phase: 'idle',
      session: '',
      sessions: 0,
      startedAt: 0,
      // The first publish of each channel within the first heartbeat period.
      nextChangeAt: now + offsetMs,
      relayState: 'Connecting',
      relaySince: new Date(now).toISOString(),
      nextRelayChangeAt: Infinity,
    };
  }

  start(): void {
    this.timer = setInterval(() => this.step(Date.now()), 100);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.allSettled(this.connections.map((c) => c.quit()));
  }

  private send<T extends EventType>(w: ReportWriter, type: T, session: string, data: EventDataByType[T], ts: number) {
    this.reports[type] = (this.reports[type] ?? 0) + 1;
    w.report(type, session, data, ts).catch((err: unknown) => {
      this.failures++;
      this.lastFailure = err instanceof Error ? err.message : String(err);
    });
  }

  private step(now: number): void {
    const slot = (this.tick++ * 100) % heartbeatMs;
    for (const ch of this.channels) {
      if (now >= ch.nextChangeAt) this.sessionChange(ch, now);
      if (ch.phase === 'live' && now >= ch.nextRelayChangeAt) this.relayChange(ch, now);
      if (ch.offsetMs >= slot && ch.offsetMs < slot + 100) this.heartbeat(ch, now);
    }
  }

  private expect(ch: LiveChannel, kind: string, shows: (s: LiveStreamStatus) => boolean, at: number): void {
    void this.opts.tracker.expect(ch.key, shows, at, this.counting, kind);
  }

  private sessionChange(ch: LiveChannel, now: number): void {
    const { sessionSeconds } = this.opts;
    if (ch.phase === 'idle') {
      ch.session = `${ch.key.replace('/', '-')}-s${++ch.sessions}`;
      ch.phase = 'live';
      ch.startedAt = now;
      const first = ch.sessions === 1;
      ch.nextChangeAt = now + sessionSeconds * 1000 * (first ? 2 * Math.random() : 0.5 + Math.random());
      this.send(ch.transcoder, 'publish-started', ch.session, { resumed: false, width: 1280, height: 720 }, now);
      const session = ch.session;
      this.expect(ch, 'sessionStarted', (s) => s.state === 'Live' && s.session?.id === session, now);
      this.setRelay(ch, 'Connecting', now);
      ch.nextRelayChangeAt = now + relayConnectingMs;
    } else if (ch.phase === 'live') {
      ch.phase = 'reconnecting';
      ch.nextChangeAt = now + reconnectWindowSeconds * 1000;
      this.send(
        ch.transcoder,
        'publish-ended',
        ch.session,
        { reconnectWindowSeconds, bytesIn: this.bytesIn(ch, now) },
        now,
      );
    } else {
      ch.phase = 'idle';
      ch.nextChangeAt = now + idleBetweenSessionsMs;
      const data = { duration: (now - ch.startedAt) / 1000, bytesIn: this.bytesIn(ch, now), peakViewers: 40 };
      this.send(ch.transcoder, 'session-ended', ch.session, { ...data, reason: 'window-expired' }, now);
      const session = ch.session;
      this.expect(ch, 'sessionEnded', (s) => s.sessions?.some((x) => x.id === session) === true, now);
    }
  }

  private relayChange(ch: LiveChannel, now: number): void {
    const up = ch.relayState !== 'Active';
    this.setRelay(ch, up ? 'Active' : 'Retrying', now);
    ch.nextRelayChangeAt = now + (up ? this.opts.relayUpSeconds * 1000 * (0.5 + Math.random()) : relayRetryingMs);
  }

  private setRelay(ch: LiveChannel, state: RelayState, now: number): void {
    ch.relayState = state;
    ch.relaySince = new Date(now).toISOString();
    this.send(ch.relay, 'relay-state', ch.session, this.relayData(ch, now), now);
    this.expect(ch, `relay${state}`, relayShows(state, ch.relaySince), now);
  }

  private relayData(ch: LiveChannel, now: number): EventDataByType['relay-state'] {
    return {
      name: fleetRelay,
      state: ch.relayState,
      ...(ch.relayState === 'Retrying' ? { lastError: 'connection reset by peer' } : {}),
      bytesOut: ch.relayState === 'Active' ? this.bytesIn(ch, now) : 0,
      since: ch.relaySince,
    };
  }

  private bytesIn(ch: LiveChannel, now: number): number {
    return ch.phase === 'idle' ? 0 : Math.floor((now - ch.startedAt) * 375); // 3 Mbit/s
  }

  private heartbeat(ch: LiveChannel, now: number): void {
    const segments = Math.floor((now - ch.startedAt) / 2_000);
    const moving = {
      viewers: Math.floor(now / 1000 + ch.offsetMs) % 500,
      bitrateKbps: 2800 + (Math.floor(now / 1000) % 400),
    };
    const data =
      ch.phase === 'idle'
        ? { ...liveHeartbeat(0), state: 'idle' as const, bitrateKbps: 0, fps: 0, segments: {} }
        : { ...liveHeartbeat(segments, moving), state: ch.phase, bytesIn: this.bytesIn(ch, now) };
    this.send(ch.transcoder, 'heartbeat', ch.session, data, now);
    this.send(ch.relay, 'relay-heartbeat', ch.session, { relays: [this.relayData(ch, now)] }, now);
  }
}

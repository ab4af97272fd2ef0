// The status step's parts: what the status rules get from the reports, the write itself (transitions at once,
// figures within the budget, nothing when nothing changed), and when to look again for time-driven changes.
import {
  group,
  kind,
  plural,
  version,
  type LiveStream,
  type LiveStreamSpec,
  type LiveStreamStatus,
} from '../../../../contract/src/api/index.ts';
import { sessionSettingsFingerprint } from '../../../../contract/src/api/session-settings.ts';
import type { KubeClient } from '../../k8s/client.ts';
import type { PublishObservation, PublishPhase } from '../publish-state.ts';
import { onlyFiguresDiffer, sameStatus } from '../status/figures.ts';
import type { TranscoderHealth } from '../status/index.ts';
import { figureWriteDelay, type FigureBudget } from './figure-budget.ts';

/** The transcoder's health as the status rules read it. */
export function transcoderHealth(obs: PublishObservation | undefined): TranscoderHealth {
  if (!obs) return {};
  return {
    ...(obs.ffmpeg ? { ffmpeg: obs.ffmpeg } : {}),
    ...(obs.segmentsGrewAt !== undefined ? { segmentsGrewAt: obs.segmentsGrewAt } : {}),
    ...(obs.ladder !== undefined ? { ladder: obs.ladder } : {}),
  };
}

type SessionSettings = Partial<Pick<LiveStreamSpec, 'ladder' | 'hls'>>;

/** The session-scoped settings of the specs seen, by fingerprint, so SpecApplied can name the fields that wait. */
export class SessionSettingsSeen {
  private readonly byKey = new Map<string, Map<string, SessionSettings>>();
  private readonly perKey: number;

  constructor(perKey = 8) {
    this.perKey = perKey;
  }

  /** Remembers the settings of `ls`'s spec; returns the settings with `fingerprint`, when seen. */
  note(key: string, ls: LiveStream, fingerprint: string | undefined): SessionSettings | undefined {
    const seen = this.byKey.get(key) ?? new Map<string, SessionSettings>();
    const own = sessionSettingsFingerprint(ls.spec);
    seen.delete(own);
    seen.set(own, {
      ...(ls.spec.ladder ? { ladder: ls.spec.ladder } : {}),
      ...(ls.spec.hls ? { hls: ls.spec.hls } : {}),
    });
    while (seen.size > this.perKey) seen.delete(seen.keys().next().value ?? '');
    this.byKey.set(key, seen);
    return fingerprint !== undefined ? seen.get(fingerprint) : undefined;
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }
}

/** When the status changes with time alone: the heartbeat TTL runs out, or the reconnect window ends. */
export function timeDrivenRecheck(
  phase: PublishPhase,
  obs: PublishObservation | undefined,
  nowMs: number,
  ttlMs: number,
): number | undefined {
  if (!obs || phase.phase === 'unobserved' || phase.phase === 'stale') return undefined;
  const silentAt = obs.lastReportAt + ttlMs;
  const windowEnd = phase.phase === 'reconnecting' ? phase.windowEndsAt : Infinity;
  return Math.max(100, Math.min(silentAt, windowEnd) - nowMs + 100);
}

export type StatusClient = Pick<KubeClient, 'applyStatus'>;

/** Writes statuses: transitions at once, figure-only changes within the cluster-wide budget, no change never. */
export class StatusWriter {
  private readonly client: StatusClient;
  private readonly budget: FigureBudget;
  private readonly lastWrite = new Map<string, number>();
  private readonly live = new Set<string>();
  private readonly counter: { inc(labels: { kind: 'transition' | 'figures' }): void } | undefined;
  /** Writes done, by kind (tests read them; the status_writes_total metric counts the same). */
  readonly writes = { transitions: 0, figures: 0 };

  constructor(client: StatusClient, budget: FigureBudget, counter?: StatusWriter['counter']) {
    this.client = client;
    this.budget = budget;
    this.counter = counter;
  }

  /** Streams in a session now: the figure interval grows with them. */
  get liveStreams(): number {
    return this.live.size;
  }

  /** Writes `status` if it must go out now; else returns how long its figures wait. */
  async write(key: string, ls: LiveStream, status: LiveStreamStatus, inSession: boolean, nowMs: number) {
    if (inSession) this.live.add(key);
    else this.live.delete(key);
    const current = ls.status;
    if (current !== undefined && sameStatus(status, current)) return undefined;
    const figuresOnly = current !== undefined && onlyFiguresDiffer(status, current);
    if (figuresOnly) {
      const wait = figureWriteDelay(this.budget, this.live.size, this.lastWrite.get(key), nowMs);
      if (wait > 0) return wait;
    }
    await this.client.applyStatus(
      { group, version, plural, namespace: ls.metadata.namespace ?? '', name: ls.metadata.name ?? '' },
      kind,
      status,
    );
    this.lastWrite.set(key, nowMs);
    this.writes[figuresOnly ? 'figures' : 'transitions']++;
    this.counter?.inc({ kind: figuresOnly ? 'figures' : 'transition' });
    return undefined;
  }

  forget(key: string): void {
    this.lastWrite.delete(key);
    this.live.delete(key);
  }
}

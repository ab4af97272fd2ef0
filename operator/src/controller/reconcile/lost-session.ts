// A session whose transcoder fell silent (kill -9, OOM, node loss) gets no session-ended report: once the heartbeat
// TTL has run out, the reports source closes it (endReason TranscoderLost), so it reaches status.sessions and its
// recording goes Finalizing and gets its finalize Job like any other. A new leader that finds a session open in status
// with no report folded for it starts from status, so a transcoder that died with the old leader is closed likewise.
import {
  observationFromStatus,
  publishPhase,
  type PublishObservation,
  type PublishTransition,
} from '../publish-state.ts';
import { proceed, type Step } from './step.ts';

export interface ExpiringReports {
  observation(key: string): PublishObservation | undefined;
  expire(key: string, nowMs: number, ttlMs: number): PublishTransition;
  seed(key: string, obs: PublishObservation): void;
}

/** `onTransition` gets the session's end like any report's (the PublishEnded event, the sessions metric). */
export function lostSessionStep(
  reports: ExpiringReports | undefined,
  ttlMs: number,
  onTransition: ((key: string, transition: PublishTransition) => void) | undefined,
): Step {
  return {
    name: 'lost-session',
    run: ({ key, ls, nowMs }) => {
      const fromStatus = reports?.observation(key) ? undefined : observationFromStatus(ls.status, nowMs, ttlMs);
      if (fromStatus) reports?.seed(key, fromStatus);
      if (reports && publishPhase(reports.observation(key), nowMs, ttlMs).phase === 'stale') {
        const transition = reports.expire(key, nowMs, ttlMs);
        if (transition.kind !== 'none') onTransition?.(key, transition);
      }
      return Promise.resolve(proceed);
    },
  };
}

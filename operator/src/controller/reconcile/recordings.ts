// status.recordings and the finalize Jobs, as two steps: first what each recording is (from the reports, the ended
// sessions and the Jobs' outcomes), then a Job for every Finalizing recording that has none. Jobs are created, never
// patched (their pod template is immutable), and named after the session so a second create is a no-op.
import type { V1Job } from '@kubernetes/client-node';
import { EventReason, type LiveStream, type RecordingStatus } from '../../../../contract/src/api/index.ts';
import type { Logger } from '../../../../contract/src/logger.ts';
import { isConflict, type KubeClient } from '../../k8s/client.ts';
import type { EventRecorder } from '../../telemetry/events.ts';
import { buildFinalizeJob, finalizeJobName } from '../desired/index.ts';
import { canFinalize, recordingsStatus, type JobOutcome } from '../media-status.ts';
import { mergeSessions } from '../status/index.ts';
import type { PublishObservation } from '../publish-state.ts';
import { childResources, type ChildCache } from './children.ts';
import { proceed, type Step } from './step.ts';

export function jobOutcome(job: V1Job): JobOutcome {
  if ((job.status?.succeeded ?? 0) > 0) return 'succeeded';
  if (job.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True')) return 'failed';
  return 'active';
}

export interface RecordingsDeps {
  client: Pick<KubeClient, 'create'>;
  cache: ChildCache;
  events: Pick<EventRecorder, 'record'>;
  logger: Logger;
  observation: (key: string) => PublishObservation | undefined;
}

const findJob = (deps: Pick<RecordingsDeps, 'cache'>, ls: LiveStream, session: string) =>
  deps.cache.child<V1Job>(childResources.jobs, ls.metadata.namespace ?? '', finalizeJobName(ls, session));

export function recordingsStep(deps: RecordingsDeps): Step {
  return {
    name: 'recordings',
    run: (state) => {
      const { key, ls } = state;
      if (!ls.spec.recording?.enabled && !ls.status?.recordings?.length) return Promise.resolve(proceed);
      const obs = deps.observation(key);
      const ended = mergeSessions(ls.status?.sessions, obs?.ended);
      // First without outcomes, to know which recordings are Finalizing and look their Jobs up.
      const outcomes = new Map<string, JobOutcome>();
      for (const r of recordingsStatus(ls, obs, ended, outcomes)) {
        const job = r.state === 'Finalizing' ? findJob(deps, ls, r.session) : undefined;
        if (job) outcomes.set(r.session, jobOutcome(job));
      }
      state.recordings = recordingsStatus(ls, obs, ended, outcomes);
      announceOutcomes(deps, ls, state.recordings);
      return Promise.resolve(proceed);
    },
  };
}

/** RecordingFinalized / RecordingFailed, once per recording that reached its end in this reconcile. */
function announceOutcomes(deps: Pick<RecordingsDeps, 'events'>, ls: LiveStream, now: readonly RecordingStatus[]) {
  const before = new Map((ls.status?.recordings ?? []).map((r) => [r.session, r.state]));
  for (const r of now) {
    if (before.get(r.session) === r.state) continue;
    if (r.state === 'Complete') {
      deps.events.record(
        ls,
        'Normal',
        EventReason.RecordingFinalized,
        `session ${r.session}: ${r.mp4Uri ?? 'finalized'}`,
      );
    } else if (r.state === 'Failed') {
      deps.events.record(ls, 'Warning', EventReason.RecordingFailed, `session ${r.session}: ${r.message ?? 'failed'}`);
    }
  }
}

/** Creates the finalize Job of every Finalizing recording that has none, also after recording was turned off. */
export function finalizeJobsStep(deps: RecordingsDeps): Step {
  return {
    name: 'finalize-jobs',
    applies: true,
    run: async ({ key, ls, build, recordings }) => {
      if (!canFinalize(ls)) return proceed;
      for (const r of recordings ?? []) {
        if (r.state !== 'Finalizing' || findJob(deps, ls, r.session)) continue;
        try {
          await deps.client.create(buildFinalizeJob(ls, r.session, build));
          deps.logger.info({ livestream: key, session: r.session }, 'finalize Job created');
        } catch (err) {
          if (!isConflict(err)) throw err;
        }
      }
      return proceed;
    },
  };
}

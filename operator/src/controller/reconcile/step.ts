// Reconcile as named steps (CloudNativePG's habit): each step does one thing and says how to go on. A thrown error
// is an unexpected failure: the work queue retries it with backoff. A spec the API server rejects is not an error
// but a stop with a condition, not retried until the spec changes.
import type { LiveStream, RecordingStatus } from '../../../../contract/src/api/index.ts';
import type { IngestKeySet } from '../../../../contract/src/ingest-keys.ts';
import type { BuildContext } from '../desired/index.ts';
import type { MissingSecrets } from '../status/index.ts';
import type { Histogram } from 'prom-client';

export type StepResult =
  /** Go on with the next step. */
  | { kind: 'continue' }
  /** Go on, and reconcile again within `afterMs` (something time-driven or unwatched is awaited). */
  | { kind: 'requeue'; afterMs: number }
  /** Skip the remaining steps before the status, which shows `invalidSpec` as a False condition. */
  | { kind: 'stop'; invalidSpec: string };

export const proceed: StepResult = { kind: 'continue' };
export const requeueAfter = (afterMs: number): StepResult => ({ kind: 'requeue', afterMs });
export const stopWith = (invalidSpec: string): StepResult => ({ kind: 'stop', invalidSpec });

/** What the steps of one reconcile learn and hand on to the status. */
export interface ReconcileState {
  readonly key: string;
  readonly ls: LiveStream;
  readonly nowMs: number;
  readonly build: BuildContext;
  missing: MissingSecrets;
  relayKeys: Record<string, string>;
  /** The digest of the current stream key (undefined: there is none); absent: not known in this reconcile. */
  streamKey?: { digest: string | undefined };
  /** The key set the ingest accepts, as applied in this reconcile (ingest-keys.ts). */
  ingestKeys?: IngestKeySet;
  invalidSpec?: string;
  applyError?: string;
  /** The URL of the "<name>-redis" Secret (the channel's own credential); absent without Redis. */
  redisSecretUrl?: string;
  /** status.recordings with this reconcile's Job outcomes; absent: keep what status has. */
  recordings?: RecordingStatus[];
}

export interface Step {
  readonly name: string;
  /** Errors thrown by this step mean "applying a child failed": the status says so before the retry. */
  readonly applies?: boolean;
  run(state: ReconcileState): Promise<StepResult>;
}

export interface StepsOutcome {
  /** The earliest requeue any step asked for. */
  requeueAfterMs?: number;
  /** The step that threw, and its error. */
  failed?: { step: Step; error: unknown };
}

/** Where step durations go: the step-duration histogram (prom-client's timer). */
export type StepTimer = Pick<Histogram<'step'>, 'startTimer'>;

/** Runs `fn`, its duration observed as `step` whether it returned or threw. */
export async function timed<T>(timer: StepTimer | undefined, step: string, fn: () => Promise<T>): Promise<T> {
  const end = timer?.startTimer({ step });
  try {
    return await fn();
  } finally {
    end?.();
  }
}

/** Runs `steps` in order until one stops or throws; the caller writes the status from `state` either way. */
export async function runSteps(
  steps: readonly Step[],
  state: ReconcileState,
  timer?: StepTimer,
): Promise<StepsOutcome> {
  let requeue: number | undefined;
  for (const step of steps) {
    let result: StepResult;
    try {
      result = await timed(timer, step.name, () => step.run(state));
    } catch (error) {
      return { ...(requeue !== undefined ? { requeueAfterMs: requeue } : {}), failed: { step, error } };
    }
    if (result.kind === 'requeue') requeue = Math.min(requeue ?? Infinity, result.afterMs);
    if (result.kind === 'stop') {
      state.invalidSpec = result.invalidSpec;
      break;
    }
  }
  return requeue !== undefined ? { requeueAfterMs: requeue } : {};
}

// The display state (`kubectl get` STATE), derived from the conditions only: one place decides what "Failed" means.
// Failed is a channel that cannot serve viewers for a reason of its own (stream key, spec, a lost or failing
// transcoder); a missing relay key or S3 Secret leaves it Idle/Live (RelaysHealthy/Recording say so), and so does
// an operator that cannot read reports (it cannot tell, so it does not claim a failure).
import { ConditionReason, type LiveStreamState } from '../../../../contract/src/api/index.ts';
import type { Cond } from './rules.ts';

export interface StateInput {
  ready: Cond;
  childrenReady: Cond;
  publishing: Cond;
}

export interface StateRule {
  state: LiveStreamState;
  when: (c: StateInput) => boolean;
}

export const stateRules: readonly StateRule[] = [
  { state: 'Paused', when: (c) => c.childrenReady.reason === ConditionReason.Paused },
  { state: 'Pending', when: (c) => c.childrenReady.reason === ConditionReason.DeploymentUnavailable },
  {
    state: 'Failed',
    when: (c) => c.ready.status === 'False' && c.ready.reason !== ConditionReason.ReportsUnavailable,
  },
  { state: 'Live', when: (c) => c.publishing.status === 'True' },
  { state: 'Reconnecting', when: (c) => c.publishing.reason === ConditionReason.PublisherReconnecting },
  { state: 'Idle', when: () => true },
];

/** The states that say what the publisher does (Idle, Live, Reconnecting). */
const publisherStates: readonly LiveStreamState[] = ['Idle', 'Live', 'Reconnecting'];

/**
 * The state for these conditions. `previous` is the state status shows now: while the operator cannot read reports
 * (Redis down, or a new leader not yet connected), what the publisher does is unknown, so the state it last showed
 * stays rather than a live channel turning Idle until the first read.
 */
export function deriveState(conditions: StateInput, previous?: LiveStreamState): LiveStreamState {
  const derived = stateRules.find((r) => r.when(conditions))?.state ?? 'Idle';
  const blind = conditions.publishing.reason === ConditionReason.ReportsUnavailable;
  if (blind && derived === 'Idle' && previous !== undefined && publisherStates.includes(previous)) return previous;
  return derived;
}

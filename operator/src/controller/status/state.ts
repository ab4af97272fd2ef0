// The display state (`kubectl get` STATE), derived from the conditions only: one place decides what "Failed" means.
// Failed is a channel that cannot serve viewers for a reason of its own (stream key, spec, a lost or failing
// transcoder); a missing relay key or S3 Secret leaves it Idle/Live (RelaysHealthy/Recording say so). An operator
// that cannot read reports (Redis down, or a new leader not yet connected) cannot tell what the publisher does: it
// claims no failure and no change, so Live and Reconnecting stay as status showed them (`previous`).
import { ConditionReason, type LiveStreamState } from '../../../../contract/src/api/index.ts';
import type { Cond } from './rules.ts';

export interface StateInput {
  ready: Cond;
  childrenReady: Cond;
  publishing: Cond;
  /** The state status shows now. */
  previous?: LiveStreamState;
}

export interface StateRule {
  state: LiveStreamState;
  when: (c: StateInput) => boolean;
}

const blind = (c: StateInput): boolean => c.publishing.reason === ConditionReason.ReportsUnavailable;

export const stateRules: readonly StateRule[] = [
  { state: 'Paused', when: (c) => c.childrenReady.reason === ConditionReason.Paused },
  { state: 'Pending', when: (c) => c.childrenReady.reason === ConditionReason.DeploymentUnavailable },
  {
    state: 'Failed',
    when: (c) => c.ready.status === 'False' && c.ready.reason !== ConditionReason.ReportsUnavailable,
  },
  { state: 'Live', when: (c) => c.publishing.status === 'True' || (blind(c) && c.previous === 'Live') },
  {
    state: 'Reconnecting',
    when: (c) =>
      c.publishing.reason === ConditionReason.PublisherReconnecting || (blind(c) && c.previous === 'Reconnecting'),
  },
  { state: 'Idle', when: () => true },
];

export function deriveState(conditions: StateInput): LiveStreamState {
  return stateRules.find((r) => r.when(conditions))?.state ?? 'Idle';
}

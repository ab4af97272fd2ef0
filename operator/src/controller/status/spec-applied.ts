// SpecApplied: does the running session use the spec? The ladder and HLS settings are fixed when a session starts
// (contract/src/api/session-settings.ts); a change made during a session waits for the next one, and this condition
// says which fields wait instead of letting observedGeneration claim them.
import { ConditionReason, ConditionType } from '../../../../contract/src/api/index.ts';
import {
  canonical,
  sessionScopedFields,
  sessionSettingsFingerprint,
} from '../../../../contract/src/api/session-settings.ts';
import { always, firstRule, type Cond, type Rule } from './rules.ts';
import type { StatusInput } from './input.ts';

export type SpecAppliedInput = Pick<StatusInput, 'ls' | 'phase' | 'observation' | 'health' | 'sessionSettings'>;

const inSession = (i: SpecAppliedInput) => i.phase.phase === 'live' || i.phase.phase === 'reconnecting';

/** The session-scoped fields whose value differs from the running session's, when the operator knows its settings. */
export function waitingFields(i: SpecAppliedInput): string[] {
  const running = i.sessionSettings;
  const differing = running
    ? sessionScopedFields.filter((f) => canonical(i.ls.spec[f] ?? null) !== canonical(running[f] ?? null))
    : [];
  return differing.length > 0 ? differing : [...sessionScopedFields];
}

export const specAppliedRules: readonly Rule<SpecAppliedInput>[] = [
  {
    status: 'True',
    reason: ConditionReason.NoSessionRunning,
    when: (i) => !inSession(i),
    message: () => 'no session is running: the next one starts with this spec',
  },
  {
    status: 'Unknown',
    reason: ConditionReason.SessionSettingsUnknown,
    when: (i) => i.health.ladder === undefined,
    message: (i) => `the transcoder did not report the settings of session ${i.observation?.session || '?'}`,
  },
  {
    status: 'True',
    reason: ConditionReason.SessionMatchesSpec,
    when: (i) => i.health.ladder === sessionSettingsFingerprint(i.ls.spec),
    message: () => 'the running session uses the spec',
  },
  {
    status: 'False',
    reason: ConditionReason.WaitingForNextSession,
    when: always,
    message: (i) =>
      `${waitingFields(i)
        .map((f) => `spec.${f}`)
        .join(', ')} changed during session ${i.observation?.session || '?'}: applied when the next session starts`,
  },
];

export const specAppliedCondition = (input: SpecAppliedInput): Cond =>
  firstRule(ConditionType.SpecApplied, specAppliedRules, input);

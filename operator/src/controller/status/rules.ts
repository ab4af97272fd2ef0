// Conditions as ordered rules (cert-manager's policy chains): each condition has a list of rules, the first rule
// whose `when` holds sets the condition's status, reason and message. The last rule of every list always applies.
// Rules are data, so the tests can check that every rule has a row and every reason is produced by some rule.
import type { ConditionReason, LiveStreamCondition } from '../../../../contract/src/api/index.ts';

/** A condition before mergeConditions stamps lastTransitionTime and observedGeneration. */
export type Cond = Omit<LiveStreamCondition, 'lastTransitionTime' | 'observedGeneration'>;

export interface Rule<I> {
  status: Cond['status'];
  /** The reason this rule sets; a function only where a condition repeats another's reason (Ready). */
  reason: ConditionReason | ((input: I) => string);
  when: (input: I) => boolean;
  message: (input: I) => string;
}

export const always = (): boolean => true;

/** The condition `type` as the first applicable rule of `rules` sets it. */
export function firstRule<I>(type: string, rules: readonly Rule<I>[], input: I): Cond {
  const rule = rules.find((r) => r.when(input));
  if (!rule) throw new Error(`no rule of condition ${type} applies (its last rule must always apply)`);
  const reason = typeof rule.reason === 'function' ? rule.reason(input) : rule.reason;
  return { type, status: rule.status, reason, message: rule.message(input) };
}

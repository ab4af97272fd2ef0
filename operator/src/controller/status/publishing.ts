// Publishing: is an encoder publishing? From the folded reports and the heartbeat TTL (publishPhase).
import { ConditionReason, ConditionType } from '../../../../contract/src/api/index.ts';
import { rfc3339 } from '../../../../contract/src/time.ts';
import { always, firstRule, type Cond, type Rule } from './rules.ts';
import type { StatusInput } from './input.ts';

export const publishingRules: readonly Rule<StatusInput>[] = [
  {
    status: 'False',
    reason: ConditionReason.Paused,
    when: (i) => i.ls.spec.paused === true,
    message: () => 'the channel is paused: no publisher is accepted',
  },
  {
    status: 'Unknown',
    reason: ConditionReason.ReportsUnavailable,
    when: (i) => !i.reportsAvailable,
    message: () => 'the operator cannot read the transcoder reports from Redis',
  },
  {
    status: 'Unknown',
    reason: ConditionReason.HeartbeatLost,
    when: (i) => i.phase.phase === 'stale',
    // A time, not an age: the message stays the same while the silence lasts (a resync writes nothing).
    message: (i) => `no report from the transcoder since ${rfc3339(i.observation?.lastReportAt ?? 0)}`,
  },
  {
    status: 'Unknown',
    reason: ConditionReason.Initializing,
    when: (i) => i.phase.phase === 'unobserved',
    message: () => 'no report from the transcoder yet',
  },
  {
    status: 'True',
    reason: ConditionReason.PublishStarted,
    when: (i) => i.phase.phase === 'live',
    message: (i) => `an encoder is publishing (session ${i.observation?.session || '?'})`,
  },
  {
    status: 'False',
    reason: ConditionReason.PublisherReconnecting,
    when: (i) => i.phase.phase === 'reconnecting',
    message: (i) =>
      `the encoder left; the session continues if it returns before ${
        i.phase.phase === 'reconnecting' ? rfc3339(i.phase.windowEndsAt) : '?'
      }`,
  },
  {
    status: 'False',
    reason: ConditionReason.NoPublisher,
    when: always,
    message: () => 'no encoder is connected',
  },
];

export const publishingCondition = (input: StatusInput): Cond =>
  firstRule(ConditionType.Publishing, publishingRules, input);

// Ready: the summary. False repeats the reason and message of the condition that keeps the channel from serving
// (so `kubectl get -o wide` and the alerts say why); True says whether it is Live or waiting for a publisher.
import { ConditionReason, ConditionType } from '../../../../contract/src/api/index.ts';
import { always, firstRule, type Cond, type Rule } from './rules.ts';

/** The conditions Ready is derived from. */
export interface ReadyInput {
  childrenReady: Cond;
  publishing: Cond;
  transcoding: Cond;
}

/** A Publishing condition that says the operator cannot tell whether the transcoder works. */
const blindReasons: readonly string[] = [ConditionReason.ReportsUnavailable, ConditionReason.HeartbeatLost];

const blocking = (i: ReadyInput): Cond | undefined => {
  if (i.childrenReady.status !== 'True') return i.childrenReady;
  if (blindReasons.includes(i.publishing.reason)) return i.publishing;
  if (i.transcoding.status === 'False') return i.transcoding;
  return undefined;
};

export const readyRules: readonly Rule<ReadyInput>[] = [
  {
    status: 'False',
    reason: (i) => blocking(i)?.reason ?? '',
    when: (i) => blocking(i) !== undefined,
    message: (i) => blocking(i)?.message ?? '',
  },
  {
    status: 'True',
    reason: ConditionReason.Live,
    when: (i) => i.publishing.status === 'True',
    message: () => 'live: viewers can play the stream',
  },
  {
    status: 'True',
    reason: ConditionReason.WaitingForPublisher,
    when: always,
    message: () => 'ready for a publisher',
  },
];

export const readyCondition = (input: ReadyInput): Cond => firstRule(ConditionType.Ready, readyRules, input);

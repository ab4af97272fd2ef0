// Recording: is the current session being recorded to S3? A missing credentials Secret is named here; the channel
// itself is unaffected (the pod mounts the Secret as optional).
import { ConditionReason, ConditionType } from '../../../../contract/src/api/index.ts';
import { always, firstRule, type Cond, type Rule } from './rules.ts';
import { isLive, type StatusInput } from './input.ts';

export type RecordingInput = Pick<StatusInput, 'ls' | 'observation' | 'phase' | 'missing'>;

const current = (i: RecordingInput) => i.observation?.recording;

export const recordingRules: readonly Rule<RecordingInput>[] = [
  {
    status: 'False',
    reason: ConditionReason.RecordingDisabled,
    when: (i) => i.ls.spec.recording?.enabled !== true,
    message: () => 'spec.recording.enabled is false',
  },
  {
    status: 'False',
    reason: ConditionReason.S3CredentialsMissing,
    when: (i) => i.missing.s3Credentials !== undefined,
    message: (i) =>
      `nothing is recorded until ${i.missing.s3Credentials} exists (spec.recording.s3.credentialsSecretRef)`,
  },
  {
    status: 'False',
    reason: ConditionReason.UploadFailed,
    when: (i) => current(i)?.failedAt !== undefined,
    // Counts stay out of messages (they are in status.recordings and the metrics): a message that moves with every
    // report would turn each report into a status write.
    message: (i) => `uploads to S3 fail, segments wait in the spool: ${current(i)?.lastError ?? 'unknown error'}`,
  },
  {
    status: 'False',
    reason: ConditionReason.NotLive,
    when: (i) => !isLive(i),
    message: () => 'recording runs only while Live',
  },
  {
    status: 'Unknown',
    reason: ConditionReason.RecordingPending,
    when: (i) => !current(i) || current(i)?.session !== i.observation?.session,
    message: () => 'no segment uploaded yet',
  },
  {
    status: 'True',
    reason: ConditionReason.RecordingActive,
    when: always,
    message: (i) => `session ${current(i)?.session ?? '?'} is uploaded to S3 segment by segment`,
  },
];

export const recordingCondition = (input: RecordingInput): Cond =>
  firstRule(ConditionType.Recording, recordingRules, input);

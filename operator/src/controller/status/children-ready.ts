// ChildrenReady: can the channel's objects carry a publisher? Only the stream key's Secret blocks the channel; a
// missing relay key or S3 credentials Secret degrades that relay or the recording (their own conditions say so).
import { ConditionReason, ConditionType } from '../../../../contract/src/api/index.ts';
import { ingestVia, throughGateway } from '../ingest-via.ts';
import { always, firstRule, type Cond, type Rule } from './rules.ts';
import { isReporting, type StatusInput } from './input.ts';

export const childrenReadyRules: readonly Rule<StatusInput>[] = [
  {
    // First: the children (the paused Deployment included) are not what the spec says.
    status: 'False',
    reason: ConditionReason.InvalidSpec,
    when: (i) => i.children.invalidSpec !== undefined,
    message: (i) => `the API server rejected a child built from this spec (fix the spec): ${i.children.invalidSpec}`,
  },
  {
    status: 'False',
    reason: ConditionReason.ApplyFailed,
    when: (i) => !i.children.applied,
    message: (i) => i.children.applyError ?? 'applying children failed',
  },
  {
    // Before a missing key: a paused channel takes no publisher anyway.
    status: 'False',
    reason: ConditionReason.Paused,
    when: (i) => i.ls.spec.paused === true,
    message: () => 'spec.paused is true: the transcoder is scaled to zero',
  },
  {
    status: 'False',
    reason: ConditionReason.GatewayNotInstalled,
    when: (i) => i.gateway === undefined && throughGateway(ingestVia(i.ls.spec, false)),
    message: (i) =>
      `spec.ingest.via is ${i.ls.spec.ingest?.via} but the operator was installed without the gateway ` +
      '(install the chart with gateway.enabled=true, or set spec.ingest.via to Service)',
  },
  {
    status: 'False',
    reason: ConditionReason.StreamKeyMissing,
    when: (i) => i.missing.streamKey !== undefined,
    message: (i) =>
      `waiting for ${i.missing.streamKey} in namespace ${i.ls.metadata.namespace} (spec.streamKey.secretRef)`,
  },
  {
    status: 'False',
    reason: ConditionReason.DeploymentUnavailable,
    when: (i) => !i.children.transcoderAvailable && !isReporting(i),
    message: () => 'the transcoder pod is not available yet',
  },
  {
    status: 'True',
    reason: ConditionReason.ChildrenAvailable,
    when: always,
    message: () => 'all children exist and the transcoder is available',
  },
];

export const childrenReadyCondition = (input: StatusInput): Cond =>
  firstRule(ConditionType.ChildrenReady, childrenReadyRules, input);

// RelaysHealthy: are the enabled relays pushing? A relay whose key Secret is missing is named here; the channel
// itself stays Idle/Live (only the stream key blocks it).
import { ConditionReason, ConditionType, type RelayStatus } from '../../../../contract/src/api/index.ts';
import { always, firstRule, type Cond, type Rule } from './rules.ts';
import type { MissingSecrets } from './input.ts';

export interface RelaysInput {
  relays: readonly RelayStatus[];
  missing: Pick<MissingSecrets, 'relays'>;
  live: boolean;
}

const enabled = (i: RelaysInput) => i.relays.filter((r) => r.state !== 'Disabled');
const keyless = (i: RelaysInput) => enabled(i).filter((r) => i.missing.relays[r.name] !== undefined);
const retrying = (i: RelaysInput) => enabled(i).filter((r) => r.state === 'Retrying');

export const relaysHealthyRules: readonly Rule<RelaysInput>[] = [
  {
    status: 'True',
    reason: ConditionReason.NoRelays,
    when: (i) => enabled(i).length === 0,
    message: () => 'no relay is enabled',
  },
  {
    // Known without a session: say it before the encoder goes live.
    status: 'False',
    reason: ConditionReason.RelayKeyMissing,
    when: (i) => keyless(i).length > 0,
    message: (i) =>
      keyless(i)
        .map((r) => `relay ${r.name}: waiting for ${i.missing.relays[r.name]}`)
        .join('; '),
  },
  {
    status: 'Unknown',
    reason: ConditionReason.NotLive,
    when: (i) => !i.live,
    message: () => 'relays run only while Live',
  },
  {
    status: 'False',
    reason: ConditionReason.RelayFailing,
    when: (i) => retrying(i).length > 0,
    message: (i) =>
      retrying(i)
        .map((r) => `${r.name}: ${r.lastError ?? 'retrying'}`)
        .join('; '),
  },
  {
    status: 'True',
    reason: ConditionReason.RelaysActive,
    when: (i) => enabled(i).every((r) => r.state === 'Active'),
    message: (i) => `${enabled(i).length} relay(s) pushing`,
  },
  {
    status: 'Unknown',
    reason: ConditionReason.RelaysConnecting,
    when: always,
    message: () => 'relays are connecting',
  },
];

export const relaysHealthyCondition = (input: RelaysInput): Cond =>
  firstRule(ConditionType.RelaysHealthy, relaysHealthyRules, input);

// The status rules, table by table: one row per rule of each condition (a row's input makes exactly that rule the
// first to apply), a check that the rows cover every rule in order, and that every ConditionReason is produced by
// some rule.
import { describe, expect, it } from 'vitest';
import { ConditionReason, type LiveStreamSpec } from '../../../../contract/src/api/index.ts';
import {
  liveObservation,
  liveStreamWith,
  statusInput,
  statusNow,
  storedSpec,
} from '../../../../test/support/status-inputs.ts';
import type { StatusInput } from './input.ts';
import { childrenReadyRules } from './children-ready.ts';
import { publishingRules } from './publishing.ts';
import { readyRules, type ReadyInput } from './ready.ts';
import { recordingRules } from './recording.ts';
import { relaysHealthyRules, type RelaysInput } from './relays-healthy.ts';
import { firstRule, type Cond, type Rule } from './rules.ts';
import { specAppliedRules } from './spec-applied.ts';
import { deriveState, stateRules, type StateInput } from './state.ts';
import { stallAfterMs, transcodingRules } from './transcoding.ts';

const now = statusNow;
const spec = storedSpec;
const liveStream = (over: Partial<LiveStreamSpec> = {}) => liveStreamWith(over);
const observation = liveObservation;
const input = statusInput;

interface Row<I> {
  rule: string;
  input: I;
  status: Cond['status'];
  message?: RegExp;
}

/** Runs a condition's table and checks that its rows name every rule of the list, in the list's order (a rule that
 * repeats another condition's reason is matched by position). */
function table<I>(type: string, rules: readonly Rule<I>[], rows: readonly Row<I>[]) {
  describe(type, () => {
    it.each(rows)('$rule', (row) => {
      const c = firstRule(type, rules, row.input);
      expect(c.reason).toBe(row.rule);
      expect(c.status).toBe(row.status);
      if (row.message) expect(c.message).toMatch(row.message);
    });
    it('has one row per rule, in order', () => {
      const expected = rules.map((r, i) => (typeof r.reason === 'string' ? r.reason : rows[i]?.rule));
      expect(rows.map((r) => r.rule)).toEqual(expected);
    });
  });
}

table('ChildrenReady', childrenReadyRules, [
  {
    rule: 'InvalidSpec',
    input: input({
      children: {
        applied: false,
        invalidSpec: 'Deployment show-transcoder: 422: bad',
        transcoderAvailable: true,
        serviceHost: 'h',
      },
    }),
    status: 'False',
    message: /rejected .*422: bad/,
  },
  {
    rule: 'ApplyFailed',
    input: input({
      children: {
        applied: false,
        applyError: 'apply-children: 500: etcd',
        transcoderAvailable: true,
        serviceHost: 'h',
      },
    }),
    status: 'False',
    message: /500: etcd/,
  },
  {
    rule: 'Paused',
    input: input({ ls: liveStream({ paused: true }), missing: { relays: {}, streamKey: 'Secret k' } }),
    status: 'False',
  },
  {
    rule: 'GatewayNotInstalled',
    input: input({ ls: liveStream({ ingest: { ...spec.ingest, via: 'Gateway' } }) }),
    status: 'False',
    message: /spec.ingest.via is Gateway but the operator was installed without the gateway/,
  },
  {
    rule: 'StreamKeyMissing',
    input: input({ missing: { relays: {}, streamKey: 'Secret my-key' } }),
    status: 'False',
    message: /Secret my-key in namespace tv/,
  },
  {
    rule: 'DeploymentUnavailable',
    input: input({
      children: { applied: true, transcoderAvailable: false, serviceHost: 'h' },
      phase: { phase: 'unobserved' },
    }),
    status: 'False',
  },
  // A transcoder that reports is running, whatever the Deployment says yet.
  {
    rule: 'ChildrenAvailable',
    input: input({
      children: { applied: true, transcoderAvailable: false, serviceHost: 'h' },
      missing: { relays: { yt: 'Secret yt-key' }, s3Credentials: 'Secret s3' },
    }),
    status: 'True',
  },
]);

table('Publishing', publishingRules, [
  { rule: 'Paused', input: input({ ls: liveStream({ paused: true }) }), status: 'False' },
  { rule: 'ReportsUnavailable', input: input({ reportsAvailable: false }), status: 'Unknown' },
  {
    rule: 'HeartbeatLost',
    input: input({
      phase: { phase: 'stale', lastReportAgeSeconds: 20 },
      observation: observation({ lastReportAt: now - 20_000 }),
    }),
    status: 'Unknown',
    message: /since 2026-12-01T11:59:40Z/,
  },
  { rule: 'Initializing', input: input({ phase: { phase: 'unobserved' }, observation: undefined }), status: 'Unknown' },
  { rule: 'PublishStarted', input: input(), status: 'True', message: /session s1/ },
  {
    rule: 'PublisherReconnecting',
    input: input({ phase: { phase: 'reconnecting', windowEndsAt: now + 10_000 } }),
    status: 'False',
    message: /before 2026-12-01T12:00:10Z/,
  },
  { rule: 'NoPublisher', input: input({ phase: { phase: 'idle' } }), status: 'False' },
]);

const stall = stallAfterMs(liveStream());
table('Transcoding', transcodingRules, [
  { rule: 'NotLive', input: input({ phase: { phase: 'idle' } }), status: 'Unknown' },
  {
    rule: 'TranscoderFailed',
    input: input({
      health: {
        segmentsGrewAt: now - 9_000,
        ffmpeg: { failures: 3, lastAt: now - 2_000, message: 'Invalid data found' },
      },
    }),
    status: 'False',
    message: /keeps exiting.*Invalid data found/,
  },
  {
    rule: 'SegmentsStalled',
    input: input({ health: { segmentsGrewAt: now - stall - 1_000 } }),
    status: 'False',
    message: /since 2026-12-01T11:59:3\dZ/,
  },
  {
    rule: 'WaitingForSegments',
    input: input({ health: {}, observation: observation({ sessionStartedAt: now - 4_000 }) }),
    status: 'Unknown',
  },
  // Failures the ladder recovered from (a segment since the last one) do not count.
  {
    rule: 'SegmentsWritten',
    input: input({
      health: { segmentsGrewAt: now - 1_000, ffmpeg: { failures: 5, lastAt: now - 4_000, message: 'x' } },
    }),
    status: 'True',
  },
]);

describe('Transcoding says why the top rung is encoded though passthrough is on', () => {
  const refused = 'keyframe interval 10 s exceeds segment 2 s';
  it.each<[string, Partial<StatusInput>, string]>([
    [
      'SegmentsWritten',
      { health: { segmentsGrewAt: now - 1_000 }, observation: observation({ passthroughRefused: refused }) },
      `the ladder keeps writing HLS segments; top rung encoded, not passed through: ${refused}`,
    ],
    [
      'WaitingForSegments',
      {
        health: {},
        observation: observation({ sessionStartedAt: now - 4_000, passthroughRefused: 'profile High 10' }),
      },
      'the session has just started: no segment written yet; top rung encoded, not passed through: profile High 10',
    ],
    [
      'SegmentsWritten',
      { health: { segmentsGrewAt: now - 1_000 }, observation: observation({}) },
      'the ladder keeps writing HLS segments',
    ],
  ])('%s: %s', (reason, over, message) => {
    const c = firstRule('Transcoding', transcodingRules, input(over));
    expect([c.reason, c.message]).toEqual([reason, message]);
  });
});

const relay = (name: string, state: 'Connecting' | 'Active' | 'Retrying' | 'Disabled', lastError?: string) => ({
  name,
  state,
  ...(lastError ? { lastError } : {}),
});
const relays = (over: Partial<RelaysInput>): RelaysInput => ({
  relays: [],
  missing: { relays: {} },
  live: true,
  ...over,
});
table('RelaysHealthy', relaysHealthyRules, [
  {
    rule: 'NoRelays',
    input: relays({ relays: [relay('yt', 'Disabled')], missing: { relays: { yt: 'Secret k' } } }),
    status: 'True',
  },
  // Named while Idle already: the channel itself is not affected.
  {
    rule: 'RelayKeyMissing',
    input: relays({
      relays: [relay('yt', 'Connecting'), relay('tw', 'Active')],
      missing: { relays: { yt: 'Secret yt-key' } },
      live: false,
    }),
    status: 'False',
    message: /^relay yt: waiting for Secret yt-key$/,
  },
  { rule: 'NotLive', input: relays({ relays: [relay('yt', 'Active')], live: false }), status: 'Unknown' },
  {
    rule: 'RelayFailing',
    input: relays({ relays: [relay('a', 'Active'), relay('b', 'Retrying', 'refused')] }),
    status: 'False',
    message: /^b: refused$/,
  },
  { rule: 'RelaysActive', input: relays({ relays: [relay('a', 'Active'), relay('b', 'Disabled')] }), status: 'True' },
  {
    rule: 'RelaysConnecting',
    input: relays({ relays: [relay('a', 'Active'), relay('b', 'Connecting')] }),
    status: 'Unknown',
  },
]);

const recordingSpec = {
  recording: {
    enabled: true,
    s3: { bucket: 'vod', region: 'us-east-1', forcePathStyle: false, credentialsSecretRef: { name: 's3' } },
  },
} as Partial<LiveStreamSpec>;
const recorded = (over: Partial<StatusInput> = {}) => input({ ls: liveStream(recordingSpec), ...over });
const progress = { session: 's1', uploaded: 4, pending: 0, dropped: 0, lastProgressAt: now };
table('Recording', recordingRules, [
  { rule: 'RecordingDisabled', input: input({ missing: { relays: {}, s3Credentials: 'Secret s3' } }), status: 'False' },
  {
    rule: 'S3CredentialsMissing',
    input: recorded({ missing: { relays: {}, s3Credentials: 'Secret s3' } }),
    status: 'False',
    message: /until Secret s3 exists/,
  },
  {
    rule: 'UploadFailed',
    input: recorded({
      observation: observation({ recording: { ...progress, failedAt: now, lastError: 'AccessDenied' } }),
    }),
    status: 'False',
    message: /AccessDenied/,
  },
  { rule: 'NotLive', input: recorded({ phase: { phase: 'idle' } }), status: 'False' },
  {
    rule: 'RecordingPending',
    input: recorded({ observation: observation({ recording: { ...progress, session: 's0' } }) }),
    status: 'Unknown',
  },
  { rule: 'RecordingActive', input: recorded({ observation: observation({ recording: progress }) }), status: 'True' },
]);

const ladderChange = { ladder: { preset: '480p' as const, passthrough: true } };
table('SpecApplied', specAppliedRules, [
  {
    rule: 'NoSessionRunning',
    input: input({ phase: { phase: 'idle' }, ls: liveStream(ladderChange) }),
    status: 'True',
  },
  { rule: 'SessionSettingsUnknown', input: input({ health: {} }), status: 'Unknown' },
  { rule: 'SessionMatchesSpec', input: input(), status: 'True' },
  {
    rule: 'WaitingForNextSession',
    input: input({ ls: liveStream(ladderChange), sessionSettings: { ladder: spec.ladder, hls: spec.hls } }),
    status: 'False',
    message: /^spec\.ladder changed during session s1: applied when the next session starts$/,
  },
]);

const c = (type: string, status: Cond['status'], reason: string): Cond => ({
  type,
  status,
  reason,
  message: `${reason} message`,
});
const ok = {
  childrenReady: c('ChildrenReady', 'True', 'ChildrenAvailable'),
  publishing: c('Publishing', 'True', 'PublishStarted'),
  transcoding: c('Transcoding', 'True', 'SegmentsWritten'),
};
const readyRows: Row<ReadyInput>[] = [
  {
    rule: 'StreamKeyMissing',
    input: { ...ok, childrenReady: c('ChildrenReady', 'False', 'StreamKeyMissing') },
    status: 'False',
    message: /^StreamKeyMissing message$/,
  },
  { rule: 'Live', input: ok, status: 'True' },
  {
    rule: 'WaitingForPublisher',
    input: { ...ok, publishing: c('Publishing', 'False', 'NoPublisher') },
    status: 'True',
  },
];
table('Ready', readyRules, readyRows);

describe('Ready repeats the reason of what blocks it', () => {
  it.each([
    [{ ...ok, publishing: c('Publishing', 'Unknown', 'HeartbeatLost') }, 'HeartbeatLost'],
    [{ ...ok, publishing: c('Publishing', 'Unknown', 'ReportsUnavailable') }, 'ReportsUnavailable'],
    [{ ...ok, transcoding: c('Transcoding', 'False', 'TranscoderFailed') }, 'TranscoderFailed'],
    // Not knowing yet whether the first segment comes does not block Live.
    [{ ...ok, transcoding: c('Transcoding', 'Unknown', 'WaitingForSegments') }, 'Live'],
    [{ ...ok, publishing: c('Publishing', 'Unknown', 'Initializing') }, 'WaitingForPublisher'],
  ])('%#: %s', (conditions, reason) => {
    expect(firstRule('Ready', readyRules, conditions).reason).toBe(reason);
  });
});

describe('state', () => {
  const state = (over: Partial<StateInput>): StateInput => ({
    ready: c('Ready', 'True', 'WaitingForPublisher'),
    childrenReady: ok.childrenReady,
    publishing: c('Publishing', 'False', 'NoPublisher'),
    ...over,
  });
  const rows: [LiveStreamState: string, StateInput][] = [
    ['Paused', state({ ready: c('Ready', 'False', 'Paused'), childrenReady: c('ChildrenReady', 'False', 'Paused') })],
    [
      'Pending',
      state({
        ready: c('Ready', 'False', 'DeploymentUnavailable'),
        childrenReady: c('ChildrenReady', 'False', 'DeploymentUnavailable'),
      }),
    ],
    ['Failed', state({ ready: c('Ready', 'False', 'TranscoderFailed'), publishing: ok.publishing })],
    ['Live', state({ ready: c('Ready', 'True', 'Live'), publishing: ok.publishing })],
    ['Reconnecting', state({ publishing: c('Publishing', 'False', 'PublisherReconnecting') })],
    [
      'Idle',
      state({
        ready: c('Ready', 'False', 'ReportsUnavailable'),
        publishing: c('Publishing', 'Unknown', 'ReportsUnavailable'),
      }),
    ],
  ];
  it.each(rows)('%s', (expected, conditions) => expect(deriveState(conditions)).toBe(expected));
  it('has one row per rule, in order', () => expect(rows.map(([s]) => s)).toEqual(stateRules.map((r) => r.state)));
  const blind = state({
    ready: c('Ready', 'False', 'ReportsUnavailable'),
    publishing: c('Publishing', 'Unknown', 'ReportsUnavailable'),
  });
  it.each(['Live', 'Reconnecting', 'Idle'] as const)('keeps %s while reports cannot be read', (previous) =>
    expect(deriveState({ ...blind, previous })).toBe(previous),
  );
  it.each(['Failed', 'Pending', 'Paused'] as const)('does not keep %s once the reason for it is gone', (previous) =>
    expect(deriveState({ ...blind, previous })).toBe('Idle'),
  );
  it('keeps nothing when reports can be read', () =>
    expect(deriveState(state({ publishing: c('Publishing', 'False', 'NoPublisher'), previous: 'Live' }))).toBe('Idle'));
});

describe('reasons', () => {
  it('are each produced by some rule', () => {
    const produced = new Set(
      [
        childrenReadyRules,
        publishingRules,
        transcodingRules,
        recordingRules,
        specAppliedRules,
        relaysHealthyRules,
        readyRules,
      ]
        .flat()
        .map((r: Rule<never>) => r.reason)
        .filter((r): r is ConditionReason => typeof r === 'string'),
    );
    expect(Object.values(ConditionReason).filter((r) => !produced.has(r))).toEqual([]);
  });
});

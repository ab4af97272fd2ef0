// The whole status for the outcomes issue 12 asks to be honest about: what blocks the channel and what only
// degrades a part of it, a transcoder that produces no HLS, a spec change waiting for the next session, and a
// status that does not change with time alone (so a resync writes nothing).
import { describe, expect, it } from 'vitest';
import type { LiveStream, LiveStreamSpec } from '../../../../contract/src/api/index.ts';
import {
  liveObservation,
  liveStreamWith,
  statusInput,
  statusNow,
  storedSpec,
} from '../../../../test/support/status-inputs.ts';
import { computeStatus, onlyFiguresDiffer, type StatusInput } from './index.ts';

const now = statusNow;
const spec = {
  ...storedSpec,
  relays: [{ name: 'youtube', url: 'rtmp://a.rtmp.youtube.com/live2', keySecretRef: { name: 'yt-key' } }],
  recording: {
    enabled: true,
    s3: { bucket: 'vod', region: 'us-east-1', forcePathStyle: false, credentialsSecretRef: { name: 's3' } },
  },
} as LiveStreamSpec;
const ls = (over: Partial<LiveStreamSpec> = {}, status?: LiveStream['status']) =>
  liveStreamWith({ ...spec, ...over }, status);
const obs = liveObservation;
const input = (over: Partial<StatusInput> = {}): StatusInput => statusInput({ ls: ls(), ...over });

const condition = (status: ReturnType<typeof computeStatus>, type: string) =>
  status.conditions?.find((c) => c.type === type);

describe('computeStatus', () => {
  it('keeps a channel whose relay key Secret is missing Live (Idle off air), naming the Secret in RelaysHealthy', () => {
    const missing = { relays: { youtube: 'Secret yt-key' } };
    for (const [phase, state] of [
      ['live', 'Live'],
      ['idle', 'Idle'],
    ] as const) {
      const s = computeStatus(input({ missing, phase: { phase } }));
      expect(s.state).toBe(state);
      expect(condition(s, 'Ready')?.status).toBe('True');
      expect(condition(s, 'RelaysHealthy')).toMatchObject({ status: 'False', reason: 'RelayKeyMissing' });
      expect(condition(s, 'RelaysHealthy')?.message).toContain('Secret yt-key');
    }
  });

  it('degrades only the recording when the S3 credentials Secret is missing', () => {
    const s = computeStatus(input({ missing: { relays: {}, s3Credentials: 'Secret s3' } }));
    expect(s.state).toBe('Live');
    expect(condition(s, 'Recording')).toMatchObject({ status: 'False', reason: 'S3CredentialsMissing' });
  });

  it('fails the channel for a missing stream key Secret only', () => {
    const s = computeStatus(input({ missing: { relays: {}, streamKey: 'Secret my-key' }, phase: { phase: 'idle' } }));
    expect(s.state).toBe('Failed');
    expect(condition(s, 'Ready')).toMatchObject({ status: 'False', reason: 'StreamKeyMissing' });
  });

  it("counts the gateway's viewers with the transcoder's own while live, and none off air", () => {
    const live = computeStatus(input({ gatewayViewers: 7 }));
    expect([live.viewers, live.session?.viewers]).toEqual([4 + 7, 4 + 7]);
    expect(computeStatus(input({ gatewayViewers: 7, phase: { phase: 'idle' } })).viewers).toBe(0);
    expect(computeStatus(input()).viewers).toBe(4);
  });

  it('is not Ready when spec.ingest.via asks for a gateway this installation does not have, and says how to fix it', () => {
    const asked = ls({ ingest: { ...spec.ingest, via: 'Both' } });
    const s = computeStatus(input({ ls: asked, phase: { phase: 'idle' } }));
    expect(condition(s, 'ChildrenReady')).toMatchObject({ status: 'False', reason: 'GatewayNotInstalled' });
    expect(condition(s, 'ChildrenReady')?.message).toMatch(/spec.ingest.via is Both .*gateway.enabled=true/);
    const gateway = { ingest: 'rtmp://gw.edge.svc:1935', playback: 'http://gw.edge.svc' };
    const fine = computeStatus(input({ ls: asked, phase: { phase: 'idle' }, gateway }));
    expect(condition(fine, 'ChildrenReady')?.status).toBe('True');
    expect(fine.ingest).toMatchObject({ url: 'rtmp://gw.edge.svc:1935/live', via: 'Both' });
  });

  it('is not Live while an encoder publishes into an ffmpeg that keeps failing, and says why', () => {
    const s = computeStatus(
      input({
        health: { segmentsGrewAt: now - 30_000, ffmpeg: { failures: 4, lastAt: now - 1_000, message: 'Invalid data' } },
      }),
    );
    expect(s.state).toBe('Failed');
    expect(condition(s, 'Publishing')?.status).toBe('True');
    expect(condition(s, 'Ready')).toMatchObject({ status: 'False', reason: 'TranscoderFailed' });
    expect(condition(s, 'Ready')?.message).toContain('Invalid data');
  });

  it('says which fields wait for the next session, and does not claim their generation', () => {
    const before = { observedGeneration: 3 };
    const changed = ls({ ladder: { preset: '480p', passthrough: true } }, before);
    const s = computeStatus(input({ ls: changed, sessionSettings: { ladder: spec.ladder, hls: spec.hls } }));
    expect(condition(s, 'SpecApplied')).toMatchObject({
      status: 'False',
      reason: 'WaitingForNextSession',
      observedGeneration: 4,
    });
    expect(condition(s, 'SpecApplied')?.message).toMatch(/^spec\.ladder changed/);
    expect(s.observedGeneration).toBe(3);
    // Once the session ends, the new generation is in effect.
    expect(computeStatus(input({ ls: changed, phase: { phase: 'idle' } })).observedGeneration).toBe(4);
  });

  it('does not change with time alone: a lost transcoder, a stall and a reconnect window read the same later', () => {
    const cases: Partial<StatusInput>[] = [
      { phase: { phase: 'stale', lastReportAgeSeconds: 20 }, observation: obs({ lastReportAt: now - 20_000 }) },
      { health: { segmentsGrewAt: now - 40_000 } },
      { phase: { phase: 'reconnecting', windowEndsAt: now + 20_000 } },
    ];
    for (const c of cases) {
      const first = computeStatus(input(c));
      const later = computeStatus({ ...input(c), ls: ls({}, first), nowMs: now + 7_000 });
      expect(later).toEqual(first);
    }
  });

  it('keeps lastTransitionTime while a condition holds, and moves it on a flip', () => {
    const first = computeStatus(input({ phase: { phase: 'idle' } }));
    const same = computeStatus({ ...input({ phase: { phase: 'idle' } }), ls: ls({}, first), nowMs: now + 60_000 });
    expect(condition(same, 'Publishing')?.lastTransitionTime).toBe('2026-12-01T12:00:00Z');
    const flipped = computeStatus({ ...input(), ls: ls({}, first), nowMs: now + 60_000 });
    expect(condition(flipped, 'Publishing')?.lastTransitionTime).toBe('2026-12-01T12:01:00Z');
  });

  it('tells figures from transitions', () => {
    const a = computeStatus(input());
    const b = computeStatus(
      input({ observation: obs({ figures: { ...obs().figures, viewers: 9, bitrateKbps: 2400 } }) }),
    );
    const c = computeStatus(input({ phase: { phase: 'idle' } }));
    expect(onlyFiguresDiffer(a, b)).toBe(true);
    expect(onlyFiguresDiffer(a, c)).toBe(false);
  });
});

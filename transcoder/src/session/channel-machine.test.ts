// The session state machine on a fake clock: every reconnect-window path in milliseconds, no process, no file.
import { describe, expect, it } from 'vitest';
import type { LadderPlan, PlannedVideo } from '../ladder/plan-ladder.ts';
import type { SourceInfo } from '../ladder/source-info.ts';
import { passthroughRefusedMaxLength } from '../../../contract/src/reports.ts';
import {
  initialMachine,
  publicState,
  refusalForStatus,
  transition,
  type ChannelEffect,
  type ChannelEvent,
  type Machine,
  type TimerName,
} from './channel-machine.ts';

const video = (name: string, width: number, height: number): PlannedVideo => ({
  name,
  mode: 'encode',
  width,
  height,
  fps: 30,
  gop: 60,
  videoBitrateKbps: 1000,
  maxrateKbps: 1100,
  bufsizeKbps: 2000,
  profile: 'main',
  level: '3.1',
  codecString: 'avc1.4d401f',
  peakBandwidth: 1_200_000,
  averageBandwidth: 1_100_000,
  audio: 'audio',
});
const plan = (...videos: PlannedVideo[]): LadderPlan => ({
  videos,
  audioRenditions: [{ name: 'audio', mode: 'encode', bitrateKbps: 128, codecString: 'mp4a.40.2' }],
  segmentSeconds: 2,
  playlistLength: 6,
  passthrough: false,
});
const plan720 = plan(video('720p', 1280, 720), video('360p', 640, 360));
// What the reports carry of the source; its profile plays no part in the session.
const source: SourceInfo = { videoCodec: 'h264', audioCodec: 'aac', width: 1280, height: 720, fps: 30, profile: null };

// The machine with a fake clock: `at` moves time forward and fires the timers that fall due on the way, in order.
class Channel {
  state: Machine;
  now = 0;
  private ids = 0;

  constructor(windowSeconds = 4) {
    this.state = initialMachine({ reconnectWindowSeconds: windowSeconds, paused: false });
  }

  send(event: ChannelEvent): ChannelEffect[] {
    const next = transition(this.state, event, this.now);
    this.state = next.state;
    return next.effects;
  }

  at(ms: number): ChannelEffect[] {
    const effects: ChannelEffect[] = [];
    for (;;) {
      const due = (Object.entries(this.state.timers) as Array<[TimerName, number]>)
        .filter(([, when]) => when <= ms)
        .sort((a, b) => a[1] - b[1])[0];
      if (due === undefined) break;
      this.now = due[1];
      effects.push(...this.send({ type: due[0] }));
    }
    this.now = ms;
    return effects;
  }

  publish(publisherId = 'p1'): ChannelEffect[] {
    return this.send({ type: 'publish-started', publisherId, sessionId: `s${++this.ids}` });
  }

  source(publisherId = 'p1', p = plan720): ChannelEffect[] {
    return this.send({ type: 'source-ready', publisherId, source, plan: p, sessionId: `s${++this.ids}` });
  }

  leave(publisherId = 'p1', bytesIn = 1_000): ChannelEffect[] {
    return this.send({ type: 'publish-ended', publisherId, bytesIn });
  }

  crash(run: number, jitter = 0): ChannelEffect[] {
    return this.send({ type: 'ffmpeg-exited', run, exitCode: 1, signal: null, message: 'boom', jitter });
  }
}

const types = (effects: ChannelEffect[]) => effects.filter((e) => e.type !== 'log').map((e) => e.type);
const reports = (effects: ChannelEffect[]) =>
  effects.flatMap((e) => (e.type === 'report' ? [[e.report.type, e.report.session, e.report.data] as const] : []));
const ended = (effects: ChannelEffect[]) => effects.filter((e) => e.type === 'end-session');
const live = (c: Channel): void => {
  c.publish();
  c.source();
};

describe('a session', () => {
  it('starts with the first publish and its ladder with the source, reported once with the source', () => {
    const c = new Channel();
    expect(types(c.publish())).toEqual(['begin-session', 'arm-timer']);
    expect(c.state.session?.id).toBe('s1');
    expect(publicState(c.state)).toBe('live');
    const effects = c.source();
    expect(types(effects)).toEqual(['cancel-timer', 'report', 'start-ladder']);
    expect(reports(effects)).toEqual([
      [
        'publish-started',
        's1',
        { resumed: false, videoCodec: 'h264', audioCodec: 'aac', width: 1280, height: 720, fps: 30 },
      ],
    ]);
    expect(effects.find((e) => e.type === 'start-ladder')).toMatchObject({ session: 's1', run: 1, resume: false });
  });

  it('is reported without its source after 3 s, and not again when the source comes', () => {
    const c = new Channel();
    c.publish();
    expect(c.at(2_999)).toEqual([]);
    const effects = c.at(3_000);
    expect(reports(effects)).toEqual([['publish-started', 's1', { resumed: false }]]);
    expect(effects).toContainEqual(expect.objectContaining({ type: 'log', level: 'warn' }));
    expect(reports(c.source())).toEqual([]);
  });

  it('reports why the top rung is encoded though passthrough is on, as one short line', () => {
    const c = new Channel();
    c.publish();
    const refused = { ...plan720, passthroughRefused: 'keyframe interval 10 s exceeds segment 2 s' };
    expect(reports(c.source('p1', refused))).toEqual([
      [
        'publish-started',
        's1',
        expect.objectContaining({ passthroughRefused: 'keyframe interval 10 s exceeds segment 2 s' }),
      ],
    ]);
    expect(refusalForStatus(refused)).toBe('keyframe interval 10 s exceeds segment 2 s');
    expect(refusalForStatus({ ...plan720, passthroughRefused: `video codec ${'x'.repeat(300)}\nnext` })).toMatch(
      /^video codec x+\.\.\.$/,
    );
    expect(refusalForStatus({ ...plan720, passthroughRefused: 'a\r\nb' })).toBe('a b');
    expect(refusalForStatus({ ...plan720, passthroughRefused: `${'y'.repeat(300)}` })!.length).toBe(
      passthroughRefusedMaxLength,
    );
    expect(refusalForStatus(plan720)).toBeUndefined();
    expect(refusalForStatus(undefined)).toBeUndefined();
  });

  it('still reports its start when the publisher leaves before the source was known', () => {
    const c = new Channel();
    c.publish();
    expect(reports(c.leave('p1', 500)).map(([type]) => type)).toEqual(['publish-started', 'publish-ended']);
  });
});

describe('the reconnect window', () => {
  it('keeps the session when the publisher returns inside it: same id, ladder resumed, reported as resumed', () => {
    const c = new Channel(4);
    live(c);
    c.at(10_000);
    const left = c.leave('p1', 5_000);
    expect(types(left)).toEqual(['stop-ladder', 'report', 'arm-timer']);
    // The ingest ended the ladder's input with the publish: ffmpeg finishes its last segment on its own.
    expect(left[0]).toEqual({ type: 'stop-ladder', inputEnded: true });
    expect(reports(left)).toEqual([['publish-ended', 's1', { reconnectWindowSeconds: 4, bytesIn: 5_000 }]]);
    expect(left).toContainEqual({ type: 'arm-timer', timer: 'window-expired', delayMs: 4_000 });
    expect(publicState(c.state)).toBe('reconnecting');

    expect(c.at(13_999)).toEqual([]);
    const back = c.publish('p2');
    expect(types(back)).toEqual(['cancel-timer', 'arm-timer']); // the window closes; no new session
    expect(c.state.session?.id).toBe('s1');
    const resumed = c.source('p2');
    expect(reports(resumed)).toEqual([['publish-started', 's1', expect.objectContaining({ resumed: true })]]);
    expect(resumed.find((e) => e.type === 'start-ladder')).toMatchObject({ session: 's1', run: 2, resume: true });
    expect(c.at(60_000)).toEqual([]); // the cancelled window never fires
  });

  it('ends the session when it runs out: window-expired, duration and bytes of the whole session', () => {
    const c = new Channel(4);
    live(c);
    c.at(10_000);
    c.leave('p1', 5_000);
    const effects = c.at(14_000);
    expect(ended(effects)).toEqual([
      {
        type: 'end-session',
        session: 's1',
        plan: plan720,
        reason: 'window-expired',
        duration: 14,
        bytesIn: 5_000,
        publisherConnected: false,
      },
    ]);
    expect(c.now).toBe(14_000);
    expect(publicState(c.state)).toBe('idle');
    expect(c.state.endedAt).toBe(14_000);
    // The next publish is a new session.
    expect(types(c.publish('p2'))).toEqual(['begin-session', 'arm-timer']);
    expect(c.state.session?.id).not.toBe('s1');
  });

  it('of zero seconds ends the session as soon as the publisher leaves', () => {
    const c = new Channel(0);
    live(c);
    const effects = c.leave();
    expect(types(effects)).toEqual(['stop-ladder', 'report', 'end-session']);
    expect(ended(effects)[0]).toMatchObject({ reason: 'window-expired' });
  });

  it('counts the bytes of every publish of the session', () => {
    const c = new Channel(4);
    live(c);
    c.leave('p1', 1_000);
    c.publish('p2');
    c.source('p2');
    expect(reports(c.leave('p2', 2_000))).toContainEqual([
      'publish-ended',
      's1',
      { reconnectWindowSeconds: 4, bytesIn: 3_000 },
    ]);
  });

  it('keeps the session and its variants when the returning source has another size: scaled into its ladder', () => {
    const c = new Channel(4);
    live(c);
    c.leave();
    c.publish('p2');
    const effects = c.source('p2', { ...plan(video('480p', 854, 480)), passthroughRefused: 'profile High 10' });
    expect(types(effects)).toEqual(['cancel-timer', 'report', 'start-ladder']);
    // The refusal of the source that runs now, in the session it continues.
    expect(reports(effects)).toEqual([
      ['publish-started', 's1', expect.objectContaining({ resumed: true, passthroughRefused: 'profile High 10' })],
    ]);
    const start = effects.find((e) => e.type === 'start-ladder');
    expect(start).toMatchObject({ session: 's1', run: 2, resume: true });
    expect(start?.type === 'start-ladder' && start.plan.videos.map((v) => [v.name, v.width, v.height])).toEqual([
      ['720p', 1280, 720],
      ['360p', 640, 360],
    ]);
    // A crash restarts the fitted ladder, not the new source's own plan.
    const restarted = [...c.crash(2), ...c.at(10_000)].find((e) => e.type === 'start-ladder');
    expect(restarted?.type === 'start-ladder' && restarted.plan.videos.map((v) => v.name)).toEqual(['720p', '360p']);
    expect(c.state.session?.id).toBe('s1');
  });

  it('starts a new session when the returning source cannot continue the ladder (audio lost)', () => {
    const c = new Channel(4);
    live(c);
    c.leave();
    c.publish('p2');
    const silent = plan({ ...video('480p', 854, 480), audio: null });
    const effects = c.source('p2', { ...silent, audioRenditions: [] });
    expect(types(effects)).toEqual([
      'cancel-timer',
      'report',
      'end-session',
      'begin-session',
      'report',
      'start-ladder',
    ]);
    expect(ended(effects)[0]).toMatchObject({ session: 's1', reason: 'config-changed', publisherConnected: true });
    expect(reports(effects)).toEqual([
      ['publish-started', 's1', expect.objectContaining({ resumed: true })],
      ['publish-started', 's4', expect.objectContaining({ resumed: false })], // the id the source-ready carried
    ]);
    expect(effects.find((e) => e.type === 'start-ladder')).toMatchObject({ session: 's4', resume: false });
  });
});

describe('a second publisher, a pause, a shutdown', () => {
  it('a second publisher while one is live ends that session (error) and starts its own', () => {
    const c = new Channel();
    live(c);
    const effects = c.publish('p2');
    expect(types(effects)).toEqual(['stop-ladder', 'end-session', 'begin-session', 'arm-timer']);
    expect(ended(effects)[0]).toMatchObject({ session: 's1', reason: 'error', publisherConnected: true });
    expect(c.state.publisher).toBe('p2');
    // The first publisher's end and source no longer concern the channel.
    expect(c.leave('p1')).toEqual([]);
    expect(c.source('p1')).toEqual([]);
  });

  it('a pause during the window ends the session at once (paused), and disconnects publishers until unpaused', () => {
    const c = new Channel(4);
    live(c);
    c.leave();
    c.at(1_000);
    const effects = c.send({ type: 'config-changed', settings: { reconnectWindowSeconds: 4, paused: true } });
    expect(types(effects)).toEqual(['cancel-timer', 'end-session']);
    expect(ended(effects)[0]).toMatchObject({ reason: 'paused', duration: 1 });
    expect(c.at(60_000)).toEqual([]);
    expect(types(c.publish('p2'))).toEqual(['disconnect-publisher']);
    expect(c.state.session).toBeUndefined();
    c.send({ type: 'config-changed', settings: { reconnectWindowSeconds: 4, paused: false } });
    expect(types(c.publish('p3'))).toEqual(['begin-session', 'arm-timer']);
  });

  it('a pause while live stops the ladder, ends the session and disconnects the publisher', () => {
    const c = new Channel();
    live(c);
    const effects = c.send({ type: 'config-changed', settings: { reconnectWindowSeconds: 4, paused: true } });
    expect(types(effects)).toEqual(['stop-ladder', 'end-session', 'disconnect-publisher']);
    expect(c.leave()).toEqual([]); // the disconnected publisher's end: nothing left to do
  });

  it('a new reconnect window applies to the next departure', () => {
    const c = new Channel(4);
    live(c);
    c.send({ type: 'config-changed', settings: { reconnectWindowSeconds: 30, paused: false } });
    expect(c.leave()).toContainEqual({ type: 'arm-timer', timer: 'window-expired', delayMs: 30_000 });
  });

  it('a shutdown during the window ends the session (shutdown); nothing happens after it', () => {
    const c = new Channel(4);
    live(c);
    c.leave();
    const effects = c.send({ type: 'shutdown' });
    expect(types(effects)).toEqual(['cancel-timer', 'end-session']);
    expect(ended(effects)[0]).toMatchObject({ reason: 'shutdown', publisherConnected: false });
    expect(publicState(c.state)).toBe('idle');
    expect(c.at(60_000)).toEqual([]);
    expect(c.publish('p2')).toEqual([]);
    expect(c.send({ type: 'shutdown' })).toEqual([]);
  });

  it('a shutdown while live stops the ladder first and counts the connected publisher', () => {
    const c = new Channel();
    live(c);
    const effects = c.send({ type: 'shutdown' });
    expect(types(effects)).toEqual(['stop-ladder', 'end-session']);
    expect(effects[0]).toEqual({ type: 'stop-ladder', inputEnded: false }); // the input still flows: SIGINT
    expect(ended(effects)[0]).toMatchObject({ reason: 'shutdown', publisherConnected: true });
  });

  it('a refused publish is reported with the session it happened in', () => {
    const c = new Channel();
    expect(reports(c.send({ type: 'publish-refused', reason: 'bad_key' }))).toEqual([
      ['publish-refused', '', { reason: 'bad_key' }],
    ]);
    live(c);
    expect(reports(c.send({ type: 'publish-refused', reason: 'busy' }))).toEqual([
      ['publish-refused', 's1', { reason: 'busy' }],
    ]);
  });
});

describe('a ladder ffmpeg that exits on its own', () => {
  it('is reported and restarted with the backoff, which grows over a crash loop and is capped', () => {
    const c = new Channel();
    live(c);
    const delays: number[] = [];
    for (let run = 1; run <= 8; run++) {
      const effects = c.crash(run);
      expect(reports(effects)).toEqual([
        ['ffmpeg-failed', 's1', { exitCode: 1, signal: null, restarts: run, message: 'boom' }],
      ]);
      const armed = effects.find((e) => e.type === 'arm-timer' && e.timer === 'restart-due');
      delays.push(armed?.type === 'arm-timer' ? armed.delayMs : -1);
      const restart = c.at(c.now + delays.at(-1)! + 100); // runs 100 ms, then crashes again
      expect(restart).toEqual([expect.objectContaining({ type: 'start-ladder', run: run + 1, resume: true })]);
    }
    expect(delays).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    expect(publicState(c.state)).toBe('live');
  });

  it('restarts from the base delay after a run that lasted, and jitters downwards', () => {
    const c = new Channel();
    live(c);
    c.crash(1);
    c.at(300);
    c.crash(2);
    c.at(1_000);
    c.at(31_000); // run 3 lasted 30 s
    expect(c.crash(3)).toContainEqual({ type: 'arm-timer', timer: 'restart-due', delayMs: 250 });
    expect(c.crash(3)).toEqual([]); // a second report of the same exit
    c.at(c.now + 250);
    expect(c.crash(4, 1)).toContainEqual({ type: 'arm-timer', timer: 'restart-due', delayMs: 250 }); // 500 x (1 - 0.5)
  });

  it('is not restarted once the publisher has left, and an exit of a stopped ladder is ignored', () => {
    const c = new Channel();
    live(c);
    c.crash(1);
    const left = c.leave();
    expect(types(left)).toEqual(['cancel-timer', 'report', 'arm-timer']); // the pending restart is cancelled
    expect(c.at(3_000)).toEqual([]);
    const d = new Channel();
    live(d);
    d.leave();
    expect(d.crash(1)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand, type Amf0Value } from './amf0.ts';
import { messageType, type RtmpMessage } from './chunk-stream.ts';
import { command, onStatus } from './messages.ts';
import { backendAction, flowStep, initialFlow, type FlowState, type FlowStep } from './publish-flow.ts';

const options = { chunkSize: 4096 };
const cmd = (name: string, tid: number, object: Amf0Value, ...args: Amf0Value[]): RtmpMessage =>
  command(name === 'publish' ? 1 : 0, name, tid, object, ...args);

// Runs an encoder's command sequence; returns every step.
function run(messages: RtmpMessage[]): FlowStep[] {
  let state: FlowState = initialFlow;
  const steps: FlowStep[] = [];
  for (const m of messages) {
    const step = flowStep(state, m, options);
    steps.push(step);
    if (step.kind !== 'continue') break;
    state = step.state;
  }
  return steps;
}

const connect = (app: Amf0Value = 'live') =>
  cmd('connect', 1, { app, tcUrl: 'rtmp://gw:1935/live', type: 'nonprivate' });
const names = (step: FlowStep) =>
  step.kind === 'continue' ? step.replies.map((r) => (r.typeId === 20 ? decodeCommand(r.payload).name : r.typeId)) : [];

describe('flowStep: an encoder until publish', () => {
  // ffmpeg: connect, releaseStream, FCPublish, createStream, publish. OBS (librtmp): the same. Some send _checkbw.
  const sequences: Array<[string, RtmpMessage[]]> = [
    [
      'ffmpeg',
      [
        connect(),
        cmd('releaseStream', 2, null, 'k'),
        cmd('FCPublish', 3, null, 'k'),
        cmd('createStream', 4, null),
        cmd('publish', 5, null, 'k', 'live'),
      ],
    ],
    ['minimal', [connect(), cmd('createStream', 2, null), cmd('publish', 3, null, 'k?x=1', 'live')]],
    [
      'with _checkbw',
      [connect('live/'), cmd('_checkbw', 2, null), cmd('createStream', 3, null), cmd('publish', 4, null, 'k')],
    ],
  ];

  it.each(sequences)('answers connect and createStream as a server, then publishes (%s)', (_name, messages) => {
    const steps = run(messages);
    expect(names(steps[0]!)).toEqual([5, 6, 1, '_result']);
    const last = steps.at(-1)!;
    expect(last).toMatchObject({ kind: 'publish', request: { app: 'live', key: 'k', streamId: 1 } });
    const createIndex = messages.findIndex((m) => decodeCommand(m.payload).name === 'createStream');
    const created = steps[createIndex]!;
    expect(names(created)).toEqual(['_result']);
    if (created.kind === 'continue') expect(decodeCommand(created.replies[0]!.payload).args).toEqual([1]);
    // Other commands get no answer, as from node-media-server.
    steps.forEach((s, i) => {
      if (i !== 0 && i !== createIndex && s.kind === 'continue') expect(s.replies).toEqual([]);
    });
  });

  it('announces the chunk size it writes with', () => {
    const [step] = run([connect()]);
    if (step?.kind !== 'continue') throw new Error('expected continue');
    const setChunk = step.replies.find((r) => r.typeId === messageType.setChunkSize)!;
    expect(setChunk.payload.readUInt32BE(0)).toBe(options.chunkSize);
  });

  it('ignores protocol control messages and reads AMF3 command messages', () => {
    const chunkSize: RtmpMessage = { csid: 2, timestamp: 0, typeId: 1, streamId: 0, payload: Buffer.of(0, 0, 16, 0) };
    const amf3 = {
      ...connect(),
      typeId: messageType.commandAmf3,
      payload: Buffer.concat([Buffer.of(0), connect().payload]),
    };
    const steps = run([chunkSize, amf3]);
    expect(steps[0]).toMatchObject({ kind: 'continue', replies: [] });
    expect(names(steps[1]!)).toContain('_result');
  });

  const refusals: Array<[string, RtmpMessage[]]> = [
    ['createStream before connect', [cmd('createStream', 1, null)]],
    ['publish before connect', [cmd('publish', 1, null, 'k')]],
    ['connect without an app', [cmd('connect', 1, { tcUrl: 'rtmp://x/y' })]],
    ['connect twice', [connect(), connect()]],
    ['play', [connect(), cmd('createStream', 2, null), cmd('play', 3, null, 'k')]],
    ['publish without a name', [connect(), cmd('publish', 2, null)]],
    ['media before publish', [connect(), { csid: 6, timestamp: 0, typeId: 9, streamId: 1, payload: Buffer.alloc(10) }]],
    ['malformed AMF', [{ ...connect(), payload: Buffer.of(2, 0, 9, 0x61) }]],
    ['too many streams', [connect(), ...Array.from({ length: 9 }, (_, i) => cmd('createStream', i + 2, null))]],
  ];
  it.each(refusals)('refuses %s', (_name, messages) => {
    expect(run(messages).at(-1)?.kind).toBe('refuse');
  });
});

describe('backendAction: the backend towards the encoder', () => {
  const state: FlowState = { app: 'live', streams: 1, answered: [1, 4] };

  it('drops the backend answers to what the gateway answered, and its protocol control', () => {
    expect(
      backendAction(state, command(0, '_result', 1, { fmsVer: 'x' }, { code: 'NetConnection.Connect.Success' })).kind,
    ).toBe('drop');
    expect(backendAction(state, command(0, '_result', 4, null, 1)).kind).toBe('drop');
    for (const typeId of [1, 2, 3, 5, 6]) {
      expect(backendAction(state, { csid: 2, timestamp: 0, typeId, streamId: 0, payload: Buffer.alloc(5) }).kind).toBe(
        'drop',
      );
    }
  });

  it('passes on the publish status, other answers, user control and data', () => {
    expect(backendAction(state, onStatus(1, 'status', 'NetStream.Publish.Start', 'ok'))).toEqual({
      kind: 'forward',
      started: true,
    });
    expect(backendAction(state, command(0, '_result', 2, null)).kind).toBe('forward'); // releaseStream, if answered
    expect(backendAction(state, command(1, 'onFCPublish', 0, null, {})).kind).toBe('forward');
    expect(backendAction(state, { csid: 2, timestamp: 0, typeId: 4, streamId: 0, payload: Buffer.alloc(6) }).kind).toBe(
      'forward',
    );
    expect(
      backendAction(state, { csid: 6, timestamp: 0, typeId: 18, streamId: 1, payload: Buffer.alloc(3) }).kind,
    ).toBe('forward');
  });

  it('reports the backend refusing, with its own code and description', () => {
    const error = onStatus(1, 'error', 'NetStream.Publish.BadName', 'Stream already publishing');
    expect(backendAction(state, error)).toEqual({
      kind: 'refused',
      code: 'NetStream.Publish.BadName',
      description: 'Stream already publishing',
    });
    const connectError = {
      ...command(0, '_error', 1, null, { level: 'error', code: 'NetConnection.Connect.Rejected', description: 'no' }),
    };
    expect(backendAction(state, connectError)).toMatchObject({
      kind: 'refused',
      code: 'NetConnection.Connect.Rejected',
    });
    expect(encodeCommand(decodeCommand(error.payload))).toEqual(error.payload);
  });
});

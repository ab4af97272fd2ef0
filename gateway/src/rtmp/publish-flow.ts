// What the gateway answers an encoder before it knows where the stream goes, and what it passes on from the backend
// after (pure). An encoder sends connect, releaseStream, FCPublish, createStream and publish(key), and waits for the
// answers to connect and createStream before publishing: so the gateway answers those itself, as the backend would,
// and only publish (which carries the key) chooses the backend. The backend then receives the encoder's own bytes
// from the first chunk on and answers the same commands again: those answers are dropped (the encoder has them),
// everything else it says (the publish status, pings) is passed on.
import { Amf0Error, decodeCommand, type Amf0Value } from './amf0.ts';
import { messageType, type RtmpMessage } from './chunk-stream.ts';
import { connectResult, createStreamResult, setChunkSize, setPeerBandwidth, windowAckSize } from './messages.ts';

export interface FlowState {
  app?: string;
  streams: number;
  /** Transaction ids the gateway answered itself: the backend's answers to them are not passed on. */
  answered: number[];
}

export const initialFlow: FlowState = { streams: 0, answered: [] };

export interface PublishRequest {
  app: string;
  /** The stream name up to any `?`: the stream key. */
  key: string;
  streamId: number;
}

export type FlowStep =
  | { kind: 'continue'; state: FlowState; replies: RtmpMessage[] }
  | { kind: 'publish'; state: FlowState; request: PublishRequest }
  | { kind: 'refuse'; detail: string };

export interface FlowOptions {
  /** The chunk size the gateway writes to the encoder with. */
  chunkSize: number;
}

const windowBytes = 5_000_000;
const ignored = new Set<number>([
  messageType.setChunkSize,
  messageType.abort,
  messageType.acknowledgement,
  messageType.userControl,
  messageType.windowAckSize,
  messageType.setPeerBandwidth,
]);

function field(obj: Amf0Value, key: string): Amf0Value {
  return obj !== null && typeof obj === 'object' && !Array.isArray(obj) && !(obj instanceof Date)
    ? obj[key]
    : undefined;
}

const refuse = (detail: string): FlowStep => ({ kind: 'refuse', detail });

/** One message from the encoder before publish. */
export function flowStep(state: FlowState, message: RtmpMessage, options: FlowOptions): FlowStep {
  if (ignored.has(message.typeId)) return { kind: 'continue', state, replies: [] };
  if (message.typeId !== messageType.commandAmf0 && message.typeId !== messageType.commandAmf3) {
    return refuse(`message type ${message.typeId} before publish`);
  }
  let cmd;
  try {
    // An AMF3 command message is AMF0 after one format byte (RTMP 7.1.1).
    cmd = decodeCommand(message.typeId === messageType.commandAmf3 ? message.payload.subarray(1) : message.payload);
  } catch (err) {
    if (err instanceof Amf0Error) return refuse(err.message);
    throw err;
  }
  const answered = [...state.answered, cmd.transactionId].slice(-16);
  switch (cmd.name) {
    case 'connect': {
      const app = field(cmd.object, 'app');
      if (state.app !== undefined || typeof app !== 'string') return refuse('connect without an app, or twice');
      const encoding = field(cmd.object, 'objectEncoding');
      const replies = [
        windowAckSize(windowBytes),
        setPeerBandwidth(windowBytes),
        setChunkSize(options.chunkSize),
        connectResult(cmd.transactionId, typeof encoding === 'number' ? encoding : 0),
      ];
      // Some encoders put a trailing slash or the query of the URL in app: `live/`, `live?x=y`.
      return { kind: 'continue', state: { ...state, app: app.split('?')[0]!.replace(/\/+$/, ''), answered }, replies };
    }
    case 'createStream': {
      if (state.app === undefined) return refuse('createStream before connect');
      if (state.streams >= 8) return refuse('too many streams');
      const streams = state.streams + 1;
      return {
        kind: 'continue',
        state: { ...state, streams, answered },
        replies: [createStreamResult(cmd.transactionId, streams)],
      };
    }
    case 'publish': {
      const name = cmd.args[0];
      if (state.app === undefined || typeof name !== 'string')
        return refuse('publish before connect or without a name');
      return {
        kind: 'publish',
        state,
        request: { app: state.app, key: name.split('?')[0]!, streamId: message.streamId },
      };
    }
    case 'play':
    case 'play2':
      return refuse('the gateway takes publishes only');
    default:
      // releaseStream, FCPublish, _checkbw...: node-media-server does not answer them either.
      return { kind: 'continue', state, replies: [] };
  }
}

export type BackendAction =
  { kind: 'drop' } | { kind: 'forward'; started?: boolean } | { kind: 'refused'; code: string; description: string };

function statusInfo(args: Amf0Value[]): { level: string; code: string; description: string } {
  const info = args[0];
  const text = (k: string): string => {
    const v = field(info, k);
    return typeof v === 'string' ? v : '';
  };
  return { level: text('level'), code: text('code'), description: text('description') };
}

/** One message from the backend towards the encoder. */
export function backendAction(state: FlowState, message: RtmpMessage): BackendAction {
  if (ignored.has(message.typeId) && message.typeId !== messageType.userControl) return { kind: 'drop' };
  if (message.typeId !== messageType.commandAmf0) return { kind: 'forward' };
  let cmd;
  try {
    cmd = decodeCommand(message.payload);
  } catch {
    return { kind: 'forward' }; // not ours to judge: the encoder reads it as it would from the backend directly
  }
  const ours = state.answered.includes(cmd.transactionId) && cmd.transactionId !== 0;
  if (cmd.name === '_result' && ours) return { kind: 'drop' };
  if (cmd.name === '_error' && ours) return { kind: 'refused', ...statusInfo(cmd.args) };
  if (cmd.name === 'onStatus') {
    const info = statusInfo(cmd.args);
    if (info.level === 'error') return { kind: 'refused', code: info.code, description: info.description };
    if (info.code === 'NetStream.Publish.Start') return { kind: 'forward', started: true };
  }
  return { kind: 'forward' };
}

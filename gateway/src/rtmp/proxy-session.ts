// One encoder connection through the gateway (the effect runner of publish-flow.ts): the handshake, the answers
// before publish, the route by key, the connection to the channel's transcoder, and then the relay. From the first
// chunk on, every byte the encoder sends is kept and, once the backend is chosen, replayed to it unchanged and then
// piped: the backend sees exactly the stream the encoder sent (its own connect, createStream and publish with the
// key, which the transcoder checks itself), so the media is never parsed, copied into messages or re-timed. The
// backend's few messages towards the encoder are parsed and written again in the gateway's chunking, because the
// encoder's chunk state was set by the gateway's answers, not the backend's.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Logger } from '../../../contract/src/logger.ts';
import { channelId, type ChannelRoute } from '../../../contract/src/route-table.ts';
import { ChunkError, ChunkReader, encodeMessage, type RtmpMessage } from './chunk-stream.ts';
import { clientAck, clientHello, handshakeSize, onStatus, serverHandshake } from './messages.ts';
import { backendAction, flowStep, initialFlow, type FlowState, type PublishRequest } from './publish-flow.ts';
import { refusalStatus, type RefusalReason } from './refusals.ts';

export type SessionRefusal = RefusalReason | 'backend_refused';

export interface SessionContext {
  /** The channel a key opens now, if any (the route table, by keyed hash). */
  lookup(key: string): ChannelRoute | undefined;
  /** One publisher per channel: false when the channel has one already. */
  claim(channel: string, session: ProxySession): boolean;
  release(channel: string, session: ProxySession): void;
  /** false: this address has used up its refusals (rate_limited). */
  allows(address: string): boolean;
  refused(address: string, reason: SessionRefusal): void;
  routed(channel: ChannelRoute): void;
  bytes(direction: 'in' | 'out', n: number): void;
  logger: Logger;
  chunkSize: number;
  /** Handshake and commands until publish; the backend's connect, handshake and publish start. */
  timeoutMs: { commands: number; backend: number };
}

type Phase = 'c0c1' | 'c2' | 'commands' | 'connecting' | 'relaying' | 'closed';

export function parseHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(i + 1)) };
}

export class ProxySession {
  readonly address: string;
  private phase: Phase = 'c0c1';
  private pending = Buffer.alloc(0); // handshake bytes not yet complete
  private readonly replay: Buffer[] = []; // the encoder's chunk stream so far, for the backend
  private readonly reader = new ChunkReader({ maxMessageBytes: 64 * 1024 });
  private flow: FlowState = initialFlow;
  private channel: ChannelRoute | undefined;
  private backend: net.Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly context: SessionContext;
  private readonly client: net.Socket;

  constructor(client: net.Socket, context: SessionContext) {
    this.client = client;
    this.context = context;
    this.address = client.remoteAddress ?? 'unknown';
    client.setNoDelay(true);
    client.on('data', (d: Buffer) => this.onClientData(d));
    client.on('error', () => this.close());
    client.on('close', () => this.close());
    this.arm(context.timeoutMs.commands, 'bad_request');
  }

  private arm(ms: number, reason: SessionRefusal): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refuse(reason, 0), ms);
    this.timer.unref();
  }

  private onClientData(data: Buffer): void {
    this.context.bytes('in', data.length);
    try {
      if (this.phase === 'c0c1' || this.phase === 'c2') this.handshake(data);
      else if (this.phase === 'commands') this.commands(data);
      else if (this.phase === 'connecting') this.replay.push(data);
      else if (this.phase === 'relaying' && this.backend?.write(data) === false) {
        // Backpressure: the backend (or the link to it) is slower than the encoder for a moment.
        this.client.pause();
        this.backend.once('drain', () => this.client.resume());
      }
    } catch (err) {
      if (!(err instanceof ChunkError)) throw err;
      this.refuse('bad_request', 0);
    }
  }

  private handshake(data: Buffer): void {
    this.pending = Buffer.concat([this.pending, data]);
    if (this.phase === 'c0c1') {
      if (this.pending.length < 1 + handshakeSize) return;
      const reply = serverHandshake(this.pending, randomBytes(handshakeSize));
      if (!reply) return this.refuse('bad_request', 0);
      this.write(reply);
      this.pending = this.pending.subarray(1 + handshakeSize);
      this.phase = 'c2';
    }
    if (this.pending.length < handshakeSize) return;
    const rest = this.pending.subarray(handshakeSize);
    this.pending = Buffer.alloc(0);
    this.phase = 'commands';
    if (rest.length > 0) this.commands(rest);
  }

  private commands(data: Buffer): void {
    this.replay.push(data);
    for (const message of this.reader.push(data)) {
      const step = flowStep(this.flow, message, { chunkSize: this.context.chunkSize });
      if (step.kind === 'refuse') {
        this.context.logger.debug({ address: this.address, detail: step.detail }, 'publish refused: bad request');
        return this.refuse('bad_request', message.streamId);
      }
      this.flow = step.state;
      if (step.kind === 'publish') return this.route(step.request);
      for (const reply of step.replies) this.send(reply);
    }
  }

  private route(request: PublishRequest): void {
    const { context } = this;
    this.phase = 'connecting';
    if (!context.allows(this.address)) return this.refuse('rate_limited', request.streamId);
    const channel = context.lookup(request.key);
    if (!channel) return this.refuse('unknown_key', request.streamId);
    if (channel.app !== request.app) return this.refuse('bad_request', request.streamId);
    if (!context.claim(channelId(channel.namespace, channel.name), this)) return this.refuse('busy', request.streamId);
    this.channel = channel;
    this.arm(context.timeoutMs.backend, 'backend_unavailable');
    this.connectBackend(channel, request.streamId);
  }

  private connectBackend(channel: ChannelRoute, streamId: number): void {
    const backend = net.connect(parseHostPort(channel.rtmp));
    this.backend = backend;
    backend.setNoDelay(true);
    let greeting: Buffer | undefined = Buffer.alloc(0); // S0+S1+S2 until complete, then undefined
    let started = false;
    const reader = new ChunkReader({ maxMessageBytes: 1024 * 1024 });
    backend.once('connect', () => backend.write(clientHello(randomBytes(handshakeSize))));
    backend.on('data', (data: Buffer) => {
      if (this.phase === 'closed') return;
      if (greeting !== undefined) {
        greeting = Buffer.concat([greeting, data]);
        if (greeting.length < 1 + 2 * handshakeSize) return;
        const c2 = clientAck(greeting);
        if (!c2) return this.refuse('backend_unavailable', streamId);
        data = greeting.subarray(1 + 2 * handshakeSize);
        greeting = undefined;
        backend.write(Buffer.concat([c2, ...this.replay]));
        this.replay.length = 0;
        this.phase = 'relaying';
      }
      try {
        for (const message of reader.push(data)) started = this.fromBackend(message, started, streamId);
      } catch (err) {
        if (!(err instanceof ChunkError)) throw err;
        this.close();
      }
    });
    const gone = () => (started ? this.close() : this.refuse('backend_unavailable', streamId));
    backend.on('error', gone);
    backend.on('close', gone);
  }

  // Returns whether the publish has started on the backend.
  private fromBackend(message: RtmpMessage, started: boolean, streamId: number): boolean {
    const action = backendAction(this.flow, message);
    if (action.kind === 'refused') {
      // The backend's own status, so the encoder logs the transcoder's reason; counted only before the start.
      this.send(onStatus(streamId, 'error', action.code, action.description));
      if (started) this.close();
      else this.finishRefusal('backend_refused');
      return started;
    }
    if (action.kind === 'forward') this.send(message);
    if (action.kind === 'forward' && action.started && !started && this.channel) {
      clearTimeout(this.timer);
      this.context.routed(this.channel);
      this.context.logger.info(
        { namespace: this.channel.namespace, name: this.channel.name, address: this.address },
        'publish routed',
      );
      return true;
    }
    return started;
  }

  private send(message: RtmpMessage): void {
    this.write(encodeMessage(message, this.context.chunkSize));
  }

  private write(data: Buffer): void {
    if (this.phase === 'closed' || this.client.destroyed) return;
    this.context.bytes('out', data.length);
    this.client.write(data);
  }

  /** Tells the encoder why (after its publish) and closes; counts the reason. */
  private refuse(reason: SessionRefusal, streamId: number): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'connecting' || this.phase === 'relaying' || streamId !== 0) {
      const status = refusalStatus(reason === 'backend_refused' ? 'backend_unavailable' : reason);
      this.send(onStatus(streamId, 'error', status.code, status.description));
    }
    this.finishRefusal(reason);
  }

  private finishRefusal(reason: SessionRefusal): void {
    if (this.phase === 'closed') return;
    const channel = this.channel;
    this.context.refused(this.address, reason);
    this.context.logger.info(
      { reason, address: this.address, ...(channel && { namespace: channel.namespace, name: channel.name }) },
      'publish refused',
    );
    this.client.end();
    this.close();
  }

  close(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.timer);
    if (this.channel) this.context.release(channelId(this.channel.namespace, this.channel.name), this);
    this.backend?.destroy();
    // end() flushes a refusal's status first; destroy after a grace in case the encoder never reads it.
    if (!this.client.destroyed) this.client.end();
    setTimeout(() => this.client.destroy(), 2_000).unref();
  }
}

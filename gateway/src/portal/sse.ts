// Server-sent events for the portal's pages: the frame format (pure) and the hub that holds the open streams, each
// subscribed to one topic (the directory, or one channel). The hub bounds how many streams are open (a browser tab
// holds one for as long as it is open), and writes a comment line every heartbeat so that proxies and load balancers
// see traffic and a dead peer is noticed by a failed write. A stream whose socket cannot keep up is dropped rather
// than buffered without bound; the browser reconnects and gets a fresh snapshot.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SseEvent {
  event: string;
  data: string;
  /** Milliseconds the browser waits before reconnecting (EventSource's `retry`). */
  retryMs?: number;
}

/** One event as its bytes on the wire; multi-line data becomes several `data:` lines, as the format wants. */
export function sseFrame({ event, data, retryMs }: SseEvent): string {
  if (/[\r\n]/.test(event)) throw new Error('an event name is one line');
  const lines = retryMs === undefined ? [] : [`retry: ${Math.round(retryMs)}`];
  lines.push(`event: ${event}`);
  for (const line of data.split(/\r\n|\r|\n/)) lines.push(`data: ${line}`);
  return lines.join('\n') + '\n\n';
}

export const sseHeartbeat = ': heartbeat\n\n';

export interface SseHubOptions {
  maxStreams: number;
  heartbeatMs: number;
  /** Bytes a stream may have queued in its socket before it is dropped as too slow. */
  maxBufferedBytes?: number;
}

interface Stream {
  topic: string;
  res: ServerResponse;
}

export class SseHub {
  readonly #streams = new Set<Stream>();
  readonly #timer: NodeJS.Timeout;
  readonly #maxBuffered: number;
  private readonly options: SseHubOptions;

  constructor(options: SseHubOptions) {
    this.options = options;
    this.#maxBuffered = options.maxBufferedBytes ?? 1 << 20;
    this.#timer = setInterval(() => this.#heartbeat(), options.heartbeatMs);
    this.#timer.unref();
  }

  get size(): number {
    return this.#streams.size;
  }

  /**
   * Opens a stream on `topic` with its first events, ended after `closeAfterMs` when given; answers 503 (and false)
   * when the hub is full.
   */
  open(req: IncomingMessage, res: ServerResponse, topic: string, first: SseEvent[], closeAfterMs?: number): boolean {
    if (this.#streams.size >= this.options.maxStreams) {
      res.writeHead(503, {
        'content-type': 'text/plain; charset=utf-8',
        'retry-after': '10',
        'cache-control': 'no-store',
      });
      res.end('too many event streams\n');
      return false;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no', // nginx-style proxies: pass events as they come
    });
    res.flushHeaders();
    const stream = { topic, res };
    this.#streams.add(stream);
    const end = closeAfterMs === undefined ? undefined : setTimeout(() => res.end(), Math.max(0, closeAfterMs));
    end?.unref();
    const drop = () => {
      clearTimeout(end);
      this.#streams.delete(stream);
    };
    req.once('close', drop);
    res.once('close', drop);
    for (const event of first) this.#write(stream, sseFrame(event));
    return true;
  }

  /** Sends one event to every stream on `topic`. */
  publish(topic: string, event: SseEvent): void {
    let frame: string | undefined;
    for (const stream of this.#streams) {
      if (stream.topic !== topic) continue;
      frame ??= sseFrame(event);
      this.#write(stream, frame);
    }
  }

  /** The topics that have at least one stream open. */
  topics(): Set<string> {
    return new Set([...this.#streams].map((s) => s.topic));
  }

  close(): void {
    clearInterval(this.#timer);
    for (const stream of this.#streams) stream.res.end();
    this.#streams.clear();
  }

  #write(stream: Stream, text: string): void {
    if (stream.res.writableLength > this.#maxBuffered) {
      this.#streams.delete(stream);
      stream.res.destroy();
      return;
    }
    stream.res.write(text);
  }

  #heartbeat(): void {
    for (const stream of this.#streams) this.#write(stream, sseHeartbeat);
  }
}

// Viewers per channel as the gateway sees them: behind the gateway a channel's origin sees only the gateway (and
// the cache answers most requests), so each replica counts its own viewers, by the transcoder's rule
// (contract/src/viewer-window.ts: the player's token, else address + User-Agent, seen within a sliding window) plus
// the HTTP-FLV responses open now. The operator sums the replicas (GET /admin/viewers). Memory is bounded twice:
// at most maxChannels channels (only routed ones are ever seen) and maxViewers viewers over all of them; past that,
// the stalest viewer of the channel that grows is forgotten, so a flood on one channel does not evict another's.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gauge } from 'prom-client';
import type { ChannelViewerCount } from '../../../contract/src/gateway-admin.ts';
import { channelId } from '../../../contract/src/route-table.ts';
import { anonymousViewerId, viewerToken, ViewerWindow } from '../../../contract/src/viewer-window.ts';

/** What playback tells the counter (playback.ts): a served HLS file, an HTTP-FLV response. */
export interface ViewerCounter {
  see(req: IncomingMessage, namespace: string, name: string, query: string): void;
  watchFlv(req: IncomingMessage, res: ServerResponse, namespace: string, name: string): void;
}

/**
 * The client's address: the socket's, or with `trustedProxies` hops in front (a load balancer, a CDN) the entry of
 * X-Forwarded-For that the outermost trusted proxy wrote (counted from the right, as each proxy appends). Entries
 * left of it are the client's own claim; too few entries fall back to the leftmost.
 */
export function clientAddress(
  forwardedFor: string | string[] | undefined,
  socketAddress: string,
  trustedProxies: number,
): string {
  if (trustedProxies <= 0 || forwardedFor === undefined) return socketAddress;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (hops.length === 0) return socketAddress;
  return hops[Math.max(0, hops.length - trustedProxies)]!;
}

export interface ChannelViewersOptions {
  /** How many proxies in front are trusted to write X-Forwarded-For (0: none, the socket's address counts). */
  trustedProxies: number;
  /** Whether a channel is in the route table now: one that left it is dropped with its series. */
  isRouted(namespace: string, name: string): boolean;
  gauge?: Gauge<'namespace' | 'name'>;
  windowMs?: number;
  maxChannels?: number;
  maxViewers?: number;
  now?: () => number;
}

interface Channel {
  namespace: string;
  name: string;
  window: ViewerWindow;
  flv: number;
  /** When its count fell to 0; its series goes after a whole window at 0. */
  emptySince: number | undefined;
}

export class ChannelViewers implements ViewerCounter {
  private readonly channels = new Map<string, Channel>();
  // Without a token a viewer is its address + User-Agent: hashed once per keep-alive connection and client.
  private readonly connectionViewer = new WeakMap<object, { client: string; id: string }>();
  private readonly opts: Required<Omit<ChannelViewersOptions, 'gauge'>> & Pick<ChannelViewersOptions, 'gauge'>;
  private tracked = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: ChannelViewersOptions) {
    this.opts = { windowMs: 30_000, maxChannels: 20_000, maxViewers: 500_000, now: Date.now, ...options };
  }

  /** Updates the gauge every `everyMs` (and drops what is gone) until close(). */
  start(everyMs = 2_000): void {
    this.timer = setInterval(() => this.sweep(), everyMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  see(req: IncomingMessage, namespace: string, name: string, query: string): void {
    const channel = this.channel(namespace, name);
    if (!channel) return;
    const { window } = channel;
    const before = window.size;
    window.touch(viewerToken(query) ?? this.anonymousId(req), this.opts.now());
    this.tracked += window.size - before;
    while (this.tracked > this.opts.maxViewers && window.forgetStalest()) this.tracked--;
  }

  watchFlv(_req: IncomingMessage, res: ServerResponse, namespace: string, name: string): void {
    const channel = this.channel(namespace, name);
    if (!channel) return;
    channel.flv++;
    res.once('close', () => channel.flv--);
  }

  /** Every channel with viewers now, sorted; the gauge is brought up to date on the way. */
  counts(): ChannelViewerCount[] {
    this.sweep();
    const counts: ChannelViewerCount[] = [];
    for (const c of this.channels.values()) {
      const viewers = this.countOf(c);
      if (viewers > 0) counts.push({ namespace: c.namespace, name: c.name, viewers });
    }
    return counts.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  }

  /** Sets the gauge; drops a channel (and its series) that left the route table or had no viewer for a window. */
  sweep(): void {
    const now = this.opts.now();
    for (const [id, c] of this.channels) {
      const viewers = this.countOf(c);
      const labels = { namespace: c.namespace, name: c.name };
      if (viewers > 0) c.emptySince = undefined;
      else c.emptySince ??= now;
      const idle = c.emptySince !== undefined && now - c.emptySince >= this.opts.windowMs;
      if (idle || !this.opts.isRouted(c.namespace, c.name)) {
        this.tracked -= c.window.size;
        this.channels.delete(id);
        this.opts.gauge?.remove(labels);
      } else {
        this.opts.gauge?.set(labels, viewers);
      }
    }
  }

  private countOf(c: Channel): number {
    const before = c.window.size;
    const hls = c.window.count(this.opts.now());
    this.tracked += c.window.size - before;
    return hls + c.flv;
  }

  private channel(namespace: string, name: string): Channel | undefined {
    const id = channelId(namespace, name);
    let channel = this.channels.get(id);
    if (!channel && this.channels.size < this.opts.maxChannels) {
      const window = new ViewerWindow({ windowMs: this.opts.windowMs, maxTracked: this.opts.maxViewers });
      channel = { namespace, name, window, flv: 0, emptySince: undefined };
      this.channels.set(id, channel);
    }
    return channel;
  }

  private anonymousId(req: IncomingMessage): string {
    const address = clientAddress(
      req.headers['x-forwarded-for'],
      req.socket.remoteAddress ?? '',
      this.opts.trustedProxies,
    );
    const client = `${address}\n${req.headers['user-agent'] ?? ''}`;
    const known = this.connectionViewer.get(req.socket);
    if (known && known.client === client) return known.id;
    const id = anonymousViewerId(address, req.headers['user-agent'] ?? '');
    this.connectionViewer.set(req.socket, { client, id });
    return id;
  }
}

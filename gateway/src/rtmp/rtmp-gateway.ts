// The RTMP listener: one ProxySession per encoder connection, one publisher per channel, refusals limited per
// client address. The sessions do the protocol; this class holds what they share. RTMPS is a second socket source
// (a TLS server made by the caller) feeding the same sessions: a session sees a decrypted socket and nothing else.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../../contract/src/logger.ts';
import type { ChannelRoute } from '../../../contract/src/route-table.ts';
import type { GatewayMetrics } from '../telemetry/metrics.ts';
import { ChannelClaims } from './channel-claims.ts';
import { ProxySession, type SessionRefusal } from './proxy-session.ts';
import { RefusalLimiter, type BucketPolicy } from '../../../contract/src/refusal-limiter.ts';

export interface RtmpGatewayOptions {
  host?: string;
  port: number;
  lookup: (key: string) => ChannelRoute | undefined;
  metrics: GatewayMetrics;
  logger: Logger;
  refusals: BucketPolicy;
  chunkSize?: number;
  timeoutMs?: { commands: number; backend: number };
  now?: () => number;
  /** A second listener whose connections become the same sessions (RTMPS: `server` is a TLS server for `accept`). */
  secure?: { port: number; server: (accept: (socket: net.Socket) => void) => net.Server };
}

export async function listenOn(server: net.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export class RtmpGateway {
  port = 0;
  /** Port of the secure listener; undefined without one. */
  securePort: number | undefined;
  private readonly server: net.Server;
  private readonly secureServer: net.Server | undefined;
  private readonly sessions = new Set<ProxySession>();
  /** Refused tries per address; WHIP ingest spends the same ones, so switching protocol buys a guesser nothing. */
  readonly limiter: RefusalLimiter;
  /** One publisher per channel on this replica; WHIP ingest claims from the same, so RTMP and WHIP exclude each other. */
  readonly claims: ChannelClaims;
  private readonly options: RtmpGatewayOptions;

  constructor(options: RtmpGatewayOptions) {
    this.options = options;
    this.limiter = new RefusalLimiter(options.refusals);
    this.claims = new ChannelClaims((size) => options.metrics.publishesActive.set(size));
    this.server = net.createServer((socket) => this.accept(socket));
    this.secureServer = options.secure?.server((socket) => this.accept(socket));
  }

  async listen(): Promise<void> {
    const host = this.options.host ?? '0.0.0.0';
    this.port = await listenOn(this.server, this.options.port, host);
    if (this.secureServer && this.options.secure) {
      this.securePort = await listenOn(this.secureServer, this.options.secure.port, host);
    }
  }

  /** Channels with a publisher now ("namespace/name"). */
  liveChannels(): string[] {
    return this.claims.channels();
  }

  private accept(socket: net.Socket): void {
    const { metrics, logger } = this.options;
    const now = this.options.now ?? Date.now;
    const session = new ProxySession(socket, {
      lookup: this.options.lookup,
      claim: (channel, s) => this.claims.claim(channel, s),
      release: (channel, s) => this.claims.release(channel, s),
      allows: (address) => this.limiter.allows(address, now()),
      refused: (address: string, reason: SessionRefusal) => {
        metrics.publishesRefusedTotal.inc({ reason });
        // Guessing costs a token; a busy channel, a backend's trouble or a throttled try do not.
        if (reason === 'unknown_key' || reason === 'bad_request') this.limiter.refused(address, now());
      },
      routed: () => metrics.publishesRoutedTotal.inc(),
      bytes: (direction, n) => metrics.rtmpBytesTotal.inc({ direction }, n),
      logger,
      chunkSize: this.options.chunkSize ?? 4096,
      timeoutMs: this.options.timeoutMs ?? { commands: 10_000, backend: 10_000 },
    });
    this.sessions.add(session);
    socket.once('close', () => this.sessions.delete(session));
  }

  async close(): Promise<void> {
    const servers = [this.server, this.secureServer].filter((s) => s?.listening) as net.Server[];
    const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
    for (const s of this.sessions) s.close();
    await Promise.all(closed);
  }
}

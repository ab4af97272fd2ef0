// WHIP ingest (RFC 9725) on the gateway's HTTP server: POST an SDP offer with the stream key as bearer token to
// /whip (routed by the key, like RTMP) or /<namespace>/<name>/whip (the key must be that channel's), get the answer
// and a session URL; DELETE the session URL to stop. Each session becomes an RTMP publish to the channel's
// transcoder (whip-session.ts, media-bridge.ts), so everything behind the ingest works unchanged.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../contract/src/logger.ts';
import type { RefusalLimiter } from '../../../contract/src/refusal-limiter.ts';
import { channelId, type ChannelRoute } from '../../../contract/src/route-table.ts';
import type { WhipNetwork } from '../config/settings.ts';
import { ChannelClaims } from '../rtmp/channel-claims.ts';
import { bearerKey, fragmentCandidates, iceCredentials, offerProblem, whipTarget } from './whip-sdp.ts';
import { WhipSession } from './whip-session.ts';

export interface WhipIngestOptions {
  lookup(key: string): ChannelRoute | undefined;
  logger: Logger;
  maxSessions: number;
  /** Where ICE listens and what it announces (settings.whipNetwork); none: werift's defaults. */
  network?: WhipNetwork;
  /** e.g. "https://gateway.example.com": makes Location absolute; relative otherwise. */
  publicUrlBase?: string;
  /** PLI interval: the channel's HLS segment duration. */
  keyframeIntervalMs?: number;
  /** Sessions open now, for a gauge. */
  onSessions?(count: number): void;
  /** Wrong keys per client address (the RTMP ingest's limiter); none: not limited. */
  limiter?: RefusalLimiter;
  /** A publish refused: `unknown_key`, `busy` or `rate_limited` (the RTMP ingest's reasons, for one counter). */
  onRefused?: (reason: 'unknown_key' | 'busy' | 'rate_limited') => void;
  /** One publisher per channel (the RTMP ingest's claims): a channel live over RTMP here is refused with 409 before
   * any answer. None: WHIP sessions exclude only each other. */
  claims?: ChannelClaims;
}

export interface WhipIngest {
  /** true when the request was a WHIP one (and is answered); false: not ours, the caller goes on. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  readonly sessions: number;
  /** The bridges' ffmpeg processes (for CPU figures). */
  ffmpegPids(): number[];
  close(): Promise<void>;
}

interface Entry {
  /** What holds the channel's claim: the POST's token, kept by the session it opens. */
  holder: object;
  id: string;
  etag: string;
  channel: string;
  session: WhipSession;
}

const maxOfferBytes = 64 * 1024;
const cors = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, DELETE, PATCH, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, if-match',
  'access-control-expose-headers': 'location, etag, accept-patch',
};

function send(res: ServerResponse, status: number, body = '', headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...cors, 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxOfferBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createWhipIngest(options: WhipIngestOptions): WhipIngest {
  return new WhipIngestHandler(options);
}

class WhipIngestHandler implements WhipIngest {
  private readonly byId = new Map<string, Entry>();
  private readonly claims: ChannelClaims;
  private pending = 0; // offers being answered (their channels claimed already)
  private readonly options: WhipIngestOptions;

  constructor(options: WhipIngestOptions) {
    this.options = options;
    this.claims = options.claims ?? new ChannelClaims();
  }

  get sessions(): number {
    return this.byId.size;
  }

  ffmpegPids(): number[] {
    return [...this.byId.values()].flatMap((e) => e.session.ffmpegPid ?? []);
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const target = whipTarget(new URL(req.url ?? '/', 'http://x').pathname);
    if (target === undefined) return false;
    if (req.method === 'OPTIONS') {
      send(res, 204, '', { 'accept-post': 'application/sdp' });
      return true;
    }
    const work =
      target.kind === 'session'
        ? this.onSession(req, res, target.id)
        : req.method === 'POST'
          ? this.post(req, res, target)
          : Promise.resolve(send(res, 405, 'POST an SDP offer', { allow: 'POST, OPTIONS' }));
    work.catch((err: unknown) => {
      this.options.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'WHIP request failed');
      if (!res.headersSent) send(res, 500, 'WHIP session could not be set up');
    });
    return true;
  }

  async close(): Promise<void> {
    const entries = [...this.byId.values()];
    this.byId.clear();
    for (const e of entries) this.claims.release(e.channel, e.holder);
    await Promise.all(entries.map((e) => e.session.close()));
    this.changed();
  }

  private changed(): void {
    this.options.onSessions?.(this.byId.size);
  }

  private release(entry: Entry): void {
    if (this.byId.get(entry.id) !== entry) return;
    this.byId.delete(entry.id);
    this.claims.release(entry.channel, entry.holder);
    this.changed();
  }

  /** The route the request may publish to, or the refusal already sent. */
  private admit(req: IncomingMessage, res: ServerResponse, path: { namespace?: string; name?: string }) {
    if (!/^application\/sdp\b/i.test(req.headers['content-type'] ?? '')) {
      return send(res, 415, 'Content-Type must be application/sdp');
    }
    const { limiter, onRefused } = this.options;
    const address = req.socket.remoteAddress ?? '';
    // An address out of tries is refused before its key is even looked up.
    if (limiter && !limiter.allows(address, Date.now())) {
      onRefused?.('rate_limited');
      return send(res, 429, 'too many refused publishes from this address', { 'retry-after': '10' });
    }
    const key = bearerKey(req.headers.authorization);
    const route = key === undefined ? undefined : this.options.lookup(key);
    // A key of another channel on a per-channel URL gets the same answer as a wrong key: nothing tells them apart.
    if (
      !key ||
      !route ||
      (path.name !== undefined && (route.namespace !== path.namespace || route.name !== path.name))
    ) {
      limiter?.refused(address, Date.now());
      onRefused?.('unknown_key');
      return send(res, 401, 'unknown stream key', { 'www-authenticate': 'Bearer' });
    }
    const channel = channelId(route.namespace, route.name);
    if (this.claims.has(channel)) {
      onRefused?.('busy');
      return send(res, 409, 'the channel is live already');
    }
    if (this.byId.size + this.pending >= this.options.maxSessions) {
      return send(res, 503, 'too many WHIP sessions', { 'retry-after': '10' });
    }
    const holder = {};
    this.claims.claim(channel, holder); // free: checked just above, nothing ran in between
    return { key, route, channel, holder };
  }

  private async post(req: IncomingMessage, res: ServerResponse, path: { namespace?: string; name?: string }) {
    const admitted = this.admit(req, res, path);
    if (admitted === undefined) return;
    const { key, route, channel, holder } = admitted;
    this.pending++;
    let opened = false;
    try {
      const offer = await readBody(req);
      if (offer === undefined) return send(res, 413, 'offer too large');
      const problem = offerProblem(offer);
      if (problem) return send(res, 406, problem);
      const entry = await this.open({ route, key, channel, holder }, offer);
      opened = true;
      const location = `${this.options.publicUrlBase ?? ''}/whip/sessions/${entry.id}`;
      send(res, 201, entry.answer, {
        'content-type': 'application/sdp',
        location,
        etag: entry.etag,
        'accept-patch': 'application/trickle-ice-sdpfrag',
      });
    } finally {
      this.pending--;
      // Refused or failed before a session: the channel is free again (an opened session releases it when it ends).
      if (!opened) this.claims.release(channel, holder);
    }
  }

  private async open(claim: { route: ChannelRoute; key: string; channel: string; holder: object }, offer: string) {
    const { route, key, channel, holder } = claim;
    const id = randomBytes(16).toString('base64url');
    const log = this.options.logger;
    const etag = `"${randomBytes(8).toString('hex')}"`;
    const entry: Entry = { holder, id, etag, channel, session: undefined as never };
    entry.session = new WhipSession({
      route,
      key,
      keyframeIntervalMs: this.options.keyframeIntervalMs ?? 2000,
      ...(this.options.network && { network: this.options.network }),
      onEnded: (reason) => {
        log.info({ channel, session: id, reason }, 'WHIP session ended');
        this.release(entry);
      },
      onBridgeWarning: (line) => log.warn({ channel, session: id, ffmpeg: line }, 'WHIP media bridge'),
    });
    const answer = await entry.session.answer(offer).catch(async (err: unknown) => {
      await entry.session.close();
      throw err;
    });
    this.byId.set(id, entry);
    this.changed();
    log.info({ channel, session: id }, 'WHIP session started');
    return { ...entry, answer };
  }

  /** Trickle ICE (same credentials: 204) or an ICE restart (new ones: 200 with the new answer fragment and ETag). */
  private async patch(req: IncomingMessage, res: ServerResponse, entry: Entry, body: string) {
    const ifMatch = req.headers['if-match'];
    const credentials = iceCredentials(body);
    const current = entry.session.remoteCredentials;
    const restart =
      credentials !== undefined && (credentials.ufrag !== current?.ufrag || credentials.pwd !== current.pwd);
    if (!restart) {
      // RFC 9725 4.3.1: a trickle PATCH may name the ICE session's entity-tag; a stale one is refused.
      if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== entry.etag) return send(res, 412, 'stale ETag');
      await entry.session.addCandidates(fragmentCandidates(body));
      return send(res, 204);
    }
    if (ifMatch !== '*') return send(res, 428, 'an ICE restart needs If-Match: *');
    const fragment = await entry.session.restartIce(credentials, fragmentCandidates(body));
    entry.etag = `"${randomBytes(8).toString('hex')}"`;
    this.options.logger.info({ channel: entry.channel, session: entry.id }, 'WHIP ICE restart');
    return send(res, 200, fragment, { 'content-type': 'application/trickle-ice-sdpfrag', etag: entry.etag });
  }

  private async onSession(req: IncomingMessage, res: ServerResponse, id: string) {
    const entry = this.byId.get(id);
    if (!entry) return send(res, 404, 'no such session');
    if (req.method === 'DELETE') {
      this.release(entry);
      await entry.session.close();
      this.options.logger.info({ channel: entry.channel, session: id }, 'WHIP session deleted');
      return send(res, 200);
    }
    if (req.method === 'PATCH') {
      if (!/^application\/trickle-ice-sdpfrag\b/i.test(req.headers['content-type'] ?? '')) {
        return send(res, 415, 'Content-Type must be application/trickle-ice-sdpfrag');
      }
      const body = await readBody(req);
      if (body === undefined) return send(res, 413, 'fragment too large');
      return this.patch(req, res, entry, body);
    }
    return send(res, 405, 'DELETE or PATCH', { allow: 'DELETE, PATCH, OPTIONS' });
  }
}

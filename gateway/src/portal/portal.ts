// The viewer portal on the gateway's HTTP port: the directory at `/`, a stream page at `/<namespace>/<name>/`, their
// live updates as server-sent events (`/_portal/events` for the directory, `/<namespace>/<name>/events` for one
// channel; a private or password channel's only with ?session=, channel-gate.ts) and their static files under `/_portal/` (a prefix no namespace can take: `_` is not in a DNS label).
// It serves from what the operator pushed (directory-store.ts); playlists, segments, thumbnails and sessions are
// playback's. Changes are coalesced for a moment, so a push of many channels is one event per open page.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadHlsJs, playerHlsConfigs } from '../../../contract/src/hls-js.ts';
import type { Logger } from '../../../contract/src/logger.ts';
import type { ChannelListing } from '../../../contract/src/portal-directory.ts';
import { channelId } from '../../../contract/src/route-table.ts';
import { checkPageSession, sendRefusal, type AccessContext } from '../access/playback-access.ts';
import { isGated, visibleStatus } from './channel-gate.ts';
import type { DirectoryStore } from './directory-store.ts';
import { channelPhase, directoryView, type ChannelStatus } from './directory-view.ts';
import {
  directoryEventsPath,
  pageHeaders,
  portalAssetPrefix,
  renderDirectoryLists,
  renderDirectoryPage,
  renderNotFoundPage,
  renderStreamPage,
} from './pages.ts';
import { renderDescription } from './render-description.ts';
import { SseHub, type SseEvent } from './sse.ts';
import { vodFileName } from '../vod/vod.ts';

interface Asset {
  body: Buffer;
  type: string;
  cacheControl: string;
}

export type PortalAssets = Map<string, Asset>;

/** The portal's static files by request path (read once at start): its CSS, its two scripts, hls.js. */
export async function loadPortalAssets(): Promise<PortalAssets> {
  const dir = path.join(import.meta.dirname, 'client');
  const hls = await loadHlsJs();
  const script = 'text/javascript; charset=utf-8';
  // The page names these without a version: revalidated on each load, so a new gateway's files are picked up.
  const fresh = 'no-cache';
  const assets: PortalAssets = new Map();
  const hlsPath = `${portalAssetPrefix}hls-${hls.version}.min.js`;
  const withHls = (text: string) =>
    Buffer.from(
      text.replaceAll('__HLS_JS_PATH__', hlsPath).replaceAll('__HLS_JS_CONFIGS__', JSON.stringify(playerHlsConfigs)),
    );
  assets.set(`${portalAssetPrefix}portal.css`, {
    body: await readFile(path.join(dir, 'portal.css')),
    type: 'text/css; charset=utf-8',
    cacheControl: fresh,
  });
  for (const file of ['directory.js', 'stream.js', 'common.js']) {
    const body = withHls(await readFile(path.join(dir, file), 'utf8'));
    assets.set(`${portalAssetPrefix}${file}`, { body, type: script, cacheControl: fresh });
  }
  assets.set(hlsPath, { body: hls.bytes, type: script, cacheControl: 'public, max-age=31536000, immutable' });
  return assets;
}

export interface PortalOptions {
  directory: DirectoryStore;
  assets: PortalAssets;
  logger: Logger;
  /** Whether a channel serves LL-HLS (the route table's lowLatency): its page plays it in low-latency mode. */
  lowLatency?: (namespace: string, name: string) => boolean;
  /** Checks the sessions that open a private or password channel's events; without it they stay locked. */
  access?: AccessContext | undefined;
  /** Event streams open at once, over all pages (default 2000); beyond: 503 and the browser retries. */
  maxEventStreams?: number;
  heartbeatMs?: number;
  /** How long changes are gathered before the pages are told (default 250 ms). */
  coalesceMs?: number;
  now?: () => number;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;
const directoryTopic = 'directory';
/** A channel's events opened with a session (a gated channel's details go only there) are on `<id>` + this. */
const sessionTopic = '#session';
const retryMs = 3000;

/** `/<ns>/<name>/` (page), `/<ns>/<name>` (redirect) or `/<ns>/<name>/events`; undefined for any other path. */
export function parseChannelPagePath(
  pathname: string,
): { namespace: string; name: string; kind: 'page' | 'redirect' | 'events' } | undefined {
  const match = /^\/([^/]+)\/([^/]+)(\/|\/events)?$/.exec(pathname);
  if (!match) return undefined;
  const [, namespace = '', name = '', rest] = match;
  if (!dnsLabel.test(namespace) || !dnsSubdomain.test(name)) return undefined;
  return { namespace, name, kind: rest === '/' ? 'page' : rest === '/events' ? 'events' : 'redirect' };
}

export class Portal {
  readonly #hub: SseHub;
  readonly #pending = new Set<string>();
  #directoryPending = false;
  #flushTimer: NodeJS.Timeout | undefined;
  readonly #stop: () => void;
  private readonly options: PortalOptions;

  constructor(options: PortalOptions) {
    this.options = options;
    this.#hub = new SseHub({ maxStreams: options.maxEventStreams ?? 2000, heartbeatMs: options.heartbeatMs ?? 15_000 });
    this.#stop = options.directory.onChange((change) => {
      for (const id of change.touched) this.#pending.add(id);
      this.#directoryPending = true;
      this.#flushTimer ??= setTimeout(() => this.#flush(), options.coalesceMs ?? 250);
    });
  }

  #now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Serves the request when it is the portal's (and answers true); false leaves it to the next handler. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (pathname === '/' || pathname === '/index.html') {
      return this.#get(req, res, () => this.#page(res, 200, renderDirectoryPage(this.#directory())));
    }
    if (pathname === directoryEventsPath) {
      return this.#get(req, res, () => this.#hub.open(req, res, directoryTopic, [this.#directoryEvent()]), 'GET');
    }
    const asset = this.options.assets.get(pathname);
    if (asset) return this.#get(req, res, () => this.#asset(req, res, asset));
    if (pathname.startsWith(portalAssetPrefix))
      return this.#get(req, res, () => this.#page(res, 404, renderNotFoundPage()));
    const target = parseChannelPagePath(pathname);
    if (!target) return false;
    const listing = this.options.directory.get(target.namespace, target.name);
    if (target.kind === 'redirect') {
      // Only a known channel: any other two-part path stays playback's (it answers 404 for it).
      if (!listing) return false;
      res.writeHead(301, { location: `${pathname}/`, 'cache-control': 'no-store' });
      res.end();
      return true;
    }
    const methods = target.kind === 'events' ? 'GET' : 'GET, HEAD'; // a HEAD would hold a stream open for nothing
    return this.#get(
      req,
      res,
      () => {
        if (!listing) return this.#page(res, 404, renderNotFoundPage());
        if (target.kind === 'page') {
          const status = visibleStatus(listing.visibility, this.#status(listing), false);
          const lowLatency = this.options.lowLatency?.(listing.namespace, listing.name) === true;
          return this.#page(res, 200, renderStreamPage(listing.visibility, status, lowLatency));
        }
        this.#events(req, res, listing);
      },
      methods,
    );
  }

  close(): void {
    this.#stop();
    clearTimeout(this.#flushTimer);
    this.#hub.close();
  }

  /** A channel's events: a gated one's only with a valid session, and only until that session expires. */
  #events(req: IncomingMessage, res: ServerResponse, listing: ChannelListing): void {
    const id = channelId(listing.namespace, listing.name);
    if (!isGated(listing.visibility)) return void this.#hub.open(req, res, id, [this.#channelEvent(listing, false)]);
    const session = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('session');
    const { access } = this.options;
    const checked = session && access ? checkPageSession(access, req, listing, session) : undefined;
    if (!checked?.ok) return sendRefusal(res, { ok: false, status: 403, reason: checked?.reason ?? 'missing' });
    // Closed when the session runs out: the page renews its session and reopens, a revoked viewer cannot.
    const first = [this.#channelEvent(listing, true)];
    this.#hub.open(req, res, id + sessionTopic, first, checked.expMs - this.#now());
  }

  #get(req: IncomingMessage, res: ServerResponse, serve: () => unknown, methods = 'GET, HEAD'): true {
    if (!methods.split(', ').includes(req.method ?? '')) {
      res.writeHead(405, { allow: methods, 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${methods}\n`);
      return true;
    }
    try {
      serve();
    } catch (err) {
      this.options.logger.error({ err: (err as Error).message }, 'portal page failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    }
    return true;
  }

  #page(res: ServerResponse, status: number, html: string): void {
    res.writeHead(status, pageHeaders);
    res.end(res.req.method === 'HEAD' ? undefined : html);
  }

  #asset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': asset.body.length,
      'cache-control': asset.cacheControl,
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  #directory() {
    return directoryView(this.options.directory.list(), this.#now());
  }

  #directoryEvent(): SseEvent {
    return { event: 'directory', data: JSON.stringify(renderDirectoryLists(this.#directory())), retryMs };
  }

  #status(listing: ChannelListing): ChannelStatus {
    const { state, title, viewers, liveSince, scheduledStart, lastEndedAt } = listing;
    const phase = channelPhase(listing, this.#now());
    return {
      phase,
      state,
      title,
      viewers,
      ...(liveSince && { liveSince }),
      ...(scheduledStart && { scheduledStart }),
      ...(lastEndedAt && { lastEndedAt }),
      descriptionHtml: renderDescription(listing.description),
      // The recording is offered once nothing is live (a new session's page plays the live stream instead).
      ...(listing.vod && phase !== 'live' && { vod: vodFileName }),
    };
  }

  /** A stream opened without a session that is told of a channel now gated gets its locked status. */
  #channelEvent(listing: ChannelListing | undefined, hasSession: boolean): SseEvent {
    if (!listing) return { event: 'gone', data: '{}', retryMs };
    const status = visibleStatus(listing.visibility, this.#status(listing), hasSession);
    return { event: 'channel', data: JSON.stringify(status), retryMs };
  }

  #flush(): void {
    this.#flushTimer = undefined;
    const open = this.#hub.topics();
    if (this.#directoryPending && open.has(directoryTopic)) this.#hub.publish(directoryTopic, this.#directoryEvent());
    this.#directoryPending = false;
    for (const id of this.#pending) {
      const [namespace = '', name = ''] = id.split('/');
      const listing = this.options.directory.get(namespace, name);
      if (open.has(id)) this.#hub.publish(id, this.#channelEvent(listing, false));
      if (open.has(id + sessionTopic)) this.#hub.publish(id + sessionTopic, this.#channelEvent(listing, true));
    }
    this.#pending.clear();
  }
}

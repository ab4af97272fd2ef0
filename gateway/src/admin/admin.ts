// GET /admin/viewers and GET /admin/routes on the gateway's HTTP port (contract/src/gateway-admin.ts): this
// replica's viewers per channel, for the operator to sum, and which channel is served where, without any key hash.
// Both want the admin token as a bearer token (compared in constant time); without a token file they answer 503.
// Neither the presented nor the expected token is ever logged.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  adminRoutesPath,
  adminViewersPath,
  bearerToken,
  tokenMatches,
  type ChannelViewerCount,
  type RoutedChannelListing,
  type RoutesAnswer,
  type ViewersAnswer,
} from '../../../contract/src/gateway-admin.ts';
import { channelId, type RouteIndex } from '../../../contract/src/route-table.ts';
import { rfc3339 } from '../../../contract/src/time.ts';

export interface AdminContext {
  /** This replica's name in the answers (its pod name). */
  replica: string;
  /** The admin token now; undefined: no token file (503). */
  token(): string | undefined;
  viewers(): ChannelViewerCount[];
  routes(): RouteIndex | undefined;
  now?: () => number;
}

export type AdminAuth = 'ok' | 'unconfigured' | 'unauthorized';

export function authorize(authorization: string | undefined, expected: string | undefined): AdminAuth {
  if (expected === undefined) return 'unconfigured';
  const presented = bearerToken(authorization);
  return presented !== undefined && tokenMatches(presented, expected) ? 'ok' : 'unauthorized';
}

/** Each routed channel once, sorted: its backends, how many keys open it now, the earliest superseded key's end. */
export function routesListing(index: RouteIndex, nowMs: number): RoutedChannelListing[] {
  const listed = new Map<string, RoutedChannelListing>();
  for (const { channel, notAfterMs } of index.entries) {
    const id = channelId(channel.namespace, channel.name);
    // Named field by field: whatever else a route may carry one day stays out of the listing.
    const { namespace, name, app, rtmp, http } = channel;
    const listing = listed.get(id) ?? { namespace, name, app, rtmp, http, keys: 0 };
    listed.set(id, listing);
    if (nowMs >= notAfterMs) continue; // expired: opens nothing any more
    listing.keys++;
    if (Number.isFinite(notAfterMs)) {
      const earliest = listing.supersededNotAfter === undefined ? Infinity : Date.parse(listing.supersededNotAfter);
      if (notAfterMs < earliest) listing.supersededNotAfter = rfc3339(notAfterMs);
    }
  }
  return [...listed.values()].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body) + '\n');
}

/** Answers any request under /admin/ (the caller routes them here). */
export function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string, context: AdminContext): void {
  if (path !== adminViewersPath && path !== adminRoutesPath) return json(res, 404, { error: 'not found' });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return json(res, 405, { error: 'GET only' }, { allow: 'GET, HEAD' });
  }
  const auth = authorize(req.headers.authorization, context.token());
  if (auth === 'unconfigured') return json(res, 503, { error: 'no admin token is configured' });
  if (auth === 'unauthorized') {
    return json(
      res,
      401,
      { error: 'a bearer token is required' },
      {
        'www-authenticate': 'Bearer realm="livestream-gateway"',
      },
    );
  }
  const now = context.now?.() ?? Date.now();
  const head = { replica: context.replica, at: rfc3339(now) };
  if (path === adminViewersPath)
    return json(res, 200, { ...head, channels: context.viewers() } satisfies ViewersAnswer);
  const index = context.routes();
  if (!index) return json(res, 503, { error: 'no route table yet' });
  json(res, 200, { ...head, channels: routesListing(index, now) } satisfies RoutesAnswer);
}

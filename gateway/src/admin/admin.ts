// GET /admin/viewers and GET /admin/routes on the gateway's HTTP port (contract/src/gateway-admin.ts): this
// replica's viewers per channel, for the operator to sum, and which channel is served where, without any key hash.
// POST /admin/directory (contract/src/portal-directory.ts): the operator's push of the portal's listings.
// All want the admin token as a bearer token (compared in constant time); without a token file they answer 503.
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
import {
  adminDirectoryPath,
  directoryUpdateMaxBytes,
  parseDirectoryUpdate,
  type DirectoryAnswer,
} from '../../../contract/src/portal-directory.ts';
import { channelId, type RouteIndex } from '../../../contract/src/route-table.ts';
import { rfc3339 } from '../../../contract/src/time.ts';
import type { DirectoryStore } from '../portal/directory-store.ts';

export interface AdminContext {
  /** This replica's name in the answers (its pod name). */
  replica: string;
  /** The admin token now; undefined: no token file (503). */
  token(): string | undefined;
  viewers(): ChannelViewerCount[];
  routes(): RouteIndex | undefined;
  /** Where pushed directory updates go; absent: POST /admin/directory answers 404. */
  directory?: Pick<DirectoryStore, 'apply'>;
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

type BodyResult = { ok: true; text: string } | { ok: false; status: 400 | 413; error: string };

/** The request body as text, read no further than `maxBytes` (413 beyond, said before reading when declared). */
export function readBoundedBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const tooLarge = { ok: false, status: 413, error: `the body exceeds ${maxBytes} bytes` } as const;
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) return Promise.resolve(tooLarge);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        resolve(tooLarge);
        req.pause(); // the answer closes the connection; nothing more is read
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    req.once('error', () => resolve({ ok: false, status: 400, error: 'the body could not be read' }));
  });
}

async function handleDirectoryPush(
  req: IncomingMessage,
  res: ServerResponse,
  context: AdminContext,
  directory: Pick<DirectoryStore, 'apply'>,
): Promise<void> {
  const body = await readBoundedBody(req, directoryUpdateMaxBytes);
  if (!body.ok)
    return json(res, body.status, { error: body.error }, body.status === 413 ? { connection: 'close' } : {});
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.text);
  } catch {
    return json(res, 400, { error: 'the body is not JSON' });
  }
  let update;
  try {
    update = parseDirectoryUpdate(parsed);
  } catch (err) {
    return json(res, 400, { error: (err as Error).message });
  }
  const { accepted, held } = directory.apply(update);
  json(res, accepted ? 200 : 409, { replica: context.replica, ...held } satisfies DirectoryAnswer);
}

function unauthorized(res: ServerResponse, auth: AdminAuth): boolean {
  if (auth === 'unconfigured') json(res, 503, { error: 'no admin token is configured' });
  else if (auth === 'unauthorized') {
    json(
      res,
      401,
      { error: 'a bearer token is required' },
      { 'www-authenticate': 'Bearer realm="livestream-gateway"' },
    );
  } else return false;
  return true;
}

/** Answers any request under /admin/ (the caller routes them here). */
export function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string, context: AdminContext): void {
  if (path === adminDirectoryPath && context.directory) {
    if (req.method !== 'POST') return json(res, 405, { error: 'POST only' }, { allow: 'POST' });
    if (unauthorized(res, authorize(req.headers.authorization, context.token()))) return;
    const directory = context.directory;
    handleDirectoryPush(req, res, context, directory).catch(() => {
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    });
    return;
  }
  if (path !== adminViewersPath && path !== adminRoutesPath) return json(res, 404, { error: 'not found' });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return json(res, 405, { error: 'GET only' }, { allow: 'GET, HEAD' });
  }
  if (unauthorized(res, authorize(req.headers.authorization, context.token()))) return;
  const now = context.now?.() ?? Date.now();
  const head = { replica: context.replica, at: rfc3339(now) };
  if (path === adminViewersPath)
    return json(res, 200, { ...head, channels: context.viewers() } satisfies ViewersAnswer);
  const index = context.routes();
  if (!index) return json(res, 503, { error: 'no route table yet' });
  json(res, 200, { ...head, channels: routesListing(index, now) } satisfies RoutesAnswer);
}

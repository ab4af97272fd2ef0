import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseViewersAnswer } from '../../../contract/src/gateway-admin.ts';
import { indexRouteTable, routeKeyHash, type RouteIndex } from '../../../contract/src/route-table.ts';
import { authorize, handleAdmin, routesListing, type AdminContext } from './admin.ts';

const secret = 'a-routing-secret-of-at-least-32-characters';
const token = 'an-admin-token-of-at-least-32-characters';
const backend = { app: 'live', rtmp: 'a.ns.svc:1935', http: 'a.ns.svc:8080' };
const now = Date.parse('2026-12-02T08:00:00Z');
const index: RouteIndex = indexRouteTable({
  version: 1,
  entries: [
    { keyHash: routeKeyHash(secret, 'current'), namespace: 'ns', name: 'a', ...backend },
    {
      keyHash: routeKeyHash(secret, 'old-1'),
      notAfter: '2026-12-02T09:00:00Z',
      namespace: 'ns',
      name: 'a',
      ...backend,
    },
    {
      keyHash: routeKeyHash(secret, 'old-2'),
      notAfter: '2026-12-02T08:30:00Z',
      namespace: 'ns',
      name: 'a',
      ...backend,
    },
    { keyHash: routeKeyHash(secret, 'gone'), notAfter: '2026-12-02T07:00:00Z', namespace: 'ns', name: 'a', ...backend },
    { keyHash: routeKeyHash(secret, 'b'), namespace: 'am', name: 'b', app: 'live', rtmp: 'b:1935', http: 'b:8080' },
  ],
});

describe('routesListing', () => {
  it('lists each channel once with its keys in force and the earliest superseded notAfter', () => {
    expect(routesListing(index, now)).toEqual([
      { namespace: 'am', name: 'b', app: 'live', rtmp: 'b:1935', http: 'b:8080', keys: 1 },
      { namespace: 'ns', name: 'a', ...backend, keys: 3, supersededNotAfter: '2026-12-02T08:30:00Z' },
    ]);
  });

  it('leaves out keys past their notAfter', () => {
    const later = Date.parse('2026-12-02T08:45:00Z');
    expect(routesListing(index, later)[1]).toEqual({
      namespace: 'ns',
      name: 'a',
      ...backend,
      keys: 2,
      supersededNotAfter: '2026-12-02T09:00:00Z',
    });
  });
});

describe('authorize', () => {
  it('wants the exact bearer token, and a token file', () => {
    expect(authorize(`Bearer ${token}`, token)).toBe('ok');
    expect(authorize(`bearer ${token}`, token)).toBe('ok');
    expect(authorize(`Bearer ${token}x`, token)).toBe('unauthorized');
    expect(authorize(`Bearer ${token.slice(1)}`, token)).toBe('unauthorized');
    expect(authorize(`Basic ${token}`, token)).toBe('unauthorized');
    expect(authorize(undefined, token)).toBe('unauthorized');
    expect(authorize(`Bearer ${token}`, undefined)).toBe('unconfigured');
  });
});

describe('handleAdmin', () => {
  let server: http.Server;
  let configured: string | undefined = token;
  const context: AdminContext = {
    replica: 'gateway-0',
    token: () => configured,
    viewers: () => [{ namespace: 'ns', name: 'a', viewers: 7 }],
    routes: () => index,
    now: () => now,
  };
  const get = (path: string, authorization?: string) =>
    fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, {
      headers: authorization === undefined ? {} : { authorization },
    });

  beforeAll(async () => {
    server = http.createServer((req, res) => handleAdmin(req, res, (req.url ?? '/').split('?')[0]!, context));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('answers the viewers of this replica as JSON the operator parses', async () => {
    const res = await get('/admin/viewers', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body: unknown = await res.json();
    expect(body).toEqual({
      replica: 'gateway-0',
      at: '2026-12-02T08:00:00Z',
      channels: [{ namespace: 'ns', name: 'a', viewers: 7 }],
    });
    expect(parseViewersAnswer(body)).toEqual(body);
  });

  it('lists the routes without any key hash', async () => {
    const res = await get('/admin/routes', `Bearer ${token}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect((JSON.parse(text) as { channels: unknown[] }).channels).toEqual(routesListing(index, now));
    for (const e of index.entries) expect(text).not.toContain(e.hash.toString('hex'));
    expect(text).not.toMatch(/[0-9a-f]{64}/);
  });

  it('refuses a missing or wrong token with 401 and a challenge', async () => {
    for (const auth of [undefined, 'Bearer wrong', `Bearer ${token} extra`]) {
      for (const path of ['/admin/viewers', '/admin/routes']) {
        const res = await get(path, auth);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="livestream-gateway"');
        expect(await res.text()).not.toContain('ns');
      }
    }
  });

  it('answers 503 without a token file, 404 for other admin paths, 405 for other methods', async () => {
    configured = undefined;
    expect((await get('/admin/viewers', `Bearer ${token}`)).status).toBe(503);
    configured = token;
    expect((await get('/admin/keys', `Bearer ${token}`)).status).toBe(404);
    const port = (server.address() as AddressInfo).port;
    const post = await fetch(`http://127.0.0.1:${port}/admin/viewers`, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});

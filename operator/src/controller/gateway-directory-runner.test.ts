// The directory pusher against stand-ins for gateway replicas: small node:http servers that take updates exactly as
// the contract says (parseDirectoryUpdate, acceptsUpdate: 409 with what they hold otherwise) and keep the listings,
// and a TCP server that accepts connections and never answers (a hung pod). The real gateway process is in
// gateway-directory.int.test.ts.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  acceptsUpdate,
  adminDirectoryPath,
  parseDirectoryUpdate,
  type ChannelListing,
  type DirectoryUpdate,
} from '../../../contract/src/portal-directory.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import { createOperatorMetrics } from '../telemetry/metrics.ts';
import { GatewayDirectory, notifyLiveStreamEvents, type GatewayDirectoryOptions } from './gateway-directory-runner.ts';
import type { GatewayReplica } from './gateway-viewers.ts';

const silent = { info: () => {}, warn: () => {}, debug: () => {}, error: () => {} } as never;
const token = 'an-admin-token-of-at-least-32-characters';

interface StandIn {
  replica: GatewayReplica;
  updates: DirectoryUpdate[];
  listings: Map<string, ChannelListing>;
  held: { generation: string; sequence: number };
  /** 'ok' answers as the contract says; 'fail' answers 500 to everything. */
  mode: 'ok' | 'fail';
  /** Forget everything, as a restarted process does. */
  restart(): void;
  close(): Promise<void>;
}

const servers: (http.Server | net.Server)[] = [];
const sockets: net.Socket[] = [];
const runners: GatewayDirectory[] = [];

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function handle(s: StandIn, req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
  const answer = (status: number) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ replica: s.replica.id, ...s.held }));
  };
  if (req.headers.authorization !== `Bearer ${token}`) return answer(401);
  if (s.mode === 'fail') return answer(500);
  const update = parseDirectoryUpdate(JSON.parse(body));
  s.updates.push(update);
  if (!acceptsUpdate(s.held, update)) return answer(409);
  if (update.reset) s.listings.clear();
  for (const l of update.upserts) s.listings.set(`${l.namespace}/${l.name}`, l);
  for (const d of update.deletes) s.listings.delete(`${d.namespace}/${d.name}`);
  s.held = { generation: update.generation, sequence: update.sequence };
  answer(200);
}

async function standIn(id: string): Promise<StandIn> {
  const s: StandIn = {
    replica: { id, url: '' },
    updates: [],
    listings: new Map(),
    held: { generation: '', sequence: 0 },
    mode: 'ok',
    restart: () => {
      s.listings.clear();
      s.held = { generation: '', sequence: 0 };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url !== adminDirectoryPath || req.method !== 'POST') return res.writeHead(404).end();
      handle(s, req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  s.replica.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return s;
}

/** Accepts TCP connections and never answers, nor closes them. */
async function hungReplica(id: string): Promise<GatewayReplica & { connections: () => number }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.push(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { id, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

const listing = (name: string, extra: Partial<ChannelListing> = {}): ChannelListing => ({
  namespace: 'media',
  name,
  title: name,
  visibility: 'public',
  state: 'Idle',
  viewers: 0,
  ...extra,
});

function rig(replicas: GatewayReplica[], options: Partial<GatewayDirectoryOptions> = {}) {
  let channels = new Map<string, ChannelListing>();
  const metrics = createOperatorMetrics();
  let tokenAsks = 0;
  const directory = new GatewayDirectory({
    listings: () => channels,
    replicas: () => Promise.resolve(replicas),
    token: () => {
      tokenAsks++;
      return Promise.resolve(token);
    },
    logger: silent,
    metrics,
    debounceMs: 100,
    timeoutMs: 500,
    discoverMs: 60_000, // the tests call discover() themselves unless they say otherwise
    backoff: { baseMs: 100, maxMs: 400, jitter: 0 },
    ...options,
  });
  runners.push(directory);
  const set = (...ls: ChannelListing[]) => {
    channels = new Map(ls.map((l) => [`${l.namespace}/${l.name}`, l]));
    directory.changed();
  };
  const pushes = async () => {
    const values = (await metrics.gatewayDirectoryPushes.get()).values;
    return Object.fromEntries(values.map((v) => [`${v.labels.kind}/${v.labels.outcome}`, v.value]));
  };
  return { directory, set, metrics, pushes, tokenAsks: () => tokenAsks };
}

const names = (s: StandIn) => [...s.listings.keys()].sort();
const summary = (u: DirectoryUpdate) => ({
  sequence: u.sequence,
  reset: u.reset,
  upserts: u.upserts.map((l) => l.name),
  deletes: u.deletes.map((d) => d.name),
});

describe('GatewayDirectory', () => {
  it('resets a replica first seen with everything, then sends only what changed, in sequence', async () => {
    const a = await standIn('a');
    const r = rig([a.replica]);
    r.set(listing('one'), listing('two'));
    await r.directory.discover();
    await waitFor('the reset', () => names(a).length === 2);
    r.set(listing('one', { state: 'Live', liveSince: '2026-12-02T12:00:00Z' }), listing('three'));
    await waitFor('the update', () => a.held.sequence === 2);
    expect(a.updates.map(summary)).toEqual([
      { sequence: 1, reset: true, upserts: ['one', 'two'], deletes: [] },
      { sequence: 2, reset: false, upserts: ['one', 'three'], deletes: ['two'] },
    ]);
    expect(a.listings.get('media/one')?.state).toBe('Live');
    expect(a.held.generation).toBe(r.directory.generation);
    expect(r.directory.inSync()).toBe(true);
    expect(await r.pushes()).toEqual({ 'reset/ok': 1, 'update/ok': 1 });
  });

  it('pushes a steady burst of changes once per debounce, the first within the debounce of its first change', async () => {
    const a = await standIn('a');
    const r = rig([a.replica], { debounceMs: 300 });
    await r.directory.discover();
    await waitFor('the first reset', () => a.held.sequence === 1);
    const started = Date.now();
    let firstAt: number | undefined;
    // A change every 50 ms for 1 s: a trailing debounce would wait for the end; this one pushes every 300 ms.
    for (let i = 1; i <= 20; i++) {
      r.set(listing('c', { viewers: i }));
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (firstAt === undefined && a.held.sequence >= 2) firstAt = Date.now();
    }
    expect((firstAt ?? Infinity) - started).toBeLessThan(1_000);
    await waitFor('the last value', () => a.listings.get('media/c')?.viewers === 20);
    const updates = a.updates.length - 1;
    expect(updates).toBeGreaterThanOrEqual(2);
    expect(updates).toBeLessThanOrEqual(6);
  });

  it('resets a replica that restarted: its 409 at the next change, or at the heartbeat when nothing changes', async () => {
    const a = await standIn('a');
    const r = rig([a.replica], { discoverMs: 200 });
    r.set(listing('one'), listing('two'));
    r.directory.start();
    await waitFor('the reset', () => names(a).length === 2);
    let mark = a.updates.length;
    a.restart();
    // Nothing changes: the heartbeat (an empty update) is refused, and the reset follows at once.
    await waitFor('the listings back after the restart', () => names(a).length === 2, { timeoutMs: 3_000 });
    expect(
      a.updates
        .slice(mark)
        .slice(0, 2)
        .map((u) => [u.reset, u.upserts.length]),
    ).toEqual([
      [false, 0],
      [true, 2],
    ]);
    expect((await r.pushes())['update/conflict']).toBe(1);
    // A restart noticed at a change (or a heartbeat, whichever comes first): refused, then a reset with everything.
    mark = a.updates.length;
    a.restart();
    r.set(listing('one'), listing('two'), listing('three'));
    await waitFor('all three after the second restart', () => names(a).length === 3, { timeoutMs: 3_000 });
    expect(names(a)).toEqual(['media/one', 'media/three', 'media/two']);
    const after = a.updates.slice(mark);
    expect(after[0]?.reset).toBe(false);
    expect(after.find((u) => u.reset)?.upserts.length).toBeGreaterThanOrEqual(2);
  });

  it('resets a replica that failed once it answers again; another replica is not held back', async () => {
    const [a, b] = [await standIn('a'), await standIn('b')];
    const r = rig([a.replica, b.replica]);
    r.set(listing('one'));
    await r.directory.discover();
    await waitFor('both reset', () => names(a).length === 1 && names(b).length === 1);
    a.mode = 'fail';
    r.set(listing('one'), listing('two'));
    await waitFor('b updated', () => names(b).length === 2);
    await waitFor('a tried and failed', async () => ((await r.pushes())['update/error'] ?? 0) >= 1);
    a.mode = 'ok';
    // The retry (backoff 100 ms, then 200, 400) is a reset: a failed request may or may not have been applied.
    await waitFor('a back with both', () => names(a).length === 2, { timeoutMs: 3_000 });
    expect(a.updates.at(-1)).toMatchObject({ reset: true });
    expect(b.updates.map((u) => u.reset)).toEqual([true, false]);
  });

  it('a hung replica does not delay another one; it is retried with backoff, each try bounded by the timeout', async () => {
    const a = await standIn('a');
    const hung = await hungReplica('hung');
    const r = rig([hung, a.replica], { timeoutMs: 1_000, backoff: { baseMs: 300, maxMs: 300, jitter: 0 } });
    await r.directory.discover();
    await waitFor('a reset', () => a.held.sequence === 1);
    const changedAt = Date.now();
    r.set(listing('live-now', { state: 'Live' }));
    await waitFor('a has the change', () => names(a).length === 1, { intervalMs: 10 });
    // The debounce (100 ms) and one local request: had the hung replica held it back, its 1 s timeout at least.
    expect(Date.now() - changedAt).toBeLessThan(900);
    await waitFor('two timeouts', async () => ((await r.pushes())['reset/timeout'] ?? 0) >= 2, { timeoutMs: 5_000 });
    expect(hung.connections()).toBeGreaterThanOrEqual(2);
    // stop() does not wait out a hung request.
    const stopping = Date.now();
    await r.directory.stop();
    expect(Date.now() - stopping).toBeLessThan(300);
  });

  it('splits a reset of many channels into a reset and updates that continue it', async () => {
    const a = await standIn('a');
    const r = rig([a.replica], { limits: { maxItems: 3, maxBytes: 1e9 } });
    r.set(...Array.from({ length: 7 }, (_, i) => listing(`c${i}`)));
    await r.directory.discover();
    await waitFor('all seven', () => names(a).length === 7);
    expect(a.updates.map((u) => [u.sequence, u.reset, u.upserts.length])).toEqual([
      [1, true, 3],
      [2, false, 3],
      [3, false, 1],
    ]);
    expect(r.directory.replicaSequences()).toEqual(new Map([['a', 3]]));
  });

  it('moves on from a listing of the pods that never answers', async () => {
    const a = await standIn('a');
    let listings = 0;
    const r = rig([], {
      discoverMs: 100,
      replicas: () => (++listings === 1 ? new Promise<GatewayReplica[]>(() => {}) : Promise.resolve([a.replica])),
    });
    r.set(listing('one'));
    r.directory.start();
    await waitFor('the next listing found the replica', () => names(a).length === 1, { timeoutMs: 3_000 });
    expect(listings).toBeGreaterThanOrEqual(2);
  });

  it('reads the token again after a replica refused it', async () => {
    const a = await standIn('a');
    let current = 'an-old-token-that-was-rotated-by-hand-0000';
    const r = rig([a.replica], { token: () => Promise.resolve(current) });
    r.set(listing('one'));
    await r.directory.discover();
    await waitFor('a refusal', async () => ((await r.pushes())['reset/error'] ?? 0) >= 1);
    current = token;
    await waitFor('the reset with the new token', () => names(a).length === 1, { timeoutMs: 3_000 });
  });

  it('forgets a replica that is gone and resets one that comes in; no channel in any metric label', async () => {
    const [a, b] = [await standIn('a'), await standIn('b')];
    const list = [a.replica];
    const r = rig(list);
    r.set(listing('one'));
    await r.directory.discover();
    await waitFor('a reset', () => names(a).length === 1);
    list.splice(0, 1, b.replica);
    await r.directory.discover();
    await waitFor('b reset', () => names(b).length === 1);
    expect([...r.directory.replicaSequences().keys()]).toEqual(['b']);
    const text = await r.metrics.registry.metrics();
    expect(text).toContain('livestream_operator_gateway_directory_listings 1');
    expect(text).toContain('livestream_operator_gateway_directory_replicas{state="synced"} 1');
    const labelNames = new Set(
      text
        .split('\n')
        .filter((l) => l.startsWith('livestream_operator_gateway_directory'))
        .flatMap((l) => [...l.matchAll(/[{,]([a-z_]+)=/g)].map((m) => m[1])),
    );
    expect([...labelNames].sort()).toEqual(['kind', 'le', 'outcome', 'state']);
  });
});

describe('notifyLiveStreamEvents', () => {
  it('tells of every event and keeps the key mapping', () => {
    let events = 0;
    const spec = {
      resource: 'livestreams',
      path: '/apis/x',
      list: () => Promise.reject(new Error('not listed here')),
      keyFor: (obj: { metadata?: { name?: string } }) => (obj.metadata?.name === 'skip' ? undefined : 'ns/a'),
    };
    const wrapped = notifyLiveStreamEvents(spec, () => events++);
    expect(wrapped.keyFor({ metadata: { name: 'a' } } as never)).toBe('ns/a');
    expect(wrapped.keyFor({ metadata: { name: 'skip' } } as never)).toBeUndefined();
    expect(events).toBe(2);
    expect(wrapped.path).toBe('/apis/x');
  });
});

describe('GatewayDirectory prepare', () => {
  it('runs prepare at each discovery tick and pushes what it changed; a hung prepare only delays the tick', async () => {
    const a = await standIn('a');
    const vod = { session: 's1', url: 'https://b.example/k.mp4?X-Amz-Signature=1', expiresAt: '2027-01-01T00:00:00Z' };
    let withVod = false;
    let hang = false;
    const channels = () =>
      new Map([['media/one', listing('one', withVod ? { vod: { ...vod, contentType: 'video/mp4' } } : {})]]);
    const directory = new GatewayDirectory({
      listings: channels,
      prepare: () => (hang ? new Promise(() => {}) : Promise.resolve((withVod = true))),
      replicas: () => Promise.resolve([a.replica]),
      token: () => Promise.resolve(token),
      logger: silent,
      discoverMs: 200,
    });
    runners.push(directory);
    await directory.discover();
    await waitFor('the listing with its VOD', () => a.listings.get('media/one')?.vod?.session === 's1');
    hang = true;
    const started = Date.now();
    await directory.discover();
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

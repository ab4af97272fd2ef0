// The publisher against a fake API server (Secrets with resourceVersions, pods), with fake timers.
import { ApiException, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keyDigest, type IngestKeySet } from '../../../contract/src/ingest-keys.ts';
import {
  decodeRouteTable,
  parseRouteTable,
  routeKeyHash,
  type RouteTable,
  routeTableFileName,
  routeTableHashAnnotation,
} from '../../../contract/src/route-table.ts';
import { minimalExample, storedLiveStream } from '../../../test/support/livestream-examples.ts';
import { lockedPasswordHash, type RoutedChannel } from './gateway-routes.ts';
import { GatewayRoutes, notifySecretEvents, type GatewayRoutesCore } from './gateway-routes-runner.ts';
import type { PasswordProblem } from './gateway-routes-passwords.ts';
import { secretMetadataResource } from './reconcile/secrets.ts';
import { verifyViewerPassword } from '../../../contract/src/viewer-password.ts';
import { waitFor } from '../../../test/support/wait-for.ts';

const silent = { info: () => {}, warn: () => {}, debug: () => {}, error: () => {} } as never;
const target = { namespace: 'ops', routesSecret: 'routes', routingSecret: 'routing', podSelector: 'c=gateway' };
const apiError = (code: number) => new ApiException(code, 'x', '{}', {});

function fakeCore() {
  const secrets = new Map<string, V1Secret>();
  const pods: V1Pod[] = [{ metadata: { name: 'gw-1' } }, { metadata: { name: 'gw-2' } }];
  const calls = { create: 0, replace: 0, patch: 0 };
  let version = 1;
  const stored = (body: V1Secret): V1Secret => {
    const copy = structuredClone({ ...body, metadata: { ...body.metadata, resourceVersion: String(version++) } });
    secrets.set(body.metadata?.name ?? '', copy);
    return structuredClone(copy);
  };
  const core = {
    readNamespacedSecret: ({ name }: { name: string }) => {
      const s = secrets.get(name);
      return s ? Promise.resolve(structuredClone(s)) : Promise.reject(apiError(404));
    },
    createNamespacedSecret: ({ body }: { body: V1Secret }) => {
      calls.create++;
      return secrets.has(body.metadata?.name ?? '') ? Promise.reject(apiError(409)) : Promise.resolve(stored(body));
    },
    replaceNamespacedSecret: ({ name, body }: { name: string; body: V1Secret }) => {
      calls.replace++;
      const now = secrets.get(name);
      if (!now) return Promise.reject(apiError(404));
      if (now.metadata?.resourceVersion !== body.metadata?.resourceVersion) return Promise.reject(apiError(409));
      return Promise.resolve(stored(body));
    },
    listNamespacedPod: () => Promise.resolve({ items: pods }),
    patchNamespacedPod: ({ name, body }: { name: string; body: V1Pod }) => {
      calls.patch++;
      const pod = pods.find((p) => p.metadata?.name === name);
      if (pod?.metadata) pod.metadata.annotations = { ...body.metadata?.annotations };
      return Promise.resolve(pod ?? {});
    },
  } as unknown as GatewayRoutesCore;
  const data = (name: string, key: string) =>
    decodeRouteTable(Buffer.from(secrets.get(name)?.data?.[key] ?? '', 'base64'));
  return {
    core,
    secrets,
    pods,
    calls,
    data,
    table: (): RouteTable => parseRouteTable(data('routes', routeTableFileName)),
  };
}

const channel = (name: string, key: string, paused = false): RoutedChannel => {
  const ls = storedLiveStream(minimalExample);
  ls.metadata.name = name;
  ls.spec.paused = paused;
  const keySet: IngestKeySet = { keys: [{ sha256: keyDigest(key) ?? '' }] };
  return { ls, keySet };
};

describe('GatewayRoutes', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const setup = () => {
    const api = fakeCore();
    let channels = [channel('a', 'key-a'), channel('b', 'key-b')];
    const routes = new GatewayRoutes({
      core: api.core,
      target,
      channels: () => channels,
      logger: silent,
      debounceMs: 100,
      resyncMs: 10_000,
    });
    return { api, routes, set: (cs: RoutedChannel[]) => (channels = cs) };
  };

  it('makes the routing secret once, publishes the table with it, and marks the gateway pods', async () => {
    const { api, routes } = setup();
    routes.start();
    await vi.advanceTimersByTimeAsync(150);
    const secret = api.data('routing', 'routing-secret');
    expect(secret.length).toBeGreaterThanOrEqual(32);
    const hashes = api.table().entries.map((e) => e.keyHash);
    expect(hashes.sort()).toEqual([routeKeyHash(secret, 'key-a'), routeKeyHash(secret, 'key-b')].sort());
    expect(api.pods.map((p) => p.metadata?.annotations?.[routeTableHashAnnotation])).toEqual([
      expect.stringMatching(/^[0-9a-f]{16}$/),
      expect.stringMatching(/^[0-9a-f]{16}$/),
    ]);
    await routes.stop();
  });

  it('writes once per burst of changes, and not at all when nothing changed', async () => {
    const { api, routes, set } = setup();
    routes.start();
    await vi.advanceTimersByTimeAsync(150);
    expect(routes.writes).toBe(1);
    for (let i = 0; i < 20; i++) {
      routes.changed();
      await vi.advanceTimersByTimeAsync(20);
    }
    await vi.advanceTimersByTimeAsync(200);
    expect(routes.writes).toBe(1);
    expect(api.calls.patch).toBe(2);
    await vi.advanceTimersByTimeAsync(30_000); // resyncs re-read, find it equal
    expect(routes.writes).toBe(1);

    set([channel('a', 'key-a', true), channel('b', 'key-b2')]);
    for (let i = 0; i < 20; i++) {
      routes.changed();
      await vi.advanceTimersByTimeAsync(20);
    }
    await vi.advanceTimersByTimeAsync(200);
    expect(routes.writes).toBe(2);
    const secret = api.data('routing', 'routing-secret');
    expect(api.table().entries.map((e) => [e.name, e.keyHash])).toEqual([['b', routeKeyHash(secret, 'key-b2')]]);
    expect(api.calls.patch).toBe(4);
    await routes.stop();
  });

  it('keeps an existing routing secret and a table written by an earlier leader', async () => {
    const first = setup();
    first.routes.start();
    await vi.advanceTimersByTimeAsync(150);
    await first.routes.stop();
    const secret = first.api.data('routing', 'routing-secret');

    const next = new GatewayRoutes({ core: first.api.core, target, channels: () => [channel('a', 'key-a'), channel('b', 'key-b')], logger: silent, debounceMs: 100 }); // prettier-ignore
    next.start();
    await vi.advanceTimersByTimeAsync(150);
    expect(next.writes).toBe(0);
    expect(first.api.data('routing', 'routing-secret')).toBe(secret);
    await next.stop();
  });

  it('puts right a routes Secret changed or deleted behind its back, at the resync', async () => {
    const { api, routes } = setup();
    routes.start();
    await vi.advanceTimersByTimeAsync(150);
    const good = api.data('routes', routeTableFileName);
    const edited = structuredClone(api.secrets.get('routes'));
    if (edited?.data) edited.data[routeTableFileName] = Buffer.from('{"version":1,"entries":[]}').toString('base64');
    api.secrets.set('routes', { ...edited, metadata: { ...edited?.metadata, resourceVersion: '999' } });
    await vi.advanceTimersByTimeAsync(10_200);
    expect(api.data('routes', routeTableFileName)).toBe(good);
    api.secrets.delete('routes');
    await vi.advanceTimersByTimeAsync(10_200);
    expect(api.data('routes', routeTableFileName)).toBe(good);
    expect(routes.writes).toBe(3);
    await routes.stop();
  });

  it('retries a failed write with a backoff and stops for good', async () => {
    const { api, routes } = setup();
    const replace = api.core.createNamespacedSecret.bind(api.core);
    let failures = 2;
    api.core.createNamespacedSecret = (arg: { body: V1Secret }) =>
      arg.body.metadata?.name === 'routes' && failures-- > 0 ? Promise.reject(apiError(500)) : replace(arg as never);
    routes.start();
    await vi.advanceTimersByTimeAsync(150);
    expect(routes.writes).toBe(0);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(routes.writes).toBe(1);
    await routes.stop();
    const calls = { ...api.calls };
    routes.changed();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(api.calls).toEqual(calls);
  });
});

describe('GatewayRoutes with password channels', () => {
  // Real timers: scrypt completes on the thread pool, which fake timers do not wait for.
  it('publishes the hash, locks the channel while its Secret is missing, follows a changed password at once', async () => {
    const api = fakeCore();
    const ls = storedLiveStream(minimalExample);
    ls.metadata.name = 'webinar';
    ls.spec.audience = { visibility: 'password', password: { secretName: 'webinar-pw', key: 'password' } };
    const problems: PasswordProblem[] = [];
    const versions = new Map<string, string>();
    const routes = new GatewayRoutes({
      core: api.core,
      target,
      channels: () => [{ ls, keySet: { keys: [{ sha256: keyDigest('key-w') ?? '' }] } }],
      logger: silent,
      debounceMs: 20,
      resyncMs: 600_000,
      secretVersion: (_, name) => versions.get(name) ?? null,
      onPasswordProblem: (p) => problems.push(p),
    });
    const access = () => api.table().access?.[0];
    routes.start();
    await waitFor('a table', () => api.secrets.has('routes'), { timeoutMs: 5_000, intervalMs: 20 });
    expect(access()).toMatchObject({ name: 'webinar', visibility: 'password' });
    const locked = access()?.passwordHash ?? '';
    expect(locked).toBe(lockedPasswordHash(api.data('routing', 'routing-secret'), 'media', 'webinar'));
    expect(problems.map((p) => p.ls.metadata.name)).toEqual(['webinar']);

    const put = (password: string) => {
      const body = { metadata: { name: 'webinar-pw' }, data: { password: Buffer.from(password).toString('base64') } };
      api.secrets.set('webinar-pw', {
        ...body,
        metadata: { ...body.metadata, resourceVersion: `${versions.size + 1}` },
      });
      versions.set('webinar-pw', `${versions.size + 1}`);
      routes.secretChanged('media', 'webinar-pw');
    };
    put('first password');
    await waitFor('the first hash', () => access()?.passwordHash !== locked, { timeoutMs: 5_000, intervalMs: 20 });
    expect(await verifyViewerPassword('first password', access()?.passwordHash ?? '')).toBe(true);
    const writes = routes.writes;
    // A Secret no password channel names does not rebuild; an unchanged password keeps the bytes.
    routes.secretChanged('media', 'unrelated');
    routes.changed();
    await new Promise((r) => setTimeout(r, 200));
    expect(routes.writes).toBe(writes);
    expect(routes.passwordHashes).toBe(1);

    put('second password');
    await waitFor('the second hash', () => routes.writes > writes, { timeoutMs: 5_000, intervalMs: 20 });
    expect(await verifyViewerPassword('second password', access()?.passwordHash ?? '')).toBe(true);
    expect(await verifyViewerPassword('first password', access()?.passwordHash ?? '')).toBe(false);
    await routes.stop();
  });
});

describe('notifySecretEvents', () => {
  it('tells of every event of the metadata-only Secret watch and keeps every key mapping', () => {
    const seen: string[] = [];
    const specs = [
      { resource: 'secrets', keyFor: (_: object) => 'ns/owner' },
      { resource: secretMetadataResource, keyFor: (_: object) => 'ns/referrer' },
    ];
    const wrapped = notifySecretEvents(specs, (ns, name) => seen.push(`${ns}/${name}`));
    const secret = { metadata: { namespace: 'ns', name: 'pw' } };
    expect(wrapped.map((s) => s.keyFor(secret))).toEqual(['ns/owner', 'ns/referrer']);
    expect(seen).toEqual(['ns/pw']);
  });
});

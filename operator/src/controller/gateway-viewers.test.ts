// The summing poller against fake replicas (a fetch that answers per URL) and a fake clock; the Secret against a
// fake API. The real thing, two gateway processes on a real API server, is gateway-viewers.int.test.ts.
import { ApiException, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { adminTokenFileName } from '../../../contract/src/gateway-admin.ts';
import {
  changedSums,
  gatewayAdminToken,
  gatewayReplicas,
  GatewayViewers,
  sumViewers,
  type ChannelViewerSum,
  type GatewayReplica,
} from './gateway-viewers.ts';

const silent = { info: () => {}, warn: () => {}, debug: () => {}, error: () => {} } as never;
const token = 'an-admin-token-of-at-least-32-characters';

describe('sumViewers and changedSums', () => {
  it('sums fresh answers per channel and leaves out stale ones', () => {
    const answers = [
      {
        answeredAtMs: 10_000,
        viewers: new Map([
          ['ns/a', 3],
          ['ns/b', 1],
        ]),
      },
      { answeredAtMs: 9_000, viewers: new Map([['ns/a', 4]]) },
      { answeredAtMs: 0, viewers: new Map([['ns/a', 100]]) }, // 10 s old: stale at staleMs 10 s
    ];
    expect(sumViewers(answers, 10_000, 10_000)).toEqual(
      new Map([
        ['ns/a', 7],
        ['ns/b', 1],
      ]),
    );
    expect(sumViewers(answers, 10_000, 10_001).get('ns/a')).toBe(107);
  });

  it('reports channels whose sum changed, a vanished one as 0', () => {
    const before = new Map([
      ['ns/a', 3],
      ['ns/b', 1],
      ['ns/c', 2],
    ]);
    const after = new Map([
      ['ns/a', 3],
      ['ns/b', 2],
      ['ns/d', 5],
    ]);
    expect(changedSums(before, after)).toEqual([
      { namespace: 'ns', name: 'b', viewers: 2 },
      { namespace: 'ns', name: 'c', viewers: 0 },
      { namespace: 'ns', name: 'd', viewers: 5 },
    ]);
    expect(changedSums(after, after)).toEqual([]);
  });
});

describe('gatewayReplicas', () => {
  it('asks running pods with an IP at their http port', () => {
    const pod = (uid: string, ip: string | undefined, phase: string, port?: number): V1Pod => ({
      metadata: { uid },
      spec: { containers: [{ name: 'gateway', ports: port ? [{ name: 'http', containerPort: port }] : [] }] },
      status: { phase, ...(ip !== undefined && { podIP: ip }) },
    });
    expect(
      gatewayReplicas([
        pod('b', '10.0.0.2', 'Running', 9090),
        pod('a', 'fd00::1', 'Running'),
        pod('c', undefined, 'Pending'),
        pod('d', '10.0.0.4', 'Succeeded'),
      ]),
    ).toEqual([
      { id: 'a', url: 'http://[fd00::1]:8080' },
      { id: 'b', url: 'http://10.0.0.2:9090' },
    ]);
  });
});

function rig(options: { staleMs?: number } = {}) {
  let now = 0;
  const answers = new Map<string, { status: number; channels: ChannelViewerSum[] } | 'hang'>();
  const asked: string[] = [];
  const seenAuth = new Set<string>();
  let replicas: GatewayReplica[] = [
    { id: 'gw-1', url: 'http://gw-1' },
    { id: 'gw-2', url: 'http://gw-2' },
  ];
  const fakeFetch = ((url: string, init: RequestInit) => {
    const host = new URL(url).host;
    asked.push(`${host}${new URL(url).pathname}`);
    seenAuth.add((init.headers as Record<string, string>).authorization ?? '');
    const answer = answers.get(host);
    if (answer === 'hang' || answer === undefined) return Promise.reject(new Error('connect ECONNREFUSED'));
    const body = JSON.stringify({ replica: host, at: '2026-12-02T08:00:00Z', channels: answer.channels });
    return Promise.resolve(new Response(body, { status: answer.status }));
  }) as typeof fetch;
  let tokenAsks = 0;
  const viewers = new GatewayViewers({
    replicas: () => Promise.resolve(replicas),
    token: () => {
      tokenAsks++;
      return Promise.resolve(token);
    },
    logger: silent,
    intervalMs: 5_000,
    staleMs: options.staleMs ?? 20_000,
    fetch: fakeFetch,
    now: () => now,
  });
  const changes: ChannelViewerSum[][] = [];
  viewers.onChange((c) => changes.push(c));
  return {
    viewers,
    answers,
    asked,
    seenAuth,
    changes,
    tokenAsks: () => tokenAsks,
    setReplicas: (r: GatewayReplica[]) => (replicas = r),
    at: (ms: number) => (now = ms),
  };
}

const ch = (name: string, viewers: number) => ({ namespace: 'ns', name, viewers });

describe('GatewayViewers', () => {
  it('sums every replica’s viewers per channel, asking with the bearer token', async () => {
    const r = rig();
    r.answers.set('gw-1', { status: 200, channels: [ch('a', 3), ch('b', 1)] });
    r.answers.set('gw-2', { status: 200, channels: [ch('a', 4)] });
    await r.viewers.poll();
    expect(r.viewers.viewersOf('ns', 'a')).toBe(7);
    expect(r.viewers.viewersOf('ns', 'b')).toBe(1);
    expect(r.viewers.viewersOf('ns', 'zzz')).toBe(0);
    expect(r.viewers.channels()).toEqual([ch('a', 7), ch('b', 1)]);
    expect(r.asked.sort()).toEqual(['gw-1/admin/viewers', 'gw-2/admin/viewers']);
    expect([...r.seenAuth]).toEqual([`Bearer ${token}`]);
    expect(r.changes).toEqual([[ch('a', 7), ch('b', 1)]]);
  });

  it('tells listeners only about channels whose sum changed', async () => {
    const r = rig();
    r.answers.set('gw-1', { status: 200, channels: [ch('a', 3), ch('b', 1)] });
    r.answers.set('gw-2', { status: 200, channels: [] });
    await r.viewers.poll();
    r.at(5_000);
    await r.viewers.poll();
    r.answers.set('gw-2', { status: 200, channels: [ch('b', 2)] });
    r.at(10_000);
    await r.viewers.poll();
    expect(r.changes).toEqual([[ch('a', 3), ch('b', 1)], [ch('b', 3)]]);
  });

  it('keeps a replica that stopped answering until staleMs, then drops it', async () => {
    const r = rig({ staleMs: 20_000 });
    r.answers.set('gw-1', { status: 200, channels: [ch('a', 3)] });
    r.answers.set('gw-2', { status: 200, channels: [ch('a', 4)] });
    await r.viewers.poll();
    r.answers.set('gw-2', 'hang');
    for (const t of [5_000, 10_000, 15_000, 19_999]) {
      r.at(t);
      await r.viewers.poll();
      expect(r.viewers.viewersOf('ns', 'a')).toBe(7);
    }
    r.at(20_000);
    await r.viewers.poll();
    expect(r.viewers.viewersOf('ns', 'a')).toBe(3);
    expect(r.changes.at(-1)).toEqual([ch('a', 3)]);
  });

  it('backs off from a failing replica and counts it again once it answers', async () => {
    const r = rig();
    r.answers.set('gw-1', { status: 200, channels: [ch('a', 1)] });
    r.answers.set('gw-2', 'hang');
    const asks = () => r.asked.filter((a) => a.startsWith('gw-2')).length;
    for (let t = 0; t <= 60_000; t += 5_000) {
      r.at(t);
      await r.viewers.poll();
    }
    // Every round would be 13 asks; the backoff (5 s doubling, jittered down at most 20 %) leaves far fewer.
    expect(asks()).toBeGreaterThanOrEqual(3);
    expect(asks()).toBeLessThanOrEqual(6);
    r.answers.set('gw-2', { status: 200, channels: [ch('a', 2)] });
    for (let t = 65_000; t <= 125_000 && r.viewers.viewersOf('ns', 'a') !== 3; t += 5_000) {
      r.at(t);
      await r.viewers.poll();
    }
    expect(r.viewers.viewersOf('ns', 'a')).toBe(3);
  });

  it('drops a deleted replica after staleMs, and asks a new one at once', async () => {
    const r = rig({ staleMs: 20_000 });
    r.answers.set('gw-1', { status: 200, channels: [ch('a', 3)] });
    r.answers.set('gw-2', { status: 200, channels: [ch('a', 4)] });
    r.answers.set('gw-3', { status: 200, channels: [ch('a', 5)] });
    await r.viewers.poll();
    r.setReplicas([
      { id: 'gw-1', url: 'http://gw-1' },
      { id: 'gw-3', url: 'http://gw-3' },
    ]);
    r.at(5_000);
    await r.viewers.poll();
    expect(r.viewers.viewersOf('ns', 'a')).toBe(12); // gw-2's last answer is still fresh
    r.at(20_000);
    await r.viewers.poll();
    expect(r.viewers.viewersOf('ns', 'a')).toBe(8);
  });

  it('does not count an answer that is refused or malformed, and reads the token again after a 401', async () => {
    const r = rig();
    r.answers.set('gw-1', { status: 401, channels: [ch('a', 3)] });
    r.answers.set('gw-2', { status: 200, channels: [{ namespace: 'NS', name: 'a', viewers: 4 }] });
    await r.viewers.poll();
    expect(r.viewers.channels()).toEqual([]);
    expect(r.tokenAsks()).toBe(1);
    r.at(30_000);
    await r.viewers.poll();
    expect(r.tokenAsks()).toBe(2);
  });

  it('runs rounds on its interval until stopped', async () => {
    let asks = 0;
    const body = JSON.stringify({ replica: 'x', at: '2026-12-02T08:00:00Z', channels: [ch('a', 3)] });
    const viewers = new GatewayViewers({
      replicas: () => Promise.resolve([{ id: 'gw-1', url: 'http://gw-1' }]),
      token: () => Promise.resolve(token),
      logger: silent,
      intervalMs: 20,
      fetch: () => {
        asks++;
        return Promise.resolve(new Response(body));
      },
    });
    const seen = new Promise<ChannelViewerSum[]>((resolve) => viewers.onChange(resolve));
    viewers.start();
    expect(await seen).toEqual([ch('a', 3)]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await viewers.stop();
    const asked = asks;
    expect(asked).toBeGreaterThan(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(asks).toBe(asked);
  });
});

describe('gatewayAdminToken', () => {
  const apiError = (code: number) => new ApiException(code, 'x', '{}', {});
  function fakeCore() {
    const secrets = new Map<string, V1Secret>();
    let creates = 0;
    const core = {
      readNamespacedSecret: ({ name }: { name: string }) => {
        const s = secrets.get(name);
        return s ? Promise.resolve(structuredClone(s)) : Promise.reject(apiError(404));
      },
      createNamespacedSecret: ({ body }: { body: V1Secret }) => {
        creates++;
        if (secrets.has(body.metadata?.name ?? '')) return Promise.reject(apiError(409));
        secrets.set(body.metadata?.name ?? '', structuredClone(body));
        return Promise.resolve(structuredClone(body));
      },
    };
    return { core, secrets, creates: () => creates };
  }

  it('makes the token once and reads it back afterwards', async () => {
    const api = fakeCore();
    const first = await gatewayAdminToken(api.core, 'ops', 'gw-admin', silent);
    expect(first.length).toBeGreaterThanOrEqual(32);
    const stored = api.secrets.get('gw-admin');
    expect(Buffer.from(stored?.data?.[adminTokenFileName] ?? '', 'base64').toString()).toBe(first);
    expect(stored?.metadata?.namespace).toBe('ops');
    expect(await gatewayAdminToken(api.core as never, 'ops', 'gw-admin', silent)).toBe(first);
    expect(api.creates()).toBe(1);
  });

  it('reads the winner’s token when its create loses a race', async () => {
    const api = fakeCore();
    const winner = 'the-winners-token-of-at-least-32-chars';
    const core = {
      ...api.core,
      readNamespacedSecret: (() => {
        let reads = 0;
        return (args: { name: string }) =>
          reads++ === 0 ? Promise.reject(apiError(404)) : api.core.readNamespacedSecret(args);
      })(),
    };
    api.secrets.set('gw-admin', { data: { [adminTokenFileName]: Buffer.from(winner).toString('base64') } });
    expect(await gatewayAdminToken(core as never, 'ops', 'gw-admin', silent)).toBe(winner);
  });

  it('refuses a Secret whose token is too short, and passes other API errors on', async () => {
    const api = fakeCore();
    api.secrets.set('gw-admin', { data: { [adminTokenFileName]: Buffer.from('short').toString('base64') } });
    await expect(gatewayAdminToken(api.core as never, 'ops', 'gw-admin', silent)).rejects.toThrow(/at least 32/);
    const failing = { ...api.core, readNamespacedSecret: () => Promise.reject(apiError(403)) };
    await expect(gatewayAdminToken(failing as never, 'ops', 'other', silent)).rejects.toThrow();
  });
});

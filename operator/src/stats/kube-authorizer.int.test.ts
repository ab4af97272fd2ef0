// The stats API's authorizer against the real kube-apiserver: ServiceAccount tokens minted with the TokenRequest API,
// RBAC as a platform would grant it (a Role in one namespace for the tenant, a ClusterRole for the admin), and the
// authorizer running as a ServiceAccount with exactly the ClusterRole the chart gives the operator for it.
import { Writable } from 'node:stream';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type RequestContext } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { group, plural } from '../../../contract/src/api/index.ts';
import { createLogger } from '../../../contract/src/logger.ts';
import { useTestCluster } from '../../../test/support/test-namespace.ts';
import { waitFor } from '../../../test/support/wait-for.ts';
import type { StatsAuthorizer } from './authorizer.ts';
import { kubeStatsAuthorizer, type KubeStatsAuthorizerOptions } from './kube-authorizer.ts';

/** The rules the operator's ClusterRole needs for the stats API (reported for the chart). */
const authorizerRules = [
  { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
];
const readLiveStreams = [{ apiGroups: [group], resources: [plural], verbs: ['get'] }];

/** A client on the same API server that authenticates with `token` only. */
function kubeConfigWithToken(kc: KubeConfig, token: string): KubeConfig {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the test kubeconfig has no current cluster');
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'sa', token }],
    contexts: [{ name: 'sa', cluster: cluster.name, user: 'sa' }],
    currentContext: 'sa',
  });
  return out;
}

/** Counts the requests a KubeConfig's clients send, by resource path (every request is authenticated through it). */
function countRequests(kc: KubeConfig): (resource: string) => number {
  const paths: string[] = [];
  const apply = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = (context: RequestContext) => {
    paths.push(new URL(context.getUrl()).pathname);
    return apply(context);
  };
  return (resource) => paths.filter((p) => p.endsWith(`/${resource}`)).length;
}

describe('the stats authorizer on a real API server', () => {
  const a = useTestCluster('stats-a');
  const b = useTestCluster('stats-b');
  const clusterScoped = `${a.namespace}-stats`; // names of the cluster roles and bindings of this run
  const logLines: string[] = [];
  const logger = createLogger(
    'stats-authorizer-test',
    'debug',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  );
  const tokens: Record<'tenant' | 'leaver' | 'admin' | 'authorizer' | 'audienced', string> = {
    tenant: '',
    leaver: '',
    admin: '',
    authorizer: '',
    audienced: '',
  };
  let operatorKc: KubeConfig;
  const authorizer = (o: Partial<KubeStatsAuthorizerOptions> = {}): StatsAuthorizer =>
    kubeStatsAuthorizer({ kc: operatorKc, logger, ...o });

  beforeAll(async () => {
    const core = a.kc.makeApiClient(CoreV1Api);
    const rbac = a.kc.makeApiClient(RbacAuthorizationV1Api);
    const ns = a.namespace;
    const sa = (name: string) => ({ kind: 'ServiceAccount', name, namespace: ns });
    for (const name of ['tenant', 'leaver', 'admin', 'authorizer']) {
      await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
    }
    await rbac.createNamespacedRole({
      namespace: ns,
      body: { metadata: { name: 'stats-reader' }, rules: readLiveStreams },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'stats-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'stats-reader' },
        subjects: [sa('tenant'), sa('leaver')],
      },
    });
    for (const [suffix, rules, subject] of [
      ['admin', readLiveStreams, 'admin'],
      ['authorizer', authorizerRules, 'authorizer'],
    ] as const) {
      const name = `${clusterScoped}-${suffix}`;
      await rbac.createClusterRole({ body: { metadata: { name }, rules: [...rules] } });
      await rbac.createClusterRoleBinding({
        body: {
          metadata: { name },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
          subjects: [sa(subject)],
        },
      });
    }
    const mint = async (name: string, audiences: string[] = []) =>
      (await core.createNamespacedServiceAccountToken({ name, namespace: ns, body: { spec: { audiences } } })).status
        ?.token ?? '';
    tokens.tenant = await mint('tenant');
    tokens.leaver = await mint('leaver');
    tokens.admin = await mint('admin');
    tokens.authorizer = await mint('authorizer');
    tokens.audienced = await mint('tenant', ['livestream-stats']);
    operatorKc = kubeConfigWithToken(a.kc, tokens.authorizer);
    // RBAC reaches the authorizer's informers a moment after the writes: wait (uncached) until it shows.
    const uncached = authorizer({ cacheTtlMs: 0 });
    await waitFor('the test RBAC to take effect', async () => {
      const seen = await Promise.all([
        uncached.authorize(tokens.tenant, a.namespace),
        uncached.authorize(tokens.leaver, a.namespace),
        uncached.authorize(tokens.admin, b.namespace),
      ]);
      return seen.every((d) => d.outcome === 'allowed');
    });
  }, 60_000);

  afterAll(async () => {
    const rbac = a.kc.makeApiClient(RbacAuthorizationV1Api);
    for (const suffix of ['admin', 'authorizer']) {
      await rbac.deleteClusterRoleBinding({ name: `${clusterScoped}-${suffix}` }).catch(() => undefined);
      await rbac.deleteClusterRole({ name: `${clusterScoped}-${suffix}` }).catch(() => undefined);
    }
  });

  it('lets the tenant read its namespace only, and the admin every namespace', async () => {
    const z = authorizer();
    const tenant = `system:serviceaccount:${a.namespace}:tenant`;
    const admin = `system:serviceaccount:${a.namespace}:admin`;
    expect(await z.authorize(tokens.tenant, a.namespace)).toEqual({ outcome: 'allowed', user: tenant });
    expect(await z.authorize(tokens.tenant, b.namespace)).toMatchObject({ outcome: 'forbidden', user: tenant });
    expect(await z.authorize(tokens.admin, a.namespace)).toEqual({ outcome: 'allowed', user: admin });
    expect(await z.authorize(tokens.admin, b.namespace)).toEqual({ outcome: 'allowed', user: admin });
  });

  it('refuses garbage, a JWT it did not sign, a token for another audience, and a bad namespace', async () => {
    const z = authorizer();
    const [header, , signature] = tokens.tenant.split('.');
    const forged = `${header}.${Buffer.from('{"sub":"system:serviceaccount:x:admin"}').toString('base64url')}.${signature}`;
    for (const token of ['garbage', forged, `${tokens.tenant}x`]) {
      expect(await z.authorize(token, a.namespace)).toMatchObject({ outcome: 'unauthenticated' });
    }
    const strict = authorizer({ audiences: ['livestream-stats'] });
    expect(await strict.authorize(tokens.audienced, a.namespace)).toMatchObject({ outcome: 'allowed' });
    expect(await strict.authorize(tokens.tenant, a.namespace)).toMatchObject({ outcome: 'unauthenticated' });
    expect(await z.authorize(tokens.admin, '')).toMatchObject({ outcome: 'forbidden' }); // '' would mean all
  });

  it('is unavailable, never allowed, when its own identity may not create the reviews', async () => {
    // Its own identity goes into the warning: a logger of its own keeps the caller-names check below about callers.
    const quiet = createLogger('stats-authorizer-test', 'silent');
    const z = kubeStatsAuthorizer({ kc: kubeConfigWithToken(a.kc, tokens.tenant), logger: quiet });
    const decision = await z.authorize(tokens.admin, a.namespace);
    expect(decision.outcome).toBe('unavailable');
    expect(decision.outcome === 'unavailable' && decision.message).toMatch(/TokenReview: 403/);
  });

  it("refuses a deleted ServiceAccount's token once the cached review expires", async () => {
    let clock = Date.now();
    const ttl = 10_000;
    const cached = authorizer({ cacheTtlMs: ttl, now: () => clock });
    expect(await cached.authorize(tokens.leaver, a.namespace)).toMatchObject({ outcome: 'allowed' });
    await a.kc.makeApiClient(CoreV1Api).deleteNamespacedServiceAccount({ name: 'leaver', namespace: a.namespace });
    const uncached = authorizer({ cacheTtlMs: 0 });
    // The API server keeps its own token authentications for 10 s: the refusal comes that long after the deletion.
    await waitFor(
      'the API server to refuse the deleted ServiceAccount',
      async () => (await uncached.authorize(tokens.leaver, a.namespace)).outcome === 'unauthenticated',
      { timeoutMs: 40_000, intervalMs: 500 },
    );
    // The API server refuses it now; the cache still answers within its TTL, and asks again after it.
    clock += ttl - 1;
    expect(await cached.authorize(tokens.leaver, a.namespace)).toMatchObject({ outcome: 'allowed' });
    clock += 1;
    expect(await cached.authorize(tokens.leaver, a.namespace)).toMatchObject({ outcome: 'unauthenticated' });
  });

  it('asks the API server once per token and namespace within the TTL, and once for concurrent lookups', async () => {
    const kc = kubeConfigWithToken(a.kc, tokens.authorizer);
    const sent = countRequests(kc);
    const z = kubeStatsAuthorizer({ kc, logger });
    const timed = async (n: number, zz: StatsAuthorizer, token: string, ns: string) => {
      const started = performance.now();
      for (let i = 0; i < n; i += 1) expect(await zz.authorize(token, ns)).toMatchObject({ outcome: 'allowed' });
      return performance.now() - started;
    };
    const cachedMs = await timed(20, z, tokens.tenant, a.namespace);
    expect([sent('tokenreviews'), sent('subjectaccessreviews')]).toEqual([1, 1]);
    const together = await Promise.all(Array.from({ length: 10 }, () => z.authorize(tokens.admin, b.namespace)));
    expect(together.every((d) => d.outcome === 'allowed')).toBe(true);
    expect([sent('tokenreviews'), sent('subjectaccessreviews')]).toEqual([2, 2]);
    await z.authorize(tokens.admin, a.namespace); // a known token in another namespace: one more SAR only
    expect([sent('tokenreviews'), sent('subjectaccessreviews')]).toEqual([2, 3]);

    const plainKc = kubeConfigWithToken(a.kc, tokens.authorizer);
    const plainSent = countRequests(plainKc);
    const uncachedMs = await timed(
      20,
      kubeStatsAuthorizer({ kc: plainKc, logger, cacheTtlMs: 0 }),
      tokens.tenant,
      a.namespace,
    );
    expect([plainSent('tokenreviews'), plainSent('subjectaccessreviews')]).toEqual([20, 20]);
    expect(cachedMs).toBeLessThan(uncachedMs);
    process.stderr.write(
      `stats authorizer: 20 checks ${cachedMs.toFixed(0)} ms cached, ${uncachedMs.toFixed(0)} ms uncached\n`,
    );
  });

  it('never logs a token; user names only at debug', () => {
    const text = logLines.join('');
    for (const token of Object.values(tokens)) expect(text).not.toContain(token);
    const withUser = logLines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.msg.includes('access reviewed'));
    expect(withUser.length).toBeGreaterThan(0);
    expect(withUser.every((l) => l.level === 20)).toBe(true);
    expect(logLines.some((l) => l.includes('system:serviceaccount') && !l.includes('"level":20'))).toBe(false);
  });
});

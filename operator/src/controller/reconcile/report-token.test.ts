import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { reportTokenPattern } from '../../../../contract/src/report-log.ts';
import { storedLiveStream, minimalExample } from '../../../../test/support/livestream-examples.ts';
import { reportTokenOf } from '../desired/report-token-secret.ts';
import { ReportTokens, reportTokenLookup } from './report-token.ts';

const ls = storedLiveStream(minimalExample);
const namespace = ls.metadata.namespace ?? '';
const key = `${namespace}/${ls.metadata.name ?? ''}`;
const secretKey = `${namespace}/${ls.metadata.name ?? ''}-reports`;

function harness(opts: { redisUrl?: string; random?: boolean } = {}) {
  const secrets = new Map<string, V1Secret>();
  const applied: V1Secret[] = [];
  let made = 0;
  const cache = {
    child: <T extends KubernetesObject>(resource: string, ns: string, name: string) =>
      (resource === 'secrets' ? secrets.get(`${ns}/${name}`) : undefined) as T | undefined,
  };
  const tokens = new ReportTokens({
    redisUrl: opts.redisUrl,
    cache,
    client: {
      apply: <T extends KubernetesObject>(obj: T) => {
        applied.push(structuredClone(obj));
        return Promise.resolve(obj);
      },
    },
    ...(!opts.random && { newToken: () => `generated-token-${++made}`.padEnd(43, '0') }),
  });
  const step = tokens.step();
  const run = async () => {
    const state = { key, ls, nowMs: 0, build: { image: 'i' }, missing: { relays: {} }, relayKeys: {} };
    return step.run(state);
  };
  const lastToken = () => reportTokenOf(applied.at(-1));
  /** What the informer shows once the last applied Secret is in the cache. */
  const cacheShowsApplied = () => secrets.set(secretKey, applied.at(-1)!);
  return { tokens, run, applied, secrets, lastToken, cacheShowsApplied, lookup: reportTokenLookup(cache) };
}

describe('the report-token step', () => {
  it('makes a random token of the contract’s shape, a different one per channel', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const h = harness({ random: true });
      expect(await h.run()).toEqual({ kind: 'continue' });
      const token = h.lastToken();
      expect(token).toMatch(reportTokenPattern);
      seen.add(token!);
      expect(h.applied[0]?.metadata).toMatchObject({ name: `${ls.metadata.name}-reports`, namespace });
      expect(h.applied[0]?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'LiveStream', uid: ls.metadata.uid });
    }
    expect(seen.size).toBe(5);
  });

  it('keeps the token while the cache lags behind, and after: a reconcile never rotates it, nor rewrites it', async () => {
    const h = harness();
    await h.run();
    const first = h.lastToken();
    await h.run(); // the cache has not seen the Secret yet: applied again, with the same token
    expect(h.lastToken()).toBe(first);
    h.cacheShowsApplied();
    const applies = h.applied.length;
    for (let i = 0; i < 3; i++) await h.run();
    expect(h.applied.length).toBe(applies); // converged: nothing written
    expect(h.lookup(key)).toBe(first);
  });

  it('reads back the token a previous operator made (a restart keeps it)', async () => {
    const earlier = harness();
    await earlier.run();
    const h = harness();
    h.secrets.set(secretKey, earlier.applied[0]!);
    await h.run();
    expect(h.applied).toHaveLength(0);
    expect(h.lookup(key)).toBe(earlier.lastToken());
  });

  it.each([
    ['a short value', 'short'],
    ['a value with other characters', `${'x'.repeat(43)}!`],
    ['an empty value', ''],
  ])('replaces %s with a token of its own', async (_what, stored) => {
    const h = harness();
    h.secrets.set(secretKey, { metadata: { name: 'x' }, data: { token: Buffer.from(stored).toString('base64') } });
    expect(h.lookup(key)).toBeUndefined(); // never polled with it
    await h.run();
    expect(h.lastToken()).toBe('generated-token-1'.padEnd(43, '0'));
  });

  it('does nothing with Redis (no log is served)', async () => {
    const h = harness({ redisUrl: 'redis://redis:6379' });
    expect(await h.run()).toEqual({ kind: 'continue' });
    expect(h.applied).toHaveLength(0);
  });

  it('forgets a token made and never seen, with the LiveStream', async () => {
    const h = harness();
    await h.run();
    h.tokens.forget(key);
    await h.run();
    expect(h.lastToken()).toBe('generated-token-2'.padEnd(43, '0'));
  });
});

describe('reportTokenLookup', () => {
  it('finds each channel’s own token by its key, and none for a channel without a Secret', async () => {
    const h = harness();
    await h.run();
    h.cacheShowsApplied();
    expect(h.lookup(key)).toBe(h.lastToken());
    expect(h.lookup(`${namespace}/other`)).toBeUndefined();
    expect(h.lookup(`elsewhere/${ls.metadata.name ?? ''}`)).toBeUndefined();
  });
});

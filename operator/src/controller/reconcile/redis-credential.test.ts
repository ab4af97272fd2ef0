import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { channelPassword, channelRedisUrl, type Channel } from '../../../../contract/src/report-streams.ts';
import { storedLiveStream, minimalExample } from '../../../../test/support/livestream-examples.ts';
import { buildRedisSecret } from '../desired/redis-secret.ts';
import { RedisCredentials } from './redis-credential.ts';
import type { ReconcileState } from './step.ts';

const operatorUrl = 'redis://:admin-password-0123456789@redis.lso-system.svc:6379';
const ls = storedLiveStream(minimalExample);
const channel = { namespace: ls.metadata.namespace ?? '', name: ls.metadata.name ?? '' };
const key = `${channel.namespace}/${channel.name}`;

function harness() {
  const secrets = new Map<string, V1Secret>();
  const wanted: Array<[Channel, string]> = [];
  let made = 0;
  const credentials = new RedisCredentials({
    redisUrl: operatorUrl,
    cache: {
      child: <T extends KubernetesObject>(_r: string, ns: string, name: string) =>
        secrets.get(`${ns}/${name}`) as T | undefined,
    },
    channels: { want: (c, p) => void wanted.push([c, p]) },
    newPassword: () => `generated-password-${++made}-0123456789`,
  });
  const step = credentials.step();
  const run = async () => {
    const state = { key, ls, nowMs: 0, build: { image: 'i' }, missing: { relays: {} }, relayKeys: {} };
    await step.run(state);
    return (state as ReconcileState).redisSecretUrl;
  };
  /** What the informer shows once the Secret applied from `url` is in the cache. */
  const cacheShows = (url: string) =>
    secrets.set(`${channel.namespace}/${channel.name}-redis`, buildRedisSecret(ls, { redisUrl: url }));
  return { credentials, run, cacheShows, wanted, secrets, made: () => made };
}

describe('the redis-credential step', () => {
  it('makes a password once, asks for the user with it, and never the operator’s credential in the Secret', async () => {
    const h = harness();
    const url = await h.run();
    expect(url).toBeDefined();
    expect(url).not.toContain('admin-password');
    expect(url?.startsWith('redis://ch%3A')).toBe(true);
    expect(new URL(url!).host).toBe('redis.lso-system.svc:6379');
    const password = channelPassword(url, channel);
    expect(h.wanted).toEqual([[channel, password]]);
  });

  it('keeps the password while the cache lags behind, and after: a reconcile never rotates it', async () => {
    const h = harness();
    const first = await h.run();
    expect(await h.run()).toBe(first); // the cache has not seen the Secret yet
    h.cacheShows(first!);
    for (let i = 0; i < 3; i++) expect(await h.run()).toBe(first);
    expect(h.made()).toBe(1);
    expect(new Set(h.wanted.map(([, p]) => p)).size).toBe(1);
  });

  it('reads the password back from the Secret a previous operator made (a restart keeps it)', async () => {
    const h = harness();
    const earlier = channelRedisUrl('redis://old-host:6379', channel, 'kept-password-from-before-0123');
    h.cacheShows(earlier);
    const url = await h.run();
    expect(channelPassword(url, channel)).toBe('kept-password-from-before-0123');
    expect(new URL(url!).host).toBe('redis.lso-system.svc:6379'); // the operator's current address
    expect(h.made()).toBe(0);
  });

  it.each([
    ['the operator’s own URL (a copy made by an older version)', operatorUrl],
    ['another channel’s credential', channelRedisUrl(operatorUrl, { ...channel, name: 'other' }, 'p'.repeat(20))],
  ])('replaces %s with a credential of the channel’s own', async (_what, stored) => {
    const h = harness();
    h.secrets.set(`${channel.namespace}/${channel.name}-redis`, {
      metadata: { name: `${channel.name}-redis` },
      data: { url: Buffer.from(stored).toString('base64') },
    });
    const url = await h.run();
    expect(channelPassword(url, channel)).toBe('generated-password-1-0123456789');
    expect(url).not.toContain('admin-password');
  });

  it('does nothing without Redis', async () => {
    const credentials = new RedisCredentials({ redisUrl: undefined, cache: { child: () => undefined } });
    const state = { key, ls, nowMs: 0, build: { image: 'i' }, missing: { relays: {} }, relayKeys: {} };
    await credentials.step().run(state);
    expect((state as ReconcileState).redisSecretUrl).toBeUndefined();
  });
});

describe('buildRedisSecret', () => {
  it('refuses any URL that is not the channel’s own credential', () => {
    for (const url of [
      operatorUrl,
      'redis://redis:6379',
      channelRedisUrl(operatorUrl, { ...channel, name: 'x' }, 'p'.repeat(20)),
    ])
      expect(() => buildRedisSecret(ls, { redisUrl: url })).toThrow(/channel's own/);
    expect(() => buildRedisSecret(ls, { redisUrl: 'http://redis' })).toThrow(/redis:\/\//);
  });
});

import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { ApiException, type V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ensurePlaybackKeys,
  makePlaybackKeys,
  playbackKeyId,
  playbackKeysSecretOf,
  newPlaybackKey,
} from './playback-keys.ts';

const silent = { info: () => {}, warn: () => {}, debug: () => {}, error: () => {} } as never;
const apiError = (code: number) => new ApiException(code, 'x', '{}', {});

function fakeCore(failures = 0) {
  const secrets = new Map<string, V1Secret>();
  let failing = failures;
  const core = {
    creates: 0,
    readNamespacedSecret: ({ name }: { name: string }) => {
      if (failing-- > 0) return Promise.reject(apiError(503));
      const s = secrets.get(name);
      return s ? Promise.resolve(structuredClone(s)) : Promise.reject(apiError(404));
    },
    createNamespacedSecret: ({ body }: { body: V1Secret }) => {
      core.creates++;
      const name = body.metadata?.name ?? '';
      if (secrets.has(name)) return Promise.reject(apiError(409));
      secrets.set(name, structuredClone(body));
      return Promise.resolve(body);
    },
  };
  return { core, secrets };
}

const t0 = Date.UTC(2026, 11, 2, 23, 59);

describe('playback keys', () => {
  it('names a key k-<yyyymmdd>-<6 hex> by the UTC day', () => {
    expect(playbackKeyId(t0, Buffer.from([0xab, 0xcd, 0xef]))).toBe('k-20261202-abcdef');
    expect(playbackKeyId(t0)).toMatch(/^k-20261202-[0-9a-f]{6}$/);
    expect(playbackKeyId(t0)).not.toBe(playbackKeyId(t0));
  });

  it('makes a PKCS#8 P-256 private key that signs ES256', () => {
    const { kid, pem } = newPlaybackKey(t0);
    expect(kid).toMatch(/^k-20261202-/);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    const key = createPrivateKey(pem);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const signature = sign('sha256', Buffer.from('token'), { key, dsaEncoding: 'ieee-p1363' });
    expect(signature).toHaveLength(64); // ES256's r || s
    expect(
      verify('sha256', Buffer.from('token'), { key: createPublicKey(key), dsaEncoding: 'ieee-p1363' }, signature),
    ).toBe(true);
  });

  it('makes the Secret once with one <kid>.key, and never touches one that exists', async () => {
    const { core, secrets } = fakeCore();
    const secret = { namespace: 'ops', name: 'lso-playback-keys' };
    expect(await ensurePlaybackKeys(core, secret, silent, t0)).toBe('made');
    const made = secrets.get('lso-playback-keys');
    const keys = Object.keys(made?.data ?? {});
    expect(keys).toEqual([expect.stringMatching(/^k-20261202-[0-9a-f]{6}\.key$/)]);
    const pem = Buffer.from(made?.data?.[keys[0] ?? ''] ?? '', 'base64').toString('utf8');
    expect(createPrivateKey(pem).asymmetricKeyType).toBe('ec');
    expect(made?.metadata?.labels?.['app.kubernetes.io/part-of']).toBe('livestream-operator');

    expect(await ensurePlaybackKeys(core, secret, silent, t0 + 86_400_000)).toBe('kept');
    expect(secrets.get('lso-playback-keys')).toEqual(made);
    expect(core.creates).toBe(1);
  });

  it('keeps what another replica made when it loses the create race', async () => {
    const { core, secrets } = fakeCore();
    core.readNamespacedSecret = () => {
      secrets.set('k', { metadata: { name: 'k' }, data: { 'k-1.key': 'eA==' } }); // made between the read and the create
      return Promise.reject(apiError(404));
    };
    expect(await ensurePlaybackKeys(core, { namespace: 'ops', name: 'k' }, silent)).toBe('kept');
    expect(Object.keys(secrets.get('k')?.data ?? {})).toEqual(['k-1.key']);
    expect(core.creates).toBe(1);
  });

  it('retries a failing API with backoff while the term lasts, then stops', async () => {
    const { core, secrets } = fakeCore(2);
    const waits: number[] = [];
    const sleep = (ms: number) => (waits.push(ms), Promise.resolve());
    await makePlaybackKeys({
      core,
      secret: { namespace: 'ops', name: 'k' },
      logger: silent,
      active: () => true,
      sleep,
    });
    expect(waits).toHaveLength(2);
    expect(secrets.has('k')).toBe(true);
    const idle = fakeCore(100);
    await makePlaybackKeys({
      core: idle.core,
      secret: { namespace: 'ops', name: 'k' },
      logger: silent,
      active: () => waits.length < 5,
      sleep,
    });
    expect(waits).toHaveLength(5);
    expect(idle.secrets.has('k')).toBe(false);
  });

  it('reads the Secret name from LSO_GATEWAY_PLAYBACK_KEYS_SECRET; none: nothing is made', () => {
    expect(playbackKeysSecretOf({ LSO_GATEWAY_PLAYBACK_KEYS_SECRET: 'lso-playback-keys' })).toBe('lso-playback-keys');
    expect(playbackKeysSecretOf({})).toBeUndefined();
    expect(playbackKeysSecretOf({ LSO_GATEWAY_PLAYBACK_KEYS_SECRET: '' })).toBeUndefined();
    expect(() => playbackKeysSecretOf({ LSO_GATEWAY_PLAYBACK_KEYS_SECRET: 'Bad_Name' })).toThrow(
      /must be a Secret name/,
    );
  });
});

import { randomBytes } from 'node:crypto';
import { ApiException, type V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { verifyViewerPassword } from '../../../contract/src/viewer-password.ts';
import { minimalExample, storedLiveStream } from '../../../test/support/livestream-examples.ts';
import { viewerPasswordSalt, type RoutedChannel } from './gateway-routes.ts';
import { passwordOf, ViewerPasswords } from './gateway-routes-passwords.ts';

const routingSecret = randomBytes(32);

/** Secrets by "namespace/name" with resourceVersions, and a count of reads. */
function secrets() {
  const store = new Map<string, V1Secret>();
  let version = 1;
  const api = {
    reads: 0,
    failNext: false,
    put(namespace: string, name: string, data: Record<string, string>) {
      const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
      store.set(`${namespace}/${name}`, {
        metadata: { name, namespace, resourceVersion: String(version++) },
        data: encoded,
      });
    },
    remove: (namespace: string, name: string) => store.delete(`${namespace}/${name}`),
    version: (namespace: string, name: string) => store.get(`${namespace}/${name}`)?.metadata?.resourceVersion ?? null,
    core: {
      readNamespacedSecret: ({ name, namespace }: { name: string; namespace: string }) => {
        api.reads++;
        if (api.failNext) {
          api.failNext = false;
          return Promise.reject(new ApiException(500, 'x', '{}', {}));
        }
        const s = store.get(`${namespace}/${name}`);
        return s ? Promise.resolve(structuredClone(s)) : Promise.reject(new ApiException(404, 'x', '{}', {}));
      },
    },
  };
  return api;
}

const passwordChannel = (name: string, secretName = `${name}-pw`, key?: string): RoutedChannel => {
  const ls: LiveStream = storedLiveStream(minimalExample, { namespace: 'media' });
  ls.metadata.name = name;
  ls.spec.audience = { visibility: 'password', password: { secretName, ...(key && { key }) } } as never;
  return { ls, keySet: undefined };
};

describe('ViewerPasswords', () => {
  it('hashes each password with the channel salt, once per password, re-reading a Secret only when it changed', async () => {
    const api = secrets();
    api.put('media', 'a-pw', { password: 'alpha' });
    api.put('media', 'b-pw', { pin: 'bravo\n' });
    const passwords = new ViewerPasswords(api.core, api.version);
    const channels = [passwordChannel('a'), passwordChannel('b', 'b-pw', 'pin')];
    const first = await passwords.resolve(channels, routingSecret);
    expect(first.problems).toEqual([]);
    const [a, b] = first.channels;
    expect(await verifyViewerPassword('alpha', a?.passwordHash ?? '')).toBe(true);
    expect(await verifyViewerPassword('bravo', b?.passwordHash ?? '')).toBe(true); // the trailing newline is not part
    expect(a?.passwordHash).toContain(viewerPasswordSalt(routingSecret, 'media', 'a').toString('base64url'));
    expect([passwords.hashes, api.reads]).toEqual([2, 2]);

    // A rebuild with nothing changed: no read, no scrypt, the same hashes (the same table bytes).
    const again = await passwords.resolve(channels, routingSecret);
    expect(again.channels.map((c) => c.passwordHash)).toEqual(first.channels.map((c) => c.passwordHash));
    expect([passwords.hashes, api.reads]).toEqual([2, 2]);

    // The Secret rewritten with the same password: read again, not hashed again.
    api.put('media', 'a-pw', { password: 'alpha', note: 'touched' });
    await passwords.resolve(channels, routingSecret);
    expect([passwords.hashes, api.reads]).toEqual([2, 3]);

    // A new password: hashed; the old one no longer opens the channel.
    api.put('media', 'a-pw', { password: 'alpha-2' });
    const changed = await passwords.resolve(channels, routingSecret);
    expect(passwords.hashes).toBe(3);
    expect(await verifyViewerPassword('alpha-2', changed.channels[0]?.passwordHash ?? '')).toBe(true);
    expect(await verifyViewerPassword('alpha', changed.channels[0]?.passwordHash ?? '')).toBe(false);
  });

  it('reports a missing Secret or key (naming them, never a value) and leaves the hash out, so the builder locks', async () => {
    const api = secrets();
    api.put('media', 'c-pw', { other: 'charlie' });
    const passwords = new ViewerPasswords(api.core, api.version);
    const { channels, problems } = await passwords.resolve(
      [passwordChannel('gone'), passwordChannel('c'), passwordChannel('long', 'c-pw', 'other')],
      routingSecret,
    );
    expect(channels.map((c) => c.passwordHash)).toEqual([undefined, undefined, expect.stringMatching(/^scrypt\$/)]);
    expect(problems.map((p) => [p.ls.metadata.name, p.message])).toEqual([
      ['gone', expect.stringMatching(/^spec\.audience\.password: Secret gone-pw is missing/)],
      ['c', expect.stringMatching(/^spec\.audience\.password: key password of Secret c-pw is missing/)],
    ]);
    expect(JSON.stringify(problems.map((p) => p.message))).not.toContain('charlie');
    // The metadata cache knows the Secret is absent: no read at the next rebuild, the problem still reported.
    const reads = api.reads;
    const next = await passwords.resolve([passwordChannel('gone')], routingSecret);
    expect(next.problems).toHaveLength(1);
    expect(api.reads).toBe(reads);
    // It appears: read and hashed.
    api.put('media', 'gone-pw', { password: 'back' });
    const back = await passwords.resolve([passwordChannel('gone')], routingSecret);
    expect(back.problems).toEqual([]);
    expect(await verifyViewerPassword('back', back.channels[0]?.passwordHash ?? '')).toBe(true);
  });

  it('throws on a read that fails for another reason than 404, so a passing error never locks a channel', async () => {
    const api = secrets();
    api.put('media', 'a-pw', { password: 'alpha' });
    const passwords = new ViewerPasswords(api.core); // no metadata cache: every rebuild reads
    api.failNext = true;
    await expect(passwords.resolve([passwordChannel('a')], routingSecret)).rejects.toThrow();
    const { channels } = await passwords.resolve([passwordChannel('a')], routingSecret);
    expect(await verifyViewerPassword('alpha', channels[0]?.passwordHash ?? '')).toBe(true);
  });

  it('passes other channels through untouched', async () => {
    const api = secrets();
    const ls = storedLiveStream(minimalExample, { namespace: 'media' });
    const open: RoutedChannel = { ls, keySet: undefined };
    const { channels, problems } = await new ViewerPasswords(api.core).resolve([open], routingSecret);
    expect(channels).toEqual([open]);
    expect(problems).toEqual([]);
    expect(api.reads).toBe(0);
  });
});

describe('passwordOf', () => {
  it('drops one trailing newline, refuses empty and over-long values', () => {
    expect(passwordOf('pw\r\n')).toBe('pw');
    expect(passwordOf(' pw \n\n')).toBe(' pw \n');
    expect(passwordOf('\n')).toBeUndefined();
    expect(passwordOf(undefined)).toBeUndefined();
    expect(passwordOf('p'.repeat(256))).toHaveLength(256);
    expect(passwordOf('p'.repeat(257))).toBeUndefined();
  });
});

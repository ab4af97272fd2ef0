import { describe, expect, it } from 'vitest';
import type { V1Deployment, V1Secret, V1Volume } from '@kubernetes/client-node';
import { mountedKeySecrets, parseSecretRef, pickKey } from './playback-keys.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (data: Record<string, string>): V1Secret => ({ metadata: { namespace: 'ops', name: 'k' }, data });

describe('playback keys', () => {
  it('picks --kid, else the greatest key id (the operator names keys by day)', () => {
    const s = secret({ 'k-20261101-aaaaaa.key': b64('old'), 'k-20261201-bbbbbb.key': b64('new'), README: b64('x') });
    expect(pickKey(s, undefined)).toEqual({ kid: 'k-20261201-bbbbbb', pem: 'new' });
    expect(pickKey(s, 'k-20261101-aaaaaa').pem).toBe('old');
    expect(() => pickKey(s, 'k9')).toThrow('has no key k9 (it has k-20261101-aaaaaa, k-20261201-bbbbbb)');
    expect(() => pickKey(secret({ 'notes.txt': b64('x') }), undefined)).toThrow('holds no <kid>.key');
  });
  it('finds the Secret a gateway Deployment mounts as playback-keys', () => {
    const deployment = (ns: string, volumes: V1Volume[]): V1Deployment => ({
      metadata: { namespace: ns },
      spec: { selector: {}, template: { spec: { containers: [], volumes } } },
    });
    expect(
      mountedKeySecrets([
        deployment('ops', [
          { name: 'routes', secret: { secretName: 'r' } },
          { name: 'playback-keys', secret: { secretName: 'lso-playback-keys' } },
        ]),
        deployment('other', [{ name: 'data', emptyDir: {} }]),
      ]),
    ).toEqual([{ namespace: 'ops', name: 'lso-playback-keys' }]);
  });
  it('takes NAMESPACE/NAME', () => {
    expect(parseSecretRef('ops/lso-playback-keys', '--keys-secret')).toEqual({
      namespace: 'ops',
      name: 'lso-playback-keys',
    });
    for (const bad of ['lso-playback-keys', 'ops/', '/x', 'Ops/x', 'a/b/c']) {
      expect(() => parseSecretRef(bad, '--keys-secret')).toThrow('--keys-secret must be NAMESPACE/NAME');
    }
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { kubeconfigBearerToken, loadCluster } from './kube.ts';

const dir = mkdtempSync(join(tmpdir(), 'kplugin-kube-'));
const config = (user: object, namespace?: string): string => {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443' } }],
    users: [{ name: 'u', user }],
    contexts: [
      { name: 'main', context: { cluster: 'c', user: 'u', ...(namespace && { namespace }) } },
      { name: 'other', context: { cluster: 'c', user: 'u', namespace: 'elsewhere' } },
    ],
    'current-context': 'main',
  };
  writeFileSync(file, stringify(doc));
  return file;
};
const kc = (file: string) => {
  const k = new KubeConfig();
  k.loadFromFile(file);
  return k;
};

describe('kubeconfig', () => {
  it("takes -n, else the context's namespace, else default; --context switches", () => {
    const file = config({ token: 't' }, 'team-a');
    expect(loadCluster({ kubeconfig: file }).namespace).toBe('team-a');
    expect(loadCluster({ kubeconfig: file, namespace: 'x' }).namespace).toBe('x');
    expect(loadCluster({ kubeconfig: file, context: 'other' }).namespace).toBe('elsewhere');
    expect(loadCluster({ kubeconfig: config({ token: 't' }) }).namespace).toBe('default');
    expect(() => loadCluster({ kubeconfig: file, context: 'nope' })).toThrow('--context nope: no such context');
    expect(() => loadCluster({ kubeconfig: join(dir, 'missing') })).toThrow('cannot read the kubeconfig');
  });
  it("finds the user's bearer token from token or token file, and none for a client certificate", async () => {
    expect(await kubeconfigBearerToken(kc(config({ token: 'tok-1' })))).toBe('tok-1');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'tok-2\n');
    // kubectl's `tokenFile` (client-node alone reads only `token-file`), relative to its kubeconfig, and theirs.
    const withTokenFile = config({ tokenFile: 'token' });
    expect(await kubeconfigBearerToken(kc(withTokenFile), [withTokenFile])).toBe('tok-2');
    expect(await kubeconfigBearerToken(kc(config({ 'token-file': tokenFile })))).toBe('tok-2');
    const cert = { 'client-certificate-data': 'Qw==', 'client-key-data': 'Sw==' };
    expect(await kubeconfigBearerToken(kc(config(cert)))).toBeUndefined();
  });
});

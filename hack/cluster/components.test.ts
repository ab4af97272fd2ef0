import { describe, expect, it } from 'vitest';
import {
  apiserverSpec,
  controllerManagerSpec,
  etcdSpec,
  kubeconfig,
  schedulerSpec,
  serviceClusterIpRange,
  type ClusterLayout,
} from './components.ts';
import type { Pki } from './pki.ts';

const pki: Pki = {
  dir: '/c/pki',
  caCert: '/c/pki/ca.crt',
  caKey: '/c/pki/ca.key',
  serverCert: '/c/pki/apiserver.crt',
  serverKey: '/c/pki/apiserver.key',
  serviceAccountKey: '/c/pki/sa.key',
  serviceAccountPub: '/c/pki/sa.pub',
  client: (f) => ({ cert: `/c/pki/${f}.crt`, key: `/c/pki/${f}.key` }),
  identities: [],
};
const layout: ClusterLayout = {
  dir: '/c',
  pki,
  host: '127.0.0.1',
  serviceClusterIpRange,
  ports: { etcdClient: 2001, etcdPeer: 2002, apiserver: 2003, controllerManager: 2004, scheduler: 2005 },
};

const flag = (args: string[], name: string) =>
  args
    .find((a) => a.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=');

describe('control-plane command lines', () => {
  it('binds every listener to loopback', () => {
    const all = [etcdSpec, apiserverSpec, controllerManagerSpec, schedulerSpec].flatMap((s) => s(layout).args);
    const addresses = all
      .filter((a) => /^--(bind-address|advertise-address|listen-[a-z-]+urls)=/.test(a))
      .map((a) => a.split('=')[1]);
    expect(addresses.length).toBeGreaterThanOrEqual(5);
    for (const a of addresses) expect(a).toMatch(/^(http:\/\/)?127\.0\.0\.1(:\d+)?$/);
  });

  it('points the API server at its etcd and serves with the cluster CA', () => {
    const args = apiserverSpec(layout).args;
    expect(flag(args, 'etcd-servers')).toBe('http://127.0.0.1:2001');
    expect(flag(args, 'secure-port')).toBe('2003');
    expect(flag(args, 'client-ca-file')).toBe('/c/pki/ca.crt');
    expect(flag(args, 'authorization-mode')).toBe('Node,RBAC');
  });

  it('runs the controllers a LiveStream needs with their own identities', () => {
    const args = controllerManagerSpec(layout).args;
    expect(flag(args, 'controllers')).toBe('*');
    expect(flag(args, 'kubeconfig')).toBe('/c/kube-controller-manager.kubeconfig');
    expect(flag(args, 'use-service-account-credentials')).toBe('true');
    expect(flag(schedulerSpec(layout).args, 'kubeconfig')).toBe('/c/kube-scheduler.kubeconfig');
  });

  it('embeds credentials in kubeconfigs', () => {
    const config = kubeconfig({
      server: 'https://127.0.0.1:2003',
      caData: 'CA',
      certData: 'C',
      keyData: 'K',
      user: 'admin',
    });
    expect(config).toMatchObject({
      'current-context': 'local',
      clusters: [{ cluster: { server: 'https://127.0.0.1:2003', 'certificate-authority-data': 'Q0E=' } }],
      users: [{ name: 'admin', user: { 'client-certificate-data': 'Qw==', 'client-key-data': 'Sw==' } }],
    });
  });
});

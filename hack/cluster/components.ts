// Pure: the command lines of the control-plane components, from the ports and files of one cluster.
import { join } from 'node:path';
import type { Pki } from './pki.ts';

export interface ClusterPorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

export interface ClusterLayout {
  dir: string;
  pki: Pki;
  ports: ClusterPorts;
  /** Loopback address every component binds to. */
  host: string;
  serviceClusterIpRange: string;
}

export interface ComponentSpec {
  name: 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';
  args: string[];
}

export const serviceClusterIpRange = '10.96.0.0/16';
/** The first address of the service range: the in-cluster `kubernetes` Service. */
export const apiserverServiceIp = '10.96.0.1';

export function kubeconfigPath(dir: string, user: string): string {
  return join(dir, user === 'admin' ? 'kubeconfig' : `${user}.kubeconfig`);
}

export function etcdSpec(l: ClusterLayout): ComponentSpec {
  const client = `http://${l.host}:${l.ports.etcdClient}`;
  const peer = `http://${l.host}:${l.ports.etcdPeer}`;
  return {
    name: 'etcd',
    args: [
      '--name=default',
      `--data-dir=${join(l.dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      // A throwaway test cluster: durability across power loss is not worth the fsync latency.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
  };
}

export function apiserverSpec(l: ClusterLayout): ComponentSpec {
  const p = l.pki;
  const kubeletClient = p.client('apiserver-kubelet-client');
  return {
    name: 'kube-apiserver',
    args: [
      `--etcd-servers=http://${l.host}:${l.ports.etcdClient}`,
      `--bind-address=${l.host}`,
      `--advertise-address=${l.host}`,
      `--secure-port=${l.ports.apiserver}`,
      `--tls-cert-file=${p.serverCert}`,
      `--tls-private-key-file=${p.serverKey}`,
      `--client-ca-file=${p.caCert}`,
      `--kubelet-certificate-authority=${p.caCert}`,
      `--kubelet-client-certificate=${kubeletClient.cert}`,
      `--kubelet-client-key=${kubeletClient.key}`,
      // The node's name is not in any resolver the API server uses; its InternalIP is what kubelet serves on.
      '--kubelet-preferred-address-types=InternalIP,Hostname',
      `--service-account-key-file=${p.serviceAccountPub}`,
      `--service-account-signing-key-file=${p.serviceAccountKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-cluster-ip-range=${l.serviceClusterIpRange}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      '--profiling=false',
      // Write requests are audited so tests and benchmarks can count what the operator writes.
      `--audit-policy-file=${auditPolicyPath(l.dir)}`,
      `--audit-log-path=${auditLogPath(l.dir)}`,
      '--audit-log-format=json',
      '--v=0',
    ],
  };
}

export const auditLogPath = (dir: string) => join(dir, 'audit.log');
export const auditPolicyPath = (dir: string) => join(dir, 'audit-policy.json');

/** Metadata of every write, nothing else (reads would dwarf the log). */
export const auditPolicy = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  omitStages: ['RequestReceived'],
  rules: [{ level: 'Metadata', verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'] }, { level: 'None' }],
};

function componentCommon(l: ClusterLayout, user: string, port: number): string[] {
  const kubeconfig = kubeconfigPath(l.dir, user);
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    `--bind-address=${l.host}`,
    `--secure-port=${port}`,
    '--leader-elect=false',
    '--profiling=false',
  ];
}

export function controllerManagerSpec(l: ClusterLayout): ComponentSpec {
  return {
    name: 'kube-controller-manager',
    args: [
      ...componentCommon(l, 'kube-controller-manager', l.ports.controllerManager),
      `--service-account-private-key-file=${l.pki.serviceAccountKey}`,
      `--root-ca-file=${l.pki.caCert}`,
      `--cluster-signing-cert-file=${l.pki.caCert}`,
      `--cluster-signing-key-file=${l.pki.caKey}`,
      `--service-cluster-ip-range=${l.serviceClusterIpRange}`,
      // Every controller of a normal cluster (garbage collector, Deployment, ReplicaSet, Job, namespace, ...).
      '--controllers=*',
      // One identity per controller, as in production, so RBAC is exercised the same way.
      '--use-service-account-credentials=true',
    ],
  };
}

export function schedulerSpec(l: ClusterLayout): ComponentSpec {
  return { name: 'kube-scheduler', args: componentCommon(l, 'kube-scheduler', l.ports.scheduler) };
}

export interface KubeconfigInput {
  server: string;
  caData: string;
  certData: string;
  keyData: string;
  user: string;
}

/** A kubeconfig with embedded credentials, so it keeps working when copied elsewhere. */
export function kubeconfig(i: KubeconfigInput): object {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server: i.server, 'certificate-authority-data': b64(i.caData) } }],
    users: [{ name: i.user, user: { 'client-certificate-data': b64(i.certData), 'client-key-data': b64(i.keyData) } }],
    contexts: [{ name: 'local', context: { cluster: 'local', user: i.user, namespace: 'default' } }],
    'current-context': 'local',
  };
}

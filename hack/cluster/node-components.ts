// Pure: the configuration of the local cluster's one node (containerd, CNI, kubelet, kube-proxy, CoreDNS), from
// the node's directory and the control plane's files. The node process layout is in node.ts.
import { join } from 'node:path';

/**
 * Addresses of the node. The node IP is an extra /32 on the loopback link (this VM's kernel has no dummy links), so
 * it is the same on every machine, is not in 127/8 (kubelet refuses a loopback node IP, and pods could not reach
 * one), and is not exposed on the host's network. The API server binds it too, so pods reach the API through the
 * `kubernetes` Service.
 */
export const nodeNetwork = {
  name: 'lso-node',
  ip: '10.201.0.1',
  /** The pods' bridge (made by the CNI bridge plugin) and its subnet; the host is its gateway. */
  bridge: 'lso-br0',
  podSubnet: '10.244.0.0/24',
  clusterCidr: '10.244.0.0/16',
  /** The kube-dns Service address kubelet writes into every pod's resolv.conf. */
  dnsServiceIp: '10.96.0.10',
  clusterDomain: 'cluster.local',
} as const;

export interface NodeLayout {
  /** Everything the node writes lives here; `down` unmounts and removes it. */
  dir: string;
  caCert: string;
  /** `localhost/...` sandbox image, imported before kubelet starts pods. */
  sandboxImage: string;
  kubeletCert: string;
  kubeletKey: string;
  kubeletKubeconfig: string;
  kubeProxyKubeconfig: string;
  corednsKubeconfig: string;
}

export const nodePaths = (dir: string) => ({
  containerdConfig: join(dir, 'containerd.toml'),
  containerdSocket: join(dir, 'containerd.sock'),
  containerdRoot: join(dir, 'containerd', 'root'),
  containerdState: join(dir, 'containerd', 'state'),
  cniConfDir: join(dir, 'cni', 'net.d'),
  cniIpamDir: join(dir, 'cni', 'ipam'),
  kubeletConfig: join(dir, 'kubelet.yaml'),
  kubeletRoot: join(dir, 'kubelet'),
  kubeProxyConfig: join(dir, 'kube-proxy.yaml'),
  corefile: join(dir, 'Corefile'),
});

/** containerd 1.6 (Debian's) with its own root, state and socket, CNI plugins from Debian's /usr/lib/cni. */
export function containerdConfig(l: NodeLayout): string {
  const p = nodePaths(l.dir);
  return `version = 2
root = ${JSON.stringify(p.containerdRoot)}
state = ${JSON.stringify(p.containerdState)}

[grpc]
  address = ${JSON.stringify(p.containerdSocket)}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${JSON.stringify(l.sandboxImage)}
  # Pod network namespaces under our state dir, not /var/run/netns: the node's teardown finds every one.
  netns_mounts_under_state_dir = true
  # This VM does not let even root lower a process's oom_score_adj (runc's write of -998 for a sandbox is refused):
  # keep every container's score at or above containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${JSON.stringify(p.cniConfDir)}
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      # cgroup v1 without systemd: kubelet uses the cgroupfs driver, and the runtime must match it.
      SystemdCgroup = false
`;
}

/** One bridge for the node's pods. No IP masquerade or port maps: pods only talk to each other and to the node. */
export function cniConfig(l: NodeLayout): object {
  return {
    cniVersion: '1.0.0',
    name: 'lso-pods',
    plugins: [
      {
        type: 'bridge',
        bridge: nodeNetwork.bridge,
        isGateway: true,
        ipMasq: false,
        // A pod reaching itself through a Service comes back over the bridge port it left from.
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: nodePaths(l.dir).cniIpamDir,
          ranges: [[{ subnet: nodeNetwork.podSubnet }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
    ],
  };
}

export function kubeletConfig(l: NodeLayout): object {
  const p = nodePaths(l.dir);
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    // This VM runs cgroup v1 (maintenance mode since Kubernetes 1.31): kubelet refuses it unless told otherwise.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    containerRuntimeEndpoint: `unix://${p.containerdSocket}`,
    failSwapOn: false,
    address: nodeNetwork.ip,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: nodeNetwork.ip,
    healthzPort: 10248,
    // Serving certificate from the cluster CA, so the API server can verify kubelet for logs, exec, port-forward.
    tlsCertFile: l.kubeletCert,
    tlsPrivateKeyFile: l.kubeletKey,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: l.caCert } },
    authorization: { mode: 'Webhook' },
    clusterDomain: nodeNetwork.clusterDomain,
    clusterDNS: [nodeNetwork.dnsServiceIp],
    // A test node on a shared disk: never evict for disk pressure, never garbage-collect the imported images
    // (nothing could pull them back).
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '0%', 'imagefs.available': '0%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    // Pods of a deleted test namespace go fast; the node lease keeps the node Ready between status updates.
    nodeStatusUpdateFrequency: '5s',
    syncFrequency: '10s',
    shutdownGracePeriod: '0s',
    rotateCertificates: false,
    staticPodPath: '',
    podPidsLimit: 4096,
    logging: { verbosity: 0 },
    volumePluginDir: join(p.kubeletRoot, 'volume-plugins'),
  };
}

export function kubeletArgs(l: NodeLayout): string[] {
  const p = nodePaths(l.dir);
  return [
    `--config=${p.kubeletConfig}`,
    `--kubeconfig=${l.kubeletKubeconfig}`,
    `--root-dir=${p.kubeletRoot}`,
    `--hostname-override=${nodeNetwork.name}`,
    `--node-ip=${nodeNetwork.ip}`,
  ];
}

export function kubeProxyConfig(l: NodeLayout): object {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: l.kubeProxyKubeconfig },
    hostnameOverride: nodeNetwork.name,
    mode: 'iptables',
    clusterCIDR: nodeNetwork.clusterCidr,
    bindAddress: nodeNetwork.ip,
    healthzBindAddress: `${nodeNetwork.ip}:10256`,
    metricsBindAddress: `${nodeNetwork.ip}:10249`,
    // Leave the host's conntrack sysctls alone: the defaults of this VM are enough for a test node.
    conntrack: { maxPerCore: 0 },
  };
}

/** CoreDNS on the node IP, answering for cluster.local from the API (its own read-only identity). */
export function corefile(l: NodeLayout): string {
  return `.:53 {
    bind ${nodeNetwork.ip}
    errors
    health ${nodeNetwork.ip}:8080
    ready ${nodeNetwork.ip}:8181
    kubernetes ${nodeNetwork.clusterDomain} in-addr.arpa ip6.arpa {
        kubeconfig ${l.corednsKubeconfig} local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    forward . /etc/resolv.conf
    cache 5
    loop
    loadbalance
}
`;
}

/** A ClusterRoleBinding of one user (a certificate's common name) to a ClusterRole. */
function userBinding(name: string, clusterRole: string, user: string): object {
  const apiGroup = 'rbac.authorization.k8s.io';
  return {
    apiVersion: `${apiGroup}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup, kind: 'ClusterRole', name: clusterRole },
    subjects: [{ apiGroup, kind: 'User', name: user }],
  };
}

/**
 * API objects a node needs: the API server's access to kubelet (logs, exec, port-forward), and what makes CoreDNS
 * the cluster's DNS: read access for its identity, and the kube-dns Service whose endpoint is the node IP (CoreDNS
 * runs on the node, not as a pod), routed by kube-proxy like any other Service.
 */
export function nodeObjects(): object[] {
  const dnsPorts = [
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  ];
  return [
    userBinding('kube-apiserver-kubelet-api-admin', 'system:kubelet-api-admin', 'kube-apiserver-kubelet-client'),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:coredns' },
      rules: [
        { apiGroups: [''], resources: ['services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
    userBinding('system:coredns', 'system:coredns', 'system:coredns'),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: { clusterIP: nodeNetwork.dnsServiceIp, ports: dnsPorts.map((p) => ({ ...p, targetPort: 53 })) },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'kube-dns-node',
        namespace: 'kube-system',
        labels: {
          'kubernetes.io/service-name': 'kube-dns',
          'endpointslice.kubernetes.io/managed-by': 'livestream-operator-local-node',
        },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [nodeNetwork.ip], conditions: { ready: true }, nodeName: nodeNetwork.name }],
      ports: dnsPorts,
    },
  ];
}

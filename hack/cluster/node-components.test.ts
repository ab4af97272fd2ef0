import { describe, expect, it } from 'vitest';
import {
  cniConfig,
  containerdConfig,
  kubeletConfig,
  kubeProxyConfig,
  nodeNetwork,
  nodeObjects,
  nodePaths,
  type NodeLayout,
} from './node-components.ts';

const layout: NodeLayout = {
  dir: '/c/node',
  caCert: '/c/pki/ca.crt',
  sandboxImage: 'localhost/livestream-pause:3.10.2',
  kubeletCert: '/c/pki/kubelet-server.crt',
  kubeletKey: '/c/pki/kubelet-server.key',
  kubeletKubeconfig: '/c/kubelet.kubeconfig',
  kubeProxyKubeconfig: '/c/kube-proxy.kubeconfig',
  corednsKubeconfig: '/c/coredns.kubeconfig',
};

describe('node components', () => {
  it('keeps containerd inside the node dir, on cgroupfs, with the local sandbox image and a clamped OOM score', () => {
    const toml = containerdConfig(layout);
    expect(toml).toContain('root = "/c/node/containerd/root"');
    expect(toml).toContain('address = "/c/node/containerd.sock"');
    expect(toml).toContain('sandbox_image = "localhost/livestream-pause:3.10.2"');
    expect(toml).toContain('SystemdCgroup = false');
    expect(toml).toContain('restrict_oom_score_adj = true');
    expect(toml).toContain('netns_mounts_under_state_dir = true');
  });

  it('points kubelet at that containerd, on cgroup v1, serving on the node IP with the cluster CA', () => {
    const k = kubeletConfig(layout) as Record<string, unknown>;
    expect(k).toMatchObject({
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      containerRuntimeEndpoint: `unix://${nodePaths(layout.dir).containerdSocket}`,
      address: nodeNetwork.ip,
      tlsCertFile: layout.kubeletCert,
      clusterDNS: [nodeNetwork.dnsServiceIp],
      imageGCHighThresholdPercent: 100,
    });
  });

  it('gives pods a subnet inside the cluster CIDR kube-proxy masquerades around', () => {
    const bridge = (cniConfig(layout) as { plugins: { ipam: { ranges: { subnet: string }[][] } }[] }).plugins[0];
    expect(bridge?.ipam.ranges[0]?.[0]?.subnet).toBe(nodeNetwork.podSubnet);
    expect(nodeNetwork.podSubnet.startsWith(nodeNetwork.clusterCidr.split('.').slice(0, 2).join('.'))).toBe(true);
    expect(kubeProxyConfig(layout)).toMatchObject({ clusterCIDR: nodeNetwork.clusterCidr, mode: 'iptables' });
  });

  it('routes kube-dns (the address kubelet gives pods) to CoreDNS on the node IP', () => {
    const objects = nodeObjects() as { kind: string; spec?: { clusterIP?: string }; endpoints?: unknown[] }[];
    const service = objects.find((o) => o.kind === 'Service');
    const slice = objects.find((o) => o.kind === 'EndpointSlice') as
      { metadata: { labels: Record<string, string> }; endpoints: { addresses: string[] }[] } | undefined;
    expect(service?.spec?.clusterIP).toBe(nodeNetwork.dnsServiceIp);
    expect(slice?.metadata.labels['kubernetes.io/service-name']).toBe('kube-dns');
    expect(slice?.endpoints[0]?.addresses).toEqual([nodeNetwork.ip]);
  });
});

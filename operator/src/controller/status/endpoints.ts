// Where a channel is reached from outside the cluster, read from its observed Service (status.ingest.url and
// status.playback.url are built from it):
//   LoadBalancer with an ingress  the ingress IP (or hostname) with the Service ports
//   NodePort, or a LoadBalancer   the node address (LSO_NODE_ADDRESS; the chart defaults it to the operator pod's
//   still waiting for its ingress  status.hostIP, a node every node port answers on) with the assigned nodePorts
//   anything else                 none: the cluster DNS name with the Service ports (ClusterIP, or no node address)
import type { V1Service } from '@kubernetes/client-node';
import { portNames } from '../../../../contract/src/pod-contract.ts';

export interface ExternalEndpoint {
  /** A DNS name or an IP address; an IPv6 address in brackets, ready for a URL. */
  host: string;
  rtmpPort: number;
  httpPort: number;
}

export function externalEndpoint(
  service: V1Service | undefined,
  nodeAddress: string | undefined,
): ExternalEndpoint | undefined {
  const type = service?.spec?.type;
  const port = (name: string) => service?.spec?.ports?.find((p) => p.name === name);
  const ingress = service?.status?.loadBalancer?.ingress?.find((i) => i.ip || i.hostname);
  const ingressHost = ingress?.ip || ingress?.hostname;
  if (type === 'LoadBalancer' && ingressHost) {
    const rtmpPort = port(portNames.rtmp)?.port;
    const httpPort = port(portNames.http)?.port;
    if (rtmpPort && httpPort) return { host: urlHost(ingressHost), rtmpPort, httpPort };
  }
  if ((type === 'NodePort' || type === 'LoadBalancer') && nodeAddress) {
    // The API server assigns node ports when it stores the Service; until the cache has them there is none.
    const rtmpPort = port(portNames.rtmp)?.nodePort;
    const httpPort = port(portNames.http)?.nodePort;
    if (rtmpPort && httpPort) return { host: urlHost(nodeAddress), rtmpPort, httpPort };
  }
  return undefined;
}

const urlHost = (host: string): string => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

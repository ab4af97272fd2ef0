// "<name>": RTMP ingest (1935) and the HTTP origin (8080: HLS, player, metrics) of the transcoder pod.
import type { V1Service } from '@kubernetes/client-node';
import type { LiveStream } from '../../../../contract/src/api/index.ts';
import type { BuildContext } from './context.ts';
import { childMetadata, childNames, selectorLabels } from './metadata.ts';
import { portNames, ports } from '../../../../contract/src/pod-contract.ts';

export function buildService(ls: LiveStream, ctx: Pick<BuildContext, 'extraLabels'>): V1Service {
  const type = ls.spec.ingest?.serviceType ?? 'ClusterIP';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMetadata(ls, childNames(ls).service, ctx),
    spec: {
      type,
      selector: selectorLabels(ls),
      // Node ports are left to the API server: sending them would pin a port the user never chose.
      ports: [
        { name: portNames.rtmp, protocol: 'TCP', port: ports.rtmp, targetPort: portNames.rtmp },
        { name: portNames.http, protocol: 'TCP', port: ports.http, targetPort: portNames.http },
      ],
    },
  };
}

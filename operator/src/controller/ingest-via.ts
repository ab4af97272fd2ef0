// How a channel is reached (spec.ingest.via as it applies here): through the shared gateway, its own Service, or
// both. Absent, the installation decides: with a gateway a channel is reached through it, and also through its own
// Service when that Service has an outside address (NodePort, LoadBalancer: asked for explicitly); without one,
// through its Service. An explicit Gateway or Both without a gateway stays what it says (ChildrenReady tells why
// there is no gateway address).
import type { LiveStreamSpec } from '../../../contract/src/api/index.ts';

export type IngestVia = 'Gateway' | 'Service' | 'Both';

export function ingestVia(spec: Pick<LiveStreamSpec, 'ingest'>, gatewayInstalled: boolean): IngestVia {
  const asked = spec.ingest?.via;
  if (asked !== undefined) return asked;
  if (!gatewayInstalled) return 'Service';
  const ownAddress = (spec.ingest?.serviceType ?? 'ClusterIP') !== 'ClusterIP';
  return ownAddress ? 'Both' : 'Gateway';
}

export const throughGateway = (via: IngestVia): boolean => via !== 'Service';
export const throughService = (via: IngestVia): boolean => via !== 'Gateway';

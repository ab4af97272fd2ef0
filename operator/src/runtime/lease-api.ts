// The two Lease calls leader election makes, each abortable: client-node's HTTP client (undici) otherwise waits up to
// 300 s for a response, far longer than the Lease lasts. A narrow port so tests can hand the elector a Lease API that
// hangs.
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { isConflict, isNotFound, withSignal } from '../k8s/client.ts';

export interface LeaseApi {
  /** The Lease, or undefined when it does not exist. */
  read(signal: AbortSignal): Promise<V1Lease | undefined>;
  /** Creates (no resourceVersion) or replaces (guarded by resourceVersion); 'conflict' when another writer won. */
  write(body: V1Lease, signal: AbortSignal): Promise<V1Lease | 'conflict'>;
}

export function kubeLeaseApi(kc: KubeConfig, namespace: string, name: string): LeaseApi {
  const api = kc.makeApiClient(CoordinationV1Api);
  return {
    async read(signal) {
      try {
        return await api.readNamespacedLease({ name, namespace }, withSignal(signal));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async write(body, signal) {
      try {
        return body.metadata?.resourceVersion
          ? await api.replaceNamespacedLease({ name, namespace, body }, withSignal(signal))
          : await api.createNamespacedLease({ namespace, body }, withSignal(signal));
      } catch (err) {
        if (isConflict(err)) return 'conflict';
        throw err;
      }
    },
  };
}

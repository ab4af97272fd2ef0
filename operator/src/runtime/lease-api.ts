// The two Lease calls leader election makes, each abortable: client-node's HTTP client (undici) otherwise waits up to
// 300 s for a response, far longer than the Lease lasts. A narrow port so tests can hand the elector a Lease API that
// hangs.
import {
  CoordinationV1Api,
  Observable,
  type ConfigurationOptions,
  type KubeConfig,
  type RequestContext,
  type ResponseContext,
  type V1Lease,
} from '@kubernetes/client-node';
import { isConflict, isNotFound } from '../k8s/client.ts';

export interface LeaseApi {
  /** The Lease, or undefined when it does not exist. */
  read(signal: AbortSignal): Promise<V1Lease | undefined>;
  /** Creates (no resourceVersion) or replaces (guarded by resourceVersion); 'conflict' when another writer won. */
  write(body: V1Lease, signal: AbortSignal): Promise<V1Lease | 'conflict'>;
}

/** Per-call options that hand `signal` to the request, so aborting it cancels the HTTP exchange. */
function abortable(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (request: RequestContext) => {
          request.setSignal(signal);
          return new Observable(Promise.resolve(request));
        },
        post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

export function kubeLeaseApi(kc: KubeConfig, namespace: string, name: string): LeaseApi {
  const api = kc.makeApiClient(CoordinationV1Api);
  return {
    async read(signal) {
      try {
        return await api.readNamespacedLease({ name, namespace }, abortable(signal));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async write(body, signal) {
      try {
        return body.metadata?.resourceVersion
          ? await api.replaceNamespacedLease({ name, namespace, body }, abortable(signal))
          : await api.createNamespacedLease({ namespace, body }, abortable(signal));
      } catch (err) {
        if (isConflict(err)) return 'conflict';
        throw err;
      }
    },
  };
}

// The operator's only door to the API server: server-side apply of children and of LiveStream status under named
// field managers, and a few reads. Callers send only the fields they own.
import {
  ApiException,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  Observable,
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
  type KubernetesObject,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { PooledKubeConfig } from './pooled-kube-config.ts';

export const fieldManager = 'livestream-operator';
export const statusFieldManager = 'livestream-operator-status';

/**
 * Per-call options that hand `signal` to the request, so aborting it cancels the HTTP exchange: client-node's HTTP
 * client (undici) otherwise waits up to 300 s for a response.
 */
export function withSignal(signal: AbortSignal): ConfigurationOptions {
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

export function loadKubeConfig(): KubeConfig {
  // Pooled: client-node would open a connection and a TLS handshake per request (pooled-kube-config.ts).
  const kc = new PooledKubeConfig();
  // KUBECONFIG when set (tests, local runs), else the pod's service account.
  kc.loadFromDefault();
  // With neither, client-node falls back to http://localhost:8080 and every request fails forever: say so instead.
  const server = kc.getCurrentCluster()?.server;
  if (!server || (server === 'http://localhost:8080' && !process.env.KUBECONFIG)) {
    throw new Error('no Kubernetes configuration: set KUBECONFIG, or run in a pod with a service account token');
  }
  return kc;
}

export interface CustomResourceRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof ApiException && err.code === 409;
}

/** A short, secret-free description of an API error for logs and conditions. */
export function describeApiError(err: unknown): string {
  if (err instanceof ApiException) {
    try {
      const body = JSON.parse(String(err.body)) as { message?: string };
      return `${err.code}: ${body.message ?? 'no message'}`;
    } catch {
      return `HTTP ${err.code}`;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

export class KubeClient {
  readonly objects: KubernetesObjectApi;
  readonly custom: CustomObjectsApi;

  readonly kc: KubeConfig;

  constructor(kc: KubeConfig) {
    this.kc = kc;
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  /** Server-side apply with our field manager; `force` takes ownership of fields another manager changed (drift). */
  async apply<T extends KubernetesObject>(obj: T): Promise<T> {
    return this.objects.patch(obj, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
  }

  /** Plain create, for objects that must never be patched afterwards (Jobs). */
  async create<T extends KubernetesObject>(obj: T): Promise<T> {
    return this.objects.create(obj);
  }

  async delete(obj: KubernetesObject): Promise<void> {
    try {
      await this.objects.delete(obj);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Server-side apply of a custom resource's status subresource. */
  async applyStatus(ref: CustomResourceRef, kind: string, status: object): Promise<unknown> {
    const body = {
      apiVersion: `${ref.group}/${ref.version}`,
      kind,
      metadata: { name: ref.name, namespace: ref.namespace },
      status,
    };
    return this.custom.patchNamespacedCustomObjectStatus(
      { ...ref, body, fieldManager: statusFieldManager, force: true },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }

  /** True when the API server serves `group/version` `kind` (e.g. the Prometheus Operator's PodMonitor). */
  async servesKind(group: string, version: string, plural: string): Promise<boolean> {
    try {
      const list = (await this.custom.getAPIResources({ group, version })) as { resources?: { name: string }[] };
      return (list.resources ?? []).some((r) => r.name === plural);
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}

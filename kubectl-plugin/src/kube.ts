// The cluster as kubectl would reach it: the kubeconfig (--kubeconfig, else $KUBECONFIG, else ~/.kube/config), the
// context (--context, else the current one) and the namespace (-n, else the context's, else "default").
import {
  CoreV1Api,
  CustomObjectsApi,
  AppsV1Api,
  KubeConfig,
  ApiException,
  type Context,
} from '@kubernetes/client-node';
import { UsageError } from './args.ts';

export class CommandError extends Error {}

export interface Cluster {
  kc: KubeConfig;
  namespace: string;
  core: () => CoreV1Api;
  apps: () => AppsV1Api;
  custom: () => CustomObjectsApi;
}

export interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export function loadCluster(flags: ClusterFlags): Cluster {
  const kc = new KubeConfig();
  try {
    if (flags.kubeconfig !== undefined) kc.loadFromFile(flags.kubeconfig);
    else kc.loadFromDefault(); // $KUBECONFIG (a list, merged), else ~/.kube/config
  } catch (err) {
    throw new CommandError(`cannot read the kubeconfig: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (flags.context !== undefined) {
    if (kc.getContextObject(flags.context) === null) {
      throw new UsageError(`--context ${flags.context}: no such context in the kubeconfig`);
    }
    kc.setCurrentContext(flags.context);
  }
  const context: Context | null = kc.getContextObject(kc.getCurrentContext());
  const namespace = flags.namespace ?? (context?.namespace || 'default');
  return {
    kc,
    namespace,
    core: () => kc.makeApiClient(CoreV1Api),
    apps: () => kc.makeApiClient(AppsV1Api),
    custom: () => kc.makeApiClient(CustomObjectsApi),
  };
}

/** The API server's message for a failed call, in one line (never a request body: those may hold keys). */
export function apiErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    let message = '';
    try {
      message = (JSON.parse(String(err.body)) as { message?: string }).message ?? '';
    } catch {
      // not a Status object
    }
    return message || `HTTP ${err.code}`;
  }
  if (!(err instanceof Error)) return String(err);
  // fetch's own message is "fetch failed"; the reason (ECONNREFUSED, a certificate) is its cause.
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause ? `${err.message}: ${cause}` : err.message;
}

export const isNotFound = (err: unknown): boolean => err instanceof ApiException && err.code === 404;

/**
 * The bearer token the kubeconfig's user presents (token, token file, exec or auth provider), as client-node applies
 * it to a request; undefined when the user authenticates otherwise (a client certificate, basic auth).
 */
export async function kubeconfigBearerToken(kc: KubeConfig): Promise<string | undefined> {
  const opts: { headers?: Record<string, string> } = { headers: {} };
  await kc.applyToHTTPSOptions(opts);
  const header = opts.headers?.Authorization ?? opts.headers?.authorization;
  const m = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
  return m?.[1];
}

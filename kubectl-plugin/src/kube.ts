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
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { UsageError } from './args.ts';

export class CommandError extends Error {}

export interface Cluster {
  kc: KubeConfig;
  /** the kubeconfig files read, in order */
  files: string[];
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
  const files =
    flags.kubeconfig !== undefined
      ? [flags.kubeconfig]
      : process.env.KUBECONFIG
        ? process.env.KUBECONFIG.split(delimiter).filter((f) => f !== '')
        : [join(homedir(), '.kube', 'config')];
  return {
    kc,
    files,
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
export async function kubeconfigBearerToken(
  kc: KubeConfig,
  files: readonly string[] = [],
): Promise<string | undefined> {
  const opts: { headers?: Record<string, string> } = { headers: {} };
  await kc.applyToHTTPSOptions(opts);
  const header = opts.headers?.Authorization ?? opts.headers?.authorization;
  const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (m?.[1] !== undefined) return m[1];
  const user = kc.getCurrentUser()?.name;
  return user === undefined ? undefined : tokenFileToken(files, user);
}

/**
 * The user's `tokenFile` (kubectl's spelling of the field; client-node 2.0 reads only `token-file`): the first file
 * that names the user decides, as kubectl merges them. A path is relative to its kubeconfig.
 */
export function tokenFileToken(files: readonly string[], userName: string): string | undefined {
  for (const file of files) {
    let doc: { users?: { name?: string; user?: { tokenFile?: unknown } }[] } | undefined;
    try {
      doc = parse(readFileSync(file, 'utf8')) as typeof doc;
    } catch {
      continue; // client-node has read (or skipped) it already; nothing more to learn here
    }
    const entry = doc?.users?.find((u) => u.name === userName);
    if (entry === undefined) continue;
    const path = entry.user?.tokenFile;
    if (typeof path !== 'string' || path === '') return undefined;
    const token = readFileSync(resolve(dirname(file), path), 'utf8').trim();
    return token === '' ? undefined : token;
  }
  return undefined;
}

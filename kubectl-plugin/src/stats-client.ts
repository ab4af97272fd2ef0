// The operator's stats API (contract/src/stats-api.ts) from the plugin: where it is (--stats-url, else
// $KUBECTL_LIVESTREAM_STATS_URL), whose token goes with it (--token, else the kubeconfig user's bearer token), and
// the answers checked against the contract's schemas. The token goes in the Authorization header only.
import type { z } from 'zod';
import { statsErrorSchema, statsPortName } from '../../contract/src/stats-api.ts';
import { CommandError } from './kube.ts';

export const statsUrlEnv = 'KUBECTL_LIVESTREAM_STATS_URL';

export const exposeHint =
  `the stats API's address is not known: pass --stats-url URL or set ${statsUrlEnv}. The operator serves it on its ` +
  `Service's port "${statsPortName}" (the chart's <release fullname>-metrics); from outside the cluster, e.g. ` +
  `kubectl -n livestream-system port-forward svc/livestream-operator-metrics 8081:${statsPortName} & ` +
  `kubectl livestream stats NAME --stats-url http://127.0.0.1:8081`;

export const certOnlyHint =
  'the stats API needs a bearer token, and the kubeconfig user has none (a client certificate is not passed on): ' +
  'pass --token-file FILE (e.g. kubectl create token <serviceaccount> > FILE) or use a context whose user has a token';

/** The API's base URL; throws the hint when none is given. */
export function statsBaseUrl(flag: string | undefined, env: NodeJS.ProcessEnv): URL {
  const text = flag ?? (env[statsUrlEnv] || undefined);
  if (text === undefined) throw new CommandError(exposeHint);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CommandError(`--stats-url is not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CommandError('--stats-url must be http(s)');
  if (url.search !== '' || url.username !== '' || url.password !== '') {
    // A token or password in the URL would end up in shell history and proxies' logs.
    throw new CommandError('--stats-url must carry no query and no credentials (the token goes in a header)');
  }
  return url;
}

/** The request URL: base + API path + query (empty parameters dropped). */
export function requestUrl(base: URL, path: string, query: Record<string, string | undefined>): URL {
  const url = new URL(base.href.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

/** GETs one answer and validates it; an error answer becomes its message, naming the status. */
export async function getAnswer<T>(url: URL, token: string, schema: z.ZodType<T>): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    throw new CommandError(`the stats API at ${url.origin} cannot be reached${cause}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new CommandError(`the stats API answered ${res.status} with no JSON (is ${url.origin} the stats port?)`);
  }
  if (!res.ok) {
    const e = statsErrorSchema.safeParse(body);
    throw new CommandError(`the stats API answered ${res.status}: ${e.success ? e.data.message : text.slice(0, 200)}`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CommandError(
      `the stats API's answer is not the contract's shape (${issue?.path.join('.') || '(root)'}: ${issue?.message})`,
    );
  }
  return parsed.data;
}

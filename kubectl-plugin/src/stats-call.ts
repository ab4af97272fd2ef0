// What a stats and a sessions command share: the scope (NAME or --all), the range (--from, --to), the API's address
// and whose bearer token goes with it (--token, --token-file, else the kubeconfig user's).
import { readFileSync } from 'node:fs';
import type { StatsScope } from '../../contract/src/stats-api.ts';
import { UsageError, one, rfc3339, type Parsed } from './args.ts';
import type { Context } from './command.ts';
import { CommandError, kubeconfigBearerToken, type Cluster } from './kube.ts';
import { certOnlyHint, statsBaseUrl } from './stats-client.ts';

export async function statsToken(args: Parsed, cluster: () => Cluster): Promise<string> {
  const flag = one(args, 'token');
  if (flag !== undefined) return flag;
  const file = one(args, 'token-file');
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new CommandError(`--token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'cannot be read'}`);
    }
    if (text === '') throw new CommandError(`--token-file ${file} is empty`);
    return text;
  }
  let token: string | undefined;
  try {
    const { kc, files } = cluster();
    token = await kubeconfigBearerToken(kc, files);
  } catch (err) {
    throw new CommandError(
      `the kubeconfig user's token cannot be had: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (token === undefined) throw new CommandError(certOnlyHint);
  return token;
}

export interface StatsCall {
  scope: StatsScope;
  range: { from?: string; to?: string };
  base: URL;
  token: string;
}

/** Checks the arguments (before any request), then finds the address and the token. */
export async function statsCall(ctx: Context, command: string): Promise<StatsCall> {
  const { args } = ctx;
  const all = args.switches.has('all');
  if (all ? args.positionals.length !== 0 : args.positionals.length !== 1) {
    throw new UsageError(`${command} takes one LiveStream NAME, or --all (and no NAME)`);
  }
  const from = one(args, 'from');
  const to = one(args, 'to');
  const range = {
    ...(from !== undefined && { from: rfc3339(from, 'from') }),
    ...(to !== undefined && { to: rfc3339(to, 'to') }),
  };
  const base = statsBaseUrl(one(args, 'stats-url'), ctx.env);
  const token = await statsToken(args, ctx.cluster);
  const { namespace } = ctx.cluster();
  return { scope: all ? { namespace } : { namespace, name: args.positionals[0]! }, range, base, token };
}

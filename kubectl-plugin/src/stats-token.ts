// Whose bearer token goes to the stats API: --token, --token-file, else the kubeconfig user's.
import { readFileSync } from 'node:fs';
import { one, type Parsed } from './args.ts';
import { CommandError, kubeconfigBearerToken, type Cluster } from './kube.ts';
import { certOnlyHint } from './stats-client.ts';

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
    token = await kubeconfigBearerToken(cluster().kc);
  } catch (err) {
    throw new CommandError(
      `the kubeconfig user's token cannot be had: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (token === undefined) throw new CommandError(certOnlyHint);
  return token;
}

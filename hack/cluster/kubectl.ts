// kubectl and client configs for the tools around a cluster (tests, benches, the node bring-up, the demo).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';

const run = promisify(execFile);

export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** Runs kubectl against `kubeconfig`; resolves with stdout, rejects with stderr in the message. */
export async function kubectl(bin: string, kubeconfig: string, args: string[], input?: string): Promise<string> {
  const child = run(bin, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 << 20 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    return (await child).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`kubectl ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

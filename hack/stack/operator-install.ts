// The operator as users install it: `helm upgrade --install` of charts/livestream-operator, with the local images.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { toolBin } from '../cluster/tools.ts';
import { chartImageValues, type StackImages } from './manifests.ts';

const run = promisify(execFile);
export const chartDir = join(import.meta.dirname, '..', '..', 'charts', 'livestream-operator');

export interface InstallInput {
  kubeconfig: string;
  images: StackImages;
  namespace: string;
  release: string;
  /** Extra `--set` pairs. */
  values?: string[];
}

export async function helm(kubeconfig: string, args: string[]): Promise<string> {
  const bin = join(await toolBin('helm'), 'helm');
  try {
    const { stdout } = await run(bin, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`helm ${args[0] ?? ''}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/**
 * The gateway as the e2e and the demo run it on the one 2-core node: its two replicas ask for little CPU (the node's
 * requests are the transcoders'), and its Service is a NodePort so that the URLs status gives work from the host.
 */
export const lightGatewayValues = ['gateway.resources.requests.cpu=50m'];
export const nodeGatewayValues = [...lightGatewayValues, 'gateway.service.type=NodePort'];

/** Installs (or upgrades) the chart and waits until its Deployments are available. */
export async function installOperator(i: InstallInput): Promise<void> {
  const values = [...chartImageValues(i.images), ...(i.values ?? [])].flatMap((v) => ['--set', v]);
  await helm(i.kubeconfig, [
    'upgrade',
    '--install',
    i.release,
    chartDir,
    '--namespace',
    i.namespace,
    '--create-namespace',
    '--wait',
    '--timeout',
    '5m',
    ...values,
  ]);
}

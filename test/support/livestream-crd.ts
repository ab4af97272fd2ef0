// Installs the LiveStream CRD (crds/livestream.yaml, the single source) and waits until the API server serves it.
import { join } from 'node:path';
import { crdName } from '../../contract/src/api/index.ts';
import { waitFor } from './wait-for.ts';

export const liveStreamCrdFile = join(import.meta.dirname, '..', '..', 'crds', 'livestream.yaml');

/** `kubectl` runs one kubectl command against the cluster (e.g. TestCluster.kubectl). */
export async function applyLiveStreamCrd(kubectl: (args: string[]) => Promise<string>): Promise<void> {
  // --force-conflicts: test files apply it concurrently, and the chart's tests may own it for a moment.
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', liveStreamCrdFile]);
  // Not `kubectl wait`: on a fresh API server it fails at once while the CRD has no conditions yet.
  const established = ['get', `crd/${crdName}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}'];
  const isEstablished = async () => (await kubectl(established)).trim() === 'True';
  await waitFor(`${crdName} Established`, isEstablished, { timeoutMs: 30_000 });
}

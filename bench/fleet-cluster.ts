// The fleet benchmark's additions to a local control plane (local-cluster.ts): kwok with fake nodes, so the
// channels' Deployments become Running, Ready pods without a container, and the API server's own request counters.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { apiGet, type ClusterState } from '../hack/cluster/local-cluster.ts';
import { isOurs, startDaemon, stopDaemon, type DaemonRecord } from '../hack/cluster/processes.ts';
import { kwokTool } from '../hack/cluster/tools.ts';

const fakeNode = { annotation: 'kwok.x-k8s.io/node', value: 'fake' };

/** A fake node kwok manages (its node-initialize stage gives it the capacity and the Ready condition). */
export function fakeNodeManifest(i: number): object {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: `kwok-node-${i}`,
      annotations: { [fakeNode.annotation]: fakeNode.value, 'node.alpha.kubernetes.io/ttl': '0' },
      labels: { 'kubernetes.io/hostname': `kwok-node-${i}`, 'kubernetes.io/os': 'linux', type: 'kwok' },
    },
  };
}

/**
 * kwok managing only the nodes annotated as fake, with the module's fast stages (a pod is Running and Ready as soon
 * as it is scheduled). Its log is in `dir`; the caller stops it (stopDaemon).
 */
export async function startKwok(state: ClusterState, dir: string): Promise<DaemonRecord> {
  const kwok = await kwokTool();
  const config = join(dir, 'kwok-stages.yaml');
  const docs = await Promise.all(kwok.stages.map((f) => readFile(f, 'utf8')));
  await writeFile(config, docs.join('\n---\n'));
  const record = startDaemon(
    'kwok',
    kwok.binary,
    [
      `--kubeconfig=${state.kubeconfig}`,
      `--config=${config}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${fakeNode.annotation}=${fakeNode.value}`,
      '--cidr=10.240.0.0/16',
      '--node-ip=10.240.0.1',
      '--node-lease-duration-seconds=40',
    ],
    join(dir, 'kwok.log'),
  );
  await new Promise((r) => setTimeout(r, 500));
  if (!isOurs(record)) throw new Error(`kwok exited at start: ${(await readFile(record.log, 'utf8')).slice(-2000)}`);
  return record;
}

/**
 * Restarts the cluster's kube-controller-manager with a client rate limit of `qps` (burst twice that). Its default,
 * 20 requests/s, is what paces a fleet's convergence otherwise: every channel costs it a ReplicaSet, a pod and their
 * status updates. Large clusters raise it the same way. The state file is rewritten so that `down` stops the new one.
 */
export async function setControllerManagerQps(state: ClusterState, qps: number): Promise<void> {
  const i = state.daemons.findIndex((d) => d.name === 'kube-controller-manager');
  const old = state.daemons[i];
  if (!old) throw new Error('the cluster has no kube-controller-manager');
  await stopDaemon(old);
  const args = [
    ...old.args.filter((a) => !a.startsWith('--kube-api-')),
    `--kube-api-qps=${qps}`,
    `--kube-api-burst=${2 * qps}`,
  ];
  state.daemons[i] = startDaemon(old.name, old.binary, args, old.log);
  await writeFile(join(state.dir, 'state.json'), JSON.stringify(state, null, 2));
}

/** Pure: apiserver_request_total summed by verb, from the metrics text (every client, every resource). */
export function requestsByVerb(metricsText: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metricsText.matchAll(/^apiserver_request_total\{([^}]*)\} (\S+)$/gm)) {
    const verb = /(?:^|,)verb="([^"]*)"/.exec(m[1] ?? '')?.[1] ?? 'unknown';
    out[verb] = (out[verb] ?? 0) + Number(m[2]);
  }
  return out;
}

/** Pure: requests per second by verb between two counts taken `seconds` apart (verbs with none left out). */
export function ratesByVerb(
  before: Record<string, number>,
  after: Record<string, number>,
  seconds: number,
): Record<string, number> {
  const rates: Record<string, number> = {};
  for (const verb of Object.keys(after).sort()) {
    const rate = ((after[verb] ?? 0) - (before[verb] ?? 0)) / seconds;
    if (rate > 0) rates[verb] = Math.round(rate * 10) / 10;
  }
  return rates;
}

/** The API server's request counts by verb now (its /metrics, with the admin certificate). */
export async function apiRequestCounts(state: ClusterState): Promise<Record<string, number>> {
  const res = await apiGet(state.dir, state.server, '/metrics');
  if (res.status !== 200) throw new Error(`kube-apiserver /metrics: ${res.status}`);
  return requestsByVerb(res.body);
}

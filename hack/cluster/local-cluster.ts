// A local Kubernetes control plane from real components: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler; with `node: true` also a node that runs pods (node.ts). Without a node everything listens on
// loopback; with one, on the node IP, so pods reach the API. Certificates and kubeconfigs are made per cluster in `dir`.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../../test/support/wait-for.ts';
import { stringify } from 'yaml';
import {
  apiserverServiceIp,
  apiserverSpec,
  auditPolicy,
  auditPolicyPath,
  controllerManagerSpec,
  etcdSpec,
  kubeconfig,
  kubeconfigPath,
  schedulerSpec,
  serviceClusterIpRange,
  type ClusterLayout,
  type ClusterPorts,
  type ComponentSpec,
} from './components.ts';
import { nodeNetwork, type NodeLayout } from './node-components.ts';
import { ensureNodeNetwork, nodeBinaries, nodeImages, startNode, stopNode } from './node.ts';
import { kubectl as runKubectl } from './kubectl.ts';
import { createPki } from './pki.ts';
import { freePorts, isListening, isOurs, startDaemon, stopDaemon, type DaemonRecord } from './processes.ts';
import { controlPlaneBinaries, type ControlPlaneBinaries } from './tools.ts';

export const defaultClusterDir = join(import.meta.dirname, '..', '..', '.cluster');

export interface ClusterState {
  dir: string;
  host: string;
  ports: ClusterPorts;
  server: string;
  kubeconfig: string;
  kubectl: string;
  daemons: DaemonRecord[];
  /** Present when the cluster has a node. */
  node?: {
    dir: string;
    name: string;
    ip: string;
    kubeProxy: string;
    /** tags of the images imported */ images: string[];
  };
}

const stateFile = (dir: string) => join(dir, 'state.json');

export async function readState(dir = defaultClusterDir): Promise<ClusterState | undefined> {
  if (!existsSync(stateFile(dir))) return undefined;
  return JSON.parse(await readFile(stateFile(dir), 'utf8')) as ClusterState;
}

/** True when every daemon the state names is still running. */
export function isRunning(state: ClusterState): boolean {
  return state.daemons.length > 0 && state.daemons.every(isOurs);
}

function binaryFor(spec: ComponentSpec, bins: ControlPlaneBinaries): string {
  switch (spec.name) {
    case 'etcd':
      return bins.etcd;
    case 'kube-apiserver':
      return bins.kubeApiserver;
    case 'kube-controller-manager':
      return bins.kubeControllerManager;
    case 'kube-scheduler':
      return bins.kubeScheduler;
  }
}

async function writeKubeconfigs(layout: ClusterLayout, server: string): Promise<void> {
  const caData = await readFile(layout.pki.caCert, 'utf8');
  for (const id of layout.pki.identities) {
    const { cert, key } = layout.pki.client(id.file);
    const config = kubeconfig({
      server,
      caData,
      certData: await readFile(cert, 'utf8'),
      keyData: await readFile(key, 'utf8'),
      user: id.file,
    });
    await writeFile(kubeconfigPath(layout.dir, id.file), stringify(config), { mode: 0o600 });
  }
}

/** GET `path` on the API server with the admin certificate; resolves with the status code and body. */
export async function apiGet(dir: string, server: string, path: string): Promise<{ status: number; body: string }> {
  const pki = join(dir, 'pki');
  const [ca, cert, key] = await Promise.all(
    ['ca.crt', 'admin.crt', 'admin.key'].map((f) => readFile(join(pki, f), 'utf8')),
  );
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server), { ca, cert, key, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Fails the wait at once when one of the cluster's daemons has exited (its log says why). */
const daemonDied = (state: ClusterState, name?: string) => () => {
  const dead = state.daemons.find((d) => (name === undefined || d.name === name) && !isOurs(d));
  return dead ? `${dead.name} exited during start-up; see ${dead.log}` : undefined;
};

async function waitReady(state: ClusterState, timeoutMs: number): Promise<void> {
  await waitFor(
    'kube-apiserver /readyz',
    async () => {
      const res = await apiGet(state.dir, state.server, '/readyz');
      if (res.status === 200 && res.body.trim() === 'ok') return true;
      throw new Error(`${res.status} ${res.body.slice(0, 200)}`);
    },
    { timeoutMs, intervalMs: 250, abort: daemonDied(state) },
  );
}

/** Waits for a component's own /healthz (self-signed serving certificate, anonymous access allowed there). */
async function waitHealthy(state: ClusterState, name: string, port: number, timeoutMs: number): Promise<void> {
  const healthy = () =>
    new Promise<boolean>((resolve) => {
      const req = request(
        { host: state.host, port, path: '/healthz', rejectUnauthorized: false, timeout: 2_000 },
        (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
  await waitFor(`${name} /healthz`, healthy, { timeoutMs, intervalMs: 200, abort: daemonDied(state, name) });
}

export interface UpOptions {
  dir?: string;
  /** Also start a node (containerd, kubelet, kube-proxy, CoreDNS) with the project's images imported. */
  node?: boolean;
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** Starts a control plane in `dir` (fresh certificates and data) and resolves once /readyz answers ok. */
export async function up(options: UpOptions = {}): Promise<ClusterState> {
  const dir = options.dir ?? defaultClusterDir;
  const log = options.log ?? (() => {});
  const existing = await readState(dir);
  if (existing && isRunning(existing) && (existing.node !== undefined || !options.node)) {
    log(`cluster already running in ${dir}`);
    return existing;
  }
  if (existing) await down({ dir });
  const bins = await controlPlaneBinaries();
  // The slow parts of a node (tool builds, images) come before anything starts.
  const node = options.node ? { bins: await nodeBinaries(), images: await nodeImages(log) } : undefined;
  const started = Date.now();
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'logs'), { recursive: true });
  if (node) await ensureNodeNetwork();
  const host = node ? nodeNetwork.ip : '127.0.0.1';
  const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler] = await freePorts(host, 5);
  const ports = { etcdClient, etcdPeer, apiserver, controllerManager, scheduler } as ClusterPorts;
  const pki = await createPki(join(dir, 'pki'), {
    ...(node ? { node: { name: nodeNetwork.name, ip: nodeNetwork.ip } } : {}),
    ips: [host, apiserverServiceIp],
    dns: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
  });
  const layout: ClusterLayout = { dir, pki, ports, host, serviceClusterIpRange };
  const server = `https://${host}:${ports.apiserver}`;
  await writeKubeconfigs(layout, server);
  await writeFile(auditPolicyPath(dir), JSON.stringify(auditPolicy));

  const state: ClusterState = {
    dir,
    host,
    ports,
    server,
    kubeconfig: kubeconfigPath(dir, 'admin'),
    kubectl: bins.kubectl,
    daemons: [],
  };
  // etcd and the API server together (the API server retries etcd); the controllers once RBAC's bootstrap policy is
  // served, since the controller manager exits when it cannot read its authentication ConfigMap.
  const start = (spec: ComponentSpec) =>
    state.daemons.push(startDaemon(spec.name, binaryFor(spec, bins), spec.args, join(dir, 'logs', `${spec.name}.log`)));
  try {
    start(etcdSpec(layout));
    start(apiserverSpec(layout));
    await writeFile(stateFile(dir), JSON.stringify(state, null, 2));
    await waitReady(state, options.timeoutMs ?? 90_000);
    start(controllerManagerSpec(layout));
    start(schedulerSpec(layout));
    await writeFile(stateFile(dir), JSON.stringify(state, null, 2));
    await Promise.all([
      waitHealthy(state, 'kube-controller-manager', ports.controllerManager, 60_000),
      waitHealthy(state, 'kube-scheduler', ports.scheduler, 60_000),
    ]);
    log(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${server}`);
    if (node) {
      const nodeDir = join(dir, 'node');
      state.node = {
        dir: nodeDir,
        name: nodeNetwork.name,
        ip: nodeNetwork.ip,
        kubeProxy: node.bins.kubeProxy,
        images: node.images.map((i) => i.tag),
      };
      await writeFile(stateFile(dir), JSON.stringify(state, null, 2));
      const sandbox = node.images.find((i) => i.tag.includes('/livestream-pause:'));
      if (!sandbox) throw new Error('build-images.sh made no pause image for the pod sandboxes');
      const layout: NodeLayout = {
        dir: nodeDir,
        caCert: pki.caCert,
        sandboxImage: sandbox.tag,
        kubeletCert: join(pki.dir, 'kubelet-server.crt'),
        kubeletKey: join(pki.dir, 'kubelet-server.key'),
        kubeletKubeconfig: kubeconfigPath(dir, 'kubelet'),
        kubeProxyKubeconfig: kubeconfigPath(dir, 'kube-proxy'),
        corednsKubeconfig: kubeconfigPath(dir, 'coredns'),
      };
      const nodeStart = Date.now();
      const kubectl = (args: string[], input?: string) => runKubectl(state.kubectl, state.kubeconfig, args, input);
      state.daemons.push(
        ...(await startNode({
          layout,
          images: node.images,
          bins: node.bins,
          logsDir: join(dir, 'logs'),
          kubectl,
          log,
        })),
      );
      await writeFile(stateFile(dir), JSON.stringify(state, null, 2));
      log(`node ${nodeNetwork.name} Ready in ${((Date.now() - nodeStart) / 1000).toFixed(1)} s`);
    }
  } catch (err) {
    await down({ dir });
    throw err;
  }
  return state;
}

/** Stops the API server, waits `downMs`, starts it again with the same flags and waits for /readyz (chaos tests). */
export async function restartApiserver(dir: string, downMs: number): Promise<void> {
  const state = await readState(dir);
  const i = state?.daemons.findIndex((d) => d.name === 'kube-apiserver') ?? -1;
  const old = state?.daemons[i];
  if (!state || !old) throw new Error(`no running cluster in ${dir}`);
  await stopDaemon(old);
  await sleep(downMs);
  const apiserver = startDaemon(old.name, old.binary, old.args, old.log);
  state.daemons[i] = apiserver;
  await writeFile(stateFile(dir), JSON.stringify(state, null, 2));
  await waitReady({ ...state, daemons: [apiserver] }, 60_000);
  // The controller manager may exit while the API server is away; restart what died, as a kubelet would.
  state.daemons = state.daemons.map((d) => (isOurs(d) ? d : startDaemon(d.name, d.binary, d.args, d.log)));
  await writeFile(stateFile(dir), JSON.stringify(state, null, 2));
  await Promise.all([
    waitHealthy(state, 'kube-controller-manager', state.ports.controllerManager, 60_000),
    waitHealthy(state, 'kube-scheduler', state.ports.scheduler, 60_000),
  ]);
}

/** Stops every process the cluster in `dir` started and checks that its ports are free again. */
export async function down(options: { dir?: string } = {}): Promise<void> {
  const dir = options.dir ?? defaultClusterDir;
  const state = await readState(dir);
  if (!state) return;
  if (state.node) await stopNode({ dir: state.node.dir, daemons: state.daemons, kubeProxy: state.node.kubeProxy });
  for (const d of [...state.daemons].reverse()) await stopDaemon(d);
  const busy: number[] = [];
  for (const port of Object.values<number>({ ...state.ports })) {
    // A port can linger for a moment after its owner exits.
    let free = false;
    for (let i = 0; i < 50 && !free; i++) {
      free = !(await isListening(state.host, port));
      if (!free) await sleep(100);
    }
    if (!free) busy.push(port);
  }
  await rm(stateFile(dir), { force: true });
  if (busy.length > 0) throw new Error(`ports still in use after cluster-down: ${busy.join(', ')}`);
}

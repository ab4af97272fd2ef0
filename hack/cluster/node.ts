// The local cluster's one node: containerd (Debian's), kubelet and kube-proxy (built from the pinned Kubernetes
// module), CoreDNS (built from its module) and a CNI bridge, all as host processes recorded like the control plane's.
// Images come from hack/images/build-images.sh and are imported into containerd: nothing can be pulled here.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  cniConfig,
  containerdConfig,
  corefile,
  nodeObjects,
  kubeletArgs,
  kubeletConfig,
  kubeProxyConfig,
  nodeNetwork,
  nodePaths,
  type NodeLayout,
} from './node-components.ts';
import { isOurs, startDaemon, stopDaemon, type DaemonRecord } from './processes.ts';
import { waitFor } from '../../test/support/wait-for.ts';
import { toolBin } from './tools.ts';

const run = promisify(execFile);
const buildImagesScript = join(import.meta.dirname, '..', 'images', 'build-images.sh');

export interface NodeImage {
  tag: string;
  archive: string;
}

/** The node IP on the loopback link, forwarding on, and bridged pod traffic through iptables (for Services). */
export async function ensureNodeNetwork(): Promise<void> {
  const { ip } = nodeNetwork;
  const addrs = await run('ip', ['-o', '-4', 'addr', 'show', 'dev', 'lo']);
  if (!addrs.stdout.includes(` ${ip}/`)) await run('ip', ['addr', 'add', `${ip}/32`, 'dev', 'lo']);
  await writeFile('/proc/sys/net/ipv4/ip_forward', '1');
  // Without br_netfilter's hook, kube-proxy's DNAT misses traffic between pods on the same bridge.
  const bridgeHook = '/proc/sys/net/bridge/bridge-nf-call-iptables';
  if (!existsSync(bridgeHook)) throw new Error(`${bridgeHook} is missing: the br_netfilter module is not loaded`);
  await writeFile(bridgeHook, '1');
}

/** Builds (or finds cached) every image the node runs, including the sandbox (pause) image. */
export async function nodeImages(log: (line: string) => void): Promise<NodeImage[]> {
  log('building or loading the images (cached after the first build)');
  const { stdout } = await run('bash', [buildImagesScript], { maxBuffer: 1 << 20, timeout: 60 * 60_000 });
  return stdout
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .map(([tag, , , archive]) => ({ tag: tag ?? '', archive: archive ?? '' }));
}

export interface NodeBinaries {
  kubelet: string;
  kubeProxy: string;
  coredns: string;
}

export async function nodeBinaries(): Promise<NodeBinaries> {
  const kube = await toolBin('kubernetes');
  const coredns = await toolBin('coredns');
  return { kubelet: join(kube, 'kubelet'), kubeProxy: join(kube, 'kube-proxy'), coredns: join(coredns, 'coredns') };
}

async function writeNodeFiles(l: NodeLayout): Promise<void> {
  const p = nodePaths(l.dir);
  await mkdir(p.cniConfDir, { recursive: true });
  await mkdir(p.kubeletRoot, { recursive: true });
  await writeFile(p.containerdConfig, containerdConfig(l));
  await writeFile(join(p.cniConfDir, '10-lso-pods.conflist'), JSON.stringify(cniConfig(l), null, 2));
  // JSON is YAML: kubelet and kube-proxy read these files as YAML.
  await writeFile(p.kubeletConfig, JSON.stringify(kubeletConfig(l), null, 2));
  await writeFile(p.kubeProxyConfig, JSON.stringify(kubeProxyConfig(l), null, 2));
  await writeFile(p.corefile, corefile(l));
}

/** Waits for `check` (errors count as not yet), failing fast when the daemon it waits for has exited. */
function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, daemon?: DaemonRecord) {
  return waitFor(what, check, {
    timeoutMs,
    intervalMs: 250,
    abort: () => (daemon && !isOurs(daemon) ? `${daemon.name} exited during start-up; see ${daemon.log}` : undefined),
  });
}

export interface StartNodeInput {
  layout: NodeLayout;
  images: NodeImage[];
  bins: NodeBinaries;
  logsDir: string;
  /** Runs kubectl with the admin kubeconfig. */
  kubectl: (args: string[], input?: string) => Promise<string>;
  log: (line: string) => void;
}

/** Starts the node's daemons (returned in start order) and resolves once the Node is Ready and DNS answers. */
export async function startNode(input: StartNodeInput): Promise<DaemonRecord[]> {
  const { layout: l, bins, kubectl, log } = input;
  const p = nodePaths(l.dir);
  await writeNodeFiles(l);
  const daemons: DaemonRecord[] = [];
  const start = (name: string, binary: string, args: string[]) => {
    const d = startDaemon(name, binary, args, join(input.logsDir, `${name}.log`));
    daemons.push(d);
    return d;
  };
  try {
    const containerd = start('containerd', 'containerd', ['--config', p.containerdConfig]);
    const ctr = (args: string[]) =>
      run('ctr', ['--address', p.containerdSocket, '-n', 'k8s.io', ...args], { maxBuffer: 16 << 20 });
    await waitUntil('containerd', 30_000, async () => (await ctr(['version'])).stdout.includes('Server'), containerd);
    const importStart = Date.now();
    for (const image of input.images) await ctr(['image', 'import', image.archive]);
    log(
      `imported ${input.images.length} images into containerd in ${((Date.now() - importStart) / 1000).toFixed(1)} s`,
    );

    await kubectl(
      ['apply', '--server-side', '-f', '-'],
      JSON.stringify({ kind: 'List', apiVersion: 'v1', items: nodeObjects() }),
    );
    start('coredns', bins.coredns, ['-conf', p.corefile]);
    start('kube-proxy', bins.kubeProxy, [`--config=${p.kubeProxyConfig}`]);
    const kubelet = start('kubelet', bins.kubelet, kubeletArgs(l));
    await waitUntil(
      'the node',
      120_000,
      async () => {
        const out = await kubectl([
          'get',
          'node',
          nodeNetwork.name,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        return out.trim() === 'True';
      },
      kubelet,
    );
    await waitUntil('CoreDNS', 30_000, async () => {
      const res = await fetch(`http://${nodeNetwork.ip}:8181/ready`);
      return res.ok;
    });
    return daemons;
  } catch (err) {
    await stopNode({ dir: l.dir, daemons, kubeProxy: bins.kubeProxy });
    throw err;
  }
}

export interface StopNodeInput {
  dir: string;
  daemons: DaemonRecord[];
  kubeProxy: string;
}

/** Pids in every cgroup under kubepods (the cgroupfs driver puts each pod's processes there). */
async function podPids(): Promise<number[]> {
  const pids: number[] = [];
  const walk = async (dir: string): Promise<void> => {
    const procs = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    pids.push(...procs.split('\n').filter(Boolean).map(Number));
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name));
  };
  await walk('/sys/fs/cgroup/pids/kubepods');
  return pids;
}

/** Removes the kubepods cgroups, deepest first, in every cgroup v1 hierarchy. */
async function removePodCgroups(): Promise<void> {
  const remove = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await remove(join(dir, e.name));
    await rmdir(dir).catch(() => {});
  };
  const hierarchies = await readdir('/sys/fs/cgroup').catch(() => []);
  for (const h of hierarchies) await remove(join('/sys/fs/cgroup', h, 'kubepods'));
}

/** Mount points at or below `dir`, deepest first (kubelet's volumes, containerd's rootfs and netns mounts). */
async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const decode = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return info
    .split('\n')
    .map((line) => decode(line.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** kubelet's own iptables chains (canaries, and KUBE-FIREWALL, which drops outside traffic to 127/8). */
async function removeKubeletChains(): Promise<void> {
  for (const bin of ['iptables', 'ip6tables']) {
    const ipt = (args: string[]) => run(bin, ['-w', ...args]).catch(() => {});
    for (const chain of ['INPUT', 'OUTPUT']) await ipt(['-t', 'filter', '-D', chain, '-j', 'KUBE-FIREWALL']);
    for (const table of ['filter', 'nat', 'mangle']) {
      for (const chain of ['KUBE-FIREWALL', 'KUBE-KUBELET-CANARY', 'KUBE-IPTABLES-HINT']) {
        await ipt(['-t', table, '-F', chain]);
        await ipt(['-t', table, '-X', chain]);
      }
    }
  }
}

/**
 * Stops the node and leaves the host as it found it: kubelet first (so nothing restarts), then every pod process,
 * the containerd shims and containerd, every mount under the node dir, the pod cgroups, the bridge and the node IP,
 * and kube-proxy's iptables chains. Pods are not drained: the cluster is being thrown away.
 */
export async function stopNode(input: StopNodeInput): Promise<void> {
  const byName = (name: string) => input.daemons.find((d) => d.name === name);
  for (const name of ['kubelet', 'kube-proxy', 'coredns']) {
    const d = byName(name);
    if (d) await stopDaemon(d);
  }
  for (const pid of await podPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const socket = nodePaths(input.dir).containerdSocket;
  const shims = await run('pgrep', ['-f', `containerd-shim-runc-v2 .*-address ${socket}`]).catch(() => ({
    stdout: '',
  }));
  for (const pid of shims.stdout.split('\n').filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const containerd = byName('containerd');
  if (containerd) await stopDaemon(containerd);
  for (const m of await mountsUnder(input.dir)) await run('umount', ['-l', m]).catch(() => {});
  // Processes can take a moment to leave their cgroups after SIGKILL.
  for (let i = 0; i < 20 && (await podPids()).length > 0; i++) await sleep(100);
  await removePodCgroups();
  await run('ip', ['link', 'del', nodeNetwork.bridge]).catch(() => {});
  await run('ip', ['addr', 'del', `${nodeNetwork.ip}/32`, 'dev', 'lo']).catch(() => {});
  await run(input.kubeProxy, ['--cleanup']).catch(() => {});
  await removeKubeletChains();
  // Images and snapshots are gigabytes; logs and configs stay for a post-mortem.
  await rm(join(input.dir, 'containerd'), { recursive: true, force: true });
  await rm(join(input.dir, 'kubelet'), { recursive: true, force: true });
}

// `make demo`: from a fresh machine to a live channel. Builds what is missing (tools, images), starts the local
// cluster with its node (or uses the cluster KUBECONFIG names), installs the chart, applies examples/basic.yaml,
// publishes a test pattern with ffmpeg through the LiveStream's Service and prints the player URL and
// `kubectl get livestreams`. The publisher keeps running in the background; `make demo-stop` ends it.
import { spawn } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { publisherArgs } from '../test/support/rtmp-publisher.ts';
import { waitFor } from '../test/support/wait-for.ts';
import { kubectl as runKubectl } from './cluster/kubectl.ts';
import { defaultClusterDir, up } from './cluster/local-cluster.ts';
import { nodeImages } from './cluster/node.ts';
import { stackImages } from './stack/manifests.ts';
import { lightGatewayValues, installOperator, nodeGatewayValues } from './stack/operator-install.ts';

const repo = join(import.meta.dirname, '..');
const demoDir = join(defaultClusterDir, 'demo');
const started = Date.now();
const step = (line: string) =>
  process.stderr.write(`demo [${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

async function main(): Promise<void> {
  const external = process.env.KUBECONFIG;
  let kubeconfig: string;
  let kubectlBin: string;
  let tags: string[];
  if (external) {
    step(`using the cluster of KUBECONFIG=${external}; its nodes must have the images (they are built here)`);
    kubeconfig = external;
    kubectlBin = process.env.KUBECTL ?? 'kubectl';
    tags = (await nodeImages(step)).map((i) => i.tag);
  } else {
    step('starting the local cluster and its node (the first run builds the tools and images: about 25 min)');
    const state = await up({ node: true, log: step });
    kubeconfig = state.kubeconfig;
    kubectlBin = state.kubectl;
    tags = state.node?.images ?? [];
  }
  const kubectl = (args: string[]) => runKubectl(kubectlBin, kubeconfig, args);

  const images = stackImages(tags);
  step('helm upgrade --install lso charts/livestream-operator --namespace livestream-system');
  // On the local node the gateway's Service is a NodePort, so the URLs status gives work from this host.
  const values = external ? lightGatewayValues : nodeGatewayValues;
  await installOperator({ kubeconfig, images, namespace: 'livestream-system', release: 'lso', values });

  const example = join(repo, 'examples', 'basic.yaml');
  const { metadata } = parse(await readFile(example, 'utf8')) as { metadata: { name: string; namespace: string } };
  const ns = ['-n', metadata.namespace];
  step(`kubectl apply -f examples/basic.yaml`);
  await kubectl(['apply', '-f', example]);
  const state = async () =>
    (await kubectl(['get', 'livestream', metadata.name, ...ns, '-o', 'jsonpath={.status.state}'])).trim();
  await waitFor('the LiveStream to be Idle (its transcoder pod running)', async () => (await state()) === 'Idle', {
    timeoutMs: 300_000,
    intervalMs: 1_000,
  });

  // Encoders publish through the gateway, at the address status gives (the node port on the local node); the
  // channel's own Service serves its player page (reachable from the host through kube-proxy). On another cluster,
  // both through port-forwards kept running beside the publisher.
  const status = async (path: string) =>
    (await kubectl(['get', 'livestream', metadata.name, ...ns, '-o', `jsonpath={.status.${path}}`])).trim();
  let ingest = await status('ingest.url');
  let playlist = await status('playback.url');
  let player = `http://${(await kubectl(['get', 'svc', metadata.name, ...ns, '-o', 'jsonpath={.spec.clusterIP}'])).trim()}:8080/`;
  await mkdir(demoDir, { recursive: true });
  const pids: number[] = [];
  const background = (name: string, command: string, args: string[]) => {
    const out = openSync(join(demoDir, `${name}.log`), 'w');
    const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out] });
    child.unref();
    if (child.pid !== undefined) pids.push(child.pid);
  };
  if (external) {
    step('kubectl port-forward of the gateway to 127.0.0.1:1935 and :8081, of the channel to :8080');
    const forward = (name: string, namespace: string, service: string, ports: string[]) =>
      background(name, kubectlBin, ['--kubeconfig', kubeconfig, 'port-forward', '-n', namespace, service, ...ports]);
    forward('port-forward-gateway', 'livestream-system', 'svc/lso-livestream-operator-gateway', [
      '1935:1935',
      '8081:80',
    ]);
    forward('port-forward', metadata.namespace, `svc/${metadata.name}`, ['8080:8080']);
    ingest = `rtmp://127.0.0.1:1935/${new URL(ingest).pathname.slice(1)}`;
    playlist = `http://127.0.0.1:8081${new URL(playlist).pathname}`;
    player = 'http://127.0.0.1:8080/';
    await new Promise((r) => setTimeout(r, 3_000));
  }
  const secret = (
    await kubectl(['get', 'livestream', metadata.name, ...ns, '-o', 'jsonpath={.status.ingest.streamKeySecret}'])
  ).trim();
  const key = Buffer.from(
    (await kubectl(['get', 'secret', secret, ...ns, '-o', 'jsonpath={.data.streamKey}'])).trim(),
    'base64',
  ).toString();
  // 720p: the default ladder passes it through as the top rung and encodes 480p and 360p.
  step(`publishing a test pattern (ffmpeg testsrc2 + sine, 1280x720) to ${ingest}/<stream key>`);
  // The key stays out of ffmpeg's arguments (`ps` shows those): ffmpeg reads it from a preset file only root reads.
  const preset = join(demoDir, 'publish.ffpreset');
  writeFileSync(preset, `rtmp_app=${new URL(ingest).pathname.slice(1)}\nrtmp_playpath=${key}\n`, { mode: 0o600 });
  const args = publisherArgs({
    url: ingest,
    size: '1280x720',
    videoKbps: 2500,
    preset: 'ultrafast',
  });
  args.splice(args.length - 1, 0, '-fpre', preset);
  background('publisher', 'ffmpeg', args);
  writeFileSync(join(demoDir, 'pids'), pids.join('\n'));
  await waitFor('the LiveStream to be Live', async () => (await state()) === 'Live', {
    timeoutMs: 60_000,
    intervalMs: 1_000,
  });

  process.stdout.write(`\n${await kubectl(['get', 'livestreams', '-A'])}\n`);
  process.stdout.write(`Server:   ${ingest}   (what OBS takes as the server; the stream key is in Secret ${secret})\n`);
  process.stdout.write(`Playlist: ${playlist}   (through the gateway)\n`);
  process.stdout.write(`Player:   ${player}   (the channel's own page)\n`);
  process.stdout.write(`kubectl:  ${kubectlBin} --kubeconfig ${kubeconfig} get livestreams -A\n`);
  process.stdout.write(`Stop the publisher with 'make demo-stop'; the cluster with 'make cluster-down'.\n`);
  step('ready');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    step(`failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);

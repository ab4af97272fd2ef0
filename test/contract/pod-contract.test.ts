// Both halves of the pod contract at once: the operator builds the transcoder Deployment and a finalize Job, and the
// media containers' own settings resolution (transcoder/src/config/settings.ts, the recorder's, the config loader)
// runs on each container's env and mounts. Every file a container reads must be on a volume that holds it, every
// directory it writes to on a writable volume, every port it listens on declared under the name the probes, the
// Service and the PodMonitor use.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { V1Container, V1PodSpec, V1Volume } from '@kubernetes/client-node';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as contract from '../../contract/src/pod-contract.ts';
import { s3Settings } from '../../contract/src/recording-layout.ts';
import {
  buildConfigMap,
  buildDeployment,
  buildFinalizeJob,
  buildPodMonitor,
  buildRelayKeysSecret,
  buildService,
  childNames,
  ingestKeysSecretName,
  type BuildContext,
} from '../../operator/src/controller/desired/index.ts';
import { buildReportTokenSecret } from '../../operator/src/controller/desired/report-token-secret.ts';
import { reportLogPorts } from '../../contract/src/report-log.ts';
import { parseAndResolve } from '../../transcoder/src/config/load-livestream.ts';
import {
  finalizeSettings,
  programUrl,
  relaySettings,
  reportLogSettings,
  transcoderSettings,
} from '../../transcoder/src/config/settings.ts';
import { classifyPath } from '../../transcoder/src/hls/routes.ts';
import { recordingSettings } from '../../transcoder/src/recording/recording-service.ts';
import { fullExample, minimalExample, storedLiveStream } from '../support/livestream-examples.ts';

const repo = path.join(import.meta.dirname, '..', '..');
const redis = { secretName: 'redis', key: 'url' };
const ctx: BuildContext = { image: 'localhost/livestream-transcoder:test', redis };
const examples = [
  ['minimal', storedLiveStream(minimalExample)],
  ['full', storedLiveStream(fullExample)],
] as const;

/** The container's environment as the kubelet gives it: Secret and field references stand in as placeholders. */
function envOf(container: V1Container): Record<string, string> {
  return Object.fromEntries(
    (container.env ?? []).map((e) => [
      e.name,
      e.value ?? (e.valueFrom?.secretKeyRef ? `<secret ${e.valueFrom.secretKeyRef.name}>` : '<field>'),
    ]),
  );
}

/** The volume a path of the container lies on (the deepest mount that contains it), or undefined. */
function volumeAt(pod: V1PodSpec, container: V1Container, file: string) {
  const mount = (container.volumeMounts ?? [])
    .filter((m) => file === m.mountPath || file.startsWith(`${m.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const volume = pod.volumes?.find((v) => v.name === mount?.name);
  return mount && volume ? { mount, volume, relative: path.relative(mount.mountPath, file) } : undefined;
}

/** A directory the process creates files in: on an emptyDir mounted read-write (the root filesystem is read-only). */
function expectWritable(pod: V1PodSpec, container: V1Container, dir: string): void {
  const at = volumeAt(pod, container, dir);
  expect(at?.volume.emptyDir, `${container.name} writes ${dir}`).toBeDefined();
  expect(at?.mount.readOnly ?? false).toBe(false);
}

/** A file from a Secret volume: the Secret's items map a key to it, or the whole Secret is mounted. */
function expectSecretFile(volume: V1Volume | undefined, relative: string): void {
  expect(volume?.secret).toBeDefined();
  const items = volume?.secret?.items;
  if (items !== undefined) expect(items.map((i) => i.path)).toContain(relative);
}

function containerOf(pod: V1PodSpec, name: string): V1Container {
  const container = pod.containers.find((c) => c.name === name);
  if (!container) throw new Error(`no ${name} container`);
  return container;
}

const portNamed = (container: V1Container, name: string) => container.ports?.find((p) => p.name === name);

describe.each(examples)('the pod contract, on the %s example', (_, ls) => {
  const pod = buildDeployment(ls, ctx).spec?.template.spec as V1PodSpec;
  const transcoder = containerOf(pod, contract.containerNames.transcoder);
  const relay = containerOf(pod, contract.containerNames.relay);
  const configMap = buildConfigMap(ls, ctx);

  /** The LiveStream file a container reads, resolved by the transcoder's own loader from the ConfigMap's content. */
  function loadConfig(container: V1Container, configPath: string) {
    const at = volumeAt(pod, container, configPath);
    expect(at?.volume.configMap?.name).toBe(childNames(ls).configMap);
    const text = configMap.data?.[at?.relative ?? ''];
    expect(text, `${configPath} is a key of the ConfigMap`).toBeDefined();
    return parseAndResolve(text ?? '', configPath);
  }

  it('runs entry points that exist in the image', () => {
    for (const c of [transcoder, relay]) {
      expect(c.workingDir).toBe(contract.workingDir);
      expect(existsSync(path.join(repo, c.command?.[1] ?? 'missing'))).toBe(true);
    }
  });

  it('gives the transcoder the config, stream key, ports and directories it resolves', () => {
    const env = envOf(transcoder);
    const settings = transcoderSettings({}, env);
    if (settings.standalone) throw new Error('the pod runs the transcoder in pod mode');
    const { config } = loadConfig(transcoder, settings.configPath);
    expect(config).toMatchObject({ name: ls.metadata.name, namespace: ls.metadata.namespace });

    const key = volumeAt(pod, transcoder, settings.streamKeyPath);
    // The operator's key set (digests only), never the user's Secret itself.
    expect(key?.volume.secret?.secretName).toBe(ingestKeysSecretName(ls));
    expect(path.basename(settings.streamKeyPath)).toBe(contract.ingestKeysFileName);
    expectSecretFile(key?.volume, key?.relative ?? '');

    expectWritable(pod, transcoder, settings.hlsDir);
    expectWritable(pod, transcoder, env.HOME ?? 'HOME unset');
    expect(settings.redisUrl).toBe(`<secret ${redis.secretName}>`);
    expect(portNamed(transcoder, contract.portNames.rtmp)?.containerPort).toBe(settings.rtmpPort);
    expect(portNamed(transcoder, contract.portNames.http)?.containerPort).toBe(settings.httpPort);
  });

  it('probes paths the origin serves as health checks, on the port it listens on', () => {
    for (const probe of [transcoder.startupProbe, transcoder.livenessProbe, transcoder.readinessProbe]) {
      expect(portNamed(transcoder, String(probe?.httpGet?.port))?.containerPort).toBe(contract.ports.http);
      expect(classifyPath(probe?.httpGet?.path ?? '', '').route).toBe('health');
    }
    expect(classifyPath(contract.metricsPath, '').route).toBe('metrics');
  });

  it('gives the recorder its spool and, when recording, the S3 credential files', () => {
    const env = envOf(transcoder);
    const settings = transcoderSettings({}, env);
    if (settings.standalone) throw new Error('the pod runs the transcoder in pod mode');
    const recording = recordingSettings(env, settings.hlsDir);
    expectWritable(pod, transcoder, recording.spoolDir);
    // The spool hard-links the live segments: it must share their file system.
    expect(volumeAt(pod, transcoder, recording.spoolDir)?.volume).toBe(
      volumeAt(pod, transcoder, settings.hlsDir)?.volume,
    );
    const credentials = volumeAt(pod, transcoder, path.join(recording.credentialsDir, 'x'));
    if (ls.spec.recording?.enabled) {
      expect(credentials?.volume.secret?.secretName).toBe(ls.spec.recording.s3?.credentialsSecretRef?.name);
      for (const file of Object.values(contract.s3CredentialFileNames)) expectSecretFile(credentials?.volume, file);
    } else {
      expect(credentials).toBeUndefined();
    }
  });

  it('gives the relay the config, every relay key, the program and its metrics port', () => {
    const env = envOf(relay);
    const settings = relaySettings({}, env);
    const { config } = loadConfig(relay, settings.configPath);
    const transcoderRtmp = transcoderSettings({}, envOf(transcoder)).rtmpPort;
    // The relay plays the transcoder's ingest over the pod's loopback.
    expect(programUrl(settings.rtmpPort, config.app)).toBe(
      `rtmp://127.0.0.1:${transcoderRtmp}/${config.app}/${contract.internalStreamName}`,
    );
    const keys = volumeAt(pod, relay, path.join(settings.keysDir, 'any-relay'));
    expect(keys?.volume.secret?.secretName).toBe(childNames(ls).relayKeysSecret);
    const names = (ls.spec.relays ?? []).map((r) => r.name);
    const secret = buildRelayKeysSecret(ls, { ...ctx, keys: Object.fromEntries(names.map((n) => [n, 'k'])) });
    // Mounted whole: one file per data key, <keysDir>/<relay-name>, as the relay looks it up.
    expect(keys?.volume.secret?.items).toBeUndefined();
    expect(Object.keys(secret.data ?? {}).sort()).toEqual([...names].sort());
    expectWritable(pod, relay, settings.runDir);
    expectWritable(pod, relay, env.HOME ?? 'HOME unset');
    expect(portNamed(relay, contract.portNames.relayMetrics)?.containerPort).toBe(settings.metricsPort);
    expect(settings.redisUrl).toBe(`<secret ${redis.secretName}>`);
  });

  it('routes the Service and the PodMonitor to ports the containers declare', () => {
    const declared = pod.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name));
    for (const port of buildService(ls, ctx).spec?.ports ?? []) expect(declared).toContain(port.targetPort);
    for (const endpoint of buildPodMonitor(ls, ctx).spec.podMetricsEndpoints) {
      expect(declared).toContain(endpoint.port);
      expect(endpoint.path).toBe(contract.metricsPath);
    }
  });
});

describe.each(examples)('the pod contract without Redis, on the %s example', (_, ls) => {
  const { redis: _redis, ...withoutRedis } = ctx;
  const pod = buildDeployment(ls, withoutRedis).spec?.template.spec as V1PodSpec;
  const transcoder = containerOf(pod, contract.containerNames.transcoder);
  const relay = containerOf(pod, contract.containerNames.relay);
  const secret = buildReportTokenSecret(ls, { ...withoutRedis, token: 'T'.repeat(43) });

  it("gives both containers the channel's report token from the Secret the operator makes, never a literal", () => {
    for (const c of [transcoder, relay]) {
      const ref = c.env?.find((e) => e.name === contract.env.reportToken);
      expect(ref?.value).toBeUndefined();
      const secretRef = ref?.valueFrom?.secretKeyRef;
      expect(secretRef?.name).toBe(secret.metadata?.name);
      expect(Object.keys(secret.data ?? {})).toContain(secretRef?.key);
      // Required: the operator makes the Secret before the Deployment; a pod without it would refuse every poll.
      expect(secretRef?.optional).toBeUndefined();
    }
    const placeholder = `<secret ${secret.metadata?.name}>`;
    const settings = transcoderSettings({}, envOf(transcoder));
    expect(settings).toMatchObject({ reportToken: placeholder });
    expect(settings.redisUrl).toBeUndefined();
    expect(reportLogSettings(envOf(transcoder)).token).toBe(placeholder);
    expect(relaySettings({}, envOf(relay))).toMatchObject({ reportToken: placeholder });
    expect(relaySettings({}, envOf(relay)).redisUrl).toBeUndefined();
  });

  it('declares the ports the containers serve their report logs on, where the poller asks, and no Service has them', () => {
    const transcoderPort = reportLogSettings(envOf(transcoder)).port;
    expect(portNamed(transcoder, contract.portNames.reports)?.containerPort).toBe(transcoderPort);
    const relayPort = relaySettings({}, envOf(relay)).metricsPort;
    expect(portNamed(relay, contract.portNames.relayMetrics)?.containerPort).toBe(relayPort);
    expect(reportLogPorts).toEqual({ transcoder: transcoderPort, relay: relayPort });
    const servicePorts = (buildService(ls, withoutRedis).spec?.ports ?? []).map((p) => p.targetPort);
    expect(servicePorts).not.toContain(contract.portNames.reports);
  });

  it('with Redis gives no report token (no log is served)', () => {
    const withRedis = buildDeployment(ls, ctx).spec?.template.spec as V1PodSpec;
    for (const c of withRedis.containers) {
      expect(c.env?.map((e) => e.name)).not.toContain(contract.env.reportToken);
    }
    expect(transcoderSettings({}, envOf(containerOf(withRedis, 'transcoder'))).reportToken).toBeUndefined();
  });
});

describe('the finalize Job and finalize-main', () => {
  const ls = storedLiveStream(fullExample);
  const job = buildFinalizeJob(ls, 'session-1', ctx);
  const pod = job.spec?.template.spec as V1PodSpec;
  const container = containerOf(pod, contract.containerNames.finalize);

  it('resolves the session and the spec destination from the env the operator sets', () => {
    const settings = finalizeSettings({}, envOf(container));
    expect(settings).toMatchObject({ namespace: ls.metadata.namespace, name: ls.metadata.name, session: 'session-1' });
    expect(settings.s3).toEqual(
      s3Settings(fullExample.storedSpec.recording?.s3 ?? { bucket: '?', region: '?', forcePathStyle: false }),
    );
    for (const file of Object.values(contract.s3CredentialFileNames)) {
      const at = volumeAt(pod, container, path.join(settings.credentialsDir, file));
      expect(at?.volume.secret?.secretName).toBe(fullExample.storedSpec.recording?.s3?.credentialsSecretRef?.name);
      expectSecretFile(at?.volume, file);
    }
    expectWritable(pod, container, envOf(container).HOME ?? 'HOME unset');
    expect(existsSync(path.join(repo, container.command?.[1] ?? 'missing'))).toBe(true);
  });
});

/** Every module a file loads, following its static imports (relative files and package names). */
function importGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    if (!file.startsWith('/')) return; // a package
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8')).importedFiles) {
      visit(fileName.startsWith('.') ? path.resolve(path.dirname(file), fileName) : fileName);
    }
  };
  visit(path.join(repo, entry));
  return seen;
}

describe('the relay container', () => {
  it('loads no node-media-server: it only plays the pod ingest, under the internal stream name of the contract', () => {
    // nms.ts is the one module that requires node-media-server (through createRequire, not an import).
    const loadsNms = (entry: string) =>
      [...importGraph(entry)].some((m) => m.endsWith('/transcoder/src/ingest/nms.ts'));
    expect(loadsNms(contract.relayCommand[1] ?? '')).toBe(false);
    expect(loadsNms(contract.transcoderCommand[1] ?? '')).toBe(true); // the check sees it where it is loaded
  });
});

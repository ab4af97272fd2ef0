// "<name>-transcoder": one transcoder pod (RTMP ingest, ffmpeg ladder, HTTP origin) with the relay sidecar.
//
// What can change during a broadcast (relays' URLs and enabled flags, recording on/off) reaches the pod through the
// hot-reloaded ConfigMap and must not touch this template; image and resources roll the pod, and a hash of them is
// recorded in a template annotation. Secret volumes are optional where a missing Secret should disable one feature
// (a relay, the recording) rather than keep the whole channel from starting.
import { createHash } from 'node:crypto';
import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1Probe,
  V1ResourceRequirements,
  V1PodSecurityContext,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { group, type LiveStream, type ResourceRequirements } from '../../../../contract/src/api/index.ts';

type S3CredentialsRef = NonNullable<
  NonNullable<NonNullable<LiveStream['spec']['recording']>['s3']>['credentialsSecretRef']
>;
import { defaultRelayResources, defaultTranscoderResources, type BuildContext } from './context.ts';
import { ingestKeysSecretName } from './ingest-keys-secret.ts';
import { reportTokenSecretRef } from './report-token-secret.ts';
import { childMetadata, childNames, labels, selectorLabels } from './metadata.ts';
import { effectivePlacement, podPlacement, pullPolicy } from './placement.ts';
import * as contract from '../../../../contract/src/pod-contract.ts';

/** Pod template annotation: hash of the inputs that must restart the pod (image, resources). */
export const restartHashAnnotation = `${group}/restart-hash`;

/** Secret files are readable by the pod's group only (fsGroup), never world-readable. */
export const secretFileMode = 0o440;

const volumeNames = {
  config: 'config',
  ingestKeys: 'ingest-keys',
  relayKeys: 'relay-keys',
  s3Credentials: 's3-credentials',
  hls: 'hls',
  tmp: 'tmp',
  relayTmp: 'relay-tmp',
} as const;

/** spec.resources with quantities as strings (the form core/v1 uses). */
export function transcoderResources(spec: ResourceRequirements | undefined): V1ResourceRequirements {
  if (!spec || (!spec.limits && !spec.requests)) return structuredClone(defaultTranscoderResources);
  const quantities = (list: Record<string, number | string | undefined> | undefined) =>
    list && Object.fromEntries(Object.entries(list).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])));
  return {
    ...(spec.limits ? { limits: quantities(spec.limits) } : {}),
    ...(spec.requests ? { requests: quantities(spec.requests) } : {}),
  };
}

/** A stable hash of what must restart the pod when it changes; the config is hot-reloaded and not part of it. */
export function restartHash(inputs: {
  image: string;
  transcoder: V1ResourceRequirements;
  relay: V1ResourceRequirements;
}) {
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex').slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A fresh object per container: manifests share no mutable parts. */
export function containerSecurityContext(): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: contract.runAsUser,
    runAsGroup: contract.runAsUser,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The pod-level half of the restricted profile, shared by every media pod. */
export function podSecurityContext(): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: contract.runAsUser,
    runAsGroup: contract.runAsUser,
    fsGroup: contract.runAsUser,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function httpProbe(path: string, periodSeconds: number, failureThreshold: number): V1Probe {
  return { httpGet: { path, port: contract.portNames.http }, periodSeconds, failureThreshold, timeoutSeconds: 2 };
}

/** The S3 credentials Secret mapped to the contract's file names (accessKeyId, secretAccessKey). */
export function s3CredentialsVolume(name: string, ref: S3CredentialsRef, optional: boolean): V1Volume {
  return {
    name,
    secret: {
      secretName: ref.name,
      items: [
        { key: ref.accessKeyIdKey ?? 'accessKeyId', path: contract.s3CredentialFileNames.accessKeyId },
        { key: ref.secretAccessKeyKey ?? 'secretAccessKey', path: contract.s3CredentialFileNames.secretAccessKey },
      ],
      defaultMode: secretFileMode,
      ...(optional ? { optional: true } : {}),
    },
  };
}

function volumes(ls: LiveStream): V1Volume[] {
  const names = childNames(ls);
  const list: V1Volume[] = [
    { name: volumeNames.config, configMap: { name: names.configMap } },
    {
      name: volumeNames.ingestKeys,
      // The operator's key set (digests, never a key), not the user's Secret: a rotation changes its content, which
      // the kubelet refreshes in place, never the pod template. Required: the operator makes it before the pod.
      secret: {
        secretName: ingestKeysSecretName(ls),
        items: [{ key: contract.ingestKeysFileName, path: contract.ingestKeysFileName }],
        defaultMode: secretFileMode,
      },
    },
  ];
  // The operator's copy of the relay keys (one file per relay name), mounted whole and always: adding, removing or
  // re-keying a relay changes the Secret, which the kubelet refreshes in place, never the pod template.
  list.push({
    name: volumeNames.relayKeys,
    secret: { secretName: names.relayKeysSecret, optional: true, defaultMode: secretFileMode },
  });
  const credentials = ls.spec.recording?.s3?.credentialsSecretRef;
  // Optional in the channel's pod: a missing credentials Secret stops the recording, not the stream.
  if (credentials) list.push(s3CredentialsVolume(volumeNames.s3Credentials, credentials, true));
  list.push(
    // Live segments: playlistLength x segmentSeconds of every rendition, plus the recording's backlog.
    { name: volumeNames.hls, emptyDir: { sizeLimit: '2Gi' } },
    { name: volumeNames.tmp, emptyDir: { sizeLimit: '256Mi' } },
    { name: volumeNames.relayTmp, emptyDir: { sizeLimit: '64Mi' } },
  );
  return list;
}

/**
 * Where the reports go: with Redis the channel's own credential; without it the containers keep their reports in a
 * log the operator polls, open only to the channel's token (the operator's "<name>-reports" Secret, made before the
 * Deployment). Both from a Secret, never a literal: a pod spec is readable by more than the Secret is.
 */
function reportsEnv(ls: LiveStream, ctx: BuildContext): V1EnvVar {
  const { name, ref } = ctx.redis
    ? { name: contract.env.redisUrl, ref: ctx.redis }
    : { name: contract.env.reportToken, ref: reportTokenSecretRef(ls) };
  return { name, valueFrom: { secretKeyRef: { name: ref.secretName, key: ref.key } } };
}

function commonEnv(ls: LiveStream, ctx: BuildContext): V1EnvVar[] {
  return [
    { name: contract.env.config, value: contract.configPath },
    reportsEnv(ls, ctx),
    { name: contract.env.rtmpPort, value: String(contract.ports.rtmp) },
    { name: contract.env.httpPort, value: String(contract.ports.http) },
    { name: contract.env.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    // Node and ffmpeg look for a writable home; the root filesystem is read-only.
    { name: 'HOME', value: contract.tmpDir },
  ];
}

const readOnly = (name: string, mountPath: string): V1VolumeMount => ({ name, mountPath, readOnly: true });

function transcoderContainer(
  ls: LiveStream,
  ctx: BuildContext,
  resources: V1ResourceRequirements,
  hasS3: boolean,
): V1Container {
  return {
    name: contract.containerNames.transcoder,
    image: ctx.image,
    ...pullPolicy(effectivePlacement(ls, ctx.placement)),
    workingDir: contract.workingDir,
    command: contract.transcoderCommand,
    ports: [
      { name: contract.portNames.rtmp, containerPort: contract.ports.rtmp, protocol: 'TCP' },
      { name: contract.portNames.http, containerPort: contract.ports.http, protocol: 'TCP' },
      // The report log, served only without Redis; never a port of the Service (the poller asks the pod's IP).
      ...(ctx.redis
        ? []
        : [{ name: contract.portNames.reports, containerPort: contract.ports.reports, protocol: 'TCP' }]),
    ],
    env: [...commonEnv(ls, ctx), { name: contract.env.hlsDir, value: contract.hlsDir }],
    resources,
    volumeMounts: [
      readOnly(volumeNames.config, contract.configDir),
      readOnly(volumeNames.ingestKeys, contract.ingestKeysDir),
      ...(hasS3 ? [readOnly(volumeNames.s3Credentials, contract.s3CredentialsDir)] : []),
      { name: volumeNames.hls, mountPath: contract.hlsDir },
      { name: volumeNames.tmp, mountPath: contract.tmpDir },
    ],
    // Startup allows a minute; after that a hung process is restarted within 30 s.
    startupProbe: httpProbe(contract.healthPath, 2, 30),
    livenessProbe: httpProbe(contract.healthPath, 10, 3),
    readinessProbe: httpProbe(contract.readyPath, 5, 2),
    securityContext: containerSecurityContext(),
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

function relayContainer(
  ls: LiveStream,
  ctx: BuildContext,
  resources: V1ResourceRequirements,
  hasRelayKeys: boolean,
): V1Container {
  return {
    name: contract.containerNames.relay,
    image: ctx.image,
    ...pullPolicy(effectivePlacement(ls, ctx.placement)),
    workingDir: contract.workingDir,
    command: contract.relayCommand,
    env: commonEnv(ls, ctx),
    ports: [{ name: contract.portNames.relayMetrics, containerPort: contract.ports.relayMetrics, protocol: 'TCP' }],
    resources,
    volumeMounts: [
      // No stream key: the relay plays the ingest from the pod's loopback RTMP server under an internal name.
      readOnly(volumeNames.config, contract.configDir),
      ...(hasRelayKeys ? [readOnly(volumeNames.relayKeys, contract.relayKeysDir)] : []),
      { name: volumeNames.relayTmp, mountPath: contract.tmpDir },
    ],
    securityContext: containerSecurityContext(),
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

export function buildDeployment(ls: LiveStream, ctx: BuildContext): V1Deployment {
  const podVolumes = volumes(ls);
  const has = (name: string) => podVolumes.some((v) => v.name === name);
  const resources = {
    transcoder: transcoderResources(ls.spec.resources),
    relay: structuredClone(ctx.relayResources ?? defaultRelayResources),
  };
  const hash = restartHash({ image: ctx.image, ...resources });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: childMetadata(ls, childNames(ls).deployment, ctx),
    spec: {
      replicas: ls.spec.paused ? 0 : 1,
      // One publisher endpoint: the old pod must release the stream before the new one takes it.
      strategy: { type: 'Recreate' },
      revisionHistoryLimit: 3,
      selector: { matchLabels: selectorLabels(ls) },
      template: {
        metadata: {
          labels: labels(ls, ctx),
          annotations: {
            [restartHashAnnotation]: hash,
            'kubectl.kubernetes.io/default-container': contract.containerNames.transcoder,
          },
        },
        spec: {
          // Media pods report through Redis; they never talk to the Kubernetes API.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          // Time to close the last segment, end the playlist and flush the recording upload.
          terminationGracePeriodSeconds: 45,
          securityContext: podSecurityContext(),
          // Node pools, taints, priority, registry credentials: a change rolls the pod (the template changes).
          ...podPlacement(effectivePlacement(ls, ctx.placement)),
          containers: [
            transcoderContainer(ls, ctx, resources.transcoder, has(volumeNames.s3Credentials)),
            relayContainer(ls, ctx, resources.relay, true),
          ],
          volumes: podVolumes,
        },
      },
    },
  };
}

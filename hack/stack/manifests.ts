// Pure: the objects an end-to-end run puts beside the operator: an S3-compatible server (MinIO), RTMP receivers that
// stand in for YouTube/Twitch, their Secrets, and the LiveStream that uses them. Images are the locally built ones.

export interface StackImages {
  operator: string;
  transcoder: string;
  redis: string;
  minio: string;
  /** Absent when the images came from a build before the gateway had one (the chart's gateway is off then). */
  gateway?: string;
}

/** The images from build-images.sh's tags (`localhost/livestream-<kind>:<tag>`). */
export function stackImages(tags: string[]): StackImages {
  const find = (kind: string) => {
    const tag = tags.find((t) => t.includes(`/livestream-${kind}:`));
    if (!tag) throw new Error(`no livestream-${kind} image among ${tags.join(', ')}`);
    return tag;
  };
  const gateway = tags.find((t) => t.includes('/livestream-gateway:'));
  return {
    operator: find('operator'),
    transcoder: find('transcoder'),
    redis: find('redis'),
    minio: find('minio'),
    ...(gateway !== undefined && { gateway }),
  };
}

/** `repo/name:tag` → repository and tag (the registry host may carry a port, so split at the last colon). */
export function splitImage(image: string): { repository: string; tag: string } {
  const at = image.lastIndexOf(':');
  if (at <= image.lastIndexOf('/')) return { repository: image, tag: 'latest' };
  return { repository: image.slice(0, at), tag: image.slice(at + 1) };
}

/** `helm --set` pairs that point the chart at the local images (never pulled: IfNotPresent finds them). */
export function chartImageValues(images: StackImages): string[] {
  const set = (prefix: string, image: string) => {
    const { repository, tag } = splitImage(image);
    return [`${prefix}.repository=${repository}`, `${prefix}.tag=${tag}`];
  };
  return [
    ...set('operator.image', images.operator),
    ...set('transcoder.image', images.transcoder),
    ...set('redis.image', images.redis),
    ...(images.gateway !== undefined ? set('gateway.image', images.gateway) : []),
  ];
}

const labels = (app: string) => ({ 'app.kubernetes.io/name': app, 'app.kubernetes.io/part-of': 'livestream-e2e' });

/** Non-root, no privilege escalation, no capabilities: the test's own pods follow the same rules as ours. */
const restricted = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};

function deploymentAndService(
  name: string,
  container: object,
  port: { name: string; port: number },
  volumes: object[] = [],
): object[] {
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, labels: labels(name) },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels(name) },
        template: {
          metadata: { labels: labels(name) },
          spec: { containers: [container], volumes, terminationGracePeriodSeconds: 1 },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, labels: labels(name) },
      spec: {
        selector: labels(name),
        ports: [{ name: port.name, port: port.port, targetPort: port.port, protocol: 'TCP' }],
      },
    },
  ];
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** MinIO with its root credentials from a Secret the LiveStream's recording also references. */
export function minioObjects(image: string, credentialsSecret: string, credentials: S3Credentials): object[] {
  const fromSecret = (key: string) => ({ secretKeyRef: { name: credentialsSecret, key } });
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: credentialsSecret },
      stringData: credentials,
    },
    ...deploymentAndService(
      'minio',
      {
        name: 'minio',
        image,
        imagePullPolicy: 'IfNotPresent',
        args: ['server', '/data', '--address', ':9000', '--console-address', ':9001', '--quiet'],
        env: [
          { name: 'MINIO_ROOT_USER', valueFrom: fromSecret('accessKeyId') },
          { name: 'MINIO_ROOT_PASSWORD', valueFrom: fromSecret('secretAccessKey') },
          { name: 'HOME', value: '/data' },
        ],
        ports: [{ name: 's3', containerPort: 9000 }],
        readinessProbe: { httpGet: { path: '/minio/health/ready', port: 9000 }, periodSeconds: 2 },
        securityContext: { ...restricted, runAsUser: 10001, runAsGroup: 10001 },
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      },
      { name: 's3', port: 9000 },
      [{ name: 'data', emptyDir: {} }],
    ),
  ];
}

/** The placeholder stream name receivers listen on; ffmpeg logs the name a publisher actually used. */
export const receiverStreamName = 'receiver';

/**
 * An RTMP server standing in for a restreaming platform: ffmpeg in listen mode (from the transcoder image) that
 * accepts one publish, copies it to a file and prints its progress (`frame=N`) to its log, then exits; the
 * Deployment starts it again for the next publish.
 */
export function receiverObjects(name: string, transcoderImage: string): object[] {
  return deploymentAndService(
    name,
    {
      name: 'ffmpeg',
      image: transcoderImage,
      imagePullPolicy: 'IfNotPresent',
      command: ['ffmpeg'],
      args: [
        ...['-hide_banner', '-nostdin', '-loglevel', 'info', '-stats_period', '1', '-progress', 'pipe:1'],
        ...['-listen', '1', '-i', `rtmp://0.0.0.0:1935/live/${receiverStreamName}`],
        ...['-c', 'copy', '-f', 'flv', '-y', '/tmp/received.flv'],
      ],
      ports: [{ name: 'rtmp', containerPort: 1935 }],
      securityContext: { ...restricted, runAsUser: 10001, runAsGroup: 10001 },
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    },
    { name: 'rtmp', port: 1935 },
    [{ name: 'tmp', emptyDir: {} }],
  );
}

export interface LiveStreamInput {
  name: string;
  namespace: string;
  receivers: string[];
  relayKeysSecret: string;
  bucket: string;
  credentialsSecret: string;
  reconnectWindowSeconds: number;
}

export function liveStream(i: LiveStreamInput): object {
  return {
    apiVersion: 'streaming.livestream-operator.dev/v1alpha1',
    kind: 'LiveStream',
    metadata: { name: i.name, namespace: i.namespace },
    spec: {
      ingest: { app: 'live' },
      reconnectWindowSeconds: i.reconnectWindowSeconds,
      relays: i.receivers.map((r) => ({
        name: r,
        url: `rtmp://${r}.${i.namespace}.svc:1935/live`,
        keySecretRef: { name: i.relayKeysSecret, key: r },
      })),
      recording: {
        enabled: true,
        s3: {
          bucket: i.bucket,
          prefix: 'e2e',
          endpoint: `http://minio.${i.namespace}.svc:9000`,
          forcePathStyle: true,
          credentialsSecretRef: { name: i.credentialsSecret },
        },
      },
    },
  };
}

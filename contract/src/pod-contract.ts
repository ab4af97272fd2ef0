// The pod contract: every name the operator's manifests and the media containers (transcoder, relay, finalize Job)
// must agree on. The operator builds pods from these values and the containers read them from here (their defaults
// are these values), and test/contract/pod-contract.test.ts runs the containers' own settings resolution on the pods
// the operator builds.
import { ingestKeysFileName } from './ingest-keys.ts';

export { ingestKeysFileName };

/** `reports`: the transcoder's report log, served only without Redis (report-log.ts); declared on the container,
 * never a port of the Service. The relay serves its report log on relayMetrics. */
export const ports = { rtmp: 1935, http: 8080, relayMetrics: 8081, reports: 8082 } as const;
/** Container port names: the Service's targetPorts, the probes and the PodMonitor refer to the ports by name. */
export const portNames = { rtmp: 'rtmp', http: 'http', relayMetrics: 'relay-metrics', reports: 'reports' } as const;

export const configDir = '/etc/livestream';
export const configFileName = 'livestream.json';
export const configPath = `${configDir}/${configFileName}`;

export const secretsDir = '/var/run/secrets/livestream';
/**
 * The keys the ingest accepts: the operator's Secret "<name>-ingest-keys" holds the key set of ingest-keys.ts (digests
 * of the current key and of keys superseded within their grace period), never a key itself. The transcoder also reads a
 * plain key file there (standalone mode, --stream-key-file).
 */
export const ingestKeysDir = `${secretsDir}/ingest-keys`;
export const ingestKeysPath = `${ingestKeysDir}/${ingestKeysFileName}`;
/** Pod annotation: the hash of the key set the pod should see; the operator patches it on the running pods after a
 * change, because a pod update makes the kubelet sync the pod and refresh its Secret volumes at once. */
export const ingestKeysHashAnnotation = 'streaming.livestream-operator.dev/ingest-keys-hash';
/** Relay keys: `${relayKeysDir}/<relay-name>` (the operator's Secret, one key per relay), or `<relay-name>/key`. */
export const relayKeysDir = `${secretsDir}/relays`;
export const relayKeyFileName = 'key';
/** S3 credentials: `${s3CredentialsDir}/accessKeyId` and `${s3CredentialsDir}/secretAccessKey`. */
export const s3CredentialsDir = `${secretsDir}/s3`;
export const s3CredentialFileNames = { accessKeyId: 'accessKeyId', secretAccessKey: 'secretAccessKey' } as const;

export const hlsDir = '/var/lib/livestream/hls';
export const tmpDir = '/tmp';

/** The stream name under which the accepted publish is played inside the pod (ladder, relays, HTTP-FLV proxy). */
export const internalStreamName = 'lso-program';

/** Environment variables. The operator sets those marked "set"; the others are knobs with the defaults noted. */
export const env = {
  // Transcoder and relay
  config: 'LSO_CONFIG', // set: configPath
  redisUrl: 'LSO_REDIS_URL', // set, from the Redis Secret; unset = no reports
  rtmpPort: 'LSO_RTMP_PORT', // set: ports.rtmp
  httpPort: 'LSO_HTTP_PORT', // set: ports.http
  podName: 'LSO_POD_NAME', // set: metadata.name
  ffmpeg: 'LSO_FFMPEG', // default: ffmpeg on the PATH
  // set without Redis, from the channel's "<name>-reports" Secret: the bearer token the report log demands (report-log.ts)
  reportToken: 'LSO_REPORT_TOKEN',
  // Transcoder
  hlsDir: 'LSO_HLS_DIR', // set: hlsDir
  reportsPort: 'LSO_REPORTS_PORT', // default: ports.reports (the report log, without Redis)
  x264Preset: 'LSO_X264_PRESET',
  dataDir: 'LSO_DATA_DIR', // standalone mode only
  // Relay
  relayKeysDir: 'LSO_RELAY_KEYS_DIR', // default: relayKeysDir
  relayMetricsPort: 'LSO_RELAY_METRICS_PORT', // default: ports.relayMetrics
  relayRunDir: 'LSO_RELAY_RUN_DIR', // default: TMPDIR, else tmpDir
  relayHeartbeatMs: 'LSO_RELAY_HEARTBEAT_MS',
  relayBackoffCapMs: 'LSO_RELAY_BACKOFF_CAP_MS',
  // Recording (transcoder) and finalize Job
  s3CredentialsDir: 'LSO_S3_CREDENTIALS_DIR', // default: s3CredentialsDir
  recordingSpoolDir: 'LSO_RECORDING_SPOOL_DIR', // default: <hlsDir>/.recording-spool
  recordingSpoolMaxBytes: 'LSO_RECORDING_SPOOL_MAX_BYTES',
  // Finalize Job: the session to finalize and spec.recording.s3 (set, all of them)
  s3Bucket: 'LSO_S3_BUCKET',
  s3Prefix: 'LSO_S3_PREFIX',
  s3Endpoint: 'LSO_S3_ENDPOINT',
  s3Region: 'LSO_S3_REGION',
  s3ForcePathStyle: 'LSO_S3_FORCE_PATH_STYLE', // "true" or "false"
  namespace: 'LSO_NAMESPACE',
  name: 'LSO_NAME',
  session: 'LSO_SESSION',
  finalizeReceiptWaitSeconds: 'LSO_FINALIZE_RECEIPT_WAIT_SECONDS', // default: 300 (0: do not wait)
} as const;

export const containerNames = { transcoder: 'transcoder', relay: 'relay', finalize: 'finalize' } as const;

/** The image's working directory holds contract/, operator/, transcoder/ and node_modules/. */
export const workingDir = '/app';
export const transcoderCommand = ['node', 'transcoder/src/main.ts'];
export const relayCommand = ['node', 'transcoder/src/relay/main.ts'];
export const finalizeCommand = ['node', 'transcoder/src/recording/finalize-main.ts'];

/** Probe and scrape paths: the transcoder serves all three on ports.http, the relay healthPath and metricsPath on
 * ports.relayMetrics. */
export const healthPath = '/healthz';
export const readyPath = '/readyz';
export const metricsPath = '/metrics';

/** The unprivileged user and group of the media containers. */
export const runAsUser = 10001;

// The operator's side of the transcoder pod contract: paths, ports and environment variable names the transcoder
// and relay containers expect. Changing one here without the transcoder breaks the pod.

export const ports = { rtmp: 1935, http: 8080, relayMetrics: 8081 } as const;

export const configDir = '/etc/livestream';
export const configFileName = 'livestream.json';
export const configPath = `${configDir}/${configFileName}`;

export const secretsDir = '/var/run/secrets/livestream';
/** The stream key file is `${streamKeyDir}/streamKey`, whatever the key's name in the Secret. */
export const streamKeyDir = `${secretsDir}/stream-key`;
export const streamKeyFileName = 'streamKey';
/** Relay N's key is `${relayKeysDir}/<relay-name>/key`. */
export const relayKeysDir = `${secretsDir}/relays`;
export const relayKeyFileName = 'key';
/** `${s3CredentialsDir}/accessKeyId` and `${s3CredentialsDir}/secretAccessKey`. */
export const s3CredentialsDir = `${secretsDir}/s3`;

export const hlsDir = '/var/lib/livestream/hls';
export const tmpDir = '/tmp';

export const env = {
  config: 'LSO_CONFIG',
  redisUrl: 'LSO_REDIS_URL',
  rtmpPort: 'LSO_RTMP_PORT',
  httpPort: 'LSO_HTTP_PORT',
  hlsDir: 'LSO_HLS_DIR',
  podName: 'LSO_POD_NAME',
} as const;

export const containerNames = { transcoder: 'transcoder', relay: 'relay' } as const;

/** The image's working directory holds operator/, transcoder/ and node_modules/. */
export const workingDir = '/app';
export const transcoderCommand = ['node', 'transcoder/src/main.ts'];
export const relayCommand = ['node', 'transcoder/src/relay/main.ts'];

export const healthPath = '/healthz';
export const readyPath = '/readyz';
export const metricsPath = '/metrics';

/** The unprivileged user and group of the media containers. */
export const runAsUser = 10001;

// What each entry point of the media image reads from its command line and environment, resolved by pure functions:
// the names and defaults are the pod contract's, and test/contract/pod-contract.test.ts runs these functions on the
// env and mounts of the pods the operator builds.
import path from 'node:path';
import type { BackoffPolicy } from '../../../contract/src/backoff.ts';
import * as contract from '../../../contract/src/pod-contract.ts';
import { SchemaValidationError, validateS3Destination } from '../../../contract/src/api/validate.ts';
import { s3Settings, type S3Settings } from '../../../contract/src/recording-layout.ts';
import { ConfigError } from './livestream-spec.ts';

type Env = Readonly<Record<string, string | undefined>>;
const { env: names } = contract;

/** An integer setting; empty or absent means the fallback. */
export function intSetting(
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
  name: string,
): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got ${value})`);
  }
  return n;
}

const optional = (value: string | undefined): string | undefined => (value === '' ? undefined : value);

/** The ffmpeg binary, the Redis URL and the report log's token, read the same way by the transcoder and the relay. */
function common(env: Env): { redisUrl?: string; ffmpegPath?: string; reportToken?: string } {
  const redisUrl = optional(env[names.redisUrl]);
  const ffmpegPath = optional(env[names.ffmpeg]);
  const reportToken = optional(env[names.reportToken]);
  return {
    ...(redisUrl !== undefined && { redisUrl }),
    ...(ffmpegPath !== undefined && { ffmpegPath }),
    ...(reportToken !== undefined && { reportToken }),
  };
}

export interface ReportLogSettings {
  /** The transcoder's report-log port (the relay serves its log on its metrics port). */
  port: number;
  /** The bearer token a poller must send (the operator's "<name>-reports" Secret); absent: every request refused. */
  token?: string;
}

/** The transcoder's report log: its port and token (the server's defaults; only without Redis). */
export function reportLogSettings(env: Env): ReportLogSettings {
  const { reportToken } = common(env);
  return {
    port: intSetting(env[names.reportsPort], contract.ports.reports, 0, 65535, names.reportsPort),
    ...(reportToken !== undefined && { token: reportToken }),
  };
}

export interface TranscoderArgs {
  config?: string;
  livestream?: string;
  'stream-key-file'?: string;
  'data-dir'?: string;
  'rtmp-port'?: string;
  'http-port'?: string;
}

interface TranscoderBase {
  configPath: string;
  rtmpPort: number;
  httpPort: number;
  redisUrl?: string;
  ffmpegPath?: string;
  x264Preset?: string;
  /** Without Redis: the bearer token a poller of the report log must send (reportLogSettings). */
  reportToken?: string;
  /** Seconds between two pictures of GET /thumbnail.jpg (LSO_THUMBNAIL_SECONDS, 1 to 300); 0: no thumbnail. */
  thumbnailSeconds: number;
}

/** Not in the pod contract: the operator does not set it; a pod takes the default. */
export const thumbnailSecondsEnv = 'LSO_THUMBNAIL_SECONDS';
export const defaultThumbnailSeconds = 5;

export interface PodTranscoderSettings extends TranscoderBase {
  standalone: false;
  /** The operator's key set (pod contract ingestKeysPath), or a plain key file given with --stream-key-file. */
  streamKeyPath: string;
  hlsDir: string;
}

export interface StandaloneTranscoderSettings extends TranscoderBase {
  standalone: true;
  /** Absent without --stream-key-file: a key is generated under the data directory. */
  streamKeyPath?: string;
  /** Absent without LSO_HLS_DIR: <data dir>/hls. */
  hlsDir?: string;
  /** Absent without --data-dir / LSO_DATA_DIR: a directory named after the LiveStream. */
  dataDir?: string;
}

export type TranscoderSettings = PodTranscoderSettings | StandaloneTranscoderSettings;

export function transcoderSettings(args: TranscoderArgs, env: Env): TranscoderSettings {
  const x264Preset = optional(env[names.x264Preset]);
  const base: TranscoderBase = {
    configPath: path.resolve(args.livestream ?? args.config ?? optional(env[names.config]) ?? contract.configPath),
    rtmpPort: intSetting(args['rtmp-port'] ?? env[names.rtmpPort], contract.ports.rtmp, 0, 65535, 'the RTMP port'),
    httpPort: intSetting(args['http-port'] ?? env[names.httpPort], contract.ports.http, 0, 65535, 'the HTTP port'),
    ...common(env),
    ...(x264Preset !== undefined && { x264Preset }),
    thumbnailSeconds: intSetting(env[thumbnailSecondsEnv], defaultThumbnailSeconds, 0, 300, thumbnailSecondsEnv),
  };
  const streamKeyFile = args['stream-key-file'];
  const hlsDir = optional(env[names.hlsDir]);
  if (args.livestream === undefined) {
    return {
      ...base,
      standalone: false,
      streamKeyPath: path.resolve(streamKeyFile ?? contract.ingestKeysPath),
      hlsDir: hlsDir ?? contract.hlsDir,
    };
  }
  const dataDir = args['data-dir'] ?? optional(env[names.dataDir]);
  return {
    ...base,
    standalone: true,
    ...(streamKeyFile !== undefined && { streamKeyPath: path.resolve(streamKeyFile) }),
    ...(hlsDir !== undefined && { hlsDir }),
    ...(dataDir !== undefined && { dataDir: path.resolve(dataDir) }),
  };
}

export interface RelaySettings {
  configPath: string;
  rtmpPort: number;
  metricsPort: number;
  heartbeatMs: number;
  backoff: BackoffPolicy; // before a relay reconnects to its target
  keysDir: string;
  runDir: string;
  redisUrl?: string;
  ffmpegPath?: string;
  /** Without Redis: the bearer token a poller of the relay's report log must send; absent: every request refused. */
  reportToken?: string;
}

/** A relay reconnects from 1 s, with 20 % jitter, up to LSO_RELAY_BACKOFF_CAP_MS (this maxMs by default). */
export const defaultRelayBackoff: BackoffPolicy = { baseMs: 1_000, maxMs: 30_000, jitter: 0.2 };

export function relaySettings(args: { config?: string }, env: Env): RelaySettings {
  const int = (name: string, fallback: number, min: number, max: number) =>
    intSetting(env[name], fallback, min, max, name);
  return {
    configPath: path.resolve(args.config ?? optional(env[names.config]) ?? contract.configPath),
    rtmpPort: int(names.rtmpPort, contract.ports.rtmp, 1, 65535),
    metricsPort: int(names.relayMetricsPort, contract.ports.relayMetrics, 0, 65535),
    heartbeatMs: int(names.relayHeartbeatMs, 5_000, 100, 600_000),
    backoff: { ...defaultRelayBackoff, maxMs: int(names.relayBackoffCapMs, defaultRelayBackoff.maxMs, 1_000, 600_000) },
    keysDir: path.resolve(optional(env[names.relayKeysDir]) ?? contract.relayKeysDir),
    // os.tmpdir() without its read of process.env: TMPDIR, else the pod's tmpDir.
    runDir: optional(env[names.relayRunDir]) ?? optional(env.TMPDIR) ?? contract.tmpDir,
    ...common(env),
  };
}

/** Where the relays play the program: the pod's own ingest, on loopback, under the internal stream name. */
export function programUrl(rtmpPort: number, app: string): string {
  return `rtmp://127.0.0.1:${rtmpPort}/${app}/${contract.internalStreamName}`;
}

export function s3CredentialsDirSetting(env: Env): string {
  return optional(env[names.s3CredentialsDir]) ?? contract.s3CredentialsDir;
}

export interface FinalizeArgs {
  bucket?: string;
  prefix?: string;
  endpoint?: string;
  region?: string;
  'force-path-style'?: boolean;
  namespace?: string;
  name?: string;
  session?: string;
}

export interface FinalizeSettings {
  namespace: string;
  name: string;
  session: string;
  s3: S3Settings;
  credentialsDir: string;
  /** How long to wait for the recorder's capture receipt before finalizing what S3 holds. */
  receiptWaitMs: number;
}

/** Long enough for a restarted transcoder to send what its predecessor spooled, short of holding a VOD for good. */
export const defaultReceiptWaitSeconds = 300;

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const liveStreamName = /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;
const sessionPattern = /^[A-Za-z0-9_-]{1,128}$/;

function booleanSetting(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value !== 'true' && value !== 'false') throw new ConfigError(`${name} must be true or false (got ${value})`);
  return value === 'true';
}

/** The finalize Job's session and S3 destination: flags first, then the env the operator sets. */
export function finalizeSettings(args: FinalizeArgs, env: Env): FinalizeSettings {
  const namespace = args.namespace ?? env[names.namespace] ?? '';
  const name = args.name ?? env[names.name] ?? '';
  const session = args.session ?? env[names.session] ?? '';
  if (!dnsLabel.test(namespace)) throw new ConfigError('--namespace must be a Kubernetes namespace name');
  if (!liveStreamName.test(name)) throw new ConfigError('--name must be a LiveStream name');
  if (!sessionPattern.test(session)) throw new ConfigError('--session must be a session id ([A-Za-z0-9_-])');
  const given = {
    bucket: args.bucket ?? env[names.s3Bucket],
    prefix: args.prefix ?? optional(env[names.s3Prefix]),
    endpoint: args.endpoint ?? optional(env[names.s3Endpoint]),
    region: args.region ?? optional(env[names.s3Region]),
    forcePathStyle: args['force-path-style'] ?? booleanSetting(env[names.s3ForcePathStyle], names.s3ForcePathStyle),
  };
  // The schema of spec.recording.s3 checks the destination and fills its defaults, as it does for the LiveStream.
  const destination = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  try {
    return {
      namespace,
      name,
      session,
      s3: s3Settings(validateS3Destination(destination, 'S3 settings')),
      credentialsDir: s3CredentialsDirSetting(env),
      receiptWaitMs:
        1000 *
        intSetting(
          env[names.finalizeReceiptWaitSeconds],
          defaultReceiptWaitSeconds,
          0,
          3000,
          names.finalizeReceiptWaitSeconds,
        ),
    };
  } catch (err) {
    if (err instanceof SchemaValidationError) throw new ConfigError(err.message);
    throw err;
  }
}

// The recorder as the transcoder runs it: targets from the (hot-reloaded) LiveStream, the spool in the HLS volume,
// credentials from the mounted Secret, metrics on the transcoder's registry.
//
// Where the spool lives matters: <hlsDir>/.recording-spool is on the HLS emptyDir, which survives a container
// restart (kill -9, OOM, liveness failure) but not a pod deletion; segments spooled but not uploaded when the pod is
// deleted are lost. The live HLS files and the spool share one file system, so spooling is a hard link.
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import type { ResolvedConfig } from '../config/livestream-spec.ts';
import type { LadderPlan } from '../ladder/plan-ladder.ts';
import type { ReportSink } from '../session/channel.ts';
import { createRecorder, defaultMaxSpoolBytes, type Recorder, type RecordingTarget } from './recorder.ts';
import { recordedTracks, resolveRecording } from './recording-config.ts';
import { createRecordingMetrics } from './recording-metrics.ts';
import * as contract from '../../../contract/src/pod-contract.ts';
import { intSetting, s3CredentialsDirSetting } from '../config/settings.ts';
import { ConfigError } from '../config/livestream-spec.ts';

export const llHlsRecordingUnsupported =
  'recording of LL-HLS sessions (spec.hls.lowLatency.enabled) is not supported yet: this session is not recorded';

export const spoolDirName = '.recording-spool'; // hidden: the origin never serves it, a new session keeps it

export interface RecordingSettings {
  credentialsDir: string;
  spoolDir: string;
  maxSpoolBytes: number;
}

/** The recorder's settings from the transcoder's environment (names and defaults from the pod contract). */
export function recordingSettings(
  env: Readonly<Record<string, string | undefined>>,
  hlsDir: string,
): RecordingSettings {
  const { recordingSpoolDir, recordingSpoolMaxBytes } = contract.env;
  return {
    credentialsDir: s3CredentialsDirSetting(env),
    spoolDir: env[recordingSpoolDir] || path.join(hlsDir, spoolDirName),
    maxSpoolBytes: intSetting(
      env[recordingSpoolMaxBytes],
      defaultMaxSpoolBytes,
      1,
      Number.MAX_SAFE_INTEGER,
      recordingSpoolMaxBytes,
    ),
  };
}

export interface RecordingServiceOptions {
  hlsDir: string;
  object: () => LiveStream;
  config: () => ResolvedConfig;
  sessionId: () => string;
  plan: () => LadderPlan | undefined;
  registry: Registry;
  reporter?: ReportSink;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  pollMs?: number;
}

export function recordingTarget(
  object: LiveStream,
  config: ResolvedConfig,
  plan: LadderPlan | undefined,
): RecordingTarget {
  // The schema checked spec.recording (the API server, or the standalone validator): resolving it cannot fail.
  const recording = resolveRecording(object.spec.recording);
  return {
    namespace: config.namespace,
    name: config.name,
    recording,
    tracks: () => {
      if (plan === undefined || recording === undefined) return [];
      // The recorder uploads TS segments and writes a VOD playlist without EXT-X-MAP: an LL-HLS session's fMP4
      // would upload unplayable. Said in the recording-failed report (config-invalid) rather than recorded wrong.
      if (plan.lowLatency !== undefined) throw new ConfigError(llHlsRecordingUnsupported);
      return recordedTracks(plan, recording.rendition, config.renditions[0]?.name);
    },
  };
}

export async function startRecording(options: RecordingServiceOptions): Promise<Recorder> {
  const settings = recordingSettings(options.env ?? process.env, options.hlsDir);
  const recorder = createRecorder({
    hlsDir: options.hlsDir,
    spoolDir: settings.spoolDir,
    maxSpoolBytes: settings.maxSpoolBytes,
    credentialsDir: settings.credentialsDir,
    sessionId: options.sessionId,
    target: () => recordingTarget(options.object(), options.config(), options.plan()),
    metrics: createRecordingMetrics(options.registry),
    ...(options.reporter !== undefined && { reporter: options.reporter }),
    logger: options.logger,
    ...(options.pollMs !== undefined && { pollMs: options.pollMs }),
  });
  await recorder.start();
  return recorder;
}

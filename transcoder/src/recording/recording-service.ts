// The recorder as the transcoder runs it: targets from the (hot-reloaded) LiveStream, the spool in the HLS volume,
// credentials from the mounted Secret, metrics on the transcoder's registry.
//
// Where the spool lives matters: <hlsDir>/.recording-spool is on the HLS emptyDir, which survives a container
// restart (kill -9, OOM, liveness failure) but not a pod deletion; segments spooled but not uploaded when the pod is
// deleted are lost. The live HLS files and the spool share one file system, so spooling is a hard link.
import path from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { LiveStreamObject, ResolvedConfig } from '../config/livestream-spec.ts';
import { audioRenditionName, type LadderPlan } from '../ladder/plan-ladder.ts';
import type { ReportSink } from '../session/channel.ts';
import { createRecorder, defaultMaxSpoolBytes, type Recorder, type RecordingTarget } from './recorder.ts';
import { recordedTracks, resolveRecording } from './recording-config.ts';
import { createRecordingMetrics } from './recording-metrics.ts';
import { credentialsDir } from './s3-client.ts';

export const spoolDirName = '.recording-spool'; // hidden: the origin never serves it, a new session keeps it

export interface RecordingServiceOptions {
  hlsDir: string;
  object: () => LiveStreamObject;
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
  object: LiveStreamObject,
  config: ResolvedConfig,
  plan: LadderPlan | undefined,
): RecordingTarget {
  let recording: RecordingTarget['recording'];
  let error: string | undefined;
  try {
    recording = resolveRecording(object.spec.recording, config);
  } catch (err) {
    error = (err as Error).message;
  }
  return {
    namespace: config.namespace,
    name: config.name,
    recording,
    ...(error !== undefined && { error }),
    tracks: () =>
      plan === undefined || recording === undefined
        ? []
        : recordedTracks(plan, recording.rendition, config.renditions[0]?.name, audioRenditionName),
  };
}

export async function startRecording(options: RecordingServiceOptions): Promise<Recorder> {
  const env = options.env ?? process.env;
  const maxBytes = Number(env.LSO_RECORDING_SPOOL_MAX_BYTES || defaultMaxSpoolBytes);
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new Error(
      `LSO_RECORDING_SPOOL_MAX_BYTES must be a positive integer (got ${env.LSO_RECORDING_SPOOL_MAX_BYTES})`,
    );
  }
  const recorder = createRecorder({
    hlsDir: options.hlsDir,
    spoolDir: env.LSO_RECORDING_SPOOL_DIR || path.join(options.hlsDir, spoolDirName),
    maxSpoolBytes: maxBytes,
    credentialsDir: credentialsDir(env),
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

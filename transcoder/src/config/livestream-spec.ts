// The LiveStream as the transcoder runs it: the spec (the generated API types, checked and defaulted by the CRD's
// schema: the API server in a cluster, contract/src/api/validate.ts for a standalone YAML) resolved into one
// configuration: the preset expanded into its renditions, the ladder sorted largest first.
import {
  ladderRenditions,
  type LiveStream,
  type LiveStreamSpec,
  type Rendition,
} from '../../../contract/src/api/index.ts';
import { sessionSettingsFingerprint } from '../../../contract/src/api/session-settings.ts';
import { SchemaValidationError, validateLiveStream } from '../../../contract/src/api/validate.ts';

export interface ResolvedConfig {
  name: string;
  namespace: string;
  paused: boolean;
  app: string;
  httpFlv: boolean;
  renditions: Rendition[]; // largest first
  passthrough: boolean;
  segmentSeconds: number;
  playlistLength: number;
  // spec.hls.lowLatency when enabled: the ladder writes fMP4 parts for our LL-HLS packager (docs/llhls.md).
  lowLatency: { partSeconds: number } | undefined;
  reconnectWindowSeconds: number;
  /** sessionSettingsFingerprint of the spec: a session reports the one its ladder was planned from. */
  sessionSettings: string;
}

/** A configuration the user must fix (the process exits with code 2 and the message). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A LiveStream document (the pod's JSON or a hand-written YAML) checked by the CRD's schema and resolved. */
export function resolveLiveStream(document: unknown): { object: LiveStream; config: ResolvedConfig } {
  let object: LiveStream;
  try {
    object = validateLiveStream(document);
  } catch (err) {
    if (err instanceof SchemaValidationError) throw new ConfigError(err.message);
    throw err;
  }
  const { name = '', namespace = 'default' } = object.metadata;
  return { object, config: resolveSpec(object.spec, name, namespace) };
}

export function resolveSpec(spec: LiveStreamSpec, name: string, namespace: string): ResolvedConfig {
  const { ingest, ladder, hls } = spec;
  return {
    name,
    namespace,
    paused: spec.paused,
    app: ingest.app,
    httpFlv: ingest.httpFlv,
    renditions: ladderRenditions(ladder).sort(
      (a, b) => b.width * b.height - a.width * a.height || b.videoBitrateKbps - a.videoBitrateKbps,
    ),
    passthrough: ladder.passthrough,
    segmentSeconds: hls.segmentSeconds,
    playlistLength: hls.playlistLength,
    lowLatency: hls.lowLatency?.enabled === true ? { partSeconds: hls.lowLatency.partSeconds } : undefined,
    reconnectWindowSeconds: spec.reconnectWindowSeconds,
    sessionSettings: sessionSettingsFingerprint(spec),
  };
}

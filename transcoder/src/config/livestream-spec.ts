// The slice of the LiveStream spec the transcoder reads, with the exact field names of the API, and its resolution
// into a complete configuration (defaults applied, presets expanded, values checked). The CRD schema is the first
// line of validation; this is the second, because the transcoder also runs standalone from a hand-written YAML.

import { presets, type LiveStreamSpec as GeneratedLiveStreamSpec } from '../../../contract/src/api/index.ts';

export interface RenditionSpec {
  name: string;
  width: number;
  height: number;
  videoBitrateKbps: number;
  fps?: number;
  audioBitrateKbps?: number;
}

export type LadderPreset = '1080p' | '720p' | '480p' | '360p';

export interface LiveStreamSpec {
  paused?: boolean;
  streamKey?: { secretRef?: { name: string; key?: string } };
  ingest?: { app?: string; serviceType?: string; httpFlv?: boolean };
  ladder?: { preset?: LadderPreset; renditions?: RenditionSpec[]; passthrough?: boolean };
  hls?: { segmentSeconds?: number; playlistLength?: number };
  reconnectWindowSeconds?: number;
  // Read by other components (relay, recording, operator); carried along untouched.
  relays?: unknown;
  recording?: unknown;
  resources?: unknown;
}

// Compile-time guard against drift: a spec of the generated CRD types must be a valid input here.
// (The API module is types and pure data only: importing it loads no operator machinery.)
export const generatedSpecFits = (spec: GeneratedLiveStreamSpec): LiveStreamSpec => spec;

export interface LiveStreamObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; generation?: number };
  spec: LiveStreamSpec;
}

export interface Rendition {
  name: string;
  width: number;
  height: number;
  videoBitrateKbps: number;
  fps: number;
  audioBitrateKbps: number;
}

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
  reconnectWindowSeconds: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

// The preset table lives with the API (operator/src/api/v1alpha1): one table for the operator, the CRD and the pod.
export const ladderPresets = Object.keys(presets) as LadderPreset[];

export function presetRenditions(preset: LadderPreset): Rendition[] {
  return presets[preset].map((r) => ({ ...r }));
}

// Names the transcoder uses for its own renditions (the passed-through source and the shared audio track).
export const reservedRenditionNames = ['source', 'audio'];

const namePattern = /^[a-zA-Z0-9_-]+$/;
// The CRD's rules, repeated for standalone YAML: a DNS label of at most 32 characters.
const renditionNamePattern = /^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/;

export function resolveLiveStream(obj: unknown): ResolvedConfig {
  if (!isRecord(obj)) throw new ConfigError('LiveStream must be an object');
  const metadata = obj.metadata;
  if (!isRecord(metadata) || typeof metadata.name !== 'string' || metadata.name === '') {
    throw new ConfigError('metadata.name is required');
  }
  const spec = obj.spec ?? {};
  if (!isRecord(spec)) throw new ConfigError('spec must be an object');
  return resolveSpec(spec, metadata.name, stringOr(metadata.namespace, 'default'));
}

export function resolveSpec(spec: LiveStreamSpec, name: string, namespace: string): ResolvedConfig {
  const ingest = spec.ingest ?? {};
  const app = ingest.app ?? 'live';
  if (typeof app !== 'string' || !namePattern.test(app)) {
    throw new ConfigError(`spec.ingest.app must match [a-zA-Z0-9_-]+ (got ${JSON.stringify(app)})`);
  }
  const ladder = spec.ladder ?? {};
  if (ladder.preset !== undefined && ladder.renditions !== undefined) {
    throw new ConfigError('spec.ladder.preset and spec.ladder.renditions are mutually exclusive');
  }
  let renditions: Rendition[];
  if (ladder.renditions !== undefined) {
    renditions = resolveRenditions(ladder.renditions);
  } else {
    const preset = ladder.preset ?? '720p';
    if (!ladderPresets.includes(preset)) {
      throw new ConfigError(`spec.ladder.preset must be one of ${ladderPresets.join(', ')} (got ${String(preset)})`);
    }
    renditions = presetRenditions(preset);
  }
  const hls = spec.hls ?? {};
  return {
    name,
    namespace,
    paused: bool(spec.paused, false, 'spec.paused'),
    app,
    httpFlv: bool(ingest.httpFlv, false, 'spec.ingest.httpFlv'),
    renditions: renditions.sort(
      (a, b) => b.width * b.height - a.width * a.height || b.videoBitrateKbps - a.videoBitrateKbps,
    ),
    passthrough: bool(ladder.passthrough, true, 'spec.ladder.passthrough'),
    segmentSeconds: int(hls.segmentSeconds, 2, 1, 10, 'spec.hls.segmentSeconds'),
    playlistLength: int(hls.playlistLength, 6, 3, 60, 'spec.hls.playlistLength'),
    reconnectWindowSeconds: int(spec.reconnectWindowSeconds, 30, 0, 1800, 'spec.reconnectWindowSeconds'),
  };
}

function resolveRenditions(list: unknown): Rendition[] {
  if (!Array.isArray(list) || list.length < 1 || list.length > 8) {
    throw new ConfigError('spec.ladder.renditions must list 1 to 8 renditions');
  }
  const seen = new Set<string>();
  return list.map((r: unknown, i) => {
    const at = `spec.ladder.renditions[${i}]`;
    if (!isRecord(r)) throw new ConfigError(`${at} must be an object`);
    const name = r.name;
    if (typeof name !== 'string' || !renditionNamePattern.test(name)) {
      throw new ConfigError(`${at}.name must be a DNS label of at most 32 characters (got ${JSON.stringify(name)})`);
    }
    if (reservedRenditionNames.includes(name)) {
      throw new ConfigError(`${at}.name ${JSON.stringify(name)} is reserved by the transcoder`);
    }
    if (seen.has(name)) throw new ConfigError(`${at}.name ${JSON.stringify(name)} is not unique`);
    seen.add(name);
    return {
      name,
      width: even(int(r.width, undefined, 16, 7680, `${at}.width`), `${at}.width`),
      height: even(int(r.height, undefined, 16, 4320, `${at}.height`), `${at}.height`),
      videoBitrateKbps: int(r.videoBitrateKbps, undefined, 100, 50_000, `${at}.videoBitrateKbps`),
      fps: int(r.fps, 30, 1, 60, `${at}.fps`),
      audioBitrateKbps: int(r.audioBitrateKbps, 128, 32, 320, `${at}.audioBitrateKbps`),
    };
  });
}

function int(value: unknown, fallback: number | undefined, min: number, max: number, field: string): number {
  if (value === undefined || value === null) {
    if (fallback === undefined) throw new ConfigError(`${field} is required`);
    return fallback;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${field} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return value;
}

function bool(value: unknown, fallback: boolean, field: string): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(`${field} must be true or false`);
  return value;
}

function even(n: number, field: string): number {
  if (n % 2 !== 0) throw new ConfigError(`${field} must be even (H.264 with 4:2:0 chroma)`);
  return n;
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

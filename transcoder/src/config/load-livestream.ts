// Reads a LiveStream from a file: the pod's JSON (ConfigMap) or a hand-written YAML for standalone mode.
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { ConfigError, resolveLiveStream, type LiveStreamObject, type ResolvedConfig } from './livestream-spec.ts';

export const defaultConfigPath = '/etc/livestream/livestream.json';

export function parseLiveStreamText(text: string, source: string): LiveStreamObject {
  let docs: unknown[];
  try {
    // JSON is YAML, so one parser serves both; multi-document YAML picks the first LiveStream.
    docs = parseAllDocuments(text).map((d) => {
      if (d.errors.length > 0) throw new ConfigError(d.errors[0]?.message ?? 'invalid YAML');
      return d.toJS() as unknown;
    });
  } catch (err) {
    throw new ConfigError(`${source}: cannot parse: ${(err as Error).message}`);
  }
  const found = docs.find(
    (d) => typeof d === 'object' && d !== null && ((d as { kind?: unknown }).kind ?? 'LiveStream') === 'LiveStream',
  );
  if (found === undefined) throw new ConfigError(`${source}: no LiveStream document found`);
  return found as LiveStreamObject;
}

export async function loadLiveStream(path: string): Promise<{ object: LiveStreamObject; config: ResolvedConfig }> {
  const text = await readFile(path, 'utf8');
  return parseAndResolve(text, path);
}

export function parseAndResolve(text: string, source: string): { object: LiveStreamObject; config: ResolvedConfig } {
  const object = parseLiveStreamText(text, source);
  try {
    return { object, config: resolveLiveStream(object) };
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${source}: ${err.message}`);
    throw err;
  }
}

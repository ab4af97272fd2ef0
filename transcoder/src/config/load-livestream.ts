// Reads a LiveStream from a file: the pod's JSON (ConfigMap) or a hand-written YAML for standalone mode; both are
// checked and defaulted by the CRD's schema before the transcoder or the relay uses them.
import { parseAllDocuments } from 'yaml';
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { ConfigError, resolveLiveStream, type ResolvedConfig } from './livestream-spec.ts';

/** The first LiveStream document of a YAML or JSON text (a document without a kind counts as one). */
function parseLiveStreamText(text: string, source: string): unknown {
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
  return found;
}

/** Parsed, checked and resolved; errors start with the source and name the field (`f.yaml: spec.hls...: ...`). */
export function parseAndResolve(text: string, source: string): { object: LiveStream; config: ResolvedConfig } {
  const document = parseLiveStreamText(text, source);
  try {
    return resolveLiveStream(document);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${source}: ${err.message}`);
    throw err;
  }
}

// hls.js as the pages that play HLS serve it (the transcoder's player page, the gateway's stream pages): the
// minified build from node_modules, read once, under a path that names its version so it can be cached as immutable.
// Nothing is loaded from the internet.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

export interface HlsJsAsset {
  version: string;
  bytes: Buffer;
}

export async function loadHlsJs(): Promise<HlsJsAsset> {
  const requireFromHere = createRequire(import.meta.url);
  const version = (requireFromHere('hls.js/package.json') as { version: string }).version;
  const bytes = await readFile(requireFromHere.resolve('hls.js/dist/hls.min.js'));
  return { version, bytes };
}

// The player page and the hls.js it loads, read once at start: hls.js under a versioned path, so that it can be
// cached as immutable.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { renderPlayerPage } from './player-page.ts';
import { hlsJsAssetPath } from './routes.ts';

export interface PlayerAssets {
  hlsJsVersion: string;
  hlsJsPath: string;
  hlsJs: Buffer;
  page: Buffer;
}

export async function loadPlayerAssets(title: string): Promise<PlayerAssets> {
  const requireFromHere = createRequire(import.meta.url);
  const hlsJsVersion = (requireFromHere('hls.js/package.json') as { version: string }).version;
  const hlsJsPath = hlsJsAssetPath(hlsJsVersion);
  const hlsJs = await readFile(requireFromHere.resolve('hls.js/dist/hls.min.js'));
  const page = Buffer.from(renderPlayerPage({ hlsJsPath, title }));
  return { hlsJsVersion, hlsJsPath, hlsJs, page };
}

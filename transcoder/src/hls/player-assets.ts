// The player page and the hls.js it loads, read once at start: hls.js under a versioned path, so that it can be
// cached as immutable.
import { loadHlsJs } from '../../../contract/src/hls-js.ts';
import { renderPlayerPage } from './player-page.ts';
import { hlsJsAssetPath } from './routes.ts';

export interface PlayerAssets {
  hlsJsVersion: string;
  hlsJsPath: string;
  hlsJs: Buffer;
  page: Buffer;
}

export async function loadPlayerAssets(title: string): Promise<PlayerAssets> {
  const { version: hlsJsVersion, bytes: hlsJs } = await loadHlsJs();
  const hlsJsPath = hlsJsAssetPath(hlsJsVersion);
  const page = Buffer.from(renderPlayerPage({ hlsJsPath, title }));
  return { hlsJsVersion, hlsJsPath, hlsJs, page };
}

// The studio on the gateway's HTTP port: the page at `/<namespace>/<name>/studio` (studio-page.ts) and its static
// files under `/_studio/` (a prefix no namespace can take). The page publishes with WHIP to the channel's own
// endpoint and follows the channel through the portal's per-channel events; both are other handlers'.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseStudioPath, renderStudioPage, studioAssetPrefix, studioPageHeaders } from './studio-page.ts';

interface Asset {
  body: Buffer;
  type: string;
}

const files: Record<string, string> = {
  'studio.js': 'text/javascript; charset=utf-8',
  'studio-core.js': 'text/javascript; charset=utf-8',
  'studio.css': 'text/css; charset=utf-8',
};

/** The studio's files by request path, read once at start. */
export async function loadStudioAssets(): Promise<Map<string, Asset>> {
  const dir = path.join(import.meta.dirname, 'client');
  const assets = new Map<string, Asset>();
  for (const [file, type] of Object.entries(files)) {
    assets.set(`${studioAssetPrefix}${file}`, { body: await readFile(path.join(dir, file)), type });
  }
  return assets;
}

export interface Studio {
  /** true when the request was the studio's (and is answered); false leaves it to the next handler. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

export function createStudio(assets: Map<string, Asset>): Studio {
  return {
    handle(req, res) {
      const pathname = (req.url ?? '/').split('?')[0] ?? '/';
      const asset = assets.get(pathname);
      const channel = asset ? undefined : parseStudioPath(pathname);
      if (!asset && !channel) return false;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
        res.end('GET, HEAD\n');
        return true;
      }
      const head = req.method === 'HEAD';
      if (asset) {
        res.writeHead(200, {
          'content-type': asset.type,
          'content-length': asset.body.length,
          // Named without a version: revalidated on each load, so a new gateway's files are picked up.
          'cache-control': 'no-cache',
          'x-content-type-options': 'nosniff',
        });
        res.end(head ? undefined : asset.body);
        return true;
      }
      res.writeHead(200, studioPageHeaders);
      res.end(head ? undefined : renderStudioPage(channel!));
      return true;
    },
  };
}

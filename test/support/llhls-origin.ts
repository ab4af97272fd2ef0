// A loopback LL-HLS origin for the gateway's tests, built from the transcoder's packager core: a timer appends one
// part per part target to each rendition's timeline (part-segmenter.ts, keyframes on the grid), playlists are
// rendered by media-playlist.ts, and blocking requests are decided (blocking-reload.ts) and held (reload-waiters.ts)
// as the real origin holds them: answered in the tick the part is appended, 400 when too far ahead, 503 after three
// target durations. A request for the preload-hinted part is held until that part is written. Every request is
// counted by path and query, and the moment each blocking request was answered is kept: what the gateway fetched and
// when, seen from the origin.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { blockTimeoutMs, decide, parseDirectives } from '../../transcoder/src/llhls/blocking-reload.ts';
import { renderMediaPlaylist, siblingPlaylistUris } from '../../transcoder/src/llhls/media-playlist.ts';
import {
  appendPart,
  emptyTimeline,
  lastPart,
  nextPartPosition,
  partNames,
  type SegmenterOptions,
  type Timeline,
} from '../../transcoder/src/llhls/part-segmenter.ts';
import { ReloadWaiters } from '../../transcoder/src/llhls/reload-waiters.ts';

export { decide, isSatisfied } from '../../transcoder/src/llhls/blocking-reload.ts';

export interface LlOriginOptions {
  renditions?: string[]; // default ['360p', 'audio']
  targetDuration?: number; // s, default 2
  partTarget?: number; // s, default 0.5 (parts are exactly this long)
  windowSegments?: number; // default 6
  partBytes?: number; // default 4096
  partsBeforeStart?: number; // parts appended at once, before the timer starts (default 6)
}

interface Rendition {
  name: string;
  options: SegmenterOptions;
  timeline: Timeline;
  waiters: ReloadWaiters;
  parts: Map<string, Buffer>; // part URI -> bytes
  partWaiters: Map<string, Array<() => void>>; // hinted part URI -> requests held for it
}

export interface LlOrigin {
  port: number;
  /** Requests by path with query ('/hls/360p/index.m3u8?_HLS_msn=3&_HLS_part=1'). */
  hits: Map<string, number>;
  /** When each blocking playlist request (path with query) was answered, epoch ms (the last time, if asked twice). */
  answeredAt: Map<string, number>;
  /** When each part (path) was written, epoch ms. */
  writtenAt: Map<string, number>;
  partsAppended(): number;
  timeline(rendition: string): Timeline;
  close(): Promise<void>;
}

const hlsPath = /^\/hls\/([A-Za-z0-9_-]+)\/([A-Za-z0-9_.-]+)$/;

export async function startLlOrigin(options: LlOriginOptions = {}): Promise<LlOrigin> {
  const names = options.renditions ?? ['360p', 'audio'];
  const targetDuration = options.targetDuration ?? 2;
  const partTarget = options.partTarget ?? 0.5;
  const bytes = options.partBytes ?? 4096;
  const renditions = new Map<string, Rendition>(
    names.map((name) => {
      const segmenter: SegmenterOptions = {
        targetDuration,
        partTarget,
        windowSegments: options.windowSegments ?? 6,
        names: partNames(`s1-${name}`),
        keyframesOnGrid: true,
      };
      const timeline = emptyTimeline('init.mp4');
      const r: Rendition = {
        name,
        options: segmenter,
        timeline,
        waiters: new ReloadWaiters(timeline),
        parts: new Map(),
        partWaiters: new Map(),
      };
      return [name, r];
    }),
  );
  const hits = new Map<string, number>();
  const answeredAt = new Map<string, number>();
  const writtenAt = new Map<string, number>();
  let appended = 0;
  const gop = Math.round(targetDuration / partTarget);
  const append = () => {
    for (const r of renditions.values()) {
      const input = {
        startTime: appended * partTarget,
        duration: partTarget,
        independent: appended % gop === 0,
        byteLength: bytes,
      };
      const result = appendPart(r.timeline, r.options, input, Date.now());
      r.timeline = result.timeline;
      const body = Buffer.alloc(bytes, appended % 251);
      r.parts.set(result.part.uri, body);
      writtenAt.set(`/hls/${r.name}/${result.part.uri}`, Date.now());
      for (const s of result.evicted) for (const p of s.parts) r.parts.delete(p.uri);
      for (const release of r.partWaiters.get(result.part.uri) ?? []) release();
      r.partWaiters.delete(result.part.uri);
      r.waiters.update(r.timeline);
    }
    appended += 1;
  };
  for (let i = 0; i < (options.partsBeforeStart ?? 6); i++) append();
  const timer = setInterval(append, partTarget * 1000);

  const playlist = (r: Rendition, skip: boolean) =>
    renderMediaPlaylist(r.timeline, {
      ...r.options,
      skip,
      renditionReports: siblingPlaylistUris(r.name, names).map((uri) => {
        const sibling = renditions.get(uri.split('/')[1] ?? '');
        return { uri, last: sibling && lastPart(sibling.timeline) };
      }),
    });

  const send = (res: http.ServerResponse, status: number, body: Buffer | string, type = 'text/plain') => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const servePlaylist = async (req: http.IncomingMessage, res: http.ServerResponse, r: Rendition, query: string) => {
    const parsed = parseDirectives(query);
    if (!parsed.ok) return send(res, 400, parsed.reason);
    const d = parsed.directives;
    const decision = decide(d, r.timeline, partTarget);
    if (decision.kind === 'bad-request') return send(res, 400, decision.reason);
    if (decision.kind === 'wait') {
      const gone = new AbortController();
      res.once('close', () => gone.abort());
      const outcome = await r.waiters.wait(d, blockTimeoutMs(targetDuration), gone.signal);
      if (outcome === 'timeout') return send(res, 503, 'the part did not come\n');
      if (outcome === 'closed') return void res.destroy();
    }
    send(res, 200, playlist(r, d.skip), 'application/vnd.apple.mpegurl');
    if (d.msn !== undefined) answeredAt.set(req.url ?? '', Date.now());
  };

  const servePart = (res: http.ServerResponse, r: Rendition, file: string) => {
    const body = r.parts.get(file);
    if (body) return send(res, 200, body, 'video/mp4');
    const next = nextPartPosition(r.timeline);
    if (file !== r.options.names.part(next.msn, next.part)) return send(res, 404, 'no such part\n');
    // The preload hint: held until it is written (or three target durations).
    const timeout = setTimeout(() => send(res, 404, 'the hinted part did not come\n'), blockTimeoutMs(targetDuration));
    const held = r.partWaiters.get(file) ?? [];
    held.push(() => {
      clearTimeout(timeout);
      send(res, 200, r.parts.get(file) ?? Buffer.alloc(0), 'video/mp4');
    });
    r.partWaiters.set(file, held);
  };

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    hits.set(url, (hits.get(url) ?? 0) + 1);
    const [pathname = '/', query = ''] = url.split('?', 2);
    const match = hlsPath.exec(pathname);
    const r = match && renditions.get(match[1] ?? '');
    const file = match?.[2] ?? '';
    if (!r) return send(res, 404, 'not found\n');
    if (file === 'index.m3u8') return void servePlaylist(req, res, r, query);
    if (file === 'init.mp4') return send(res, 200, Buffer.alloc(64, 1), 'video/mp4');
    if (file.endsWith('.m4s')) return servePart(res, r, file);
    send(res, 404, 'not found\n');
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hits,
    answeredAt,
    writtenAt,
    partsAppended: () => appended,
    timeline: (name) => renditions.get(name)!.timeline,
    close: async () => {
      clearInterval(timer);
      for (const r of renditions.values()) r.waiters.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The transcoder's LL-HLS playlist of a timeline (for tests that read playlists as the origin writes them). */
export { renderMediaPlaylist } from '../../transcoder/src/llhls/media-playlist.ts';
export { lastPart, nextPartPosition } from '../../transcoder/src/llhls/part-segmenter.ts';
export { parseDirectives } from '../../transcoder/src/llhls/blocking-reload.ts';

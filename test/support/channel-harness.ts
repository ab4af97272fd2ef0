// A channel on real node-media-server and ffmpeg for the session's media tests: a stream key file in a temporary
// directory, the ingest on a free loopback port, the channel writing HLS there, publishers that are killed at the end,
// and strict readers of what it wrote. One setup for every test of the session, so each file states only what differs.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import HLS from 'hls-parser';
import type { Logger } from '../../contract/src/logger.ts';
import { startIngest, type Ingest, type IngestOptions } from '../../transcoder/src/ingest/ingest-server.ts';
import { openStreamKey, type StreamKey } from '../../transcoder/src/ingest/stream-key.ts';
import { createChannel, type Channel, type ChannelOptions } from '../../transcoder/src/session/channel.ts';
import { startPublisher, type Publisher, type PublisherOptions } from './rtmp-publisher.ts';

export interface ChannelHarness {
  dir: string;
  hlsDir: string;
  key: string;
  ingest: Ingest;
  channel: Channel;
  rtmpUrl(app?: string, name?: string): string;
  /** Publishes into the ingest with the stream key unless `name` says otherwise; killed by close(). */
  publish(options?: Omit<PublisherOptions, 'url'> & { name?: string; app?: string }): Publisher;
  read(file: string): Promise<string>;
  master(): Promise<HLS.types.MasterPlaylist>;
  media(rendition: string): Promise<HLS.types.MediaPlaylist>;
  /** MEDIA-SEQUENCE of the newest segment of a rendition's playlist. */
  lastSequence(rendition: string): Promise<number>;
  close(): Promise<void>;
}

type ChannelSettings = Omit<ChannelOptions, 'ingest' | 'hlsDir' | 'logger' | 'config'>;
type IngestSettings = Omit<IngestOptions, 'port' | 'host' | 'app' | 'streamKey' | 'logger'>;

/** Parses strictly (EXTINF within TARGETDURATION, as players check) and says which kind was expected. */
export function parsePlaylist<M extends boolean>(
  text: string,
  master: M,
): M extends true ? HLS.types.MasterPlaylist : HLS.types.MediaPlaylist {
  HLS.setOptions({ strictMode: true });
  const playlist = HLS.parse(text);
  if (playlist.isMasterPlaylist !== master) throw new Error(`expected a ${master ? 'master' : 'media'} playlist`);
  return playlist as M extends true ? HLS.types.MasterPlaylist : HLS.types.MediaPlaylist;
}

export async function startChannelHarness(options: {
  name: string;
  config: ChannelOptions['config'];
  logger: Logger;
  ingest?: IngestSettings;
  channel?: ChannelSettings;
}): Promise<ChannelHarness> {
  const dir = await mkdtemp(path.join(tmpdir(), `${options.name}-`));
  const hlsDir = path.join(dir, 'hls');
  const key = randomBytes(12).toString('base64url');
  await writeFile(path.join(dir, 'streamKey'), key + '\n', { mode: 0o600 });
  const streamKey: StreamKey = openStreamKey(path.join(dir, 'streamKey'));
  const { config, logger } = options;
  const ingest = await startIngest({
    port: 0,
    host: '127.0.0.1',
    app: () => config().app,
    streamKey,
    logger,
    ...options.ingest,
  });
  const channel = createChannel({ ingest, hlsDir, config, logger, pollMs: 100, ...options.channel });
  const publishers: Publisher[] = [];
  const rtmpUrl = (app = 'live', name = key) => `rtmp://127.0.0.1:${ingest.port}/${app}/${name}`;
  const read = (file: string) => readFile(path.join(hlsDir, file), 'utf8');
  const media = async (rendition: string) => parsePlaylist(await read(`${rendition}/index.m3u8`), false);
  return {
    dir,
    hlsDir,
    key,
    ingest,
    channel,
    rtmpUrl,
    publish: ({ name, app, ...publisher } = {}) => {
      const p = startPublisher({ url: rtmpUrl(app, name), ...publisher });
      publishers.push(p);
      return p;
    },
    read,
    master: async () => parsePlaylist(await read('master.m3u8'), true),
    media,
    lastSequence: async (rendition) => {
      const p = await media(rendition);
      return (p.mediaSequenceBase ?? 0) + p.segments.length - 1;
    },
    close: async () => {
      await Promise.all(publishers.map((p) => p.kill()));
      await channel.shutdown();
      await ingest.close();
      streamKey.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

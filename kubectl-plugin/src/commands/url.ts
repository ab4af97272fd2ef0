// `kubectl livestream url NAME`: where encoders publish and viewers watch, as the operator wrote it in status.
import type { LiveStream } from '../../../contract/src/api/index.ts';
import { nameArg } from '../args.ts';
import { globalFlags, type Command } from '../command.ts';
import { CommandError } from '../kube.ts';
import { getLiveStream } from '../livestream.ts';
import { serialized, table } from '../format.ts';

export interface Endpoint {
  endpoint: string;
  url: string;
}

/** Every address status lists, the gateway's first (with via Both the Service's follow as "... (service)"). */
export function endpointsOf(ls: Pick<LiveStream, 'status'>): Endpoint[] {
  const ingest = ls.status?.ingest;
  const playback = ls.status?.playback;
  const rows: [string, string | undefined][] = [
    ['ingest', ingest?.url],
    ['ingest (service)', ingest?.serviceUrl],
    ['playback', playback?.url],
    ['playback (service)', playback?.serviceUrl],
  ];
  return rows.filter((r): r is [string, string] => !!r[1]).map(([endpoint, url]) => ({ endpoint, url }));
}

export const urlCommand: Command = {
  name: 'url',
  usage: 'kubectl livestream url NAME',
  summary: 'ingest and playback URLs',
  about:
    "The channel's ingest (RTMP) and playback (HLS master playlist) URLs from its status. Encoders publish to the " +
    'ingest URL with the stream key (kubectl livestream key NAME) as the stream name.',
  flags: [...globalFlags],
  async run(ctx) {
    const name = nameArg(ctx.args, 'url');
    const cluster = ctx.cluster();
    const ls = await getLiveStream(cluster, name);
    const endpoints = endpointsOf(ls);
    if (endpoints.length === 0) {
      throw new CommandError(
        `livestream ${cluster.namespace}/${name} has no address in its status yet (state ${ls.status?.state ?? 'none'}): is the operator running?`,
      );
    }
    const doc = {
      namespace: cluster.namespace,
      name,
      via: ls.status?.ingest?.via,
      ingest: ls.status?.ingest?.url,
      ...(ls.status?.ingest?.serviceUrl && { ingestService: ls.status.ingest.serviceUrl }),
      playback: ls.status?.playback?.url,
      ...(ls.status?.playback?.serviceUrl && { playbackService: ls.status.playback.serviceUrl }),
    };
    ctx.out(
      serialized(doc, ctx.output) ??
        table(
          ['ENDPOINT', 'URL'],
          endpoints.map((e) => [e.endpoint, e.url]),
        ),
    );
  },
};

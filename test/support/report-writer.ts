// Reports written into a channel's own Redis stream as a transcoder or relay process would (one seq counter per
// writer), with the contract's encoder: for kube-tier tests and the operator benchmark, which have no transcoder.
// channelConnection connects the way the channel's pods do: with the URL of the "<name>-redis" Secret the operator
// made (the channel's ACL user, which may only XADD to that stream), and the reporter's connection options.
import type { CoreV1Api } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { channelStream, channelStreamPrefix, type Channel } from '../../contract/src/report-streams.ts';
import {
  encodeEvent,
  eventsStreamMaxLen,
  type EventDataByType,
  type EventType,
  type TranscoderEvent,
} from '../../contract/src/reports.ts';
import { waitFor } from './wait-for.ts';

export interface ReportWriter {
  /** The next report of this writer (seq + 1), stamped `ts` (now by default). */
  event<T extends EventType>(type: T, session: string, data: EventDataByType[T], ts?: number): TranscoderEvent<T>;
  /** Writes the next report. */
  report<T extends EventType>(type: T, session: string, data: EventDataByType[T], ts?: number): Promise<void>;
}

/** The URL in the "<name>-redis" Secret, once the operator has made it. */
export async function channelSecretUrl(core: CoreV1Api, namespace: string, name: string, timeoutMs = 15_000) {
  return await waitFor(
    `Secret ${name}-redis`,
    async () => {
      const secret = await core.readNamespacedSecret({ name: `${name}-redis`, namespace });
      const b64 = secret.data?.url;
      return b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined;
    },
    { timeoutMs },
  );
}

/** Connects as the channel's pods do (the reporter's options: no INFO ready check, no CLIENT SETINFO). */
export function connectAs(url: string): Redis {
  const redis = new Redis(url, { enableReadyCheck: false, disableClientInfo: true, lazyConnect: true });
  redis.on('error', () => {}); // a test that means to fail a command sees the rejection
  return redis;
}

/** A connection as `url`'s user, once Redis accepts it (the operator applies a new channel's user just after its Secret). */
export async function connectWhenAccepted(url: string, timeoutMs = 15_000): Promise<Redis> {
  return await waitFor(
    'Redis to accept the channel user',
    async () => {
      const redis = connectAs(url);
      try {
        await redis.connect();
        return redis;
      } catch (err) {
        redis.disconnect();
        throw err;
      }
    },
    { timeoutMs },
  );
}

/** A connection with the channel's own credential, read from the Secret the operator made. */
export async function channelConnection(core: CoreV1Api, namespace: string, name: string): Promise<Redis> {
  return await connectWhenAccepted(await channelSecretUrl(core, namespace, name));
}

/**
 * Reports of `namespace/name`, written over `redis` (a channelConnection, as a pod would) to that channel's stream,
 * or to the stream of `into` (a forgery: reports claiming one channel in another's stream).
 */
export function reportWriter(redis: Redis, namespace: string, name: string, into?: Channel): ReportWriter {
  let seq = 0;
  const stream = channelStream(into ?? { namespace, name });
  const event = <T extends EventType>(type: T, session: string, data: EventDataByType[T], ts = Date.now()) => ({
    type,
    namespace,
    name,
    session,
    seq: ++seq,
    ts,
    data,
  });
  return {
    event,
    report: async (type, session, data, ts) => {
      await redis.xadd(stream, 'MAXLEN', '~', eventsStreamMaxLen, '*', ...encodeEvent(event(type, session, data, ts)));
    },
  };
}

/** A live heartbeat with these figures; `segments` counts what the ladder wrote (grow it to look healthy). */
export function liveHeartbeat(
  segments: number,
  figures: Partial<EventDataByType['heartbeat']> = {},
): EventDataByType['heartbeat'] {
  return {
    state: 'live',
    bitrateKbps: 900,
    fps: 30,
    width: 640,
    height: 360,
    viewers: 0,
    bytesIn: 1000 * segments,
    segments: { '360p': segments },
    ...figures,
  };
}

/** Every entry of every channel stream, in the order Redis took them (for media tests that read what was reported). */
export async function channelEntries(admin: Redis): Promise<Array<[id: string, fields: string[]]>> {
  const streams: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${channelStreamPrefix}*`, 'COUNT', 500);
    streams.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  const entries = (await Promise.all(streams.map((s) => admin.xrange(s, '-', '+')))).flat();
  const order = (id: string) => id.split('-').map(Number) as [number, number];
  return entries.sort(([a], [b]) => {
    const [am, as] = order(a);
    const [bm, bs] = order(b);
    return am - bm || as - bs;
  });
}

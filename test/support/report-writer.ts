// Reports written straight into the Redis stream, as a transcoder or relay process would (one seq counter per
// writer), with the contract's encoder: for kube-tier tests and the operator benchmark, which have no transcoder.
import type { Redis } from 'ioredis';
import {
  encodeEvent,
  eventsStream,
  type EventDataByType,
  type EventType,
  type TranscoderEvent,
} from '../../contract/src/reports.ts';

export interface ReportWriter {
  /** The next report of this writer (seq + 1), stamped `ts` (now by default). */
  event<T extends EventType>(type: T, session: string, data: EventDataByType[T], ts?: number): TranscoderEvent<T>;
  /** Writes the next report. */
  report<T extends EventType>(type: T, session: string, data: EventDataByType[T], ts?: number): Promise<void>;
}

export function reportWriter(redis: Redis, namespace: string, name: string): ReportWriter {
  let seq = 0;
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
      await redis.xadd(eventsStream, '*', ...encodeEvent(event(type, session, data, ts)));
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

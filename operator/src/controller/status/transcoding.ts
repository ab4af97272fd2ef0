// Transcoding: while Live, does the ladder turn the ingest into HLS? An encoder can be connected while ffmpeg cannot
// decode its source (a crash loop) or hangs: viewers then see nothing, and the channel must not claim Live.
import { ConditionReason, ConditionType, type LiveStream } from '../../../../contract/src/api/index.ts';
import { rfc3339 } from '../../../../contract/src/time.ts';
import { always, firstRule, type Cond, type Rule } from './rules.ts';
import { isLive, type StatusInput } from './input.ts';

/** ffmpeg exits in one session, with no segment since the last, that make the ladder failed rather than restarting. */
export const repeatedFfmpegFailures = 3;

/** No new segment for this long means the ladder is stalled: 4 segment lengths, at least 20 s (heartbeats come
 * every 5 s, so growth is seen with that granularity). */
export function stallAfterMs(ls: Pick<LiveStream, 'spec'>): number {
  return Math.max(20_000, 4 * (ls.spec.hls?.segmentSeconds ?? 2) * 1000);
}

/** When the ladder last showed progress: its last new segment, else the start of the session. */
const lastProgressAt = (i: StatusInput): number | undefined =>
  i.health.segmentsGrewAt ?? i.observation?.sessionStartedAt;

const failingFfmpeg = (i: StatusInput) => {
  const f = i.health.ffmpeg;
  return f !== undefined && f.failures >= repeatedFfmpegFailures && f.lastAt >= (i.health.segmentsGrewAt ?? 0)
    ? f
    : undefined;
};

/** What the message adds when passthrough is on and the top rung is encoded all the same (the transcoder's reason). */
export const passthroughNote = (i: StatusInput): string => {
  const refused = i.observation?.passthroughRefused;
  return refused !== undefined && refused !== '' ? `; top rung encoded, not passed through: ${refused}` : '';
};

const stalledSince = (i: StatusInput): number | undefined => {
  const at = lastProgressAt(i);
  return at !== undefined && i.nowMs - at > stallAfterMs(i.ls) ? at : undefined;
};

export const transcodingRules: readonly Rule<StatusInput>[] = [
  {
    status: 'Unknown',
    reason: ConditionReason.NotLive,
    when: (i) => !isLive(i),
    message: () => 'the ladder runs only while Live',
  },
  {
    status: 'False',
    reason: ConditionReason.TranscoderFailed,
    when: (i) => failingFfmpeg(i) !== undefined,
    // No count or time in the message: a crash loop must not rewrite the status on every exit.
    message: (i) => {
      const detail = failingFfmpeg(i)?.message;
      return `ffmpeg keeps exiting in this session and has written no segment since${detail ? `: ${detail}` : ''}`;
    },
  },
  {
    status: 'False',
    reason: ConditionReason.SegmentsStalled,
    when: (i) => stalledSince(i) !== undefined,
    // A time, not an age: the message stays the same while the stall lasts.
    message: (i) => `no new HLS segment since ${rfc3339(stalledSince(i) ?? 0)}`,
  },
  {
    status: 'Unknown',
    reason: ConditionReason.WaitingForSegments,
    when: (i) => i.health.segmentsGrewAt === undefined,
    message: (i) => `the session has just started: no segment written yet${passthroughNote(i)}`,
  },
  {
    status: 'True',
    reason: ConditionReason.SegmentsWritten,
    when: always,
    message: (i) => `the ladder keeps writing HLS segments${passthroughNote(i)}`,
  },
];

export const transcodingCondition = (input: StatusInput): Cond =>
  firstRule(ConditionType.Transcoding, transcodingRules, input);

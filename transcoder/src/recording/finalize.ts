// Finalizes one recorded session in S3: a VOD playlist of every uploaded segment and an MP4 remux.
//
// Everything is derived from the listing of the session's prefix: each segment object carries its media sequence,
// duration and discontinuity flag as user metadata (written by the uploader), so no shared manifest has to be kept
// consistent while the stream runs; a segment without that metadata is probed with ffprobe. Outputs are written
// deterministically (sorted input, bit-exact MP4), so a re-run after a partial failure produces the same objects.
//
// Objects: <session>/<track>/seg_NNNNN.ts (uploaded), <session>/<track>/index.m3u8 (VOD media playlist per track),
// <session>/index.m3u8 (the playlist to play: a master playlist when audio is a separate track, else the media
// playlist of the one track, video or, for an audio-only source, audio), <session>/<session>.mp4. A track is audio
// when the ladder named it so (`audio`, `audio_<kbps>k`): at most one of each kind is recorded per session.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { rfc3339 } from '../../../contract/src/time.ts';
import { runFfmpeg } from '../ffmpeg/ffmpeg-process.ts';
import { writeMasterPlaylist } from '../hls/playlists.ts';
import { captureReceiptFile, s3Uri } from '../../../contract/src/recording-layout.ts';
import { isAudioRendition } from '../ladder/plan-ladder.ts';
import { buildVodPlaylist, orderSegments, totalDuration, type RecordedSegment } from './vod-playlist.ts';

export interface FinalizeOptions {
  client: S3Client;
  bucket: string;
  sessionPrefix: string; // <prefix>/<namespace>/<name>/<session>/
  session: string;
  ffmpegPath?: string;
  ffprobePath?: string;
  workDir?: string; // default: a fresh temporary directory, removed afterwards
  /** Wait this long for the recorder's capture receipt (default 0: finalize what is there now). */
  receiptWaitMs?: number;
  receiptPollMs?: number;
  log?: (message: string) => void;
}

export interface FinalizeResult {
  session: string;
  startedAt: string;
  endedAt: string;
  durationSeconds: number;
  playlistUri: string;
  mp4Uri: string;
  segments: number; // of the video track (of the audio track for an audio-only source)
}

interface ListedSegment extends RecordedSegment {
  key: string;
  track: string;
  bytes: number;
  completedAt?: number;
}

export class FinalizeError extends Error {
  override name = 'FinalizeError';
}

const segmentKey = /^([A-Za-z0-9_-][A-Za-z0-9_.-]*)\/([A-Za-z0-9_.-]+\.ts)$/;

export function sequenceFromFile(file: string): number | undefined {
  const m = /(\d+)\.ts$/.exec(file);
  return m ? Number(m[1]) : undefined;
}

// Master playlist for a video track with a separate audio track (both relative to the session prefix).
export function buildVodMaster(video: { track: string; bandwidth: number }, audioTrack: string | undefined): string {
  const group = 'aud';
  return writeMasterPlaylist({
    version: 3,
    independentSegments: true,
    ...(audioTrack !== undefined && { audio: [{ groupId: group, name: 'audio', uri: `${audioTrack}/index.m3u8` }] }),
    variants: [
      {
        uri: `${video.track}/index.m3u8`,
        bandwidth: video.bandwidth,
        ...(audioTrack !== undefined && { audioGroup: group }),
      },
    ],
  });
}

/** The recorded tracks by kind: at most one video and one audio track, at least one of them. */
export function splitTracks(tracks: readonly string[], where: string): { video?: string; audio?: string } {
  const audio = tracks.filter(isAudioRendition);
  const video = tracks.filter((t) => !isAudioRendition(t));
  if (tracks.length === 0) throw new FinalizeError(`no recorded segments under ${where}`);
  if (video.length > 1) throw new FinalizeError(`more than one video track recorded: ${video.join(', ')}`);
  if (audio.length > 1) throw new FinalizeError(`more than one audio track recorded: ${audio.join(', ')}`);
  return { ...(video[0] !== undefined && { video: video[0] }), ...(audio[0] !== undefined && { audio: audio[0] }) };
}

/**
 * Until the recorder says it sent every segment it captured (its receipt), or the wait is over: the last segments
 * are captured as the session ends, while this Job may already run. Past the wait (a transcoder gone with its spool),
 * what S3 holds is finalized, and the log says so.
 */
async function awaitReceipt(options: FinalizeOptions, log: (message: string) => void): Promise<void> {
  const { client, bucket, sessionPrefix, receiptWaitMs = 0, receiptPollMs = 1_000 } = options;
  if (receiptWaitMs <= 0) return;
  const key = `${sessionPrefix}${captureReceiptFile}`;
  const deadline = Date.now() + receiptWaitMs;
  for (;;) {
    try {
      await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      log('capture receipt found: the recorder sent every segment it captured');
      return;
    } catch (err) {
      if ((err as { name?: string }).name !== 'NotFound') throw err;
    }
    if (Date.now() >= deadline) {
      log(`no capture receipt after ${receiptWaitMs / 1000} s: finalizing the segments uploaded so far`);
      return;
    }
    await sleep(receiptPollMs);
  }
}

async function listSegments(options: FinalizeOptions): Promise<ListedSegment[]> {
  const { client, bucket, sessionPrefix } = options;
  const found: ListedSegment[] = [];
  let token: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const out = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: sessionPrefix, ...(token && { ContinuationToken: token }) }),
    );
    for (const obj of out.Contents ?? []) {
      const rel = obj.Key?.slice(sessionPrefix.length) ?? '';
      const m = segmentKey.exec(rel);
      if (!m) continue;
      const [, track, file] = m as unknown as [string, string, string];
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: obj.Key }));
      const meta = head.Metadata ?? {};
      const sequence = meta.sequence !== undefined ? Number(meta.sequence) : sequenceFromFile(file);
      if (sequence === undefined || !Number.isSafeInteger(sequence)) continue; // not one of ours
      const duration = meta.duration !== undefined ? Number(meta.duration) : Number.NaN;
      const completedAt = meta['completed-at'] !== undefined ? Date.parse(meta['completed-at']) : Number.NaN;
      found.push({
        key: obj.Key!,
        track,
        file,
        sequence,
        duration,
        discontinuity: meta.discontinuity === '1',
        bytes: obj.Size ?? 0,
        ...(Number.isFinite(completedAt) && { completedAt }),
      });
    }
    if (!out.IsTruncated || !out.NextContinuationToken) break;
    token = out.NextContinuationToken;
  }
  return found;
}

async function download(client: S3Client, bucket: string, key: string, file: string): Promise<void> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!(out.Body instanceof Readable)) throw new FinalizeError(`unexpected body type for ${key}`);
  await pipeline(out.Body, createWriteStream(file));
}

async function probeDuration(ffprobe: string, file: string): Promise<number> {
  const args = ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file];
  const stdout = await runFfmpeg({ command: ffprobe, args, timeoutMs: 30_000 });
  const d = Number.parseFloat(stdout.trim());
  if (!Number.isFinite(d) || d <= 0) throw new FinalizeError(`cannot read the duration of ${path.basename(file)}`);
  return d;
}

export function concatList(files: ReadonlyArray<{ path: string; duration: number }>): string {
  // ffconcat: each file's timestamps are shifted to start where the previous one ended, which also joins the
  // timestamp jumps at discontinuities (a reconnect restarts the ladder's clock).
  const quote = (p: string): string => `'${p.replace(/'/g, "'\\''")}'`;
  return [
    'ffconcat version 1.0',
    ...files.flatMap((f) => [`file ${quote(f.path)}`, `duration ${f.duration.toFixed(6)}`]),
    '',
  ].join('\n');
}

export async function finalizeSession(options: FinalizeOptions): Promise<FinalizeResult> {
  const { bucket, sessionPrefix, session } = options;
  const log = options.log ?? (() => {});
  const work = options.workDir ?? (await mkdtemp(path.join(tmpdir(), 'lso-finalize-')));
  try {
    await awaitReceipt(options, log);
    const listed = await listSegments(options);
    const tracks = [...new Set(listed.map((s) => s.track))].sort();
    const kinds = splitTracks(tracks, `s3://${bucket}/${sessionPrefix}`);
    log(`${listed.length} segments listed (tracks: ${tracks.join(', ')})`);
    const byTrack = await fetchPlayable(options, listed, tracks, work, log, kinds);
    const audio = kinds.audio !== undefined && byTrack.has(kinds.audio) ? kinds.audio : undefined;
    const main = kinds.video ?? audio!;
    await writePlaylists(options, byTrack, main, kinds.video !== undefined ? audio : undefined);
    log('VOD playlist written');
    const inputs = [
      ...(kinds.video !== undefined ? [{ track: kinds.video, kind: 'video' as const }] : []),
      ...(audio !== undefined ? [{ track: audio, kind: 'audio' as const }] : []),
    ];
    const mp4Key = await writeMp4(
      options,
      inputs.map((t) => ({ ...t, segments: byTrack.get(t.track)! })),
      work,
    );
    log(`MP4 written (${(await stat(path.join(work, `${session}.mp4`))).size} bytes)`);
    const segments = byTrack.get(main)!;
    const { startedAt, endedAt } = sessionTimes(segments);
    return {
      session,
      startedAt: rfc3339(startedAt),
      endedAt: rfc3339(endedAt),
      durationSeconds: totalDuration(segments),
      playlistUri: s3Uri(bucket, `${sessionPrefix}index.m3u8`),
      mp4Uri: s3Uri(bucket, mp4Key),
      segments: segments.length,
    };
  } finally {
    if (options.workDir === undefined) await rm(work, { recursive: true, force: true });
  }
}

// Every segment is needed locally for the MP4 anyway: download each, then probe those without metadata. A segment
// cut off by the end of a very short session can hold no media at all (seen on a real node: an empty first audio
// segment): it is left out rather than losing the whole recording over it.
async function fetchPlayable(
  options: FinalizeOptions,
  listed: readonly ListedSegment[],
  tracks: readonly string[],
  work: string,
  log: (message: string) => void,
  kinds: { video?: string; audio?: string },
): Promise<Map<string, ListedSegment[]>> {
  const byTrack = new Map<string, ListedSegment[]>();
  for (const track of tracks) {
    const segs = orderSegments(listed.filter((s) => s.track === track)) as ListedSegment[];
    await mkdir(path.join(work, track), { recursive: true });
    const playable: ListedSegment[] = [];
    for (const s of segs) {
      const local = path.join(work, track, s.file);
      await download(options.client, options.bucket, s.key, local);
      if (!Number.isFinite(s.duration) || s.duration <= 0) {
        const probed = await probeDuration(options.ffprobePath ?? 'ffprobe', local).catch(
          (err: unknown) => err as Error,
        );
        if (probed instanceof Error) {
          log(`segment ${track}/${s.file} left out: ${probed.message.trim().split('\n').at(-1) ?? ''}`);
          continue;
        }
        s.duration = probed;
      }
      playable.push(s);
    }
    if (playable.length > 0) byTrack.set(track, playable);
    else if (track === kinds.audio && kinds.video !== undefined)
      log('no playable audio segment: the VOD and MP4 are video only');
    else throw new FinalizeError(`no playable segment in track ${track}`);
  }
  return byTrack;
}

// <session>/index.m3u8: a master over per-track media playlists when audio is a track of its own next to the video,
// else the media playlist of the main (only) track.
async function writePlaylists(
  options: FinalizeOptions,
  byTrack: ReadonlyMap<string, ListedSegment[]>,
  mainTrack: string,
  audioTrack: string | undefined,
): Promise<void> {
  const put = (key: string, body: string): Promise<unknown> =>
    options.client.send(
      new PutObjectCommand({
        Bucket: options.bucket,
        Key: options.sessionPrefix + key,
        Body: body,
        ContentType: 'application/vnd.apple.mpegurl',
      }),
    );
  const main = byTrack.get(mainTrack)!;
  if (audioTrack === undefined) {
    await put('index.m3u8', buildVodPlaylist(main.map((s) => ({ ...s, file: `${mainTrack}/${s.file}` }))));
    return;
  }
  for (const [track, segs] of byTrack) await put(`${track}/index.m3u8`, buildVodPlaylist(segs));
  const bytes = [...byTrack.values()].flat().reduce((sum, s) => sum + s.bytes, 0);
  const bandwidth = (bytes * 8) / Math.max(1, totalDuration(main));
  await put('index.m3u8', buildVodMaster({ track: mainTrack, bandwidth }, audioTrack));
}

// The MP4 by stream copy, moov in front so it plays while downloading, bit-exact so re-runs give identical bytes.
// Inputs: video first, then audio when it is a track of its own; audio alone for an audio-only source.
type TrackKind = 'video' | 'audio';

async function writeMp4(
  options: FinalizeOptions,
  inputs: ReadonlyArray<{ track: string; kind: TrackKind; segments: readonly ListedSegment[] }>,
  work: string,
): Promise<string> {
  const lists: Array<{ list: string; kind: TrackKind }> = [];
  for (const { track, kind, segments } of inputs) {
    const listFile = path.join(work, `${track}.ffconcat`);
    await writeFile(
      listFile,
      concatList(segments.map((s) => ({ path: path.join(work, track, s.file), duration: s.duration }))),
    );
    lists.push({ list: listFile, kind });
  }
  const mp4 = path.join(work, `${options.session}.mp4`);
  await runFfmpeg({ command: options.ffmpegPath ?? 'ffmpeg', args: mp4Args(lists, mp4), timeoutMs: 30 * 60_000 });
  const mp4Key = `${options.sessionPrefix}${options.session}.mp4`;
  await new Upload({
    client: options.client,
    params: {
      Bucket: options.bucket,
      Key: mp4Key,
      Body: createReadStream(mp4),
      ContentType: lists.some((l) => l.kind === 'video') ? 'video/mp4' : 'audio/mp4',
    },
    partSize: 16 * 1024 * 1024,
    queueSize: 2,
  }).done();
  return mp4Key;
}

export function mp4Args(inputs: ReadonlyArray<{ list: string; kind: TrackKind }>, output: string): string[] {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];
  for (const l of inputs) args.push('-f', 'concat', '-safe', '0', '-i', l.list);
  inputs.forEach((l, i) => args.push('-map', `${i}:${l.kind === 'video' ? 'v' : 'a'}:0`));
  // A video track alone may carry its own audio (a ladder that muxes it): keep it if there is one.
  if (inputs.length === 1 && inputs[0]!.kind === 'video') args.push('-map', '0:a?');
  args.push('-c', 'copy', '-map_metadata', '-1');
  args.push('-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact');
  args.push('-movflags', '+faststart', output);
  return args;
}

// When the session's video started and ended, from the upload times the segments carry (or their durations).
function sessionTimes(video: readonly ListedSegment[]): { startedAt: number; endedAt: number } {
  const starts = video.map((s) => (s.completedAt ?? Number.NaN) - s.duration * 1000).filter(Number.isFinite);
  const ends = video.map((s) => s.completedAt ?? Number.NaN).filter(Number.isFinite);
  const endedAt = ends.length > 0 ? Math.max(...ends) : Date.now();
  const startedAt = starts.length > 0 ? Math.min(...starts) : endedAt - totalDuration(video) * 1000;
  return { startedAt, endedAt };
}

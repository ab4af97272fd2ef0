// Splits the fragmented MP4 that ffmpeg writes to a pipe into its init segment (ftyp+moov, the EXT-X-MAP) and its
// fragments (moof+mdat, each one LL-HLS part), as the bytes arrive: a box may be split across any number of chunks,
// and a fragment is handed out only once its mdat is complete. Boxes between fragments (styp, sidx, prft, emsg)
// travel with the fragment that follows them; a trailing mfra is dropped.
import { isSyncSample, maxBoxSize, readBoxHeader, readFragment, readMovie, type TrackInfo } from './iso-boxes.ts';

export interface InitSegment {
  kind: 'init';
  bytes: Uint8Array; // ftyp + moov (and whatever top-level boxes came before moov)
  tracks: TrackInfo[];
}

export interface Fragment {
  kind: 'fragment';
  bytes: Uint8Array; // [styp/prft...] moof mdat, as written
  trackId: number; // the track its timing is read from: the first video track, else the first track
  startTime: number; // seconds of media time (tfdt / timescale)
  duration: number; // seconds (sample durations / timescale)
  keyframe: boolean; // its first sample is a sync sample: a player can start decoding here
  sampleCount: number;
}

export type ReaderOutput = InitSegment | Fragment;

export class Fmp4FragmentReader {
  private readonly queue = new ByteQueue();
  private init: InitSegment | undefined;
  private pending: Uint8Array[] = []; // boxes of the init or fragment being collected
  private moof: Uint8Array | undefined; // the payload of the fragment's moof, once seen

  /** The init segment and fragments completed by this chunk, in stream order. */
  push(chunk: Uint8Array): ReaderOutput[] {
    this.queue.push(chunk);
    const out: ReaderOutput[] = [];
    for (;;) {
      const header = readBoxHeader(this.queue.peek(16));
      if (header === undefined || this.queue.length < header.size) break;
      const box = this.queue.take(header.size);
      const done = this.onBox(header.type, box, header.headerSize);
      if (done !== undefined) out.push(done);
    }
    return out;
  }

  /** At the end of the stream: throws when it stopped inside a box or a fragment (ffmpeg killed mid-write). */
  end(): void {
    if (this.queue.length > 0 || this.moof !== undefined) {
      throw new Error(`fMP4 stream ended inside a ${this.moof !== undefined ? 'fragment' : 'box'}`);
    }
  }

  private onBox(type: string, box: Uint8Array, headerSize: number): ReaderOutput | undefined {
    if (this.init === undefined) {
      if (type === 'moof' || type === 'mdat') throw new Error(`fMP4 stream has a ${type} before its moov`);
      this.pending.push(box);
      if (type !== 'moov') return undefined;
      this.init = { kind: 'init', bytes: concat(this.pending), tracks: readMovie(box.subarray(headerSize)) };
      this.pending = [];
      return this.init;
    }
    if (type === 'mfra') return undefined; // the random-access index of a finished file: no use live
    this.pending.push(box);
    if (type === 'moof') {
      if (this.moof !== undefined) throw new Error('fMP4 moof without its mdat');
      this.moof = box.subarray(headerSize);
    }
    if (type !== 'mdat' || this.moof === undefined) return undefined;
    const fragment = describeFragment(this.moof, this.init.tracks, concat(this.pending));
    this.pending = [];
    this.moof = undefined;
    return fragment;
  }
}

function describeFragment(moof: Uint8Array, tracks: readonly TrackInfo[], bytes: Uint8Array): Fragment {
  const runs = readFragment(moof, tracks);
  const timing = tracks.find((t) => t.handler === 'vide') ?? tracks[0];
  const run = runs.find((r) => r.trackId === timing?.trackId) ?? runs[0];
  const track = tracks.find((t) => t.trackId === run?.trackId);
  if (run === undefined || track === undefined) throw new Error('fMP4 fragment has no track fragment');
  return {
    kind: 'fragment',
    bytes,
    trackId: run.trackId,
    startTime: run.baseMediaDecodeTime / track.timescale,
    duration: run.duration / track.timescale,
    keyframe: isSyncSample(run.firstSampleFlags),
    sampleCount: run.sampleCount,
  };
}

/** Every init segment and fragment of a byte stream (ffmpeg's stdout or a pipe), as each completes. */
export async function* readFragments(stream: AsyncIterable<Uint8Array>): AsyncGenerator<ReaderOutput> {
  const reader = new Fmp4FragmentReader();
  for await (const chunk of stream) yield* reader.push(chunk);
  reader.end();
}

// Chunks in arrival order, read from the front without copying more than the box being taken.
class ByteQueue {
  private chunks: Uint8Array[] = [];
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length > 2 * maxBoxSize) throw new Error('fMP4 reader buffered too much without a complete box');
  }

  peek(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= Math.min(n, this.length)) return first.subarray(0, n);
    const head: Uint8Array[] = [];
    for (let i = 0, got = 0; i < this.chunks.length && got < n; i++) {
      head.push(this.chunks[i]!);
      got += this.chunks[i]!.length;
    }
    return concat(head).subarray(0, n);
  }

  take(n: number): Uint8Array {
    const parts: Uint8Array[] = [];
    let left = n;
    while (left > 0) {
      const first = this.chunks[0];
      if (first === undefined) throw new Error('ByteQueue.take past its end');
      if (first.length <= left) {
        parts.push(first);
        this.chunks.shift();
        left -= first.length;
      } else {
        parts.push(first.subarray(0, left));
        this.chunks[0] = first.subarray(left);
        left = 0;
      }
    }
    this.length -= n;
    return parts.length === 1 ? parts[0]! : concat(parts);
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

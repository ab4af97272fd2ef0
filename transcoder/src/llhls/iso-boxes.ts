// The few ISO BMFF (MP4) boxes the LL-HLS packager reads (ISO/IEC 14496-12), pure: box headers, the movie's tracks
// (timescale, handler, the trex defaults of fragmented files) and each fragment's runs (tfhd, tfdt, trun). Only what
// is needed to know a fragment's start, duration and whether it begins with a sync sample; the bytes themselves are
// passed on untouched, so nothing here rewrites a box. No npm package in the tree splits a live byte stream into
// boxes (mediabunny, a dependency of werift, demuxes whole files into samples), hence this small reader.

export interface BoxHeader {
  type: string;
  size: number; // the whole box, header included
  headerSize: number; // 8, or 16 with a 64-bit size
}

// Bigger than any box a live rendition writes (a 0.5 s mdat at 50 Mbit/s is ~3 MB): a bound against a corrupt size.
export const maxBoxSize = 64 * 1024 * 1024;

/** The header of the box at `offset`, or undefined when fewer than its header's bytes are there yet. */
export function readBoxHeader(bytes: Uint8Array, offset = 0): BoxHeader | undefined {
  if (bytes.length - offset < 8) return undefined;
  const view = viewOf(bytes);
  const size32 = view.getUint32(offset);
  const type = fourCc(bytes, offset + 4);
  if (size32 === 1) {
    if (bytes.length - offset < 16) return undefined;
    return checked({ type, size: Number(view.getBigUint64(offset + 8)), headerSize: 16 });
  }
  // size 0 ("to the end of the file") cannot be split from a stream that has no end yet.
  if (size32 === 0) throw new Error(`MP4 box ${JSON.stringify(type)} has size 0 (to end of file): not streamable`);
  return checked({ type, size: size32, headerSize: 8 });
}

function checked(header: BoxHeader): BoxHeader {
  if (header.size < header.headerSize)
    throw new Error(`MP4 box ${JSON.stringify(header.type)} is ${header.size} bytes`);
  if (header.size > maxBoxSize) throw new Error(`MP4 box ${JSON.stringify(header.type)} is ${header.size} bytes`);
  return header;
}

interface Box {
  type: string;
  body: Uint8Array; // the payload after the header
}

/** The boxes laid end to end in `bytes` (a container's payload). */
export function childBoxes(bytes: Uint8Array): Box[] {
  const out: Box[] = [];
  let at = 0;
  while (at < bytes.length) {
    const header = readBoxHeader(bytes, at);
    if (header === undefined || at + header.size > bytes.length) throw new Error('truncated MP4 box');
    out.push({ type: header.type, body: bytes.subarray(at + header.headerSize, at + header.size) });
    at += header.size;
  }
  return out;
}

const child = (bytes: Uint8Array, type: string): Uint8Array | undefined =>
  childBoxes(bytes).find((b) => b.type === type)?.body;
const children = (bytes: Uint8Array, type: string): Uint8Array[] =>
  childBoxes(bytes)
    .filter((b) => b.type === type)
    .map((b) => b.body);

export interface TrackInfo {
  trackId: number;
  timescale: number; // ticks per second of the track's media time
  handler: string; // 'vide', 'soun', ...
  // The trex defaults: what a fragment's tfhd/trun do not say.
  defaultSampleDuration: number;
  defaultSampleFlags: number;
}

/** The tracks of a moov box (its payload). */
export function readMovie(moov: Uint8Array): TrackInfo[] {
  const trex = new Map(
    children(child(moov, 'mvex') ?? new Uint8Array(), 'trex').map((body) => {
      const v = viewOf(body);
      // version+flags(4) track_ID(4) default_sample_description_index(4) duration(4) size(4) flags(4)
      return [v.getUint32(4), { duration: v.getUint32(12), flags: v.getUint32(20) }] as const;
    }),
  );
  return children(moov, 'trak').map((trak) => {
    const tkhd = required(child(trak, 'tkhd'), 'tkhd');
    const trackId = viewOf(tkhd).getUint32(tkhd[0] === 1 ? 20 : 12); // after creation/modification times
    const mdia = required(child(trak, 'mdia'), 'mdia');
    const mdhd = required(child(mdia, 'mdhd'), 'mdhd');
    const timescale = viewOf(mdhd).getUint32(mdhd[0] === 1 ? 20 : 12);
    const hdlr = required(child(mdia, 'hdlr'), 'hdlr');
    const defaults = trex.get(trackId);
    if (timescale === 0) throw new Error(`track ${trackId} has timescale 0`);
    return {
      trackId,
      timescale,
      handler: fourCc(hdlr, 8), // version+flags(4) pre_defined(4) handler_type(4)
      defaultSampleDuration: defaults?.duration ?? 0,
      defaultSampleFlags: defaults?.flags ?? 0,
    };
  });
}

export interface TrackRun {
  trackId: number;
  baseMediaDecodeTime: number; // ticks (tfdt)
  duration: number; // ticks, the sum of the fragment's sample durations
  sampleCount: number;
  firstSampleFlags: number; // ISO sample flags of its first sample
}

/** One traf per track of a moof box (its payload), with durations and flags resolved through the trex defaults. */
export function readFragment(moof: Uint8Array, tracks: readonly TrackInfo[]): TrackRun[] {
  return children(moof, 'traf').map((traf) => {
    const tfhd = readTfhd(required(child(traf, 'tfhd'), 'tfhd'));
    const track = tracks.find((t) => t.trackId === tfhd.trackId);
    if (track === undefined) throw new Error(`fragment for track ${tfhd.trackId}, which the moov does not declare`);
    const tfdt = required(child(traf, 'tfdt'), 'tfdt');
    const tv = viewOf(tfdt);
    const base = tfdt[0] === 1 ? Number(tv.getBigUint64(4)) : tv.getUint32(4);
    const defaults = {
      duration: tfhd.defaultSampleDuration ?? track.defaultSampleDuration,
      flags: tfhd.defaultSampleFlags ?? track.defaultSampleFlags,
    };
    const runs = children(traf, 'trun').map((trun) => readTrun(trun, defaults));
    const first = runs.find((r) => r.sampleCount > 0);
    return {
      trackId: tfhd.trackId,
      baseMediaDecodeTime: base,
      duration: runs.reduce((sum, r) => sum + r.duration, 0),
      sampleCount: runs.reduce((sum, r) => sum + r.sampleCount, 0),
      firstSampleFlags: first?.firstSampleFlags ?? defaults.flags,
    };
  });
}

interface Tfhd {
  trackId: number;
  defaultSampleDuration?: number;
  defaultSampleFlags?: number;
}

function readTfhd(body: Uint8Array): Tfhd {
  const v = viewOf(body);
  const flags = v.getUint32(0) & 0xffffff;
  let at = 8; // version+flags, track_ID
  if (flags & 0x01) at += 8; // base-data-offset
  if (flags & 0x02) at += 4; // sample-description-index
  const out: Tfhd = { trackId: v.getUint32(4) };
  if (flags & 0x08) {
    out.defaultSampleDuration = v.getUint32(at);
    at += 4;
  }
  if (flags & 0x10) at += 4; // default-sample-size
  if (flags & 0x20) out.defaultSampleFlags = v.getUint32(at);
  return out;
}

interface Trun {
  sampleCount: number;
  duration: number;
  firstSampleFlags: number;
}

function readTrun(body: Uint8Array, defaults: { duration: number; flags: number }): Trun {
  const v = viewOf(body);
  const flags = v.getUint32(0) & 0xffffff;
  const sampleCount = v.getUint32(4);
  let at = 8;
  if (flags & 0x01) at += 4; // data-offset
  let firstFlags: number | undefined;
  if (flags & 0x04) {
    firstFlags = v.getUint32(at);
    at += 4;
  }
  const hasDuration = (flags & 0x100) !== 0;
  const hasSize = (flags & 0x200) !== 0;
  const hasFlags = (flags & 0x400) !== 0;
  const hasCto = (flags & 0x800) !== 0;
  const stride = 4 * (Number(hasDuration) + Number(hasSize) + Number(hasFlags) + Number(hasCto));
  if (body.length < at + stride * sampleCount) throw new Error('truncated trun box');
  let duration = 0;
  for (let i = 0; i < sampleCount; i++) {
    const sample = at + i * stride;
    duration += hasDuration ? v.getUint32(sample) : defaults.duration;
    if (i === 0 && firstFlags === undefined && hasFlags)
      firstFlags = v.getUint32(sample + 4 * (+hasDuration + +hasSize));
  }
  return { sampleCount, duration, firstSampleFlags: firstFlags ?? defaults.flags };
}

/** sample_is_non_sync_sample clear: a sync sample (a keyframe; every audio sample). */
export function isSyncSample(sampleFlags: number): boolean {
  return (sampleFlags & 0x00010000) === 0;
}

function required(body: Uint8Array | undefined, type: string): Uint8Array {
  if (body === undefined) throw new Error(`MP4 ${type} box missing`);
  return body;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function fourCc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0);
}

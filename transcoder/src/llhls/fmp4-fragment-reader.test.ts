import { describe, expect, it } from 'vitest';
import { Fmp4FragmentReader, type Fragment, type ReaderOutput } from './fmp4-fragment-reader.ts';

// A minimal fragmented MP4, box by box (ISO/IEC 14496-12 layouts), to feed the reader in any chunking.
const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u64 = (n: number): number[] => [...u32(Math.floor(n / 2 ** 32)), ...u32(n >>> 0)];
const fourCc = (t: string): number[] => [...t].map((c) => c.charCodeAt(0));
const box = (type: string, ...body: number[][]): number[] => {
  const payload = body.flat();
  return [...u32(8 + payload.length), ...fourCc(type), ...payload];
};
const full = (version: number, flags: number): number[] => [
  version,
  (flags >>> 16) & 255,
  (flags >>> 8) & 255,
  flags & 255,
];

const nonSync = 0x00010000;
const syncFlags = 0x02000000; // depends on no other sample

function trak(trackId: number, timescale: number, handler: string): number[] {
  const tkhd = box('tkhd', full(0, 3), u32(0), u32(0), u32(trackId), u32(0), u32(0), new Array<number>(60).fill(0));
  const mdhd = box('mdhd', full(0, 0), u32(0), u32(0), u32(timescale), u32(0), [0, 0, 0, 0]);
  const hdlr = box('hdlr', full(0, 0), u32(0), fourCc(handler), u32(0), u32(0), u32(0), [0]);
  return box('trak', tkhd, box('mdia', mdhd, hdlr));
}

function init(tracks: { id: number; timescale: number; handler: string; duration: number; flags: number }[]) {
  const trex = tracks.map((t) => box('trex', full(0, 0), u32(t.id), u32(1), u32(t.duration), u32(0), u32(t.flags)));
  return [
    ...box('ftyp', fourCc('iso6'), u32(0)),
    ...box('moov', ...tracks.map((t) => trak(t.id, t.timescale, t.handler)), box('mvex', ...trex)),
  ];
}

interface Traf {
  id: number;
  base: number;
  durations?: number[]; // per-sample durations in trun; else defaultDuration in tfhd, else trex's
  count?: number;
  defaultDuration?: number;
  firstFlags?: number; // trun first-sample-flags
  sampleFlags?: number[]; // per-sample flags
  defaultFlags?: number; // tfhd default-sample-flags
  tfdtV1?: boolean;
}

function fragment(seq: number, trafs: Traf[], mdatBytes = 10): number[] {
  const trafBoxes = trafs.map((t) => {
    const tfhdFlags = 0x020000 | (t.defaultDuration !== undefined ? 0x08 : 0) | (t.defaultFlags !== undefined ? 0x20 : 0);
    const tfhd = box('tfhd', full(0, tfhdFlags), u32(t.id), t.defaultDuration !== undefined ? u32(t.defaultDuration) : [], t.defaultFlags !== undefined ? u32(t.defaultFlags) : []);
    const tfdt = t.tfdtV1 ? box('tfdt', full(1, 0), u64(t.base)) : box('tfdt', full(0, 0), u32(t.base));
    const count = t.durations?.length ?? t.sampleFlags?.length ?? t.count ?? 1;
    const trunFlags = 0x01 | (t.firstFlags !== undefined ? 0x04 : 0) | (t.durations ? 0x100 : 0) | (t.sampleFlags ? 0x400 : 0);
    const samples = Array.from({ length: count }, (_, i) => [
      ...(t.durations ? u32(t.durations[i]!) : []),
      ...(t.sampleFlags ? u32(t.sampleFlags[i]!) : []),
    ]);
    const trun = box('trun', full(0, trunFlags), u32(count), u32(0), t.firstFlags !== undefined ? u32(t.firstFlags) : [], ...samples);
    return box('traf', tfhd, tfdt, trun);
  });
  return [...box('moof', box('mfhd', full(0, 0), u32(seq)), ...trafBoxes), ...box('mdat', new Array<number>(mdatBytes).fill(7))];
} // prettier-ignore

const video = { id: 1, timescale: 15360, handler: 'vide', duration: 512, flags: nonSync };

function readAll(bytes: number[], chunkSize: number): ReaderOutput[] {
  const reader = new Fmp4FragmentReader();
  const out: ReaderOutput[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) {
    out.push(...reader.push(Uint8Array.from(bytes.slice(at, at + chunkSize))));
  }
  reader.end();
  return out;
}

const fragments = (out: ReaderOutput[]): Fragment[] => out.filter((o): o is Fragment => o.kind === 'fragment');

describe('Fmp4FragmentReader', () => {
  const stream = [
    ...init([video]),
    ...fragment(1, [{ id: 1, base: 0, durations: [512, 512, 512], firstFlags: syncFlags }]),
    ...fragment(2, [{ id: 1, base: 1536, count: 2 }]), // trex defaults: 512 ticks, non-sync
    ...fragment(3, [{ id: 1, base: 2560, count: 4, defaultDuration: 256, defaultFlags: syncFlags, tfdtV1: true }]),
  ];

  it.each([1, 3, 7, 64, 100_000])('splits init and fragments the same in chunks of %i bytes', (size) => {
    const out = readAll(stream, size);
    expect(out.map((o) => o.kind)).toEqual(['init', 'fragment', 'fragment', 'fragment']);
    const first = out[0]!;
    expect(first.kind === 'init' && first.tracks).toEqual([
      { trackId: 1, timescale: 15360, handler: 'vide', defaultSampleDuration: 512, defaultSampleFlags: nonSync },
    ]);
    expect(fragments(out).map((f) => [f.startTime, f.duration, f.keyframe, f.sampleCount])).toEqual([
      [0, 1536 / 15360, true, 3],
      [1536 / 15360, 1024 / 15360, false, 2],
      [2560 / 15360, 1024 / 15360, true, 4],
    ]);
    // Init and fragments are the stream's bytes, back to back, untouched.
    const joined = out.flatMap((o) => [...o.bytes]);
    expect(joined).toEqual(stream);
  });

  it('reads the first sample flags from the per-sample flags when there are no first-sample flags', () => {
    const bytes = [...init([video]), ...fragment(1, [{ id: 1, base: 0, sampleFlags: [syncFlags, nonSync] }])];
    expect(fragments(readAll(bytes, 5))[0]).toMatchObject({ keyframe: true, duration: 1024 / 15360 });
  });

  it('times a fragment of several tracks by its video track', () => {
    const audio = { id: 2, timescale: 48000, handler: 'soun', duration: 1024, flags: 0 };
    const bytes = [
      ...init([audio, video]),
      ...fragment(1, [
        { id: 2, base: 48000, count: 10 },
        { id: 1, base: 15360, count: 15, firstFlags: syncFlags },
      ]),
    ];
    expect(fragments(readAll(bytes, 11))[0]).toMatchObject({ trackId: 1, startTime: 1, duration: 0.5, keyframe: true });
  });

  it('keeps boxes between fragments with the next fragment and drops a trailing mfra', () => {
    const styp = box('styp', fourCc('msdh'), u32(0));
    const bytes = [...init([video]), ...styp, ...fragment(1, [{ id: 1, base: 0 }]), ...box('mfra', u32(0))];
    const [, f] = readAll(bytes, 9);
    expect(f?.bytes.length).toBe(styp.length + fragment(1, [{ id: 1, base: 0 }]).length);
  });

  it('refuses a fragment before the moov, a size-0 box, and a stream that stops inside a fragment', () => {
    expect(() => readAll(fragment(1, [{ id: 1, base: 0 }]), 100)).toThrow(/moof before its moov/);
    expect(() => readAll([...u32(0), ...fourCc('mdat'), 0, 0], 100)).toThrow(/size 0/);
    const cut = [...init([video]), ...fragment(1, [{ id: 1, base: 0 }])];
    expect(() => readAll(cut.slice(0, cut.length - 3), 100)).toThrow(/ended inside a fragment/);
    expect(() => readAll([...init([video]), ...fragment(1, [{ id: 9, base: 0 }])], 100)).toThrow(/track 9/);
  });
});

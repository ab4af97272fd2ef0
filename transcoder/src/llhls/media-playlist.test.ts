// The LL-HLS media playlist, parsed by hls-parser in strict mode and checked against the rules players enforce.
import HLS from 'hls-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { feedParts, llOptions } from '../../../test/support/llhls-timeline.ts';
import { validateSpec } from '../../../contract/src/api/validate.ts';
import { resolveSpec } from '../config/livestream-spec.ts';
import { buildMasterPlaylist } from '../ladder/master-playlist.ts';
import { planLadder } from '../ladder/plan-ladder.ts';
import {
  renderMediaPlaylist,
  siblingPlaylistUris,
  skippedSegments,
  type MediaPlaylistOptions,
} from './media-playlist.ts';
import { emptyTimeline, lastPart, type Timeline } from './part-segmenter.ts';

afterEach(() => HLS.setOptions({ strictMode: false }));

function strictly(text: string): HLS.types.MediaPlaylist {
  HLS.setOptions({ strictMode: true });
  const playlist = HLS.parse(text);
  HLS.setOptions({ strictMode: false });
  if (playlist.isMasterPlaylist) throw new Error('expected a media playlist');
  return playlist;
}

const wide = { ...llOptions, windowSegments: 10 };
const render = (tl: Timeline, extra: Partial<MediaPlaylistOptions> = {}) =>
  renderMediaPlaylist(tl, { ...wide, ...extra });

// The rules of RFC 8216bis and Apple's players, on a parsed playlist.
function checkRules(p: HLS.types.MediaPlaylist): void {
  const partTarget = p.partTargetDuration!;
  const ll = p.lowLatencyCompatibility!;
  expect(ll.canBlockReload).toBe(true);
  expect(ll.partHoldBack).toBeGreaterThanOrEqual(3 * partTarget);
  expect(ll.canSkipUntil).toBeGreaterThanOrEqual(6 * p.targetDuration);
  for (const s of p.segments) {
    for (const part of s.parts) if (!part.hint) expect(part.duration).toBeLessThanOrEqual(partTarget);
    if (s.uri) expect(Math.round(s.duration)).toBeLessThanOrEqual(p.targetDuration);
    // A segment's parts add up to it.
    if (s.uri && s.parts.length > 0)
      expect(s.parts.reduce((n, x) => n + (x.duration ?? 0), 0)).toBeCloseTo(s.duration, 5);
  }
}

describe('renderMediaPlaylist', () => {
  it('writes every LL-HLS tag, parseable in strict mode at each part of 12 s', () => {
    for (let n = 1; n <= 24; n++) {
      const text = render(feedParts(n, { options: wide }));
      expect(text.split('\n')[1]).toBe('#EXT-X-VERSION:9');
      expect(text).toContain(
        '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12,HOLD-BACK=6,PART-HOLD-BACK=1.5',
      );
      expect(text).toContain('#EXT-X-PART-INF:PART-TARGET=0.5');
      checkRules(strictly(text));
    }
  });

  it('lists parts for the open segment and the last two, with INDEPENDENT on keyframe parts', () => {
    const p = strictly(render(feedParts(21, { options: wide }))); // 5 segments complete, part 0 of segment 5
    expect(p.segments.map((s) => [s.mediaSequenceNumber, s.parts.length])).toEqual([
      [0, 0], [1, 0], [2, 0], [3, 4], [4, 4], [5, 2],
    ]); // prettier-ignore
    expect(p.segments[3]!.parts.map((x) => x.independent === true)).toEqual([true, false, false, false]);
    expect(p.segments.at(-1)!.parts.map((x) => [x.uri, x.hint])).toEqual([
      ['s1_00005.0.m4s', false],
      ['s1_00005.1.m4s', true],
    ]);
    expect(p.segments[0]!.map?.uri).toBe('init.mp4');
    expect(p.segments.slice(0, -1).map((s) => s.programDateTime?.getTime())).toEqual(
      [0, 1, 2, 3, 4].map((i) => 1_000_000 + i * 2000),
    );
  });

  it('hints part 0 of the next segment once the open one reached its grid line', () => {
    const onGrid = { ...wide, keyframesOnGrid: true };
    const text = render(feedParts(8, { options: onGrid }));
    expect(text).toContain('#EXTINF:2,\ns1_00001.m4s'); // closed at its line, not when part 0 of 2 arrives
    expect(text.trimEnd().split('\n').at(-1)).toBe('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="s1_00002.0.m4s"');
    expect(strictly(text).segments.at(-1)!.mediaSequenceNumber).toBe(2);
  });

  it('starts an empty playlist with only the hint', () => {
    const p = strictly(render(emptyTimeline('init.mp4', 3)));
    expect(p.segments.map((s) => s.parts.map((x) => x.uri))).toEqual([['s1_00003.0.m4s']]);
  });

  it('writes a delta update: the segments beyond CAN-SKIP-UNTIL become EXT-X-SKIP', () => {
    const tl = feedParts(41, { options: wide }); // segments 0..9 complete (20 s), part 0 of 10
    expect(skippedSegments(tl, wide)).toBe(3); // 0..2 end 14 s or more before the end; 3 ends exactly 12 s before
    const full = strictly(render(tl));
    const delta = strictly(render(tl, { skip: true }));
    expect(delta.skip).toBe(3);
    checkRules(delta);
    expect(delta.mediaSequenceBase).toBe(full.mediaSequenceBase);
    // The segments after the skip are those of the full playlist, at the same sequence numbers.
    expect(delta.segments.map((s) => [s.mediaSequenceNumber, s.uri])).toEqual(
      full.segments.slice(3).map((s) => [s.mediaSequenceNumber, s.uri]),
    );
    expect(render(feedParts(12, { options: wide }), { skip: true })).not.toContain('EXT-X-SKIP');
  });

  it('reports sibling renditions with their last part', () => {
    const audio = feedParts(9, { duration: 0.48, gop: 1, options: wide });
    const text = render(feedParts(10, { options: wide }), {
      renditionReports: [{ uri: '../audio/index.m3u8', last: lastPart(audio) }],
    });
    expect(text).toContain('#EXT-X-RENDITION-REPORT:URI="../audio/index.m3u8",LAST-MSN=2,LAST-PART=0');
    expect(strictly(text).renditionReports.map((r) => [r.uri, r.lastMSN, r.lastPart])).toEqual([
      ['../audio/index.m3u8', 2, 0],
    ]);
  });

  it('ends with ENDLIST and no hint', () => {
    const text = render(feedParts(8, { options: wide }), { endlist: true });
    expect(text).not.toContain('PRELOAD-HINT');
    expect(strictly(text).endlist).toBe(true);
  });
});

describe('the multivariant playlist', () => {
  it("is the ladder's, naming the media playlists whose rendition reports point at each other", () => {
    const source = {
      videoCodec: 'h264', audioCodec: 'aac', width: 1280, height: 720, fps: 30, profile: 'high',
      codecString: 'avc1.64001f', videoBitrateKbps: 3000, keyframeIntervalSeconds: 2,
    }; // prettier-ignore
    const plan = planLadder(resolveSpec(validateSpec({}), 'demo', 'ns'), source);
    const names = [...plan.videos.map((v) => v.name), ...plan.audioRenditions.map((a) => a.name)];
    HLS.setOptions({ strictMode: true });
    const master = HLS.parse(buildMasterPlaylist(plan));
    HLS.setOptions({ strictMode: false });
    if (!master.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    const mediaUris = new Set([
      ...master.variants.map((v) => v.uri),
      ...master.variants.flatMap((v) => v.audio.map((a) => a.uri ?? '')),
    ]);
    expect(mediaUris).toEqual(new Set(names.map((n) => `${n}/index.m3u8`)));
    // From <self>/index.m3u8, each report resolves to a sibling's media playlist.
    const self = names[0]!;
    const resolved = siblingPlaylistUris(self, names).map(
      (u) => new URL(u, `http://o/hls/${self}/index.m3u8`).pathname,
    );
    expect(resolved).toEqual(names.slice(1).map((n) => `/hls/${n}/index.m3u8`));
    expect(resolved.length).toBeGreaterThan(0);
  });
});

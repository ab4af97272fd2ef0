import HLS from 'hls-parser';
import { describe, expect, it } from 'vitest';
import { parseDirectives } from '../llhls/blocking-reload.ts';
import {
  advertiseBlockingReload,
  classicPosition,
  decideClassic,
  holdLimitMs,
  isMediaPlaylistPath,
  mayBlock,
  serverControlTag,
} from './classic-reload.ts';

const playlist = (first: number, count: number, opts: { target?: number; ended?: boolean } = {}) =>
  [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${opts.target ?? 2}`,
    `#EXT-X-MEDIA-SEQUENCE:${first}`,
    '#EXT-X-PROGRAM-DATE-TIME:2026-12-04T18:00:00.000Z',
    ...Array.from({ length: count }, (_, i) => ['#EXTINF:2.000000,', `s_${first + i}.ts`]).flat(),
    ...(opts.ended === true ? ['#EXT-X-ENDLIST'] : []),
    '',
  ].join('\n');

describe('advertiseBlockingReload', () => {
  it('adds EXT-X-SERVER-CONTROL once, after the target duration, and keeps the playlist parseable and equal', () => {
    for (const text of [playlist(0, 0), playlist(7, 3), playlist(120, 6, { ended: true })]) {
      const offered = advertiseBlockingReload(text);
      expect(offered.split('\n').filter((l) => l === serverControlTag)).toHaveLength(1);
      expect(offered.indexOf(serverControlTag)).toBeGreaterThan(offered.indexOf('#EXT-X-TARGETDURATION'));
      expect(advertiseBlockingReload(offered)).toBe(offered);
      const parsed = HLS.parse(offered) as HLS.types.MediaPlaylist;
      const original = HLS.parse(text) as HLS.types.MediaPlaylist;
      expect(parsed.segments.map((s) => s.uri)).toEqual(original.segments.map((s) => s.uri));
      expect(parsed.mediaSequenceBase).toBe(original.mediaSequenceBase);
      expect(offered.replace(`${serverControlTag}\n`, '')).toBe(text);
    }
  });

  it('leaves what is not a media playlist alone', () => {
    for (const text of ['', '#EXTM3U\n', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n']) {
      expect(advertiseBlockingReload(text)).toBe(text);
    }
  });
});

describe('decideClassic', () => {
  const at = (first: number, count: number, ended = false) => classicPosition(playlist(first, count, { ended }));

  it('answers at once without a directive, for a listed or departed segment, or an ended playlist', () => {
    expect(decideClassic(parseDirectives(''), at(10, 3))).toEqual({ kind: 'now' });
    expect(decideClassic(parseDirectives('vs=abc'), at(10, 3))).toEqual({ kind: 'now' });
    for (const msn of [0, 9, 10, 12])
      expect(decideClassic(parseDirectives(`_HLS_msn=${msn}`), at(10, 3))).toEqual({ kind: 'now' });
    expect(decideClassic(parseDirectives('_HLS_msn=14'), at(10, 3, true))).toEqual({ kind: 'now' });
    expect(decideClassic(parseDirectives('_HLS_msn=12&_HLS_skip=YES'), at(10, 3))).toEqual({ kind: 'now' }); // no delta: ignored
  });

  it('waits for the next two segments, including the first of an empty playlist', () => {
    expect(decideClassic(parseDirectives('_HLS_msn=13'), at(10, 3))).toEqual({ kind: 'wait' });
    expect(decideClassic(parseDirectives('_HLS_msn=14'), at(10, 3))).toEqual({ kind: 'wait' });
    expect(decideClassic(parseDirectives('_HLS_msn=0'), at(0, 0))).toEqual({ kind: 'wait' });
  });

  it('refuses what can never be answered, naming why', () => {
    for (const query of [
      '_HLS_msn=15',
      '_HLS_msn=12&_HLS_part=0',
      '_HLS_part=1',
      '_HLS_msn=-1',
      '_HLS_msn=01',
      '_HLS_msn=x',
    ]) {
      const decision = decideClassic(parseDirectives(query), at(10, 3));
      expect(decision.kind, query).toBe('bad-request');
      expect(decision.kind === 'bad-request' && decision.reason, query).toMatch(/_HLS_/);
    }
  });
});

describe('limits and paths', () => {
  it('holds a request for three target durations', () => {
    expect(holdLimitMs(playlist(0, 1, { target: 2 }))).toBe(6_000);
    expect(holdLimitMs(playlist(0, 1, { target: 6 }))).toBe(18_000);
    expect(holdLimitMs('')).toBe(6_000); // not read yet: the default segment
  });

  it('tells blocking candidates and media playlists apart', () => {
    expect(mayBlock('')).toBe(false);
    expect(mayBlock('vs=1')).toBe(false);
    expect(mayBlock('vs=1&_HLS_msn=3')).toBe(true);
    expect(isMediaPlaylistPath('720p/index.m3u8')).toBe(true);
    expect(isMediaPlaylistPath('master.m3u8')).toBe(false);
    expect(isMediaPlaylistPath('720p/seg_1.ts')).toBe(false);
  });
});
